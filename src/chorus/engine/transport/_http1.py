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
import ipaddress
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final
from urllib.parse import quote, urlencode

from chorus.engine._exceptions import TransportError
from chorus.engine._methods import IDEMPOTENT_METHODS
from chorus.engine.transport._base import CheckedHeaders, TransportResponse, header_problem
from chorus.engine.transport._connection import Connection, StaleConnectionError
from chorus.engine.transport._url import Origin, UpstreamURL, split_url

__all__ = ["Http1Transport"]

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_SWEEP_INTERVAL: Final = 5.0


def _failed(reason: str, resent: bool) -> TransportError:
    # A new object for every failure, never a cached one: each raise appends to an
    # exception's ``__traceback__``, so a shared error would keep the frames (and
    # locals) of every caller it ever went through alive (issue 25).
    error = TransportError(reason)
    error.attempts = 2 if resent else 1
    return error


# Sent unless the call gives its own: by lower-cased name, each its line of the head.
_DEFAULT_FIELDS: Final = {
    "user-agent": "User-Agent: chorus\r\n",
    "accept": "Accept: */*\r\n",
    "accept-encoding": "Accept-Encoding: gzip, deflate\r\n",
}
_ALL_DEFAULT_FIELDS: Final = "".join(_DEFAULT_FIELDS.values())


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
    defaults, fields = _ALL_DEFAULT_FIELDS, ""
    if headers:
        checked = isinstance(headers, CheckedHeaders)  # chorus's own calls: at their source
        given = set()
        for name, value in headers.items():
            if not checked and (problem := header_problem(name, value)) is not None:
                raise TransportError(problem)
            given.add(name.lower())
            fields += f"{name}: {value}\r\n"
        if not given.isdisjoint(_DEFAULT_FIELDS):
            defaults = "".join(line for key, line in _DEFAULT_FIELDS.items() if key not in given)
    if body is not None:
        fields += f"Content-Length: {len(body)}\r\n"
    elif method in _BODY_METHODS:
        fields += "Content-Length: 0\r\n"
    # Built as text and encoded once; the Host value is already bytes (IDNA, when not ASCII).
    start = f"{method} {target} HTTP/1.1\r\nHost: ".encode()
    return b"".join((start, host, f"\r\n{defaults}{fields}\r\n".encode()))


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
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()
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
        if isinstance(url, UpstreamURL):
            origin, target, host = url.origin, url.target, url.host  # parsed once (Call.url)
        else:
            origin, target, host = split_url(url)
        head = _request_head(method, target, host, params, headers, body)
        data = head if body is None else head + body
        may_resend = method in IDEMPOTENT_METHODS
        resending = False
        while True:
            if resending:
                # On a new connection: pooled ones opened in the same burst as the
                # stale one tend to have gone stale with it.
                connection = await self._connect(origin, connect_timeout)
            else:
                connection = await self._acquire(origin, connect_timeout)
            reused = connection.reused
            try:
                response = await connection.exchange(
                    data, head_only=method == "HEAD", limit=max_body_bytes
                )
            except StaleConnectionError:
                if not (reused and may_resend):
                    raise _failed("connection closed by upstream", resending) from None
                may_resend = False
                resending = True
            except TransportError as exc:
                if resending:
                    exc.attempts = 2
                raise
            else:
                return replace(response, attempts=2) if resending else response
            finally:
                self._release(origin, connection)

    async def aclose(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports deliver connection_lost

    # -- the pool ------------------------------------------------------------

    async def _acquire(self, origin: Origin, connect_timeout: float | None) -> Connection:
        idle = self._idle.get(origin)
        if idle:
            now = asyncio.get_running_loop().time()
            while idle:
                connection = idle.pop()
                if not connection.closed and now - connection.idle_since < self._idle_timeout:
                    return connection
                connection.close()
                self._open.discard(connection)
        return await self._connect(origin, connect_timeout)

    def _release(self, origin: Origin, connection: Connection) -> None:
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

    async def _connect(self, origin: Origin, connect_timeout: float | None) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls() if scheme == "https" else None
        async with asyncio.timeout(connect_timeout):
            addresses = await self._resolve(loop, host, port)
            for family, address in addresses:
                try:
                    _, connection = await loop.create_connection(
                        lambda: Connection(loop),
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
