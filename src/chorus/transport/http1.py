"""``Http1Transport``: chorus's default transport, HTTP/1.1 keep-alive pools on asyncio protocols.

Why chorus has its own client here instead of using aiohttp's for every call
is measured, not assumed (``bench/README.md``, "The transport"). A fan-out
request makes several upstream calls, and aiohttp's client spends well over
100 µs of CPU on each. That buys machinery a fan-out never uses: cookie jars,
redirect handling, tracing signals, payload writers, and a stream reader per
body. This transport does the same exchange in a fraction of that, and on one
worker that is most of the CPU a fan-out request costs.

The hard part is not hand-written. HTTP/1.1 parsing (status line, headers,
chunked framing, keep-alive rules) is llhttp, Node.js's parser, through
``httptools``, the binding uvicorn uses. What is here is the small part a
fan-out needs around it:

- one pool of idle keep-alive connections per origin, last in first out, so
  the warmest connection is reused and idle ones expire after
  ``idle_timeout`` seconds;
- a DNS cache (``dns_cache_seconds``) and a connect timeout; TLS through
  ``ssl``, with certificate and host name checks;
- the body limit applied to the *decoded* size (gzip and deflate are
  decoded here);
- redirects never followed, since a redirect could steer a call to another host.

One retry happens below chorus's own policy, as RFC 9112 §9.3.1 allows. An
idempotent request (GET, HEAD, PUT, DELETE) is sent once more on a new
connection if a *reused* keep-alive connection closes before any byte of the
answer arrives. That is the race where an upstream closes an idle connection
just as it is picked from the pool; without the retry it would surface as a
spurious ``error``. Other methods are never re-sent.

Out of scope by design: proxies, cookies, HTTP/2, pipelining, and streaming
request bodies (a call's body is bytes, written at once). For those, the
aiohttp transport is kept: ``chorus.set_transport_factory(chorus.AiohttpTransport)``.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast
from urllib.parse import quote, urlencode, urlsplit

import httptools

from chorus.exceptions import ResponseTooLargeError, TransportError
from chorus.transport.base import TransportResponse

__all__ = ["Http1Transport"]

_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_SWEEP_INTERVAL: Final = 5.0

Origin = tuple[str, str, int]  # scheme, host, port


class _StaleConnectionError(TransportError):
    """A reused connection closed before any byte of the answer: safe to re-send."""


@functools.lru_cache(maxsize=4096)
def _split(url: str) -> tuple[Origin, str, bytes]:
    """``url`` as its origin, its request target and its ``Host`` header value."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise TransportError(f"unsupported URL scheme {scheme!r}" if host else "URL has no host")
    port = parts.port or _DEFAULT_PORTS[scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    name = f"[{host}]" if ":" in host else host
    host_header = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
    encoded = host_header.encode("ascii" if host_header.isascii() else "idna")
    return (scheme, host, port), target, encoded


def _request_head(
    method: str,
    target: str,
    host: bytes,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str] | None,
    body: bytes | None,
) -> bytes:
    if params:
        target += ("&" if "?" in target else "?") + urlencode(params, quote_via=quote, safe="")
    lines = [f"{method} {target} HTTP/1.1\r\nHost: ".encode(), host, b"\r\n"]
    given = {name.lower() for name in headers} if headers else set()
    if "user-agent" not in given:
        lines.append(b"User-Agent: chorus\r\n")
    if "accept" not in given:
        lines.append(b"Accept: */*\r\n")
    if "accept-encoding" not in given:
        lines.append(b"Accept-Encoding: gzip, deflate\r\n")
    if headers:
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise TransportError(f"header {name!r} is not a valid HTTP header")
            lines.append(f"{name}: {value}\r\n".encode())
    if body is not None:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    elif method in _BODY_METHODS:
        lines.append(b"Content-Length: 0\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[TransportResponse] | None = None
        self.closed = False
        self.reused = False
        self.reusable = False
        self.idle_since = 0.0
        self._reset(0)

    def _reset(self, limit: int) -> None:
        self._limit = limit
        self._head_only = False
        self._received = False
        self._status = 0
        self._headers: dict[str, str] = {}
        self._headers_done = False
        self._until_eof = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: Any = None

    # -- driving one exchange ------------------------------------------------

    async def exchange(self, data: bytes, *, head_only: bool, limit: int) -> TransportResponse:
        assert self._transport is not None
        self._reset(limit)
        self._head_only = head_only
        self.reusable = False
        waiter: asyncio.Future[TransportResponse] = self._loop.create_future()
        self._waiter = waiter
        self._transport.write(data)
        try:
            return await waiter
        finally:
            self._waiter = None
            self.reused = True

    def close(self) -> None:
        """Close at once: a connection left mid-answer can never be reused."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def _finish(self, result: TransportResponse | BaseException) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)

    # -- asyncio.Protocol ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self.close()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            self.close()
            cause = exc.__context__
            self._finish(
                cause if isinstance(cause, TransportError) else TransportError("malformed response")
            )
        except httptools.HttpParserError:
            self.close()
            self._finish(TransportError("malformed response"))

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and self._until_eof and exc is None:
            try:
                self._complete()
            except TransportError as error:
                self._finish(error)
            return
        if not self._received:
            self._finish(_StaleConnectionError("connection closed by upstream"))
        elif isinstance(exc, ConnectionResetError):
            self._finish(TransportError("connection reset"))
        elif self._headers_done:
            self._finish(TransportError("response body broken off"))
        else:
            self._finish(TransportError("connection closed by upstream"))

    # -- httptools callbacks -------------------------------------------------

    def on_message_begin(self) -> None:
        if self._headers_done:
            # A second answer to one request: the framing can no longer be trusted.
            self.close()
            raise TransportError("unexpected data after the response")

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self._headers.get(key)
        self._headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._headers = {}  # an interim answer (103 Early Hints...): the real one follows
            return
        self._status = status
        self._headers_done = True
        headers = self._headers
        if self._head_only:
            # No body follows an answer to HEAD, whatever its Content-Length says (the
            # resource's size, not a body to limit); llhttp cannot be told so, hence
            # the connection is not reused.
            self._finish(TransportResponse(status, headers, b""))
            self.close()
            return
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib framing
        length = headers.get("content-length")
        too_long = length is not None and length.isdigit() and int(length) > self._limit
        if too_long and self._decoder is None:
            raise ResponseTooLargeError(self._limit)
        self._until_eof = (
            length is None
            and "chunked" not in headers.get("transfer-encoding", "").lower()
            and status not in (204, 304)
        )

    def on_body(self, body: bytes) -> None:
        if self._decoder is not None:
            room = self._limit - self._size
            body = self._decoder.decompress(body, room + 1)
            if len(body) > room:
                raise ResponseTooLargeError(self._limit)
        self._size += len(body)
        if self._size > self._limit:
            raise ResponseTooLargeError(self._limit)
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if not self._headers_done:
            return  # the end of an interim answer
        self.reusable = self._parser.should_keep_alive()
        self._complete()

    def _complete(self) -> None:
        if self._decoder is not None:
            try:
                rest = self._decoder.flush()
            except zlib.error:
                raise TransportError("malformed compressed body") from None
            if not self._decoder.eof:
                raise TransportError("compressed body broken off")
            self._size += len(rest)
            if self._size > self._limit:
                raise ResponseTooLargeError(self._limit)
            self._chunks.append(rest)
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._finish(TransportResponse(self._status, self._headers, body))


class Http1Transport:
    """Pooled keep-alive HTTP/1.1 connections for one event loop."""

    def __init__(
        self,
        *,
        dns_cache_seconds: float = 300,
        idle_timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._dns_cache_seconds = dns_cache_seconds
        self._idle_timeout = idle_timeout
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._addresses: dict[tuple[str, int], tuple[float, list[Any]]] = {}
        self._next_sweep = 0.0

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or busy: for tests and metrics."""
        self._open = {connection for connection in self._open if not connection.closed}
        return len(self._open)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        connect_timeout: float | None = None,
        max_body_bytes: int,
    ) -> TransportResponse:
        origin, target, host = _split(url)
        head = _request_head(method, target, host, params, headers, body)
        data = head if body is None else head + body
        may_resend = method in _IDEMPOTENT
        while True:
            connection = await self._acquire(origin, connect_timeout)
            reused = connection.reused
            try:
                return await connection.exchange(
                    data, head_only=method == "HEAD", limit=max_body_bytes
                )
            except _StaleConnectionError:
                if not (reused and may_resend):
                    raise TransportError("connection closed by upstream") from None
                may_resend = False
            finally:
                self._release(origin, connection)

    async def aclose(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports deliver connection_lost

    # -- the pool ------------------------------------------------------------

    async def _acquire(self, origin: Origin, connect_timeout: float | None) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = asyncio.get_running_loop().time()
            while idle:
                connection = idle.pop()
                if not connection.closed and now - connection.idle_since < self._idle_timeout:
                    return connection
                connection.close()
        return await self._connect(origin, connect_timeout)

    def _release(self, origin: Origin, connection: _Connection) -> None:
        if connection.closed or not connection.reusable:
            connection.close()
            self._open.discard(connection)
            return
        now = asyncio.get_running_loop().time()
        connection.idle_since = now
        self._idle.setdefault(origin, []).append(connection)
        if now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Drop idle connections that expired or that their upstream closed."""
        self._next_sweep = now + _SWEEP_INTERVAL
        for origin, idle in list(self._idle.items()):
            fresh = []
            for connection in idle:
                if not connection.closed and now - connection.idle_since < self._idle_timeout:
                    fresh.append(connection)
                else:
                    connection.close()
                    self._open.discard(connection)
            if fresh:
                self._idle[origin] = fresh
            else:
                del self._idle[origin]

    async def _connect(self, origin: Origin, connect_timeout: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls() if scheme == "https" else None
        async with asyncio.timeout(connect_timeout):
            addresses = await self._resolve(loop, host, port)
            for family, address in addresses:
                try:
                    _, connection = await loop.create_connection(
                        lambda: _Connection(loop),
                        address[0],
                        address[1],
                        family=family,
                        ssl=tls,
                        server_hostname=host if tls is not None else None,
                    )
                except ssl.SSLError:
                    raise TransportError("TLS handshake failed") from None
                except OSError:
                    continue
                self._open.add(connection)
                return connection
        raise TransportError("could not connect")

    async def _resolve(
        self, loop: asyncio.AbstractEventLoop, host: str, port: int
    ) -> list[tuple[int, Any]]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, (host, port))]
        key = (host, port)
        cached = self._addresses.get(key)
        now = loop.time()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise TransportError("could not resolve the upstream's host") from None
        addresses: list[tuple[int, Any]] = [(family, addr) for family, _, _, _, addr in infos]
        self._addresses[key] = (now + self._dns_cache_seconds, addresses)
        return addresses

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context
