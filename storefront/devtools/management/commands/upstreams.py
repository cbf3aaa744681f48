"""``manage.py upstreams``: the upstream simulator in the foreground, on a fixed port.

The port is bound before uvicorn starts, so a port already in use is one clear
line, not a uvicorn traceback; the bound socket is then handed to uvicorn, so
nothing can take the port in between. Ctrl-C and SIGTERM shut down gracefully
and exit with status 0: ``manage.py demo`` runs this as a child process and
stops it that way.
"""

from __future__ import annotations

import errno
import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from upstreams.app import app
from upstreams.server import bind_socket, build_server

__all__ = ["Command"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Command(BaseCommand):
    help = "Run the upstream simulator (inventory, notifications, analytics, users, billing)."
    # The simulator uses nothing Django checks; a half-configured project may still run it.
    requires_system_checks = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
        parser.add_argument("--port", type=int, default=8100, help="Port to listen on.")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        try:
            sock = bind_socket(host, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {host} is already in use") from None
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        server = build_server(app)

        # uvicorn handles these signals while it serves, then raises them again
        # once it has stopped; these handlers make that second delivery (and one
        # arriving before uvicorn is ready) a graceful stop instead of a
        # KeyboardInterrupt traceback or a death by SIGTERM.
        def stop(signum: int, frame: FrameType | None) -> None:
            server.should_exit = True

        previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
        try:
            shown_host = f"[{host}]" if ":" in host else host
            self.stdout.write(f"Upstream simulator listening on http://{shown_host}:{port}")
            self.stdout.flush()
            server.run(sockets=[sock])
        finally:
            sock.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
