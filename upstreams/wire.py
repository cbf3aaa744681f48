"""One exchange on the wire: waiting, answering, misbehaving, and noticing the client leave.

Every fault has to really happen on the socket, because that is what chorus's
timeouts, body limits and error mapping are tested against. Every wait is a
wait on ``receive()`` bounded by a timeout: ``receive()`` only returns (with
``http.disconnect``) if the client goes away, so a client that gives up is
noticed, and counted, at once, and a plain wait costs a timer, not a task.

``reset`` is the one fault ASGI cannot express: an application can close a
connection, never reset it. Under uvicorn the ``send`` callable is a bound
method of the request cycle, which holds the connection's transport; setting
``SO_LINGER`` to (on, 0 s) on its socket and aborting the transport makes the
kernel send an RST, so the client sees ``ECONNRESET`` and no response at all.
Where the transport cannot be reached (another server), the fallback starts a
response whose ``Content-Length`` promises more than is sent and then drops
the connection: the client sees a truncated response rather than a reset, and
the server logs an incomplete response. The same reset ends waiting requests
when the server stops (``release``), as if the service had been killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from upstreams.catalog import Body

__all__ = ["Exchange", "Header", "Message", "Receive", "Send"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Header = tuple[bytes, bytes]

_JSON_HEADERS = [(b"content-type", b"application/json")]
_STREAM_CHUNK = b"x" * (64 * 1024)
_OVERSIZE_HEAD = b'{"padding":"'
_OVERSIZE_TAIL = b'"}'
_SLOW_BODY_PIECES = 20
_LINGER_RESET = struct.pack("ii", 1, 0)


class Exchange:
    """Answers one request, and knows whether its client went away before the end."""

    __slots__ = ("_dropped", "_receive", "_send", "complete", "disconnected")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._dropped = False  # we cut the connection: not the client leaving
        self.complete = False
        self.disconnected = False

    async def _wait(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: for ever) unless the connection goes; True if it is still there.

        ``seconds=0`` yields to the loop once and tells whether the client has
        already gone, without waiting.
        """
        try:
            async with asyncio.timeout(seconds):
                while (await self._receive())["type"] != "http.disconnect":
                    pass  # the request body, which no service reads
        except TimeoutError:
            return True
        # uvicorn also answers http.disconnect once the response is complete.
        if not self._dropped and not self.complete:
            self.disconnected = True
        return False

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the client leaves first; True if it is still there."""
        return await self._wait(seconds) if seconds > 0 else not self.disconnected

    async def hang(self) -> None:
        """Never answer: wait for the client to give up (or the server to stop)."""
        await self._wait(None)

    def release(self) -> None:
        """The server is stopping: reset this exchange's connection, ending any wait.

        A hang (or a long latency) would otherwise hold the server's graceful
        shutdown until uvicorn cancels the request and logs it as a crash.
        """
        self._drop()

    def _drop(self) -> bool:
        """Reset the connection; False if its transport is out of reach."""
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if transport is None or sock is None:
            return False
        self._dropped = True
        if not transport.is_closing():
            # A connection already closing has no socket left to set options on.
            with contextlib.suppress(OSError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            transport.abort()
        return True

    async def _start(self, status: int, headers: list[Header]) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def _finish(self, chunk: bytes = b"") -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": False})
        self.complete = True

    async def answer(self, body: Body) -> None:
        length = str(len(body.content)).encode()
        await self._start(body.status, [*_JSON_HEADERS, (b"content-length", length)])
        await self._finish(body.content)

    async def trickle(self, body: Body, seconds: float) -> None:
        """Headers now, then the body in small pieces spread over ``seconds``."""
        content = body.content
        length = str(len(content)).encode()
        await self._start(body.status, [*_JSON_HEADERS, (b"content-length", length)])
        step = max(1, -(-len(content) // _SLOW_BODY_PIECES))
        pieces = [content[offset : offset + step] for offset in range(0, len(content), step)] or [
            b""
        ]
        interval = seconds / max(1, len(pieces) - 1)
        for piece in pieces[:-1]:
            await self._send({"type": "http.response.body", "body": piece, "more_body": True})
            if not await self.pause(interval):
                return
        await self._finish(pieces[-1])

    async def flood(self, status: int, total_bytes: int) -> None:
        """A JSON body of ``total_bytes``, streamed with no Content-Length."""
        await self._start(status, list(_JSON_HEADERS))
        await self._send({"type": "http.response.body", "body": _OVERSIZE_HEAD, "more_body": True})
        remaining = max(0, total_bytes - len(_OVERSIZE_HEAD) - len(_OVERSIZE_TAIL))
        while remaining > 0:
            chunk = _STREAM_CHUNK[:remaining]
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
            remaining -= len(chunk)
            # After a disconnect uvicorn's send returns at once without a word,
            # so ask receive() between chunks.
            if not await self._wait(0):
                return
        await self._finish(_OVERSIZE_TAIL)

    async def reset(self, body: Body) -> None:
        """Drop the connection with a TCP reset and no response (see the module docstring)."""
        if self._drop():
            # Let the server see the connection go, so it does not answer for
            # an application that returned without a response.
            await self._wait(None)
        else:
            await self._truncate(body)

    async def _truncate(self, body: Body) -> None:
        promised = str(len(body.content) + 1).encode()
        await self._start(body.status, [*_JSON_HEADERS, (b"content-length", promised)])
        await self._send(
            {
                "type": "http.response.body",
                "body": body.content[: len(body.content) // 2],
                "more_body": True,
            }
        )
