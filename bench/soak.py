"""A soak: storefront under steady load for minutes, with faulty upstreams. Does anything grow?

    flock /tmp/bench.lock uv run --group bench python bench/soak.py [--minutes 10] [--connections 200] [--window 30] [--log PATH]

Starts the simulator with 5% of calls faulted on every service, each service a
different kind (a reset, a 503, a hang, invalid JSON, a slow body), and
storefront (one uvicorn worker, uvloop, httptools, ``DEBUG=0``, SQLite, its
resilience policies as shipped, ``MALLOC_ARENA_MAX=2`` as the image and the
systemd units run it: ``--malloc-arena-max 0`` for glibc's default) with the
sample shop loaded. Then, window after window until the time is up, wrk loads
it with ``--connections`` spread over the dashboard (60%), the newest orders
(20%) and order creation (20%, a POST with a new SKU each time). The worker's
RSS and open file descriptors are sampled every 2 s (psutil); its log (INFO,
one line per request) is kept and read at the end: responses by status class,
and every ERROR line that is not a fan-out's documented 502/504. wrk's own
error count (answers of 400 and up, socket errors) is kept per window too: a
refusal made before Django's middleware (the access gate's 401, a 413) never
reaches the access log. ``--log PATH`` keeps the log (JSON lines, each fan-out
with its upstreams' outcomes) for a closer look.

Prints a Markdown table for ``bench/README.md``; writes
``bench/results/soak.json`` and ``bench/results/soak.png`` (RSS, requests/s and
p99 over time). Pass: RSS growth under 10% after the first window (the warm-up),
no 5xx, no unexpected ERROR line, file descriptors flat.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from harness import ROOT, bench_api_key, bench_env, free_port, simulator, wait_until_up, wrk

RESULTS = ROOT / "bench" / "results"
# One kind of fault per service, each on 5% of its calls.
FAULTS = {
    "inventory": {"fault": "reset", "rate": 0.05},
    "notifications": {"status": 503, "rate": 0.05},
    "analytics": {"fault": "hang", "rate": 0.05},
    "users": {"fault": "invalid_json", "rate": 0.05},
    "billing": {"fault": "slow_body", "rate": 0.05},
}
# Connections per route: (path, share, wrk Lua script or None).
ROUTES = (
    ("/api/dashboard/", 0.6, None),
    ("/api/orders/recent/", 0.2, None),
    ("/api/orders/", 0.2, "post_order.lua"),
)
# wrk.format(method, path, headers, body) uses ``headers`` *instead of* wrk.headers (the -H
# ones): passing a table of its own there dropped the API key, and every POST was a 401 from
# the gate (storefront.access.gate), which the access log never sees. The Content-Type goes
# into wrk.headers instead, which keeps the key.
POST_ORDER = """
counter = 0
init = function(args)
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"customer": %d, "items": [{"sku": "SOAK-%d-%d", "qty": 1, "unit_price": "1.50"}]}',
    CUSTOMER, math.random(1, 1000000000), counter)
  return wrk.format("POST", nil, nil, body)
