"""A burst of requests that each make one ORM call: the worker's peak threads, none lost.

    uv run python bench/orm_burst.py [--burst 1000] [--path /api/users/active-count/]
        [--postgres postgres://...] [--checkout PATH]

Starts the simulator and storefront (one uvicorn worker, uvloop, httptools,
``DEBUG=0``, SQLite unless ``--postgres``) on loopback, opens ``--burst``
connections, then sends on each at once one ``GET --path`` with an API key
(warmed by one request first, so the burst measures the view, not the key
lookup). ``/api/live/`` is an SSE stream: it counts as answered at its status
line and is closed half a second later; ``/ws/live/`` is a WebSocket opening
(the Upgrade request), answered at its ``101`` and closed half a second later. The worker's threads are sampled
every 10 ms (psutil). Prints one Markdown row for ``bench/README.md``.

Issue 25 measured 151-236 peak threads for 1,000 ``/api/users/active-count/``
requests (a thread per request's ``ThreadSensitiveContext``); the bound is the
database pool's connections plus a small constant (≤ 64 with the pool of 20).
``--checkout`` runs another checkout's storefront (e.g. ``git archive main``
unpacked in /tmp) with this one's environment, for a before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import uvloop
from harness import ROOT, bench_api_key, bench_env, free_port, simulator, wait_until_up

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int) -> Connection | None:
    try:
        return await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None


async def one_request(connection: Connection | None, request: bytes, stream: bool) -> int:
    """The status of one request on an open connection (0: failed)."""
    if connection is None:
        return 0
    reader, writer = connection
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 60)
        if stream:
            await asyncio.sleep(0.5)
        else:
            await asyncio.wait_for(reader.read(), 60)
        parts = status_line.split()
        return int(parts[1]) if len(parts) > 1 else 0
    except (OSError, TimeoutError, ValueError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def peak_threads(process: psutil.Process, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            peak = max(peak, process.num_threads())
        await asyncio.sleep(0.01)
    return peak


_WEBSOCKET_HEADERS = (
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


async def burst(port: int, pid: int, authorization: str, path: str, size: int) -> str:
    websocket = path.startswith("/ws/")
    connection = _WEBSOCKET_HEADERS if websocket else "Connection: close\r\n"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\r\n{connection}\r\n"
    request_bytes = request.encode()
    stream = websocket or path.startswith("/api/live/")
    opened = 101 if websocket else 200
    await one_request(await connect(port), request_bytes, stream)  # the key in the worker's cache
    process = psutil.Process(pid)
    threads_before = process.num_threads()
    stop = asyncio.Event()
    sampler = asyncio.create_task(peak_threads(process, stop))
    # Every connection open first, then every request sent at once: they reach the
    # worker together.
    connections = await asyncio.gather(*(connect(port) for _ in range(size)))
    started = time.perf_counter()
    statuses = await asyncio.gather(*(one_request(c, request_bytes, stream) for c in connections))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.3)
    stop.set()
    peak = await sampler
    ok = sum(status == opened for status in statuses)
    other = sorted({status for status in statuses if status != opened})
    return f"| {path} | {size:,} | {ok:,} | {other or '-'} | {elapsed:.2f} | {threads_before} → {peak} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--path", default="/api/users/active-count/")
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    upstream_port, port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="bench-orm-burst-") as var_dir:
        env = bench_env(upstream_port, STOREFRONT_VAR_DIR=var_dir, DEBUG="0")
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if args.postgres:
            env["DATABASE_URL"] = args.postgres
        authorization = bench_api_key(env)[0]
        uvicorn = [
            sys.executable, "-m", "uvicorn", "storefront.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--backlog", "8192",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        # The checkout's chorus too: this environment installs its own (editable).
        env["PYTHONPATH"] = os.pathsep.join((str(args.checkout / "src"), str(args.checkout)))
        with simulator(upstream_port):
            server = subprocess.Popen(uvicorn, cwd=args.checkout, env=env, start_new_session=True)
            try:
                wait_until_up(f"http://127.0.0.1:{port}/healthz")
                row = uvloop.run(burst(port, server.pid, authorization, args.path, args.burst))
            finally:
                os.killpg(server.pid, 15)
                server.wait(timeout=20)
    print(
        "| path | burst | answered (200, or 101) | other statuses | seconds | worker threads (before → peak) |"
    )
    print("|---|---|---|---|---|---|")
    print(row)


if __name__ == "__main__":
    main()
