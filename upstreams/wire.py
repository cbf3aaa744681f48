"""One exchange on the wire: waiting, answering, misbehaving, and noticing the client leave.

Every fault has to really happen on the socket, because that is what chorus's
timeouts, body limits and error mapping are tested against. Waiting is always
done while watching ``receive()`` for ``http.disconnect``, so a client that
gives up is noticed (and counted) at once instead of when the wait would have
ended.

``reset`` is the one fault ASGI cannot express: an application can close a
connection, never reset it. Under uvicorn the ``send`` callable is a bound
method of the request cycle, which holds the connection's transport; setting
``SO_LINGER`` to (on, 0 s) on its socket and aborting the transport makes the
kernel send an RST, so the client sees ``ECONNRESET`` and no response at all.
Where the transport cannot be reached (another server), the fallback starts a
response whose ``Content-Length`` promises more than is sent and then drops
the connection: the client sees a truncated response rather than a reset, and
the server logs an incomplete response.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
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

    __slots__ = ("_receive", "_released", "_send", "_watcher", "complete", "disconnected")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._watcher: asyncio.Task[None] | None = None
        self._released: asyncio.Future[None] | None = None
        self.complete = False
        self.disconnected = False

    async def _wait_for_disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass

    def _watch(self) -> asyncio.Task[None]:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._wait_for_disconnect())
        return self._watcher

    def _client_left(self) -> bool:
        # uvicorn also answers http.disconnect once the response is complete;
        # only a disconnect seen before then is the client leaving.
        if not self.complete and self._watcher is not None and self._watcher.done():
            self.disconnected = True
        return self.disconnected

    def release(self) -> None:
        """The server is stopping: cut short whatever this exchange is waiting for.

        A hang (or a long latency) would otherwise hold the server's graceful
        shutdown until uvicorn cancels the request and logs it as a crash.
        """
        if self._released is None:
            self._released = asyncio.get_running_loop().create_future()
        if not self._released.done():
            self._released.set_result(None)

    async def _wait(self, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (None: for ever); True if the exchange should go on."""
        if self._released is None:
            self._released = asyncio.get_running_loop().create_future()
        await asyncio.wait(
            (self._watch(), self._released), timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        if self._client_left():
            return False
        if self._released.done():
            # Like a service being killed: the connection goes, with no answer.
            await self._drop()
            return False
        return True

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the client leaves first; True if it is still there."""
        if seconds > 0:
            return await self._wait(seconds)
        return not self._client_left()

    async def hang(self) -> None:
        """Never answer: wait for the client to give up (or the server to stop)."""
        await self._wait(None)

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _start(self, status: int, headers: list[Header]) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def _finish(self, chunk: bytes = b"") -> None:
        self._client_left()
        await self._send({"type": "http.response.body", "body": chunk, "more_body": False})
        self.complete = True

    async def answer(self, body: Body, extra_headers: Sequence[Header] = ()) -> None:
        length = str(len(body.content)).encode()
        await self._start(
            body.status, [*_JSON_HEADERS, (b"content-length", length), *extra_headers]
        )
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
        self._watch()
        while remaining > 0:
            chunk = _STREAM_CHUNK[:remaining]
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
            remaining -= len(chunk)
            # Let the watcher run: after a disconnect uvicorn's send returns at
            # once, so without a yield the loop would never see it.
            await asyncio.sleep(0)
            if self._client_left():
                return
            if self._released is not None and self._released.done():
                await self._drop()
                return
        await self._finish(_OVERSIZE_TAIL)

    async def reset(self, body: Body) -> None:
        """Drop the connection with a TCP reset and no response (see the module docstring)."""
        if not await self._drop():
            await self._truncate(body)

    async def _drop(self) -> bool:
        """Reset the connection; False if its transport is out of reach."""
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if transport is None or sock is None:
            return False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()
        # Wait until the server has seen the connection go, so it does not try
        # to answer for an application that returned without a response.
        await self._watch()
        return True

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
