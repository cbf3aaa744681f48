"""``SimulatorServer``: a real loopback server in a thread, started and stopped cleanly."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest

from upstreams.server import SimulatorServer


def _threads_named(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_port_zero_picks_a_free_port_and_the_urls_use_it() -> None:
    with SimulatorServer() as server:
        assert server.port != 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.service_url("billing") == f"http://127.0.0.1:{server.port}/billing"


def test_started_server_answers_over_loopback() -> None:
    with SimulatorServer() as server:
        response = httpx.get(server.service_url("users") + "/summary?latency_ms=0", trust_env=False)

    assert response.status_code == 200


def test_stop_leaves_no_thread_and_frees_the_port() -> None:
    server = SimulatorServer()
    server.start()
    name = f"simulator:{server.port}"
    assert len(_threads_named(name)) == 1

    server.stop()

    assert _threads_named(name) == []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port))


def test_servers_keep_their_own_faults() -> None:
    with SimulatorServer() as first, SimulatorServer() as second:
        first.set_fault("users", status=503)

        assert second.stats()["services"]["users"]["requests"] == 0
        response = httpx.get(second.service_url("users") + "/summary?latency_ms=0", trust_env=False)

    assert response.status_code == 200


def test_sync_helpers_set_faults_read_stats_and_reset(simulator: SimulatorServer) -> None:
    settings = simulator.set_fault("analytics", latency_ms=0, status=500)
    status = httpx.get(simulator.service_url("analytics") + "/summary", trust_env=False).status_code
    counted = simulator.stats()["services"]["analytics"]["requests"]

    simulator.reset()

    assert (settings["status"], status, counted) == (500, 500, 1)
    assert simulator.stats()["services"]["analytics"]["requests"] == 0
    status_after_reset = httpx.get(
        simulator.service_url("analytics") + "/summary", trust_env=False
    ).status_code
    assert status_after_reset == 200


async def test_async_helpers_set_faults_read_stats_and_reset(simulator: SimulatorServer) -> None:
    settings = await simulator.aset_fault("analytics", latency_ms=0, status=502)
    async with httpx.AsyncClient(trust_env=False) as client:
        status = (await client.get(simulator.service_url("analytics") + "/summary")).status_code
        counted = (await simulator.astats())["services"]["analytics"]["requests"]

        await simulator.areset()

        status_after_reset = (
            await client.get(simulator.service_url("analytics") + "/summary?latency_ms=0")
        ).status_code
    assert (settings["status"], status, counted, status_after_reset) == (502, 502, 1, 200)


def test_stop_ends_a_request_that_would_hang_forever(caplog: pytest.LogCaptureFixture) -> None:
    server = SimulatorServer()
    server.start()
    name = f"simulator:{server.port}"
    with socket.create_connection((server.host, server.port)) as client:
        client.sendall(b"GET /users/summary?fault=hang HTTP/1.1\r\nHost: simulator\r\n\r\n")
        _wait_for_in_flight(server, "users")

        server.stop()

        with pytest.raises(ConnectionResetError):
            client.recv(1024)
    assert _threads_named(name) == []
    assert [
        record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING
    ] == []


def _wait_for_in_flight(server: SimulatorServer, service: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while server.stats()["services"][service]["in_flight"] == 0:
        assert time.monotonic() < deadline, f"no request reached {service}"
        time.sleep(0.01)


def test_stop_with_many_requests_waiting_and_some_clients_leaving_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = SimulatorServer()
    server.start()
    clients = [socket.create_connection((server.host, server.port)) for _ in range(40)]
    try:
        for client in clients:
            client.sendall(
                b"GET /users/summary?latency_ms=5000 HTTP/1.1\r\nHost: simulator\r\n\r\n"
            )
        deadline = time.monotonic() + 5
        while server.stats()["services"]["users"]["in_flight"] < len(clients):
            assert time.monotonic() < deadline, "the requests never all arrived"
            time.sleep(0.01)
        for client in clients[::2]:
            client.close()

        started = time.monotonic()
        server.stop()
        stopped_after = time.monotonic() - started
    finally:
        for client in clients:
            client.close()

    assert stopped_after < 2
    assert [
        record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING
    ] == []
