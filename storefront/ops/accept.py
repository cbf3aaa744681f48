"""``AcceptingServer``: every waiting connection accepted at once, whatever the event loop.

libuv 1.45 stopped accepting in a loop: its TCP server takes **one**
connection per readiness event of the listening socket and leaves the rest to
the next turn of the loop (libuv/libuv#3696), and uvloop's
``loop.create_server`` is libuv's. On an idle worker that costs nothing. On a
saturated one, where a turn of the loop runs many requests and takes tens of
milliseconds, new connections are accepted at about one per turn: in
``bench/door.py``'s burst (2,000 connections onto one worker already busy),
1,931 of them were still in the kernel's accept queue 3 s in, about 45 were
accepted a second, and ``/healthz``, each probe a new connection, went
unanswered for 20 s (bench/README.md, "Session 10"). asyncio's own selector
loop accepts up to the listen backlog per event; this does the same on any
loop: a reader on the listening socket that accepts until the queue is empty
(at most ``backlog`` at a time) and hands each connection to
``loop.connect_accepted_socket``, so uvloop still runs every transport.

**Up to the worker's connection cap.** ``room()`` says how many more
connections the worker holds before its cap (``BoundedHttpProtocol`` answers
a connection past it with a 503 and closes it). A batch stops there. At the
cap one connection is accepted per event, as libuv would: it is shed, and
the rest wait in the kernel's queue. Accepting the whole queue to shed it
made a closed-loop client reconnect thousands of times a second. Measured
with 2,000 connections onto a worker capped at 1,000: the loop lagged, the
door cut, and every probe met the cap.

Written here rather than taken from a library because it is the one piece of
uvicorn's ``Server.startup`` that has to change, and uvicorn takes no server
factory. Failures are handled as asyncio's ``_accept_connection`` handles
them: a connection reset before it was accepted is skipped; running out of
descriptors (``EMFILE``, ``ENFILE``, ``ENOBUFS``, ``ENOMEM``), or any other
error of the socket's, stops accepting for a second, logged, rather than
spinning on a socket that stays readable.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections.abc import Callable

__all__ = ["ACCEPT_RETRY_DELAY", "AcceptingServer"]

logger = logging.getLogger("storefront.ops")

ACCEPT_RETRY_DELAY = 1.0
"""Seconds without accepting after the process ran out of descriptors (as asyncio waits)."""

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class AcceptingServer:
    """Serves ``sock`` (listening, owned by the caller) with ``protocol_factory``'s protocols.

    What uvicorn asks of a server at shutdown: ``close()`` (stop accepting) and
    ``wait_closed()``. The socket itself is closed by its owner (gunicorn's
    arbiter, or uvicorn's shutdown for the sockets it was given).
    """

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        *,
        backlog: int,
        room: Callable[[], int] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._protocol_factory = protocol_factory
        self._batch = max(backlog, 1)
        self._room = room
        self._ssl = ssl_context
        self._connecting: set[asyncio.Task[object]] = set()
        self._serving = False
        self._resume: asyncio.TimerHandle | None = None
        sock.setblocking(False)
        self._start()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,)

    def is_serving(self) -> bool:
        return self._serving

    def close(self) -> None:
        """Stop accepting; connections already accepted go on (uvicorn shuts them down)."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._serving:
            self._serving = False
            self._loop.remove_reader(self._sock.fileno())

    async def wait_closed(self) -> None:
        """Until every connection accepted so far has its transport (or has failed)."""
        if self._connecting:
            await asyncio.wait(self._connecting)

    def _start(self) -> None:
        self._resume = None
        self._serving = True
        self._loop.add_reader(self._sock.fileno(), self._accept)

    def _pause(self) -> None:
        self._serving = False
        self._loop.remove_reader(self._sock.fileno())
        self._resume = self._loop.call_later(ACCEPT_RETRY_DELAY, self._start)

    def _accept(self) -> None:
        batch = self._batch
        if self._room is not None:
            # Connections still being set up are not open yet: count them against the room.
            batch = min(batch, max(self._room() - len(self._connecting), 1))
        for _ in range(batch):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # the queue is empty
            except ConnectionAbortedError:
                continue  # reset by the client while it waited
            except OSError as error:
                # Out of descriptors, or anything else the socket says: the socket stays
                # readable, so a reader left in place would spin. Pause, and say so.
                logger.error(
                    "cannot accept a connection (%s); accepting again in %.0f s",
                    error.strerror if error.errno in _OUT_OF_RESOURCES else repr(error),
                    ACCEPT_RETRY_DELAY,
                )
                self._pause()
                return
            conn.setblocking(False)
            self._connect(conn)

    def _connect(self, conn: socket.socket) -> None:
        connecting = self._loop.connect_accepted_socket(self._protocol_factory, conn, ssl=self._ssl)
        task: asyncio.Task[object] = self._loop.create_task(connecting)
        self._connecting.add(task)

        def connected(done: asyncio.Task[object]) -> None:
            self._connecting.discard(done)
            if done.cancelled() or done.exception() is not None:
                if not done.cancelled():
                    logger.warning("a connection failed as it was set up: %r", done.exception())
                conn.close()

        task.add_done_callback(connected)
