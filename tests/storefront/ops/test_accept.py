"""AcceptingServer: every waiting connection accepted per event, on a busy uvloop loop too."""

import asyncio
import socket
import time

import pytest
import uvloop

from storefront.ops.accept import AcceptingServer

WAITING = 200  # connections queued in the kernel before the loop looks
TURN = 0.02  # seconds each turn of the busy loop spends on "requests"


class Counted(asyncio.Protocol):
    made = 0

    def connection_made(self, transport):
        Counted.made += 1
        self.transport = transport

    def connection_lost(self, exc):
        pass


def listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    return sock


def connect_all(port: int) -> list[socket.socket]:
    """``WAITING`` connections, each complete in the kernel's accept queue."""
    clients = []
    for _ in range(WAITING):
        client = socket.create_connection(("127.0.0.1", port))
        clients.append(client)
    return clients


async def accepted_within_busy_turns(serve, turns: int) -> int:
    """How many of the waiting connections ``serve`` accepted while the loop ran ``turns``
    turns of ``TURN`` seconds of other work each (a saturated worker's loop)."""
    Counted.made = 0
    loop = asyncio.get_running_loop()
    sock = listening()
    clients = connect_all(sock.getsockname()[1])
    server = await serve(loop, sock)
    done = loop.create_future()
    remaining = turns

    def busy_turn():
        nonlocal remaining
        deadline = time.perf_counter() + TURN
        while time.perf_counter() < deadline:  # the CPU a turn of requests would use
            pass
        remaining -= 1
        if remaining:
            loop.call_soon(busy_turn)
        else:
            done.set_result(None)

    try:
        loop.call_soon(busy_turn)
        await done
        return Counted.made
    finally:
        server.close()
        for client in clients:
            client.close()
        sock.close()


async def accepting_server(loop, sock):
    return AcceptingServer(sock, Counted, backlog=4096)


async def uvloops_own_server(loop, sock):
    return await loop.create_server(Counted, sock=sock, backlog=4096)


def test_a_busy_uvloop_loop_accepts_every_waiting_connection_in_a_turn():
    accepted = uvloop.run(accepted_within_busy_turns(accepting_server, turns=5))
    assert accepted == WAITING


CAP = 10


async def capped_server(loop, sock):
    return AcceptingServer(sock, Counted, backlog=4096, room=lambda: CAP - Counted.made)


def test_a_batch_stops_at_the_connection_cap_and_then_one_a_turn_is_accepted_to_be_shed():
    # Past the cap the protocol answers 503 and closes: accepting the whole queue only to
    # shed it would have a closed-loop client reconnect as fast as the loop can shed.
    turns = 5
    accepted = uvloop.run(accepted_within_busy_turns(capped_server, turns=turns))
    assert CAP < accepted <= CAP + turns


def test_the_same_loop_with_uvloops_own_server_accepts_about_one_a_turn():
    # The reason for AcceptingServer (libuv/libuv#3696): if this stops holding, a newer
    # libuv accepts in batches again and AcceptingServer can go.
    accepted = uvloop.run(accepted_within_busy_turns(uvloops_own_server, turns=5))
    assert accepted < WAITING // 4


def test_after_close_nothing_more_is_accepted():
    async def scenario():
        Counted.made = 0
        sock = listening()
        server = AcceptingServer(sock, Counted, backlog=64)
        try:
            first = socket.create_connection(sock.getsockname())
            for _ in range(50):
                await asyncio.sleep(0.01)
                if Counted.made == 1:
                    break
            assert Counted.made == 1
            assert server.is_serving()
            server.close()
            assert not server.is_serving()
            second = socket.create_connection(sock.getsockname())  # queued by the kernel
            await asyncio.sleep(0.2)
            await server.wait_closed()
            assert Counted.made == 1
        finally:
            first.close()
            second.close()
            sock.close()

    uvloop.run(scenario())


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop])
def test_an_accepted_connection_is_served_by_the_loops_own_transport(loop_factory):
    async def scenario():
        loop = asyncio.get_running_loop()
        sock = listening()
        received = loop.create_future()

        class Echo(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                self.transport.write(data.upper())
                received.set_result(data)

        server = AcceptingServer(sock, Echo, backlog=16)
        try:
            reader, writer = await asyncio.open_connection(*sock.getsockname())
            writer.write(b"ping")
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(4), 5) == b"PING"
            assert await received == b"ping"
            writer.close()
            await writer.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
            sock.close()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(scenario())


def out_of_descriptors_scenario() -> None:
    """Run in a process of its own: it lowers the process's descriptor limit."""
    import logging
    import os
    import resource

    logging.basicConfig(level=logging.ERROR, format="%(message)s")

    async def scenario():
        Counted.made = 0
        sock = listening()
        clients = [socket.create_connection(sock.getsockname()) for _ in range(3)]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        server = None
        try:
            # No descriptor left for accept(): EMFILE, with the connections waiting.
            resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")), hard))
            server = AcceptingServer(sock, Counted, backlog=64)
            for _ in range(20):
                await asyncio.sleep(0.01)
                if not server.is_serving():
                    break
            assert not server.is_serving()
            assert Counted.made < 3  # what descriptors were left, perhaps none
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            for _ in range(300):  # back within ACCEPT_RETRY_DELAY (1 s)
                await asyncio.sleep(0.01)
                if Counted.made == 3:
                    break
            assert Counted.made == 3
            assert server.is_serving()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            if server is not None:
                server.close()
            for client in clients:
                client.close()
            sock.close()

    uvloop.run(scenario())
    print("resumed")


def test_out_of_descriptors_pauses_accepting_and_resumes():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = "from tests.storefront.ops.test_accept import out_of_descriptors_scenario as s; s()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "resumed"
    assert "cannot accept a connection (Too many open files)" in done.stderr
