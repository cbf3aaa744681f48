"""uvicorn's httptools protocol with the bounds a public-facing worker needs.

uvicorn bounds none of these on its own (issue 16 measured it): a connection
that never sends a byte, or dribbles its request header one byte at a time,
stays open for ever; so do unbounded header sizes; and connections are
accepted until the process runs out of file descriptors, after which even
``/healthz`` goes unanswered with nothing in the log. ``BoundedHttpProtocol``
adds, per worker:

- a **connection cap** (``max_connections``): a connection beyond it is
  answered ``503`` with ``Retry-After`` at once and closed, so its descriptor
  comes straight back, and a warning is logged (at most once a second, with
  the number shed since the last line);
- a **header deadline** (``header_timeout``): from the moment a connection
  opens, or a kept-alive connection's next request begins, the whole request
  header must arrive within it, else ``408`` and the connection closes;
- a **header size limit** (``max_header_bytes``): more header bytes than that
  get ``431`` and the connection closes.

The values come from ``storefront.ops.worker.StorefrontWorker`` (environment
variables, see there). nginx in front (deploy/nginx.conf) bounds slow clients
first; these bounds keep the worker healthy when something reaches it directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["BoundedHttpProtocol", "Limits"]

logger = logging.getLogger("storefront.ops")


class Limits:
    """The bounds, set once per worker process before it serves."""

    max_connections: int | None = None
    header_timeout: float | None = None
    max_header_bytes: int | None = None


def _response(status: str, code: str, message: str, extra: str = "") -> bytes:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


SHED_RESPONSE = _response(
    "503 Service Unavailable",
    "over_capacity",
    "This server holds as many connections as it is allowed; retry shortly.",
    "retry-after: 1\r\n",
)
TIMEOUT_RESPONSE = _response(
    "408 Request Timeout", "request_timeout", "The request header did not arrive in time."
)
TOO_LARGE_RESPONSE = _response(
    "431 Request Header Fields Too Large",
    "header_too_large",
    "The request header is larger than this server accepts.",
)


class _ShedLog:
    """One warning a second at most, however many connections are shed; none is left uncounted
    (what was shed after a warning is reported a second later)."""

    shed_since_last = 0
    last_logged = 0.0
    flush_pending = False

    @classmethod
    def note(cls, open_connections: int, cap: int, loop: asyncio.AbstractEventLoop) -> None:
        cls.shed_since_last += 1
        wait = 1.0 - (time.monotonic() - cls.last_logged)
        if wait <= 0:
            cls.flush(open_connections, cap)
        elif not cls.flush_pending:
            cls.flush_pending = True
            loop.call_later(wait, cls.flush, open_connections, cap)

    @classmethod
    def flush(cls, open_connections: int, cap: int) -> None:
        cls.flush_pending = False
        if cls.shed_since_last:
            logger.warning(
                "connection limit reached: %d open, cap %d (STOREFRONT_MAX_CONNECTIONS); "
                "shed %d new connection(s) with 503",
                open_connections,
                cap,
                cls.shed_since_last,
            )
            cls.shed_since_last = 0
            cls.last_logged = time.monotonic()


class _HeaderTooLargeError(Exception):
    pass


class BoundedHttpProtocol(HttpToolsProtocol):
    limits: ClassVar[type[Limits]] = Limits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_header = True
        self._got_bytes = False
        self._too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.limits.max_connections
        if cap is not None and len(self.connections) > cap:
            _ShedLog.note(len(self.connections) - 1, cap, self.loop)
            transport.write(SHED_RESPONSE)
            transport.close()
            return
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        super().data_received(data)

    # The header's size is counted as the parser hands it over, whatever the reads' sizes.
    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        limit = self.limits.max_header_bytes
        if limit is not None and self._header_bytes > limit:
            self._too_large = True
            # The parser turns this into an error; uvicorn answers it with send_400_response.
            raise _HeaderTooLargeError

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse(TOO_LARGE_RESPONSE)
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_header:  # the next request on a kept-alive connection
            self._in_header = True
            self._header_bytes = 0
            self._start_header_clock()

    def on_headers_complete(self) -> None:
        self._in_header = False
        self._stop_header_clock()
        super().on_headers_complete()

    def _start_header_clock(self) -> None:
        timeout = self.limits.header_timeout
        if timeout is not None and self._header_timer is None:
            self._header_timer = self.loop.call_later(timeout, self._header_timed_out)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._got_bytes:  # a silent connection is idle, not slow: close it quietly
            self._refuse(TIMEOUT_RESPONSE)
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self._stop_header_clock()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()
