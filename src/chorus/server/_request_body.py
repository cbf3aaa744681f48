"""Reading a request's body under a limit, for ``ChorusASGIHandler``.

Django's ``ASGIHandler.read_body`` spools every body to a
``SpooledTemporaryFile`` and has no limit of its own: a limit checked later, in
middleware or a view, comes after the cost it was meant to prevent. Here a
body that arrives in one message (the usual small JSON document) is wrapped in
memory, and a body over its route's limit is refused as soon as the bytes
received pass it: a chunked upload is cut off, not read to its end. Past
``FILE_UPLOAD_MAX_MEMORY_SIZE`` the file rolls over to disk, and from then on
each write runs in a thread, as Django's does.

Every body is read under a deadline (``CHORUS["REQUEST_LIMITS"]``'s
``BODY_TIMEOUT``, ``MIN_BODY_RATE`` and ``BODY_GRACE``, see ``_limits.py``): the
next message must come before ``started + BODY_GRACE + received / MIN_BODY_RATE``
and before ``started + BODY_TIMEOUT``, or the read ends in ``BodyTimeoutError``
(the handler answers 408 and closes the connection). The deadline is one timer
per ``receive()``, so a body that holds still is cut at the very moment it falls
behind, not at the next poll. ``started`` is when the read begins: after
``BEFORE_BODY`` has decided, before the request waits at the door.

Bodies being read are counted per event loop (``bodies_being_read``), for
``chorus.server.saturation``.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted

from chorus.engine._loop_local import LoopLocal
from chorus.server._limits import BodyDeadline

__all__ = [
    "BodyTimeoutError",
    "BodyTooLargeError",
    "bodies_being_read",
    "declares_body",
    "read_limited_body",
]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]


class BodyTooLargeError(Exception):
    """The body passed ``limit`` bytes; what was read of it is already discarded."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {limit} bytes")
        self.limit = limit


class BodyTimeoutError(Exception):
    """The body did not arrive within its deadline; what was read of it is discarded."""

    def __init__(self, deadline: BodyDeadline, received: int) -> None:
        super().__init__(f"{received} bytes of the body came, not in time")
        self.deadline = deadline
        self.received = received


class _Reading:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_reading: LoopLocal[_Reading] = LoopLocal(_Reading)


def bodies_being_read() -> int:
    """How many request bodies the running loop is reading now."""
    return _reading.get().count


def declares_body(scope: Mapping[str, Any]) -> bool:
    """A ``Content-Length`` over 0, or a chunked body: something would be read."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


async def read_limited_body(
    receive: Receive,
    limit: int | None,
    deadline: BodyDeadline | None = None,
) -> IO[bytes]:
    """The body as a file, in memory when it came in one message; cut off past ``limit``.

    Raises ``BodyTooLargeError`` past ``limit``, ``BodyTimeoutError`` when the body
    falls behind ``deadline`` (counted from this call) and ``RequestAborted`` when
    the client disconnects first.
    """
    reading = _reading.get()  # counted inline: a context manager cost more than the count
    reading.count += 1
    try:
        if deadline is None:
            return await _read(receive, limit)
        since = asyncio.get_running_loop().time()
        received = 0

        async def next_message() -> Mapping[str, Any]:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline.due(since, received)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(deadline, received) from None
            received += len(message.get("body", b""))
            return message

        return await _read(next_message, limit)
    finally:
        reading.count -= 1


async def _read(receive: Receive, limit: int | None) -> IO[bytes]:
    first = await receive()
    if first["type"] == "http.request" and not first.get("more_body", False):
        body = first.get("body", b"")
        if limit is not None and len(body) > limit:
            raise BodyTooLargeError(limit)
        return io.BytesIO(body)
    body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed below or by the request)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
    )
    try:
        message, received = first, 0
        while True:
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            chunk = message.get("body", b"")
            received += len(chunk)
            if limit is not None and received > limit:
                raise BodyTooLargeError(limit)
            if getattr(body_file, "_rolled", False):
                await sync_to_async(body_file.write, thread_sensitive=False)(chunk)
            else:
                body_file.write(chunk)
            if not message.get("more_body", False):
                break
            message = await receive()
    except BaseException:
        body_file.close()
        raise
    body_file.seek(0)
    return body_file


def may_wait_for_body(scope: Mapping[str, Any]) -> bool:
    """Whether reading this request's body may have to wait for the client.

    Not for an HTTP/1 request without ``Content-Length`` or ``Transfer-Encoding``:
    HTTP/1 frames it as having no body (RFC 9112, 6.3), so the server has the whole
    request with its headers. An HTTP/2 stream may still send data frames.
    """
    return declares_body(scope) or scope.get("http_version") not in ("1.0", "1.1")
