"""The dashboard under steady load while analytics fails, hangs and recovers: policies off and on.

    uv run --group bench python bench/faults.py [--phase-seconds 15] [--connections 32]

For each mode (``STOREFRONT_POLICIES=0``, then ``1``) it starts the upstream
simulator and storefront (uvicorn, one worker) on free loopback ports, and
keeps ``--connections`` clients asking ``/api/dashboard/`` in a loop while
analytics goes through four phases of ``--phase-seconds`` each:

1. healthy;
2. errors: every analytics call answers 503;
3. hang: every analytics call hangs (storefront's 500 ms timeout cuts it);
4. recovered: the fault removed.

Every second it records the requests completed, their p50 and p99 latency,
the status codes, how many answers carried stale analytics, and how many
requests reached analytics (the simulator's ``/_stats``). Results go to
``bench/results/faults.json`` and ``bench/results/faults.png``; a Markdown
table per phase is printed for ``bench/README.md``. Everything runs on
127.0.0.1, bounded in time, and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import aiohttp
from harness import ROOT, bench_api_key, bench_env, free_port, running, simulator

RESULTS = ROOT / "bench" / "results"
PHASES = (
    ("healthy", None),
    ("errors (503)", {"status": 503}),
    ("hang", {"fault": "hang"}),
    ("recovered", None),
)


@dataclass
class Second:
    mode: str
    phase: str
    t: int
    requests: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    stale: int = 0
    analytics_requests: int = 0


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    stale: int = 0


async def client_loop(
    session: aiohttp.ClientSession, url: str, window: list[Window], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(url) as response:
            body = await response.read()
            status = response.status
        current = window[0]
        current.latencies.append((time.perf_counter() - started) * 1000)
        current.statuses[status] += 1
        if b'"stale":true' in body:
            current.stale += 1


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def analytics_count(session: aiohttp.ClientSession, simulator_url: str) -> int:
    async with session.get(f"{simulator_url}/_stats") as response:
        stats = await response.json()
    return int(stats["services"]["analytics"]["requests"])


async def set_fault(session: aiohttp.ClientSession, simulator_url: str, fault: dict | None) -> None:
    if fault is None:
        async with session.delete(f"{simulator_url}/_faults/analytics") as response:
            response.raise_for_status()
    else:
        async with session.put(f"{simulator_url}/_faults/analytics", json=fault) as response:
            response.raise_for_status()


async def drive(
    mode: str, port: int, simulator_url: str, headers: dict[str, str], args: argparse.Namespace
) -> list[Second]:
    url = f"http://127.0.0.1:{port}/api/dashboard/"
    connector = aiohttp.TCPConnector(limit=args.connections + 4)
    timeout = aiohttp.ClientTimeout(total=10)
    seconds: list[Second] = []
    async with (
        aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session,
        aiohttp.ClientSession() as control,
    ):
        await set_fault(control, simulator_url, None)
        window = [Window()]
        stop = asyncio.Event()
        clients = [
            asyncio.create_task(client_loop(session, url, window, stop))
            for _ in range(args.connections)
        ]
        try:
            await asyncio.sleep(2)  # warm-up: pools filled, first calls made
            t = 0
            for phase, fault in PHASES:
                await set_fault(control, simulator_url, fault)
                for _ in range(args.phase_seconds):
                    before = await analytics_count(control, simulator_url)
                    window[0] = Window()
                    await asyncio.sleep(1)
                    done = window[0]
                    after = await analytics_count(control, simulator_url)
                    second = Second(
                        mode=mode,
                        phase=phase,
                        t=t,
                        requests=len(done.latencies),
                        p50_ms=quantile(done.latencies, 0.5),
                        p99_ms=quantile(done.latencies, 0.99),
                        statuses={str(k): v for k, v in sorted(done.statuses.items())},
                        stale=done.stale,
                        analytics_requests=after - before,
                    )
                    seconds.append(second)
                    print(
                        f"  {mode:>12} {phase:<13} t={t:>3}s {second.requests:>5} req "
                        f"p50 {second.p50_ms:6.1f} ms p99 {second.p99_ms:6.1f} ms "
                        f"{second.statuses} stale {second.stale:>4} "
                        f"analytics {second.analytics_requests:>4}/s",
                        flush=True,
                    )
                    t += 1
        finally:
            stop.set()
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            await set_fault(control, simulator_url, None)
    return seconds


def run_mode(mode: str, policies: str, args: argparse.Namespace) -> list[Second]:
    upstream_port, port = free_port(), free_port()
    var_dir = tempfile.mkdtemp(prefix="chorus-faults-")
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=var_dir, STOREFRONT_POLICIES=policies)
    env["PYTHONPATH"] = str(ROOT)
    header = bench_api_key(env)[0]
    name, value = header.split(": ", 1)
    argv = [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning"]  # fmt: skip
    simulator_url = f"http://127.0.0.1:{upstream_port}"
    with (
        simulator(upstream_port),
        running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz"),
    ):
        return asyncio.run(drive(mode, port, simulator_url, {name: value}, args))


def summary(rows: list[Second]) -> str:
    lines = [
        "| policies | phase | req/s | p50 ms | p99 ms (worst second) | 5xx | stale answers | analytics requests/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode in dict.fromkeys(r.mode for r in rows):
        for phase, _ in PHASES:
            part = [r for r in rows if r.mode == mode and r.phase == phase]
            errors = sum(v for r in part for k, v in r.statuses.items() if k.startswith("5"))
            lines.append(
                f"| {mode} | {phase} | {statistics.mean(r.requests for r in part):,.0f} | "
                f"{statistics.median(r.p50_ms for r in part):.1f} | "
                f"{max(r.p99_ms for r in part):.1f} | {errors} | "
                f"{sum(r.stale for r in part)} | "
                f"{statistics.mean(r.analytics_requests for r in part):,.1f} |"
            )
    return "\n".join(lines)


def chart(rows: list[Second], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(r.mode for r in rows))
    figure, axes = plt.subplots(3, len(modes), figsize=(7 * len(modes), 9), sharex=True,
                                squeeze=False)  # fmt: skip
    for column, mode in enumerate(modes):
        part = [r for r in rows if r.mode == mode]
        ts = [r.t for r in part]
        axes[0][column].plot(ts, [r.p50_ms for r in part], label="p50")
        axes[0][column].plot(ts, [r.p99_ms for r in part], label="p99")
        axes[0][column].set_ylabel("ms")
        axes[0][column].set_title(f"policies {mode}: dashboard latency")
        axes[0][column].legend()
        axes[1][column].plot(ts, [r.requests for r in part], label="requests/s")
        axes[1][column].plot(ts, [sum(v for k, v in r.statuses.items() if k.startswith("5"))
                                  for r in part], label="5xx/s")  # fmt: skip
        axes[1][column].plot(ts, [r.stale for r in part], label="stale analytics/s")
        axes[1][column].legend()
        axes[2][column].plot(ts, [r.analytics_requests for r in part], color="tab:red")
        axes[2][column].set_ylabel("requests/s reaching analytics")
        axes[2][column].set_xlabel("seconds")
        for row in axes:
            start = 0
            for phase, _ in PHASES:
                length = sum(1 for r in part if r.phase == phase)
                row[column].axvspan(start, start + length, alpha=0.06 * (1 + (start // length) % 2))
                row[column].text(start + 0.3, row[column].get_ylim()[1] * 0.9, phase, fontsize=7)
                start += length
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()
    rows: list[Second] = []
    for mode, policies in (("off", "0"), ("on", "1")):
        print(f"policies {mode}", flush=True)
        rows += run_mode(mode, policies, args)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faults.json").write_text(json.dumps([asdict(r) for r in rows], indent=1))
        chart(rows, RESULTS / "faults.png")
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
