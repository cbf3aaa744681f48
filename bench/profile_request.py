"""CPU per request of storefront's fan-out, measured in-process, and where it goes.

    uv run --group bench python bench/profile_request.py [--requests 3000] [--top 25]

Drives ``storefront.asgi:application`` directly (no HTTP server; the ASGI
scope/receive/send a server would supply) at concurrency 64 against the nginx
echo upstream, and reports process CPU time per request: CPU time, unlike
wall time, is barely moved by other load on a shared machine. Then it runs the
same load under cProfile and prints the functions with the most own time.

``--metrics-rounds N`` measures instead what chorus's Prometheus metrics cost:
N rounds, each measuring the load with ``CHORUS["METRICS"]`` on and then off
(``override_settings``, same process, same pools), and prints the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time

from harness import ROOT, bench_env, free_port
from upstream_nginx import nginx_upstream


async def one_request(app, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    status = 0
    sent = False
    finished = asyncio.Event()

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    try:
        await app(scope, receive, send)
    finally:
        finished.set()
    return status


async def load(app, total: int, concurrency: int, headers) -> dict[int, int]:
    statuses: dict[int, int] = {}
    remaining = iter(range(total))

    async def worker():
        for _ in remaining:
            status = await one_request(app, "/api/dashboard/", headers)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=25, help="0: skip the cProfile pass")
    parser.add_argument("--metrics-rounds", type=int, default=0,
                        help="compare metrics on and off over this many rounds")  # fmt: skip
    args = parser.parse_args()

    upstream_port = free_port()
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=tempfile.mkdtemp(prefix="chorus-prof-"))
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")
    import django
    import uvloop
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from storefront.asgi import application

    out = io.StringIO()
    call_command("api_key", "create", "--name", "profile", "--scope", "read", stdout=out)
    headers = [(b"authorization", f"Bearer {out.getvalue().strip()}".encode())]

    async def metrics_cost() -> None:
        from django.conf import settings
        from django.test.utils import override_settings

        await load(application, 300, args.concurrency, headers)  # warm pools and caches
        cpu_us: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.metrics_rounds):
            for mode in ("on", "off"):
                with override_settings(CHORUS={**settings.CHORUS, "METRICS": mode == "on"}):
                    await load(application, 100, args.concurrency, headers)  # chains rebuilt
                    cpu = time.process_time()
                    statuses = await load(application, args.requests, args.concurrency, headers)
                    cpu_us[mode].append((time.process_time() - cpu) * 1e6 / args.requests)
                if set(statuses) != {200}:
                    print(f"  metrics {mode}: not every answer was a 200: {statuses}")
        for mode, values in cpu_us.items():
            rounds = ", ".join(f"{value:.0f}" for value in values)
            print(
                f"metrics {mode:>3}: median {statistics.median(values):.0f} µs CPU per request ({rounds})"
            )
        on, off = statistics.median(cpu_us["on"]), statistics.median(cpu_us["off"])
        print(f"metrics cost: {(on - off):+.0f} µs per request, {(on / off - 1) * 100:+.1f}%")

    async def measured() -> None:
        if args.metrics_rounds:
            await metrics_cost()
            return
        await load(application, 300, args.concurrency, headers)  # warm pools and caches
        cpu, wall = time.process_time(), time.perf_counter()
        statuses = await load(application, args.requests, args.concurrency, headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"statuses: {statuses}")
        print(f"CPU per request: {cpu * 1e6 / args.requests:.0f} µs "
              f"({args.requests} requests, concurrency {args.concurrency}, wall {wall:.1f} s)")  # fmt: skip
        if args.top == 0:
            return  # CPU only (for an outside sampling profiler such as py-spy)
        profiler = cProfile.Profile()
        profiler.enable()
        await load(application, args.requests, args.concurrency, headers)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(
            os.environ.get("PROFILE_SORT", "tottime")
        ).print_stats(args.top)
        print(out.getvalue())

    with nginx_upstream(upstream_port):
        uvloop.run(measured())


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
