"""The seeds' headline on this machine: three 100 ms upstreams, async fan-out vs sync baseline.

    uv run --group bench python bench/fanout.py [--seconds 10]

Starts the simulator, storefront under uvicorn (one worker, uvloop, httptools)
and the same project under gunicorn with one sync worker (the WSGI baseline:
same process count), then measures ``/api/dashboard/`` and
``/api/sync/dashboard/`` with wrk at concurrency 1 and 64. Prints a Markdown
table for ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import sys

from harness import TABLE_HEADER, bench_api_key, bench_env, free_port, running, simulator, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    upstream_port, async_port, sync_port = free_port(), free_port(), free_port()
    env = bench_env(upstream_port)
    auth = bench_api_key(env)
    uvicorn = [
        sys.executable, "-m", "uvicorn", "storefront.asgi:application",
        "--host", "127.0.0.1", "--port", str(async_port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    gunicorn = [
        sys.executable, "-m", "gunicorn", "storefront.wsgi:application",
        "--bind", f"127.0.0.1:{sync_port}", "--workers", "1", "--worker-class", "sync",
        "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    results = []
    with simulator(upstream_port):
        with running(uvicorn, env=env, ready_url=f"http://127.0.0.1:{async_port}/healthz"):
            for connections in (1, 64):
                wrk(f"http://127.0.0.1:{async_port}/api/dashboard/", label="warm-up",
                    connections=connections, seconds=2, headers=auth)  # fmt: skip
                results.append(
                    wrk(
                        f"http://127.0.0.1:{async_port}/api/dashboard/",
                        label="async fan-out (uvicorn)",
                        connections=connections,
                        seconds=args.seconds,
                        headers=auth,
                    )
                )
        with running(gunicorn, env=env, ready_url=f"http://127.0.0.1:{sync_port}/healthz"):
            for connections in (1, 64):
                results.append(
                    wrk(
                        f"http://127.0.0.1:{sync_port}/api/sync/dashboard/",
                        label="sync baseline (gunicorn sync)",
                        connections=connections,
                        seconds=args.seconds,
                        headers=auth,
                    )
                )
    print(TABLE_HEADER)
    for result in results:
        print(result.row())
    by = {(r.label.split()[0], r.connections): r for r in results}
    for connections in (1, 64):
        ratio = (
            by[("async", connections)].requests_per_second
            / by[("sync", connections)].requests_per_second
        )
        print(f"\nthroughput ratio async/sync at {connections} connections: {ratio:.1f}x")


if __name__ == "__main__":
    main()
