"""CPU per request of storefront's fan-out, measured in-process, and where it goes.

    uv run --group bench python bench/profile_request.py [--requests 3000] [--top 25]

Drives ``storefront.asgi:application`` directly (no HTTP server; the ASGI
scope/receive/send a server would supply) at concurrency 64 against the nginx
echo upstream, and reports process CPU time per request: CPU time, unlike
wall time, is barely moved by other load on a shared machine. Then it runs the
same load under cProfile and prints the functions with the most own time.

Storefront runs as shipped, as in ``bench/compare.py``: door, policies, metrics,
``DEBUG=0`` and the production log (JSON lines at INFO, one access line per
request), written to ``storefront.log`` in the run's temporary directory
(stderr is pointed there). ``--log-level WARNING`` leaves the access line out,
for its cost.

``--metrics-rounds N`` measures instead what chorus's Prometheus metrics cost:
N rounds, each measuring the load with ``CHORUS["METRICS"]`` on and then off
(``override_settings``, same process, same pools), and prints the medians.
``--tracing-rounds N`` does the same for tracing (docs/tracing.md): on is an SDK
tracer provider sampling every trace, its spans batched and encoded as OTLP
protobuf (sent nowhere), through ``chorus.use_tracer_provider``; off is no provider.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time

from harness import ROOT, bench_env, free_port
from upstream_nginx import nginx_upstream

COUNTING = "CHORUS_PROFILE_UNDER_CALLGRIND"


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
    parser.add_argument("--concurrency", type=int, default=None,
                        help="requests at once (default 64; 4 under --instructions, where each "
                             "request runs about 50 times slower and 64 would time out)")  # fmt: skip
    parser.add_argument("--top", type=int, default=25, help="0: skip the cProfile pass")
    parser.add_argument(
        "--metrics-rounds",
        type=int,
        default=0,
        help="compare metrics on and off over this many rounds",
    )
    parser.add_argument(
        "--log-level", default=None, help="LOG_LEVEL for the run (default: storefront's own, INFO)"
    )
    parser.add_argument("--tracing-rounds", type=int, default=0,
                        help="compare tracing on (100%% sampled) and off over this many rounds")  # fmt: skip
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per request under valgrind's callgrind instead")  # fmt: skip
    args = parser.parse_args()
    if args.concurrency is None:
        args.concurrency = 4 if args.instructions else 64
    if args.instructions:
        count_instructions(args)
        return

    upstream_port = free_port()
    var_dir = tempfile.mkdtemp(prefix="chorus-prof-")
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=var_dir)
    # Storefront's own defaults for the rest, as compare.py runs it: INFO, JSON lines.
    for name in ("LOG_LEVEL", "STOREFRONT_LOG_FORMAT", "STOREFRONT_POLICIES",
                 "STOREFRONT_METRICS", "STOREFRONT_MAX_IN_FLIGHT"):  # fmt: skip
        env.pop(name, None)
    if args.log_level is not None:
        env["LOG_LEVEL"] = args.log_level
    os.environ.update(env)
    # The log's handler writes to stderr: to a file, as a deployment's log collector reads it.
    log_path = os.path.join(var_dir, "storefront.log")
    log_file = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_file, sys.stderr.fileno())
    print(f"storefront's log: {log_path}", flush=True)
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

    async def cost(what: str, rounds: int, switch) -> None:
        """``rounds`` of the load with ``what`` on, then off (``switch(on)``: a context)."""
        await load(application, 300, args.concurrency, headers)  # warm pools and caches
        cpu_us: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(rounds):
            for mode in ("on", "off"):
                with switch(mode == "on"):
                    await load(application, 100, args.concurrency, headers)  # chains rebuilt
                    cpu = time.process_time()
                    statuses = await load(application, args.requests, args.concurrency, headers)
                    cpu_us[mode].append((time.process_time() - cpu) * 1e6 / args.requests)
                if set(statuses) != {200}:
                    print(f"  {what} {mode}: not every answer was a 200: {statuses}")
        for mode, values in cpu_us.items():
            each = ", ".join(f"{value:.0f}" for value in values)
            print(
                f"{what} {mode:>3}: median {statistics.median(values):.0f} µs CPU per request ({each})"
            )
        on, off = statistics.median(cpu_us["on"]), statistics.median(cpu_us["off"])
        print(f"{what} cost: {(on - off):+.0f} µs per request, {(on / off - 1) * 100:+.1f}%")

    def metrics_switch(on: bool):
        from django.conf import settings
        from django.test.utils import override_settings

        return override_settings(CHORUS={**settings.CHORUS, "METRICS": on})

    provider = None

    @contextlib.contextmanager
    def tracing_switch(on: bool):
        import chorus

        nonlocal provider
        if on and provider is None:
            provider = traced_provider()
        chorus.use_tracer_provider(provider if on else None)
        try:
            yield
        finally:
            chorus.use_tracer_provider()

    async def measured() -> None:
        if args.metrics_rounds:
            await cost("metrics", args.metrics_rounds, metrics_switch)
            return
        if args.tracing_rounds:
            await cost("tracing", args.tracing_rounds, tracing_switch)
            return
        await load(application, 300, args.concurrency, headers)  # warm pools and caches
        await callgrind_collects(True)
        cpu, wall = time.process_time(), time.perf_counter()
        statuses = await load(application, args.requests, args.concurrency, headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await callgrind_collects(False)
        if COUNTING in os.environ and set(statuses) != {200}:
            # A 504 or a 502 took another path: what it counted is not the request's cost.
            sys.exit(f"not every answer was a 200 under callgrind: {statuses}; lower --concurrency")
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


async def callgrind_collects(on: bool) -> None:
    """Under ``--instructions``: start or stop callgrind's count around the measured load."""
    if COUNTING not in os.environ:
        return
    # callgrind_control asks through a file that valgrind reads as the loop runs: not blocked.
    control = await asyncio.create_subprocess_exec(
        "callgrind_control", f"--instr={'on' if on else 'off'}", str(os.getpid()),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await control.wait()


def count_instructions(args: argparse.Namespace) -> None:
    """Run this script under callgrind and print the instructions per measured request."""
    with tempfile.TemporaryDirectory(prefix="chorus-callgrind-") as out:
        counts = os.path.join(out, "callgrind.out")
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={counts}", sys.executable, __file__, "--top", "0",
                "--requests", str(args.requests), "--concurrency", str(args.concurrency)]  # fmt: skip
        if args.log_level is not None:
            argv += ["--log-level", args.log_level]
        # valgrind's own warnings about CPython's allocator go to stderr: left out.
        subprocess.run(
            argv, env={**os.environ, COUNTING: "1"}, check=True, stderr=subprocess.DEVNULL
        )
        with open(counts) as lines:
            totals = [line for line in lines if line.startswith(("totals:", "summary:"))]
        instructions = int(totals[-1].split()[1])
    print(f"instructions per request: {instructions / args.requests / 1000:,.0f} k "
          f"({args.requests} requests under callgrind)")  # fmt: skip


def traced_provider():
    """An SDK provider sampling everything, its spans batched and encoded as OTLP would."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class EncodeOnly(SpanExporter):
        def export(self, spans):
            encode_spans(spans).SerializeToString()
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(EncodeOnly()))
    return provider


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
