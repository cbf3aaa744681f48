"""The reset fault resets the TCP connection: the client gets ECONNRESET and no response."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import httpx
import pytest

from upstreams.server import SimulatorServer


async def _read_until_closed(reader: asyncio.StreamReader, into: bytearray) -> None:
    while chunk := await asyncio.wait_for(reader.read(65536), timeout=5):
        into += chunk


async def test_reset_reaches_the_socket_as_connection_reset(simulator: SimulatorServer) -> None:
    await simulator.aset_fault("inventory", fault="reset", latency_ms=0)
    reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
    try:
        writer.write(b"GET /inventory/stock HTTP/1.1\r\nHost: simulator\r\n\r\n")
        await writer.drain()
        received = bytearray()
        with pytest.raises(ConnectionResetError):
            await _read_until_closed(reader, received)
        assert received == b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()


async def test_reset_gives_an_http_client_a_connection_error(simulator: SimulatorServer) -> None:
    await simulator.aset_fault("inventory", fault="reset", latency_ms=0)

    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(simulator.service_url("inventory") + "/stock")


async def test_reset_is_not_counted_as_a_client_disconnect(simulator: SimulatorServer) -> None:
    await simulator.aset_fault("inventory", fault="reset", latency_ms=0)

    # httpx, unlike aiohttp, never resends a request whose connection failed.
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(simulator.service_url("inventory") + "/stock")

    inventory = (await simulator.astats())["services"]["inventory"]
    assert (inventory["requests"], inventory["disconnects"]) == (1, 0)