end
"""
STATUS = re.compile(r" path=(\S+) status=(\d{3}) ")
DOCUMENTED_FAN_OUT = re.compile(r"ERROR django\.request .*(Gateway Timeout|Bad Gateway): /api/")


@dataclass
class Window:
    at_s: float
    rps: float
    p99_ms: float
    rss_mib: float
    fds: int
    wrk_errors: int = 0


@dataclass
class Soak:
    minutes: float
    connections: int
    windows: list[Window] = field(default_factory=list)
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # t, RSS MiB, fds
    statuses: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)  # "status path" of every 4xx and 5xx
    unexpected_errors: list[str] = field(default_factory=list)


def sample(pid: int, soak: Soak, started: float, stop: threading.Event) -> None:
    process = psutil.Process(pid)
    while not stop.wait(2.0):
        try:
            soak.samples.append(
                (time.monotonic() - started, process.memory_info().rss / 2**20, process.num_fds())
            )
        except psutil.Error:
            return


def set_faults(port: int) -> None:
    for service, fault in FAULTS.items():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_faults/{service}",
            data=json.dumps(fault).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()


def one_window(
    base: str, auth: list[str], connections: int, seconds: int, lua: Path
) -> tuple[float, float, int]:
    """Every route loaded at once for ``seconds``: total requests/s, the worst p99, and wrk's
    errors (answers of 400 and up, and socket errors), which also count the refusals made
    before the access log (the gate's 401: see POST_ORDER)."""
    results = []
    threads = []
    for path, share, script in ROUTES:
        count = max(1, round(connections * share))

        def run(path: str = path, count: int = count, script: str | None = script) -> None:
            results.append(
                wrk(
                    base + path,
                    label=path,
                    connections=count,
                    seconds=seconds,
                    headers=auth,
                    script=lua if script else None,
                )
            )

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return (
        sum(r.requests_per_second for r in results),
        max(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def read_log(log: Path, soak: Soak) -> None:
    statuses: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if (found := STATUS.search(line)) is not None:
            path, status = found.groups()
            statuses[status[0] + "xx"] += 1
            if status == "500":
                statuses["500"] += 1
            if status[0] in "45":
                refusals[f"{status} {path}"] += 1
        if (" ERROR " in line or "Traceback" in line) and not DOCUMENTED_FAN_OUT.search(line):
            soak.unexpected_errors.append(line[:300])
    soak.statuses = dict(statuses)
    soak.refusals = dict(refusals.most_common())


def chart(soak: Soak, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rss, rps, p99) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    rss.plot([t / 60 for t, _, _ in soak.samples], [m for _, m, _ in soak.samples])
    rss.set_ylabel("worker RSS (MiB)")
    rss.set_ylim(bottom=0)
    minutes = [w.at_s / 60 for w in soak.windows]
    rps.plot(minutes, [w.rps for w in soak.windows], marker="o")
    rps.set_ylabel("requests/s")
    rps.set_ylim(bottom=0)
    p99.plot(minutes, [w.p99_ms for w in soak.windows], marker="o", color="tab:red")
    p99.set_ylabel("worst route p99 (ms)")
    p99.set_xlabel("minutes")
    p99.set_ylim(bottom=0)
    figure.suptitle(f"Soak: {soak.connections} connections, 5% of upstream calls faulted")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--window", type=int, default=30, help="seconds per measured window")
    parser.add_argument("--log", type=Path, help="keep the worker's log (JSON lines) at this path")
    parser.add_argument(
        "--malloc-arena-max",
        type=int,
        default=2,
        metavar="N",
        help="the worker's MALLOC_ARENA_MAX, as the image and the systemd units set it "
        "(default 2; 0: glibc's own default, 8 arenas per core)",
    )
    parser.add_argument(
        "--memory",
        type=Path,
        metavar="DIR",
        help="run the worker under bench/traced_worker.py: RSS, malloc's arenas (in use, free, "
        "mmapped) and SQLite's memory every 2 s in DIR/memory.tsv; at the end, RSS before and "
        "after malloc_trim(0)",
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="with --memory: tracemalloc too (FRAMES deep), and DIR/diff-1.txt, the top "
        "differences between the end of the first window and the end (5x slower)",
    )
    args = parser.parse_args()
    soak = Soak(minutes=args.minutes, connections=args.connections)
    upstream_port, port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as var:
        var_dir = Path(var)
        env = bench_env(upstream_port, STOREFRONT_VAR_DIR=str(var_dir), LOG_LEVEL="INFO")
        env.pop("MALLOC_ARENA_MAX", None)
        if args.malloc_arena_max:
            env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        auth = bench_api_key(env)
        subprocess.run(
            [sys.executable, "manage.py", "load_sample_data"], cwd=ROOT, env=env, check=True
        )
        customer = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from storefront.orders.models import Customer; "
                "print(Customer.objects.filter(active=True).values_list('pk', flat=True).first())",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]  # fmt: skip (the shell first says what it imported)
        lua = var_dir / "post_order.lua"
        lua.write_text(f"CUSTOMER = {customer}\n{POST_ORDER}")
        log = var_dir / "storefront.log"
        uvicorn = [
            sys.executable,
            *(["bench/traced_worker.py", str(args.memory.resolve()), str(args.tracemalloc)]
              if args.memory else ["-m", "uvicorn"]),
            "storefront.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        with simulator(upstream_port), log.open("w") as log_file:
            set_faults(upstream_port)
            server = subprocess.Popen(uvicorn, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
            stop = threading.Event()
            try:
                wait_until_up(f"http://127.0.0.1:{port}/healthz")
                started = time.monotonic()
                sampler = threading.Thread(target=sample, args=(server.pid, soak, started, stop))
                sampler.start()
                base = f"http://127.0.0.1:{port}"
                while time.monotonic() - started < args.minutes * 60:
                    rps, p99, errors = one_window(base, auth, args.connections, args.window, lua)
                    _, rss, fds = soak.samples[-1] if soak.samples else (0, 0.0, 0)
                    at = time.monotonic() - started
                    soak.windows.append(Window(at, rps, p99, rss, fds, errors))
                    print(f"{soak.windows[-1]}", flush=True)
                    if args.memory and len(soak.windows) == 1:
                        server.send_signal(signal.SIGUSR1)  # the baseline snapshot
                if args.memory:
                    stop.set()  # the samples end before malloc_trim(0) shrinks RSS
                    sampler.join()
                    server.send_signal(signal.SIGUSR1)  # compared with the baseline
                    server.send_signal(signal.SIGUSR2)  # malloc_trim(0): RSS before and after
                    deadline = time.monotonic() + 120  # a big heap's snapshot takes a while
                    expected = ["trim.txt", *(["diff-1.txt"] if args.tracemalloc else [])]
                    while not all((args.memory / name).exists() for name in expected):
                        if time.monotonic() > deadline:
                            break
                        time.sleep(1)
                    print((args.memory / "trim.txt").read_text(), end="")
            finally:
                stop.set()
                server.terminate()
                server.wait(timeout=30)
        read_log(log, soak)
        if args.log is not None:
            shutil.copyfile(log, args.log)
    report(soak)


def report(soak: Soak) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(asdict(soak), indent=1))
    chart(soak, RESULTS / "soak.png")
    warm = soak.windows[0]
    after = soak.samples[-1]
    growth = (after[1] - warm.rss_mib) / warm.rss_mib * 100 if warm.rss_mib else float("nan")
    fds = [f for _, _, f in soak.samples]
    print("| minutes | connections | requests/s (median window) | p99 ms (median window) "
          "| RSS after warm-up → end MiB | growth | open fds min-max | 2xx | 4xx | 5xx | 500 "
          "| unexpected ERROR lines | wrk errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {soak.minutes:g} | {soak.connections} "
        f"| {statistics.median(w.rps for w in soak.windows):,.0f} "
        f"| {statistics.median(w.p99_ms for w in soak.windows):,.0f} "
        f"| {warm.rss_mib:.0f} → {after[1]:.0f} | {growth:+.1f}% | {min(fds)}-{max(fds)} "
        f"| {soak.statuses.get('2xx', 0):,} | {soak.statuses.get('4xx', 0):,} "
        f"| {soak.statuses.get('5xx', 0):,} | {soak.statuses.get('500', 0)} "
        f"| {len(soak.unexpected_errors)} | {sum(w.wrk_errors for w in soak.windows):,} |"
    )
    print("4xx and 5xx by route:", soak.refusals)
    for line in soak.unexpected_errors[:10]:
        print("   ", line)


if __name__ == "__main__":
    main()
