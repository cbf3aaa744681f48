"""``StorefrontWorker``: gunicorn's uvicorn worker with draining, bounded graceful shutdown and limits.

    worker_class = "storefront.ops.worker.StorefrontWorker"   # deploy/gunicorn.conf.py

**Graceful shutdown.** On SIGTERM, uvicorn's server stops accepting, asks each
connection to finish (idle keep-alive connections close at once; in-flight
requests complete and then close), waits for them, and only then sends the
ASGI ``lifespan.shutdown`` that closes chorus's pools. The application would
learn of the shutdown only at that last step, so an endless stream (SSE)
would hold the worker until gunicorn's ``graceful_timeout`` and then be killed
without a word. The server's ``shutdown()`` is the one place that runs on the
worker's event loop at the moment accepting stops, so ``_DrainingServer``
calls ``chorus.server.begin_draining()`` there, first: every ``EventStreamResponse``
(``/api/live/``, ``/api/events/``) sends its final ``event: shutdown`` with a
``retry:`` hint and ends, so browsers reconnect to another worker. WebSockets
(``/ws/live/``) are closed by uvicorn itself with code 1012 (service restart).
uvicorn's own wait is bounded by ``timeout_graceful_shutdown``, one second
less than gunicorn's ``graceful_timeout`` (so uvicorn cancels what is left and
the lifespan shutdown still closes the pools before the arbiter would SIGKILL).
The other choice, watching uvicorn's ``should_exit`` flag from a task, would
see it up to a tick late and duplicate what ``shutdown()`` already sequences.

**Accepting.** gunicorn's listening sockets are served by
``storefront.ops.accept.AcceptingServer``, which accepts the waiting
connections per readiness event, up to the connection cap. uvloop's own
server takes one per turn of the loop, which under load leaves new
connections (health probes among them) waiting in the kernel's queue.

**Limits** (``storefront.ops.protocol``), from the environment:

- ``STOREFRONT_MAX_CONNECTIONS`` (1000): open connections per worker; beyond
  it a new connection gets ``503`` at once and a warning is logged;
- ``STOREFRONT_HEADER_TIMEOUT`` (10 s): the request header must arrive within
  it (``408``; a connection that sent nothing is closed quietly);
- ``STOREFRONT_MAX_HEADER_BYTES`` (32768, ``storefront.ops.conf``; chorus's
  ``REQUEST_LIMITS`` take the same value): ``431`` beyond;
- ``STOREFRONT_KEEPALIVE_TIMEOUT`` (5 s, gunicorn's ``keepalive``): idle time
  between requests on a kept-alive connection;
- the worker raises its soft ``RLIMIT_NOFILE`` to cover the connection cap
  plus ``STOREFRONT_FD_RESERVE`` (4096: upstream pools, database, Redis,
  files), never above the hard limit; if the hard limit is lower it says so
  in the log, since the cap would then no longer keep descriptors in reserve.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

import chorus
from storefront.ops.accept import AcceptingServer
from storefront.ops.conf import MAX_HEADER_BYTES
from storefront.ops.protocol import BoundedHttpProtocol, Limits

__all__ = ["StorefrontWorker", "raise_fd_limit"]

logger = logging.getLogger("storefront.ops")


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft descriptor limit towards ``wanted`` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if hard != resource.RLIM_INFINITY and hard < wanted:
        logger.warning(
            "file descriptor hard limit %d is below the %d this worker's connection cap needs; "
            "raise it (LimitNOFILE= in systemd, ulimits in compose) or lower "
            "STOREFRONT_MAX_CONNECTIONS",
            hard,
            wanted,
        )
    return int(soft)


class _DrainingServer(Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None:
            await super().startup(sockets)
            return
        # gunicorn's listening sockets are served by AcceptingServer, which accepts every
        # waiting connection per event (storefront.ops.accept): uvloop's server takes one
        # per turn of the loop, and a saturated worker then leaves probes unaccepted.
        await super().startup(sockets=[])  # the lifespan and uvicorn's state, no listener
        config = self.config
        self.servers = [
            AcceptingServer(
                sock,
                self._make_protocol,
                backlog=config.backlog,
                room=self._room,
                ssl_context=config.ssl,
            )
            for sock in sockets
        ]

    def _room(self) -> int:
        """Connections this worker takes before its cap sheds them (``Limits``)."""
        cap = Limits.max_connections
        if cap is None:
            return self.config.backlog
        return cap - len(self.server_state.connections)

    def _make_protocol(self) -> asyncio.Protocol:
        config = self.config
        return config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        chorus.server.begin_draining()  # streams end now; in-flight requests finish below
        await super().shutdown(sockets=sockets)


class StorefrontWorker(UvicornWorker):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        max_connections = int(_env_number("STOREFRONT_MAX_CONNECTIONS", 1000))
        Limits.max_connections = max_connections
        Limits.header_timeout = _env_number("STOREFRONT_HEADER_TIMEOUT", 10.0)
        Limits.max_header_bytes = int(_env_number("STOREFRONT_MAX_HEADER_BYTES", MAX_HEADER_BYTES))
        self.fd_wanted = max_connections + int(_env_number("STOREFRONT_FD_RESERVE", 4096))
        config = self.config
        config.http = BoundedHttpProtocol
        # uvicorn's own check (503 once a request arrives) bounds requests in flight;
        # the protocol's cap, one lower, refuses connections before they cost a request.
        config.limit_concurrency = max_connections + 1
        config.h11_max_incomplete_event_size = Limits.max_header_bytes
        config.timeout_graceful_shutdown = max(self.cfg.graceful_timeout - 1, 1)

    def init_process(self) -> None:
        raise_fd_limit(self.fd_wanted)
        super().init_process()

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = _DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
