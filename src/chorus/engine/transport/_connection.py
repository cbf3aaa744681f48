"""One HTTP/1.1 keep-alive connection of ``Http1Transport``, as an asyncio protocol.

A connection carries one request at a time. Its answer is parsed by llhttp
(``httptools``) as the bytes arrive, with the body limit applied as they come
(to the decoded size for gzip and deflate). How the exchange ended decides
whether the pool may reuse the connection, and whether a failed request may
be sent again (``StaleConnectionError``: closed before any byte of an answer).
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any, cast

import httptools

from chorus.engine._exceptions import ResponseTooLargeError, TransportError
from chorus.engine.transport._base import TransportResponse

__all__ = ["Connection", "StaleConnectionError"]


class StaleConnectionError(TransportError):
    """A reused connection closed before any byte of the answer: safe to re-send."""


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[TransportResponse] | None = None
        self.closed = False
        self._aborted = False
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
        self._raw_deflate_allowed = False
        self._fed = False

    # -- driving one exchange ------------------------------------------------

    async def exchange(self, data: bytes, *, head_only: bool, limit: int) -> TransportResponse:
        assert self._transport is not None
        if self.closed:
            raise StaleConnectionError("connection closed by upstream")
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
        self._aborted = True
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
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            # An upgrade (101) is no answer to a fan-out call either.
            self.close()
            self._finish(TransportError("malformed response"))

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._aborted:
            # Closed by us mid-answer (transport shutdown): what arrived is not the whole body.
            self._finish(TransportError("connection closed by chorus"))
            return
        if self._headers_done and self._until_eof and exc is None:
            try:
                self._complete()
            except TransportError as error:
                self._finish(error)
            return
        if not self._received:
            self._finish(StaleConnectionError("connection closed by upstream"))
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
            self._raw_deflate_allowed = encoding == "deflate"
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
            body = self._inflate(body)
        self._size += len(body)
        if self._size > self._limit:
            raise ResponseTooLargeError(self._limit)
        self._chunks.append(body)

    def _inflate(self, data: bytes) -> bytes:
        decoder = self._decoder
        if decoder.eof:
            # Bytes after the end of the compressed stream: zlib would keep them all.
            raise TransportError("data after the end of a compressed body")
        room = self._limit - self._size
        try:
            out: bytes = decoder.decompress(data, room + 1)
        except zlib.error:
            if not (self._raw_deflate_allowed and not self._fed):
                raise TransportError("malformed compressed body") from None
            # "deflate" sent as a raw stream, without zlib's framing, as some servers do.
            self._decoder = decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_deflate_allowed = False
            return self._inflate(data)
        self._fed = True
        if len(out) > room:
            raise ResponseTooLargeError(self._limit)
        if decoder.unused_data:
            raise TransportError("data after the end of a compressed body")
        return out

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
            if self._fed and not self._decoder.eof:
                raise TransportError("compressed body broken off")
            self._size += len(rest)
            if self._size > self._limit:
                raise ResponseTooLargeError(self._limit)
            self._chunks.append(rest)
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._finish(TransportResponse(self._status, self._headers, body))
