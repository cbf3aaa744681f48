"""A burst of requests with one API key on a cold key cache: threads, memory, and the dashboard.

    uv run python bench/credential_burst.py [--burst 3000] [--checkout PATH]

Starts the simulator and storefront (one uvicorn worker, uvloop, httptools,
``DEBUG=0``, SQLite) on loopback, opens ``--burst`` connections, then, with the
key cache still cold, sends on each at once one ``GET /api/events/`` with the same API key: an SSE
stream that stays open 3 s, as a page's would (a thread made for a request
lives as long as the request). Meanwhile a probe asks ``/api/dashboard/``
every 50 ms (its status and latency), and the worker's thread count and RSS are
sampled every 10 ms (psutil). Prints one Markdown row for ``bench/README.md``.

``--checkout`` runs another checkout's storefront (a ``git worktree`` of an older
commit) with this one's environment, for a before/after in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import uvloop
from harness import ROOT, bench_api_key, bench_env, free_port, simulator, wait_until_up

PROBE_INTERVAL = 0.05


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    try:
        return await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None


async def one_stream(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None, request: bytes
) -> int:
    """Send one SSE request on an open connection; the status it got (0: failed)."""
    if connection is None:
        return 0
    reader, writer = connection
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 60)
        await asyncio.wait_for(reader.read(), 60)
        parts = status_line.split()
        return int(parts[1]) if len(parts) > 1 else 0
    except (OSError, TimeoutError, ValueError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def probe_dashboard(
    port: int, authorization: str, stop: asyncio.Event
) -> list[tuple[int, float]]:
    seen: list[tuple[int, float]] = []
    while not stop.is_set():
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"GET /api/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            status_line = await asyncio.wait_for(reader.readline(), 30)
            await reader.read()
            writer.close()
            seen.append((int(status_line.split()[1]), (time.perf_counter() - started) * 1000))
        except (OSError, TimeoutError, IndexError, ValueError):
            seen.append((0, (time.perf_counter() - started) * 1000))
        await asyncio.sleep(PROBE_INTERVAL)
    return seen


async def sample(process: psutil.Process, stop: asyncio.Event) -> tuple[int, int]:
    threads = rss = 0
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            threads = max(threads, process.num_threads())
            rss = max(rss, process.memory_info().rss)
        await asyncio.sleep(0.01)
    return threads, rss


async def burst(port: int, pid: int, authorization: str, size: int) -> str:
    process = psutil.Process(pid)
    threads_before = process.num_threads()
    rss_before = process.memory_info().rss
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(process, stop))
    prober = asyncio.create_task(probe_dashboard(port, authorization, stop))
    # Every connection open first, then every request sent at once: they reach the
    # worker together, before the first key lookup can finish.
    connections = await asyncio.gather(*(connect(port) for _ in range(size)))
    await asyncio.sleep(0.3)  # the probe's calm baseline
    request = (
        f"GET /api/events/?count=2&interval=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"{authorization}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    statuses = await asyncio.gather(*(one_stream(c, request) for c in connections))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.3)
    stop.set()
    peak_threads, peak_rss = await sampler
    probes = await prober
    ok = sum(status == 200 for status in statuses)
    probe_ok = [ms for status, ms in probes if status == 200]
    probe_bad = len(probes) - len(probe_ok)
    worst = max(probe_ok) if probe_ok else float("nan")
    median = statistics.median(probe_ok) if probe_ok else float("nan")
    return (
        f"| {size:,} | {ok:,} | {elapsed:.2f} | {threads_before} → {peak_threads} "
        f"| {rss_before / 2**20:.0f} → {peak_rss / 2**20:.0f} | {len(probes)} "
        f"| {probe_bad} | {median:.0f} | {worst:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    upstream_port, port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as var_dir:
        env = bench_env(upstream_port, STOREFRONT_VAR_DIR=var_dir, DEBUG="0")
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if args.postgres:
            env["DATABASE_URL"] = args.postgres
        authorization = bench_api_key(env)[0]  # migrates; the key goes into the cold cache
        uvicorn = [
            sys.executable, "-m", "uvicorn", "storefront.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--backlog", "8192",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env["PYTHONPATH"] = str(args.checkout)
        with simulator(upstream_port):
            server = subprocess.Popen(uvicorn, cwd=args.checkout, env=env, start_new_session=True)
            try:
                wait_until_up(f"http://127.0.0.1:{port}/healthz")
                row = uvloop.run(burst(port, server.pid, authorization, args.burst))
            finally:
                os.killpg(server.pid, 15)
                server.wait(timeout=20)
    print(
        "| burst | 200s | seconds | worker threads | RSS MiB | dashboard probes "
        "| probes failed | probe p50 ms | probe max ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(row)


if __name__ == "__main__":
    main()
