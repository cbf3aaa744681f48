"""storefront's gunicorn worker, as a real process, under idle, slow and oversized clients.

Issue 16 saw 19,990 idle sockets exhaust a worker's 20,000 descriptors, after
which ``/healthz`` went unanswered with nothing in the log. The worker now caps
connections (503 at once beyond the cap, and a log line), closes connections
that send no complete header in time, and raises its descriptor limit to cover
the cap with room to spare.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port
from tests.storefront.ops.servers import Running, api_key, gunicorn_command, production_env, serve

CAP = 50
HEADER_TIMEOUT = 4


@pytest.fixture(scope="module")
def worker(simulator_server, tmp_path_factory) -> Iterator[tuple[Running, str]]:
    """One worker for the module: each test leaves no connection behind."""
    port = free_port()
    env = production_env(
        simulator_server,
        tmp_path_factory.mktemp("limits"),
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="1",
        STOREFRONT_MAX_CONNECTIONS=str(CAP),
        STOREFRONT_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        STOREFRONT_MAX_HEADER_BYTES="8192",
        STOREFRONT_FD_RESERVE="1000",
    )
    key = api_key(env)
    with serve(gunicorn_command(), env, port) as server:
        yield server, key


def open_idle(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def port_of(server: Running) -> int:
    return int(server.base.rsplit(":", 1)[1])


def test_idle_sockets_beyond_the_cap_are_shed_with_503_and_a_log_line_then_it_recovers(worker):
    server, _ = worker
    port = port_of(server)
    held = open_idle(port, CAP)
    extra = open_idle(port, 30)
    try:
        # Each connection beyond the cap is answered at once and closed: its descriptor is back.
        for sock in extra:
            answer = read_all(sock)
            assert answer.startswith(b"HTTP/1.1 503 ")
            assert b"retry-after: 1" in answer
            assert b'"code":"over_capacity"' in answer
        probe = httpx.get(f"{server.base}/healthz", timeout=5, trust_env=False)
        assert probe.status_code == 503
        assert probe.json()["error"]["code"] == "over_capacity"
    finally:
        for sock in held + extra:
            sock.close()
    time.sleep(0.3)
    recovered = httpx.get(f"{server.base}/healthz", timeout=5, trust_env=False)
    assert recovered.status_code == 200
    log = server.log()
    assert f"connection limit reached: {CAP} open, cap {CAP} (STOREFRONT_MAX_CONNECTIONS)" in log


def test_a_silent_connection_is_closed_quietly_at_the_header_timeout(worker):
    server, _ = worker
    [sock] = open_idle(port_of(server), 1)
    started = time.monotonic()
    with sock:
        assert read_all(sock) == b""
    assert HEADER_TIMEOUT - 0.5 < time.monotonic() - started < HEADER_TIMEOUT + 2


def test_a_dribbled_header_gets_408_at_the_header_timeout(worker):
    server, _ = worker
    [sock] = open_idle(port_of(server), 1)
    started = time.monotonic()
    answer = b""
    with sock:
        sock.settimeout(0.2)
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000:
            try:
                sock.send(bytes([byte]))
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            break
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert HEADER_TIMEOUT - 0.5 < time.monotonic() - started < HEADER_TIMEOUT + 2


def test_an_oversized_header_gets_431(worker):
    server, _ = worker
    answer = httpx.get(
        f"{server.base}/healthz", headers={"X-Big": "a" * 10_000}, timeout=5, trust_env=False
    )
    assert answer.status_code == 431
    assert answer.json()["error"]["code"] == "header_too_large"
    assert httpx.get(f"{server.base}/healthz", timeout=5, trust_env=False).status_code == 200


def test_the_worker_raises_its_descriptor_limit_to_cover_the_cap(worker):
    server, key = worker
    pid = httpx.get(
        f"{server.base}/api/upstreams/", headers={"X-API-Key": key}, trust_env=False
    ).json()["process"]
    limits = Path(f"/proc/{pid}/limits").read_text()
    soft, hard = next(line for line in limits.splitlines() if "open files" in line).split()[3:5]
    # Raised to the cap plus the reserve, or as far as the hard limit allows.
    assert int(soft) >= CAP + 1000 or soft == hard
