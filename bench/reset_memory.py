"""Memory under an upstream that resets its connections: flat after warm-up, or a leak.

    uv run --group bench python bench/reset_memory.py [--requests 20000] [--checkout PATH]

Issue 25: the transport once cached its ``TransportError`` objects and re-raised
the same one each time; every raise appended to its ``__traceback__``, keeping
each caller's frames alive (RSS 107 → 735 MB over 20,000 dashboard requests).
This runs that load: the simulator with analytics resetting every connection,
storefront as shipped (one uvicorn worker, uvloop, httptools, ``DEBUG=0``, SQLite)
but for ``STOREFRONT_POLICIES=0`` (the breaker would otherwise stop calling the
faulted upstream, and the leak with it) and the door off (every request reaches the
transport), wrk at 64 connections on ``/api/dashboard/`` in windows of
``--window`` seconds until ``--requests`` are answered. The worker's RSS is read
after each window. Pass: growth under 5% from the end of the warm-up (the first
window past ``--warm-up`` requests: the pools, caches and allocator's arenas
filling; 2,500-3,700 requests in the first runs) to the end. ``--checkout`` measures another checkout (a ``git worktree``
of an older commit) in the same sitting, with this one's environment.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil
from harness import ROOT, bench_api_key, bench_env, free_port, running, simulator, wrk

CONNECTIONS = 64


def reset_analytics(port: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_faults/analytics",
        data=json.dumps({"fault": "reset"}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def measure(checkout: Path, label: str, total: int, warm_up: int, window: int, work: Path) -> dict:
    upstream_port, port = free_port(), free_port()
    var_dir = work / label.replace(" ", "-")
    env = bench_env(
        upstream_port,
        STOREFRONT_VAR_DIR=str(var_dir),
        STOREFRONT_POLICIES="0",
        STOREFRONT_MAX_IN_FLIGHT="0",
        # The checkout's own chorus and storefront, not this one's installed chorus.
        PYTHONPATH=f"{checkout / 'src'}:{checkout}",
    )
    argv = [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
            "--no-access-log"]  # fmt: skip
    with simulator(upstream_port):
        reset_analytics(upstream_port)
        headers = bench_api_key(env, checkout)
        ready = f"http://127.0.0.1:{port}/healthz"
        log = (
            work / f"{label.replace(' ', '-')}.log"
        )  # its 504s (analytics is required) and the rest
        with running(argv, env=env, ready_url=ready, cwd=checkout, log=log) as server:
            worker = psutil.Process(server.pid)
            start_mib = worker.memory_info().rss / 2**20
            answered, samples = 0, []
            while answered < total:
                result = wrk(f"http://127.0.0.1:{port}/api/dashboard/", label=label,
                             connections=CONNECTIONS, seconds=window, headers=headers)  # fmt: skip
                answered += result.requests
                samples.append((answered, worker.memory_info().rss / 2**20))
                print(f"  {label}: {answered:,} requests, RSS {samples[-1][1]:.0f} MiB", flush=True)
    warm = next((rss for answered, rss in samples if answered >= warm_up), samples[-1][1])
    end = samples[-1][1]
    return {"label": label, "start_mib": start_mib, "warm_mib": warm, "end_mib": end,
            "growth": (end - warm) / warm, "samples": samples}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warm-up", type=int, default=4_000, help="requests before the baseline")
    parser.add_argument("--window", type=int, default=5, help="seconds per wrk window")
    parser.add_argument("--checkout", type=Path, help="another checkout to measure too")
    args = parser.parse_args()
    runs = [(ROOT, "this build")]
    if args.checkout is not None:
        runs.append((args.checkout.resolve(), f"checkout {args.checkout.name}"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reset-") as raw:
        for checkout, label in runs:
            rows.append(
                measure(checkout, label, args.requests, args.warm_up, args.window, Path(raw))
            )
    print()
    print("| build | requests | RSS at start MiB | after warm-up MiB | at the end MiB | growth |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['label']} | {row['samples'][-1][0]:,} | {row['start_mib']:.0f} "
              f"| {row['warm_mib']:.0f} | {row['end_mib']:.0f} | {row['growth']:+.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
