"""The admission door (``CHORUS["ADMISSION"]``) at healthy saturation and in overload.

    uv run --group bench python bench/door.py [--rounds 3] [--seconds 8] [--base /tmp/door-base]
        [--overload-seconds 60] [--burst 2000] [--burst-seconds 30] [--skip-overload]
        [--skip-healthy] [--no-save] [--logs DIR]

Storefront runs as shipped (``DEBUG=0``, policies, metrics, the door, the production
log format and level: JSON lines at INFO, written to a file), one uvicorn worker
(uvloop, httptools), in every configuration; the only settings changed are named
in ``CHANGED``. The configurations, measured taking turns in one run:

- **door**: this build's door, as shipped;
- **door off**: the same build with ``STOREFRONT_MAX_IN_FLIGHT=0``;
- **old door** (with ``--base DIR``): the build checked out in ``DIR`` (``git
  worktree add DIR <commit>``), its own code and settings, on this environment.

Two loads:

1. **Healthy saturation**: nginx echo upstreams answering in 100 ms (as
   ``bench/compare.py``), wrk at 256 connections on ``/api/dashboard/`` for
   ``--seconds``, after a 2 s warm-up; ``--rounds`` rounds, the configurations
   in turn within each.
2. **Overload**: the soak's set-up (``bench/soak.py``: the simulator with 5% of
   every upstream's calls faulted, SQLite, a fresh copy of the same database per
   configuration) under the soak's mix at 200 connections for
   ``--overload-seconds``, then ``--burst`` connections on ``/api/dashboard/``
   for ``--burst-seconds``.

Throughout, ``/healthz`` is asked every 100 ms on a new connection: its latency,
and the door's limit, in flight and waiting from its JSON (this build's
``/healthz`` shows them; the old build's does not). Writes
``bench/results/door.json`` and ``bench/results/door.png`` (the door's limit over
time) and prints the Markdown tables for ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from door_report import chart, healthy_table, overload_table
from harness import ROOT, bench_api_key, bench_env, ensure_wrk, free_port, simulator, wait_until_up
from soak import POST_ORDER, ROUTES, set_faults
from upstream_nginx import nginx_upstream

RESULTS = ROOT / "bench" / "results"
# What differs from storefront's production defaults in every configuration here.
CHANGED = {
    "SECRET_KEY": "a fixed bench-only key (production requires one to be set)",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0 (no TLS on loopback; a proxy would end it)",
    "STOREFRONT_RATE_LIMIT_API_RATE/BURST": "10^9 (every request still takes a token)",
    "STOREFRONT_UPSTREAM_*_URL": "the bench's upstream",
}
STATUS = re.compile(r" path=(\S+) status=(\d{3}) ")


@dataclass(frozen=True)
class Config:
    label: str
    root: Path
    env: tuple[tuple[str, str], ...] = ()


@dataclass
class Wrk:
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


@dataclass
class Probe:
    """``/healthz`` asked every 100 ms: (seconds since start, latency ms or None, door or None)."""

    samples: list[tuple[float, float | None, dict[str, int | None] | None]] = field(
        default_factory=list
    )

    def latencies(self) -> list[float]:
        return [ms for _, ms, _ in self.samples if ms is not None]

    def p(self, q: float) -> float:
        values = sorted(self.latencies())
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    def failed(self) -> int:
        return sum(1 for _, ms, _ in self.samples if ms is None)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNIT_MS[unit]


def wrk(url: str, connections: int, seconds: float, headers: list[str], script: Path | None = None
        ) -> Wrk:  # fmt: skip
    argv = [ensure_wrk(), f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s",
            "--latency", "--timeout", "10s", *(("-s", str(script)) if script else ()),
            *(arg for header in headers for arg in ("-H", header)), url]  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Wrk(
        connections=connections,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in found.groups()) if found else 0,
    )


@contextlib.contextmanager
def probing(base: str, started: float) -> Iterator[Probe]:
    """``/healthz`` every 100 ms on a new connection until the block ends."""
    probe = Probe()
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            at = time.monotonic()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                    body = json.loads(answer.read())
                probe.samples.append(
                    (at - started, (time.monotonic() - at) * 1000, body.get("door"))
                )
            except OSError:
                probe.samples.append((at - started, None, None))
            stop.wait(max(0.0, 0.1 - (time.monotonic() - at)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield probe
    finally:
        stop.set()
        thread.join()


def uvicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


@contextlib.contextmanager
def serving(config: Config, port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    """Storefront from ``config.root`` on ``port``, its log (stdout and stderr) in ``log``."""
    env = {**env, **dict(config.env), "PYTHONPATH": f"{config.root / 'src'}:{config.root}"}
    with log.open("a") as sink:
        process = subprocess.Popen(uvicorn(port), cwd=config.root, env=env, stdout=sink,
                                   stderr=sink, start_new_session=True)  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        process.wait(timeout=30)


def production_env(upstream_port: int, var_dir: Path) -> dict[str, str]:
    var_dir.mkdir(parents=True, exist_ok=True)
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=str(var_dir))
    for name in ("LOG_LEVEL", "STOREFRONT_LOG_FORMAT", "DATABASE_URL", "REDIS_URL",
                 "STOREFRONT_POLICIES", "STOREFRONT_METRICS", "STOREFRONT_MAX_IN_FLIGHT"):  # fmt: skip
        env.pop(name, None)  # storefront's own defaults: INFO, JSON lines, SQLite, all on
    env["MALLOC_ARENA_MAX"] = "2"  # as the image and the systemd units run it
    return env


def prepare(env: dict[str, str]) -> tuple[list[str], str]:
    """Migrate, load the sample shop, make an API key: (wrk headers, a customer's id)."""
    auth = bench_api_key(env)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "load_sample_data"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    customer = subprocess.run(
        [*manage, "shell", "-c", "from storefront.orders.models import Customer; "
         "print(Customer.objects.filter(active=True).values_list('pk', flat=True).first())"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.split()[-1]  # fmt: skip
    return auth, customer


def statuses(log: Path) -> Counter[str]:
    """Answers by status in the access log (``"200"``, ``"504"``, ...)."""
    found: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if (match := STATUS.search(line)) is not None:
            found[match.group(2)] += 1
    return found


def door_refusals(log: Path) -> int:
    """The door's 503s, from its WARNING lines (counts since the line before)."""
    pattern = re.compile(r"admission: (\d+) requests answered 503")
    return sum(int(m.group(1)) for m in pattern.finditer(log.read_text(errors="replace")))


def mix(base: str, auth: list[str], connections: int, seconds: float, lua: Path) -> list[Wrk]:
    """The soak's mix, every route at once (``bench/soak.py``)."""
    results: list[Wrk] = []
    threads = []
    for path, share, script in ROUTES:
        count = max(1, round(connections * share))
        thread = threading.Thread(target=lambda p=path, c=count, s=script: results.append(
            wrk(base + p, c, seconds, auth, lua if s else None)))  # fmt: skip
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return results


def healthy(configs: list[Config], rounds: int, seconds: float, work: Path) -> list[dict]:
    upstream_port, port = free_port(), free_port()
    env = production_env(upstream_port, work / "healthy")
    auth, _ = prepare(env)
    rows = []
    with nginx_upstream(upstream_port):
        for round_number in range(1, rounds + 1):
            for config in configs:
                log = work / f"healthy-{config.label}.log".replace(" ", "-")
                with serving(config, port, env, log):
                    url = f"http://127.0.0.1:{port}/api/dashboard/"
                    wrk(url, 256, 2, auth)  # warm-up
                    started = time.monotonic()
                    with probing(f"http://127.0.0.1:{port}", started) as probe:
                        result = wrk(url, 256, seconds, auth)
                rows.append({"config": config.label, "round": round_number, **asdict(result),
                             "healthz_p50_ms": probe.p(0.5), "healthz_p99_ms": probe.p(0.99),
                             "probe": probe.samples})  # fmt: skip
                print(f"  healthy r{round_number} {config.label}: {result.rps:,.0f} req/s, "
                      f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
                      f"non-2xx {result.non_2xx}, socket errors {result.socket_errors}, "
                      f"/healthz p99 {probe.p(0.99):.1f} ms", flush=True)  # fmt: skip
    return rows


def overload(configs: list[Config], seconds: float, burst: int, burst_seconds: float,
             work: Path, keep: Path | None = None) -> list[dict]:  # fmt: skip
    upstream_port, port = free_port(), free_port()
    template = work / "overload-template"
    env = production_env(upstream_port, template)
    auth, customer = prepare(env)
    lua = work / "post_order.lua"
    lua.write_text(f"CUSTOMER = {customer}\n{POST_ORDER}")
    rows = []
    with simulator(upstream_port):
        set_faults(upstream_port)
        for config in configs:
            var_dir = work / f"overload-{config.label}".replace(" ", "-")
            shutil.copytree(template, var_dir)
            run_env = {**env, "STOREFRONT_VAR_DIR": str(var_dir)}
            log = var_dir / "storefront.log"
            base = f"http://127.0.0.1:{port}"
            with serving(config, port, run_env, log):
                started = time.monotonic()
                with probing(base, started) as soak_probe:
                    soak = mix(base, auth, 200, seconds, lua)
                soak_statuses = statuses(log)
                soak_refused = door_refusals(log)
                with probing(base, started) as burst_probe:
                    flood = wrk(base + "/api/dashboard/", burst, burst_seconds, auth)
            if keep is not None:  # each 502 and 504 names its sources' outcomes
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, keep / f"{config.label}.log".replace(" ", "-"))
            all_statuses = statuses(log)
            burst_statuses = all_statuses - soak_statuses
            refused = door_refusals(log)
            row = {
                "config": config.label,
                "soak": {
                    "rps": sum(r.rps for r in soak), "p99_ms": max(r.p99_ms for r in soak),
                    "non_2xx": sum(r.non_2xx for r in soak),
                    "socket_errors": sum(r.socket_errors for r in soak),
                    "statuses": dict(soak_statuses), "door_503": soak_refused,
                    "healthz_p50_ms": soak_probe.p(0.5), "healthz_p99_ms": soak_probe.p(0.99),
                    "healthz_failed": soak_probe.failed(), "probe": soak_probe.samples,
                },
                "burst": {
                    **asdict(flood), "statuses": dict(burst_statuses),
                    "door_503": refused - soak_refused,
                    "healthz_p50_ms": burst_probe.p(0.5), "healthz_p99_ms": burst_probe.p(0.99),
                    "healthz_failed": burst_probe.failed(), "probe": burst_probe.samples,
                },
            }  # fmt: skip
            rows.append(row)
            for phase in ("soak", "burst"):
                figures = {k: v for k, v in row[phase].items() if k != "probe"}
                print(f"  overload {config.label} {phase}: {figures}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--base", type=Path, help="a checkout of the old build (git worktree)")
    parser.add_argument("--overload-seconds", type=float, default=60)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--burst-seconds", type=float, default=30)
    parser.add_argument("--skip-overload", action="store_true")
    parser.add_argument("--skip-healthy", action="store_true")
    parser.add_argument("--no-save", action="store_true", help="print only; keep the results")
    parser.add_argument("--logs", type=Path, help="keep each overload run's worker log here")
    args = parser.parse_args()
    configs = [Config("door", ROOT), Config("door off", ROOT, (("STOREFRONT_MAX_IN_FLIGHT", "0"),))]
    if args.base is not None:
        configs.append(Config("old door", args.base.resolve()))
    print("changed from production defaults in every configuration:", CHANGED, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-door-") as raw:
        work = Path(raw)
        healthy_rows = (
            [] if args.skip_healthy else healthy(configs, args.rounds, args.seconds, work)
        )
        overload_rows = [] if args.skip_overload else overload(
            configs, args.overload_seconds, args.burst, args.burst_seconds, work, args.logs)  # fmt: skip
    if healthy_rows:
        print()
        print(healthy_table(healthy_rows))
    if overload_rows:
        print()
        print(overload_table(overload_rows))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "door.json").write_text(json.dumps(
            {"changed": CHANGED, "healthy": healthy_rows, "overload": overload_rows}))  # fmt: skip
        chart(healthy_rows, overload_rows, RESULTS / "door.png")


if __name__ == "__main__":
    main()
