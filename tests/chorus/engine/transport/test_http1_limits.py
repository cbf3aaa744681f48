"""``Http1Transport``: the body limit, decoding, and what happens before the exchange.

Each test starts a raw ``asyncio`` server whose handler it writes itself: it reads
the request head the transport really sent and answers with exact bytes, closes,
or resets the connection. What the server saw (connections accepted, requests
read, EOF) is the evidence for reuse, re-sends and closing.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import random
import socket
import ssl
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from chorus.engine._exceptions import ResponseTooLargeError, TransportError
from chorus.engine.transport._http1 import Http1Transport
from tests.fixtures.http1 import LIMIT, compressed, get
from tests.fixtures.raw_server import OK, answer, eof

# -- the body limit -----------------------------------------------------------


async def test_declared_length_over_the_limit_fails_before_the_body(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n")
        await conn.wait_for_eof()  # the body never comes: waiting for it would hang

    server = await serve(handler)
    with pytest.raises(ResponseTooLargeError) as caught:
        await get(transport, server, max_body_bytes=100)
    assert caught.value.limit == 100
    assert transport.open_connections == 0


async def test_body_exactly_at_the_limit_is_returned(serve, transport):
    server = await serve(lambda conn: conn.serve(answer(b"x" * 100)))
    assert len((await get(transport, server, max_body_bytes=100)).body) == 100


async def test_chunked_body_growing_past_the_limit(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:  # an endless body: only the limit ends it
            await conn.send(b"40\r\n" + b"x" * 64 + b"\r\n")
            await asyncio.sleep(0.001)

    server = await serve(handler)
    with pytest.raises(ResponseTooLargeError):
        await get(transport, server, max_body_bytes=1000)
    assert transport.open_connections == 0


async def test_close_delimited_body_past_the_limit(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 2000)
        await conn.wait_for_eof()

    server = await serve(handler)
    with pytest.raises(ResponseTooLargeError):
        await get(transport, server, max_body_bytes=1000)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_is_returned_inflated(serve, transport, encoding):
    data = b'{"items": [' + b"1, " * 5000 + b"1]}"
    server = await serve(lambda conn: conn.serve(compressed(data, encoding)))
    response = await get(transport, server, max_body_bytes=len(data))
    assert response.body == data
    assert response.headers["content-encoding"] == encoding


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_body_is_limited_by_its_inflated_size(serve, transport, encoding):
    data = b"0" * (LIMIT * 16)
    wire = compressed(data, encoding)
    assert len(wire) < LIMIT // 16  # small on the wire ...
    server = await serve(lambda conn: conn.serve(wire))
    with pytest.raises(ResponseTooLargeError):  # ... too large once inflated
        await get(transport, server)
    assert transport.open_connections == 0


async def test_compressed_body_declared_over_the_limit_is_judged_inflated(serve, transport):
    data = random.Random(0).randbytes(1024)  # incompressible: its gzip is longer than itself
    wire = compressed(data, "gzip")
    assert int(wire.split(b"Content-Length: ")[1].split(b"\r")[0]) > len(data)
    server = await serve(lambda conn: conn.serve(wire))
    assert (await get(transport, server, max_body_bytes=len(data))).body == data


async def test_corrupt_compressed_body(serve, transport):
    server = await serve(
        lambda conn: conn.serve(answer(b"not gzip at all", "200 OK", "Content-Encoding: gzip"))
    )
    with pytest.raises(TransportError):
        await get(transport, server)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_body_cut_short_is_an_error_not_a_short_body(serve, transport, encoding):
    data = b'{"items": [' + b"1, " * 5000 + b"1]}"
    whole = gzip.compress(data) if encoding == "gzip" else zlib.compress(data)
    cut = whole[: len(whole) // 2]  # framed correctly, but the stream inside ends early
    server = await serve(
        lambda conn: conn.serve(answer(cut, "200 OK", f"Content-Encoding: {encoding}"))
    )
    with pytest.raises(TransportError, match="compressed body broken off"):
        await get(transport, server)


# -- before and around the exchange -------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"X-Evil": "a\r\nInjected: 1"}, {"X-Evil": "a\nb"}, {"X-Evil\r\nInjected": "1"}, {"A:B": "1"}],
    ids=["crlf-value", "lf-value", "crlf-name", "colon-name"],
)
async def test_header_injection_is_refused_and_nothing_is_sent(serve, transport, headers):
    server = await serve(lambda conn: conn.serve(OK))
    await get(transport, server, "/before")  # a pooled connection the bad request could use
    with pytest.raises(TransportError, match="not a valid HTTP header"):
        await get(transport, server, "/bad", headers=headers)
    await get(transport, server, "/after")  # would read the injected request's answer
    assert [r.target for r in server.requests] == ["/before", "/after"]
    assert len(server.connections) == 1
    assert not any(name.lower() == "injected" for r in server.requests for name, _ in r.headers)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///x", "/relative"])
async def test_unsupported_urls_are_refused(transport, url):
    with pytest.raises(TransportError):
        await transport.request("GET", url, max_body_bytes=LIMIT)


async def test_host_names_are_resolved_once_and_cached(serve, monkeypatch):
    server = await serve(lambda conn: conn.serve(answer(b"ok", "200 OK", "Connection: close")))
    loop = asyncio.get_running_loop()
    lookups = []
    resolve = loop.getaddrinfo

    async def counted(host, *args, **kwargs):
        lookups.append(host)
        return await resolve(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", counted)
    url = f"http://localhost:{server.port}/"
    for seconds, expected in [(300, ["localhost"]), (0, ["localhost", "localhost"])]:
        lookups.clear()
        client = Http1Transport(dns_cache_seconds=seconds)
        try:
            for _ in range(2):  # Connection: close, so each request connects anew
                assert (await client.request("GET", url, max_body_bytes=LIMIT)).body == b"ok"
        finally:
            await client.aclose()
        assert lookups == expected
    assert {r.header("Host") for r in server.requests} == {f"localhost:{server.port}"}


async def test_each_origin_has_its_own_pool(serve, transport):
    server = await serve(lambda conn: conn.serve(OK))
    for host in ("127.0.0.1", "localhost", "127.0.0.1", "localhost"):
        await transport.request("GET", f"http://{host}:{server.port}/", max_body_bytes=LIMIT)
    hosts = [[r.header("Host") for r in conn.requests] for conn in server.connections]
    assert hosts == [[f"127.0.0.1:{server.port}"] * 2, [f"localhost:{server.port}"] * 2]


async def test_ipv6_literal(serve, transport):
    try:
        server = await serve(lambda conn: conn.serve(OK), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    assert (await get(transport, server)).body == b"ok"
    assert server.requests[0].header("Host") == f"[::1]:{server.port}"


@dataclass(frozen=True)
class Certificates:
    server: ssl.SSLContext  # a certificate for the name localhost only
    trusting: ssl.SSLContext  # a client context that trusts its CA


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    """A throwaway CA, and a server certificate it signed for ``localhost``."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chorus test CA")])

    def certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, *, ca: bool):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )

    signs_certificates = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ca = (
        certificate(ca_name, ca_key, ca=True)
        .add_extension(signs_certificates, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    localhost = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    leaf = (
        certificate(localhost, key, ca=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = tmp_path_factory.mktemp("tls") / "localhost.pem"
    pem.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(pem)
    trusting = ssl.create_default_context(
        cadata=ca.public_bytes(serialization.Encoding.PEM).decode()
    )
    return Certificates(server, trusting)


async def test_tls_checks_the_certificate_against_the_url_host(serve, certificates):
    server = await serve(lambda conn: conn.serve(OK), ssl=certificates.server)
    client = Http1Transport(ssl_context=certificates.trusting)
    try:
        for _ in range(2):
            url = f"https://localhost:{server.port}/secret"
            assert (await client.request("GET", url, max_body_bytes=LIMIT)).body == b"ok"
        # The same server by its address: the certificate does not name 127.0.0.1.
        with pytest.raises(TransportError, match="TLS handshake failed"):
            await client.request("GET", server.url, max_body_bytes=LIMIT)
    finally:
        await client.aclose()
    assert [len(conn.requests) for conn in server.connections] == [2]
    assert server.connections[0].requests[0].header("Host") == f"localhost:{server.port}"


async def test_tls_refuses_an_untrusted_certificate(serve, transport, certificates):
    server = await serve(lambda conn: conn.serve(OK), ssl=certificates.server)
    url = f"https://localhost:{server.port}/"
    with pytest.raises(TransportError, match="TLS handshake failed"):
        await transport.request("GET", url, max_body_bytes=LIMIT)  # the system's CAs only
    assert server.connections == []  # the handshake never completed


async def test_tls_to_a_plain_http_server(serve, transport):
    server = await serve(lambda conn: conn.send(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    with pytest.raises(TransportError):
        await transport.request("GET", f"https://127.0.0.1:{server.port}/", max_body_bytes=LIMIT)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_connection_refused(transport, free_port):
    with pytest.raises(TransportError, match="could not connect"):
        await transport.request("GET", f"http://127.0.0.1:{free_port}/", max_body_bytes=LIMIT)


@pytest.fixture
def unanswered_address() -> Iterator[tuple[str, int]]:
    """A loopback listener whose accept queue is full, so a new SYN is dropped, not answered.

    Linux drops a SYN to a listener whose accept queue is full (unless
    ``tcp_abort_on_overflow`` is set), so a connect to it stays pending: a real
    connect timeout, with no firewall rule or unroutable address.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    held = [listener]
    try:
        for _ in range(8):
            probe = socket.socket()
            probe.settimeout(0.1)
            try:
                probe.connect(address)
            except TimeoutError:
                probe.close()
                break
            held.append(probe)
        else:
            pytest.skip("this kernel answers every SYN: no pending connect to time out")
        yield address
    finally:
        for sock in held:
            sock.close()


async def test_connect_timeout(transport, unanswered_address):
    host, port = unanswered_address
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await transport.request(
            "GET", f"http://{host}:{port}/", connect_timeout=0.1, max_body_bytes=LIMIT
        )
    assert 0.09 < loop.time() - started < 0.5
    assert transport.open_connections == 0


@pytest.mark.parametrize(
    "sent", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf"], ids=["no-answer", "half"]
)
async def test_cancelled_request_leaves_no_connection_behind(serve, transport, sent):
    async def handler(conn):
        if conn.number == 0:
            await conn.read_request()
            await conn.send(sent)  # and never the rest
            await conn.wait_for_eof()
        else:
            await conn.serve(OK)

    server = await serve(handler)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await transport.request("GET", server.url, max_body_bytes=LIMIT)
    assert transport.open_connections == 0
    await eof(server.connections[0])  # closed, not put back in the pool
    assert (await get(transport, server)).body == b"ok"
    assert len(server.connections) == 2
