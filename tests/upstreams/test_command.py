"""``manage.py upstreams``: the simulator in the foreground, with a clear error for a taken port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "upstreams", *args]


@contextmanager
def _running_command(port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        _command("--host", "127.0.0.1", "--port", str(port)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _wait_for_in_flight(port: int, service: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        stats = httpx.get(f"http://127.0.0.1:{port}/_stats", trust_env=False).json()
        if stats["services"][service]["in_flight"]:
            return
        assert time.monotonic() < deadline, f"no request reached {service}"
        time.sleep(0.02)


def test_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        finished = subprocess.run(
            _command("--port", str(port)), cwd=ROOT, capture_output=True, text=True, timeout=60
        )

    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [
        f"CommandError: port {port} on 127.0.0.1 is already in use"
    ]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_a_signal_then_exits_cleanly(stop_signal: signal.Signals) -> None:
    port = free_port()
    with _running_command(port) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        response = httpx.get(f"http://127.0.0.1:{port}/users/summary?latency_ms=0", trust_env=False)
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)

    assert line == f"Upstream simulator listening on http://127.0.0.1:{port}\n"
    assert response.status_code == 200
    assert (process.returncode, stdout, stderr) == (0, "", "")


def test_stops_cleanly_while_a_request_hangs() -> None:
    port = free_port()
    with _running_command(port) as process:
        assert process.stdout is not None
        process.stdout.readline()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"GET /users/summary?fault=hang HTTP/1.1\r\nHost: simulator\r\n\r\n")
            _wait_for_in_flight(port, "users")
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)

    assert (process.returncode, stderr) == (0, "")
