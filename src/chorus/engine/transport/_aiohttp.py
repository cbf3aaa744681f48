"""``AiohttpTransport``: calls through one pooled ``aiohttp.ClientSession`` per event loop.

Not the default: ``Http1Transport`` costs far less CPU per call. This one is
kept as a second implementation of the seam, run by the same upstream tests,
for a deployment that would rather trust aiohttp's maturity than save CPU.
Choose it with ``chorus.set_transport_factory(chorus.AiohttpTransport)``.

One retry happens below chorus's own policy, and it is aiohttp's: an
idempotent request (GET, HEAD, PUT, DELETE…) whose *reused* keep-alive
connection turns out to be closed is sent once more on a new connection, as
RFC 9112 §9.3.1 allows; ``Http1Transport`` does the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiohttp
from yarl import URL

from chorus.engine._exceptions import ResponseTooLargeError, TransportError
from chorus.engine.transport._base import TransportResponse

__all__ = ["AiohttpTransport"]

_READ_CHUNK = 64 * 1024


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` with a shared connection pool, created lazily."""

    def __init__(self, *, dns_cache_seconds: int = 300) -> None:
        self._dns_cache_seconds = dns_cache_seconds
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # limit=0: chorus bounds connections per upstream itself (MAX_CONNECTIONS),
            # and aiohttp's per-host limit cannot tell two upstreams on one host apart.
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=0, ttl_dns_cache=self._dns_cache_seconds
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": "chorus"},
                raise_for_status=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def _timeout(self, connect_timeout: float | None) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(connect_timeout)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
            self._timeouts[connect_timeout] = timeout
        return timeout

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
        session = self._get_session()
        target = URL(url, encoded=True)
        if params:
            target = target.extend_query(params)
        try:
            async with session.request(
                method,
                target,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=self._timeout(connect_timeout),
            ) as response:
                content = await _read_limited(response, max_body_bytes)
                return TransportResponse(response.status, response.headers, content)
        except aiohttp.ClientError as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise TransportError(_describe(exc)) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, refusing to hold more than ``limit`` bytes of it in memory.

    The limit is on the decoded body: a compressed response's Content-Length says
    nothing of what it inflates to, so only an uncompressed one takes the fast path.
    """
    if response.method == "HEAD":
        return b""  # its Content-Length is the resource's size; no body follows
    declared = response.content_length
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if declared is not None and not encoded:
        if declared > limit:
            raise ResponseTooLargeError(limit)
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            # Leaving the body unread makes aiohttp close the connection, not reuse it.
            raise ResponseTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: aiohttp.ClientError) -> str:
    # Our own words: an exception's text can carry internal addresses or body fragments.
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by upstream"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "could not connect"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body broken off"
    if isinstance(exc, aiohttp.ClientOSError):
        return "connection reset"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "malformed response"
    return "connection failed"
