"""Run the simulator on a real loopback port, in a background thread, for tests and scripts.

The listening socket is bound here, before uvicorn starts, so that port 0 can
mean "any free port" and ``url`` is known as soon as ``start()`` returns.
Running in a thread (not a subprocess) keeps start-up in the tens of
milliseconds; uvicorn installs no signal handlers outside the main thread, so
the host process keeps its own.

Usage::

    with SimulatorServer() as simulator:
        simulator.set_fault("analytics", fault="hang")
        httpx.get(simulator.service_url("analytics") + "/summary", timeout=0.5)
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from upstreams.app import Simulator

__all__ = ["SimulatorServer", "UvicornServer", "bind_socket", "build_server"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
# A backstop: waiting requests are released as shutdown begins (see UvicornServer),
# but one stuck writing to a client that does not read would hold it for ever.
_GRACEFUL_SHUTDOWN_SECONDS = 2


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; raises ``OSError`` when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


class UvicornServer(uvicorn.Server):
    """uvicorn's server, ending the simulator's waiting requests as shutdown begins."""

    def __init__(self, config: uvicorn.Config, simulator: Simulator) -> None:
        super().__init__(config)
        self.simulator = simulator

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.simulator.release_waiting()
        await super().shutdown(sockets=sockets)


def build_server(simulator: Simulator, **overrides: Any) -> UvicornServer:
    """The one way the simulator is served: uvloop, httptools, quiet, no lifespan."""
    options: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": _GRACEFUL_SHUTDOWN_SECONDS,
    }
    options.update(overrides)
    return UvicornServer(uvicorn.Config(simulator, **options), simulator)


class SimulatorServer:
    """A simulator listening on ``host:port`` (port 0: a free one) until ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.app = Simulator()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def service_url(self, service: str) -> str:
        return f"{self.url}/{service}"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        # Leave uvicorn's logging configuration alone: this runs inside someone
        # else's process (a test session), whose logging is not ours to replace.
        server = build_server(self.app, log_config=None)
        self._server = server
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"simulator:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator did not start on {self.url}") from self._error
            time.sleep(0.005)

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            sock.close()

    def stop(self) -> None:
        thread, server = self._thread, self._server
        self._thread = self._server = None
        if thread is None or server is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"the simulator on {self.url} did not stop")

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Helpers for tests: sync ones for plain code, async twins for async tests,
    # where a blocking call would stall the event loop.

    def set_fault(self, service: str, **settings: Any) -> dict[str, Any]:
        """Change some of ``service``'s fault settings; returns them all."""
        with httpx.Client(base_url=self.url, trust_env=False) as client:
            return _checked(client.put(f"/_faults/{service}", json=settings))

    def reset(self) -> None:
        """Restore every service's default faults and zero the stats."""
        with httpx.Client(base_url=self.url, trust_env=False) as client:
            _checked(client.delete("/_faults"))
            _checked(client.delete("/_stats"))

    def stats(self) -> dict[str, Any]:
        """``GET /_stats``: ``{"services": {name: {"requests": n, ...}}}``."""
        with httpx.Client(base_url=self.url, trust_env=False) as client:
            return _checked(client.get("/_stats"))

    async def aset_fault(self, service: str, **settings: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as client:
            return _checked(await client.put(f"/_faults/{service}", json=settings))

    async def areset(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as client:
            _checked(await client.delete("/_faults"))
            _checked(await client.delete("/_stats"))

    async def astats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as client:
            return _checked(await client.get("/_stats"))


def _checked(response: httpx.Response) -> dict[str, Any]:
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data
