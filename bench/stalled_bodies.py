"""Stalled request bodies against storefront's worker: the API still answers, /readyz says 503.

    uv run python bench/stalled_bodies.py [--sockets 300] [--probes 20]

Issue 25: 260 connections that send ``POST /login/`` with ``Content-Length: 1000``
and ten bytes of body, then hold still, took the admission door's places (the
handler admitted before reading the body, and the read had no deadline); an
authenticated API request then got no answer for 10 s and more, while
``/healthz`` said healthy. This starts the simulator and ``deploy/gunicorn.conf.py``
with one worker (the shipped settings: door of 256, body deadline
``BODY_TIMEOUT`` 60 s / ``MIN_BODY_RATE`` 1024 B/s after ``BODY_GRACE`` 5 s,
``SATURATED_BODY_READS`` 100), opens ``--sockets`` such connections spread over
``POST /login/``, ``POST /api/orders/`` (with a valid key, so the gate lets the
body be read) and ``POST /admin/login/``, then, while they stall, asks an
authenticated ``GET /api/users/active-count/`` ``--probes`` times, ``/healthz``
and ``/readyz``; then waits for every stalled connection's answer and close,
and asks ``/readyz`` again. A request with no answer in 30 s is counted as
status 0, a stalled connection not closed in 90 s as ``TimeoutError``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time

from harness import ROOT, bench_api_key, bench_env, free_port, running, simulator

PATHS = ("/login/", "/api/orders/", "/admin/login/")


async def request(port: int, head: str) -> tuple[int, float]:
    """One request on its own connection: its status (0: no answer in 30 s) and seconds."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    except TimeoutError:
        return 0, time.monotonic() - started
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(answer.split(b" ", 2)[1]), time.monotonic() - started


def get(path: str, authorization: str = "") -> str:
    extra = f"{authorization}\r\n" if authorization else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"


async def stall(port: int, path: str, authorization: str) -> tuple[bytes, float]:
    """Declare 1000 bytes, send ten, hold still; the answer and seconds until the close."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"a": "xx"'
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 90)  # EOF: the server closed it
        return answer.split(b"\r\n", 1)[0], time.monotonic() - started
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def measure(port: int, sockets: int, probes: int, authorization: str) -> None:
    started = time.monotonic()
    stalled = [
        asyncio.create_task(stall(port, PATHS[n % len(PATHS)], authorization))
        for n in range(sockets)
    ]
    await asyncio.sleep(1.0)  # let every connection send its head and ten bytes
    opened = time.monotonic() - started
    print(f"{sockets} stalled bodies open ({', '.join(PATHS)}), {opened:.1f} s in")
    health = await request(port, get("/healthz"))
    ready = await request(port, get("/readyz"))
    print(f"while they stall: /healthz {health[0]}, /readyz {ready[0]}")
    seconds = []
    statuses = set()
    for _ in range(probes):
        status, took = await request(port, get("/api/users/active-count/", authorization))
        statuses.add(status)
        seconds.append(took)
    print(
        f"while they stall: {probes} x GET /api/users/active-count/ -> {sorted(statuses)} "
        "(0: no answer in 30 s), "
        f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
    )
    answers = await asyncio.gather(*stalled, return_exceptions=True)
    lines: dict[str, int] = {}
    closes = []
    for answer in answers:
        if isinstance(answer, BaseException):
            lines[type(answer).__name__] = lines.get(type(answer).__name__, 0) + 1
            continue
        line, took = answer
        lines[line.decode()] = lines.get(line.decode(), 0) + 1
        closes.append(took)
    print(f"stalled connections answered: {lines}")
    if closes:
        print(
            f"stalled connections closed by the server after {min(closes):.2f}-"
            f"{max(closes):.2f} s (median {statistics.median(closes):.2f} s)"
        )
    ready = await request(port, get("/readyz"))
    print(f"after they closed: /readyz {ready[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    upstream_port, port = free_port(), free_port()
    env = bench_env(
        upstream_port,
        STOREFRONT_VAR_DIR=tempfile.mkdtemp(prefix="chorus-stalled-"),
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="1",
        STOREFRONT_READY_NEEDS_TASK_WORKER="0",
    )
    (authorization,) = bench_api_key(env)
    argv = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
            "storefront.asgi:application"]  # fmt: skip
    with (
        simulator(upstream_port),
        running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz"),
    ):
        asyncio.run(measure(port, args.sockets, args.probes, authorization))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
