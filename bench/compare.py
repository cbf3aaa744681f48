"""Storefront's fan-out against its peers, and uvicorn against granian.

    uv run --group bench python bench/compare.py [--seconds 10] [--servers] [--rounds 3]

Every peer makes the same three calls to the same upstream: nginx with the
echo module (``echo_sleep 0.1``), so the upstream never limits. Each runs
alone under one server process with uvloop and httptools; wrk loads it at
concurrency 64 and 256. CPU per request is the server's own CPU time (user +
system, workers included) over the measured run, divided by the requests wrk
completed. Results go to ``bench/results/compare.json`` and a chart to
``bench/results/compare.png``; the Markdown tables are printed for
``bench/README.md``. ``--servers`` adds storefront under granian and under two
workers of each server.

Storefront runs **as shipped**: its door (``CHORUS["ADMISSION"]``), its resilience
policies (analytics cached for 5 s), its Prometheus metrics, ``DEBUG=0`` and the
production log (JSON lines at INFO, one access line per request, written to a
file per peer under the run's temporary directory). What the bench changes from
production defaults, in every storefront peer, is ``CHANGED``: a fixed
``SECRET_KEY``, ``ALLOWED_HOSTS``, ``SECURE_SSL_REDIRECT=0`` (no TLS on loopback),
an API rate limit of 10^9 (every request still takes a token) and the upstreams'
URLs. ``--variants`` adds extra rows, never the headline: storefront with its
door off (``STOREFRONT_MAX_IN_FLIGHT=0``) and with its policies off
(``STOREFRONT_POLICIES=0``: the same three calls per request as every peer).
``--policies`` adds policies off and every policy configured on every upstream
but idle (``bench/settings/policies_idle.py``: the chain's own cost);
``--metrics`` adds storefront with its Prometheus metrics off
(``STOREFRONT_METRICS=0``), for the same-run cost of metrics. ``--rounds N``
measures every peer N times, taking turns (odd rounds in the order listed, even
rounds reversed: where a server stands in a round moved its figures), and
reports the median of each figure; ``--base DIR`` adds storefront as shipped
from the checkout in ``DIR`` (``git worktree add DIR <commit>``), for a before
and after in one run;
``--only TEXT`` runs only the peers whose label holds TEXT, for a quick
check, and saves nothing. ``--gunicorn`` adds storefront under the production
gunicorn configuration (``deploy/gunicorn.conf.py``, storefront's uvicorn
worker) with 1 and 2 workers, as shipped, and plain uvicorn with 2 workers,
each also at 512 connections.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from harness import ROOT, bench_api_key, bench_env, free_port, running, wrk
from upstream_nginx import nginx_upstream

RESULTS = ROOT / "bench" / "results"
STOREFRONT = "storefront /api/dashboard/"
# What every storefront peer changes from storefront's production defaults.
CHANGED = {
    "SECRET_KEY": "a fixed bench-only key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0 (no TLS on loopback)",
    "STOREFRONT_RATE_LIMIT_API_RATE, _BURST": "10^9 (every request still takes a token)",
    "STOREFRONT_UPSTREAM_*_URL": "the bench's nginx upstream",
}


@dataclass(frozen=True)
class Peer:
    label: str
    argv: Sequence[str]
    path: str
    headers: Sequence[str] = ()
    wsgi: bool = False  # one sync worker: at 256 connections every request would time out
    env: tuple[tuple[str, str], ...] = ()  # this peer's own environment variables
    connections: tuple[int, ...] = (64, 256)  # the levels wrk loads it at (sync: 1 and 64)


def uvicorn(app: str, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


def granian(app: str, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "asgi", app, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


def gunicorn_sync(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "storefront.wsgi:application", "--bind",
            f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync", "--timeout", "120",
            "--log-level", "warning"]  # fmt: skip


def gunicorn_production(port: int, workers: int) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """deploy/gunicorn.conf.py as production runs it, on ``port`` with ``workers`` workers."""
    argv = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
            "storefront.asgi:application"]  # fmt: skip
    env = (("STOREFRONT_BIND", f"127.0.0.1:{port}"), ("STOREFRONT_WORKERS", str(workers)))
    return argv, env


def cpu_seconds(pid: int) -> float:
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(
    peer: Peer, port: int, env: dict[str, str], seconds: int, connections: Sequence[int], log: Path
):
    url = f"http://127.0.0.1:{port}{peer.path}"
    # storefront's API wants a key; its open probe says as much about readiness.
    ready = f"http://127.0.0.1:{port}/healthz" if peer.path.startswith("/api/") else url
    rows = []
    run_env = {**env, **dict(peer.env)}
    with running(peer.argv, env=run_env, ready_url=ready, log=log) as process:
        # At the first level measured: a sync worker would still be serving a larger
        # warm-up's queue when the measured run starts.
        wrk(url, label="warm-up", connections=connections[0], seconds=2, headers=peer.headers)
        for count in connections:
            before = cpu_seconds(process.pid)
            result = wrk(url, label=peer.label, connections=count, seconds=seconds,
                         headers=peer.headers)  # fmt: skip
            used = cpu_seconds(process.pid) - before
            cpu_ms = used * 1000 / result.requests if result.requests else float("nan")
            rows.append({**asdict(result), "cpu_ms_per_request": cpu_ms})
            print(f"  {peer.label} c={count}: {result.requests_per_second:,.0f} req/s, "
                  f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                  f"{cpu_ms:.3f} ms CPU/request, errors {result.errors}", flush=True)  # fmt: skip
    return rows


def medians(measured: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per peer and concurrency: the median of each figure over the rounds."""
    groups: dict[tuple[object, object], list[dict[str, object]]] = {}
    for row in measured:
        groups.setdefault((row["label"], row["connections"]), []).append(row)
    rows = []
    for group in groups.values():
        row = dict(group[0])
        for key in ("requests_per_second", "p50_ms", "p99_ms", "cpu_ms_per_request", "errors"):
            row[key] = statistics.median(float(r[key]) for r in group)  # type: ignore[arg-type]
        row["rounds"] = len(group)
        rows.append(row)
    return rows


def prepare_storefront(env: dict[str, str], root: Path = ROOT) -> None:
    """Migrate ``env``'s database and load the sample data, by ``root``'s own ``manage.py``."""
    for command in (["migrate", "--verbosity", "0"], ["load_sample_data"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=root, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def table(rows: list[dict[str, object]], reference: str) -> str:
    lines = ["| peer | connections | requests/s | x peer | p50 ms | p99 ms | x p99 | CPU ms/request | errors |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    refs = {r["connections"]: r for r in rows if r["label"] == reference}
    for row in rows:
        ref = refs.get(row["connections"])
        ratio = row["requests_per_second"] / ref["requests_per_second"] if ref else float("nan")
        p99_ratio = row["p99_ms"] / ref["p99_ms"] if ref else float("nan")
        lines.append(
            f"| {row['label']} | {row['connections']} | {row['requests_per_second']:,.0f} | "
            f"{ratio:.2f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {p99_ratio:.2f} | "
            f"{row['cpu_ms_per_request']:.3f} | {row['errors']:.0f} |"
        )
    return "\n".join(lines)


def chart(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(str(r["label"]) for r in rows))
    levels = sorted({int(r["connections"]) for r in rows})  # type: ignore[call-overload]
    figure, axes = plt.subplots(1, 2, figsize=(12, 5))
    width = 0.8 / len(levels)
    for index, level in enumerate(levels):
        values = {r["label"]: r for r in rows if r["connections"] == level}
        xs = [i + index * width for i in range(len(labels))]
        axes[0].bar(xs, [values[name]["requests_per_second"] if name in values else 0 for name in labels],
                    width, label=f"c={level}")  # fmt: skip
        axes[1].bar(xs, [values[name]["p99_ms"] if name in values else 0 for name in labels],
                    width, label=f"c={level}")  # fmt: skip
    for axis, title in zip(axes, ("requests/s (higher is better)", "p99 ms (lower is better)"),
                           strict=True):  # fmt: skip
        axis.set_title(title)
        axis.set_xticks([i + width * (len(levels) - 1) / 2 for i in range(len(labels))])
        axis.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        axis.legend()
    axes[1].set_yscale("log")
    figure.suptitle("Three 100 ms upstreams (nginx echo_sleep), one server process, 2 cores")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--servers", action="store_true", help="also compare uvicorn and granian")
    parser.add_argument("--gunicorn", action="store_true",
                        help="also storefront under deploy/gunicorn.conf.py, 1 and 2 workers")  # fmt: skip
    parser.add_argument("--skip-sync", action="store_true", help="leave out the WSGI baseline")
    parser.add_argument("--variants", action="store_true",
                        help="also storefront with its door off, and with its policies off")  # fmt: skip
    parser.add_argument("--policies", action="store_true",
                        help="also storefront with policies off, and all configured but idle")  # fmt: skip
    parser.add_argument("--metrics", action="store_true",
                        help="also storefront with its Prometheus metrics off")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every peer this many times, interleaved, and report "
                             "the median of each figure (a shared machine drifts)")  # fmt: skip
    parser.add_argument("--base", type=Path,
                        help="also storefront as shipped from this checkout (a git worktree of "
                             "an earlier commit), interleaved: a before and after in one run")  # fmt: skip
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the peers whose label contains TEXT (repeatable); "
                             "the saved results and chart are left as they were")  # fmt: skip
    args = parser.parse_args()

    upstream_port = free_port()
    var_dir = tempfile.mkdtemp(prefix="chorus-bench-")
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=var_dir)
    # This checkout's chorus, not the one the environment installed (perhaps another checkout).
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}"
    # Storefront's own defaults for the rest: INFO, JSON lines, door, policies, metrics.
    for name in ("LOG_LEVEL", "STOREFRONT_LOG_FORMAT", "STOREFRONT_POLICIES",
                 "STOREFRONT_METRICS", "STOREFRONT_MAX_IN_FLIGHT"):  # fmt: skip
        env.pop(name, None)
    print("storefront as shipped, except:", CHANGED, flush=True)
    prepare_storefront(env)
    auth = bench_api_key(env)
    port = free_port()
    peers = [
        # As shipped: door, policies (analytics cached for 5 s), metrics, the production log.
        Peer(STOREFRONT, uvicorn("storefront.asgi:application", port), "/api/dashboard/", auth),
        Peer("FastAPI + aiohttp", uvicorn("bench.peers.fastapi_aiohttp:app", port), "/dashboard"),
        Peer("FastAPI + httpx", uvicorn("bench.peers.fastapi_httpx:app", port), "/dashboard"),
        Peer("Django async view (seeds)", uvicorn("bench.peers.django_seeds:application", port),
             "/dashboard"),
    ]  # fmt: skip
    if not args.skip_sync:
        peers.append(Peer("sync WSGI baseline (gunicorn)", gunicorn_sync(port),
                          "/api/sync/dashboard/", auth, wsgi=True))  # fmt: skip
    if args.servers:
        peers += [
            Peer("storefront, granian", granian("storefront.asgi:application", port),
                 "/api/dashboard/", auth),
            Peer("storefront, uvicorn, 2 workers", uvicorn("storefront.asgi:application", port, 2),
                 "/api/dashboard/", auth),
            Peer("storefront, granian, 2 workers", granian("storefront.asgi:application", port, 2),
                 "/api/dashboard/", auth),
        ]  # fmt: skip
    if args.gunicorn:
        # Also at 512 connections: more workers show what they add past one worker's knee.
        for workers in (1, 2):
            argv, extra = gunicorn_production(port, workers)
            peers.append(Peer(f"storefront, gunicorn, {workers} worker{'s' * (workers > 1)}",
                              argv, "/api/dashboard/", auth, env=extra,
                              connections=(64, 256, 512)))  # fmt: skip
        peers.append(Peer("storefront, uvicorn, 2 workers",
                          uvicorn("storefront.asgi:application", port, 2), "/api/dashboard/",
                          auth, connections=(64, 256, 512)))  # fmt: skip
    policies_off = Peer("storefront, policies off", uvicorn("storefront.asgi:application", port),
                        "/api/dashboard/", auth, env=(("STOREFRONT_POLICIES", "0"),))  # fmt: skip
    if args.variants:
        peers += [
            Peer("storefront, door off", uvicorn("storefront.asgi:application", port),
                 "/api/dashboard/", auth, env=(("STOREFRONT_MAX_IN_FLIGHT", "0"),)),
            policies_off,
        ]  # fmt: skip
    if args.policies:
        peers += [
            *([] if args.variants else [policies_off]),
            Peer("storefront, policies idle", uvicorn("storefront.asgi:application", port),
                 "/api/dashboard/", auth,
                 env=(("DJANGO_SETTINGS_MODULE", "bench.settings.policies_idle"),)),
        ]  # fmt: skip
    if args.metrics:
        peers.append(Peer("storefront, metrics off", uvicorn("storefront.asgi:application", port),
                          "/api/dashboard/", auth, env=(("STOREFRONT_METRICS", "0"),)))  # fmt: skip
    if args.base is not None:  # the same load on an earlier build, for a before and after
        base = args.base.resolve()
        peers.insert(1, Peer(f"{STOREFRONT}, build {args.base.name}",
                             uvicorn("storefront.asgi:application", port), "/api/dashboard/", auth,
                             env=(("PYTHONPATH", f"{base / 'src'}:{base}"),)))  # fmt: skip
    if args.only:
        peers = [p for p in peers if any(text in p.label for text in args.only)]
    measured: list[dict[str, object]] = []
    with nginx_upstream(upstream_port):
        for round_number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_number} of {args.rounds}", flush=True)
            # Every other round in reverse: in session 11 the server measured second in a
            # round did better in every one of four runs, so a fixed order favours a peer.
            for peer in peers if round_number % 2 else peers[::-1]:
                connections = (1, 64) if peer.wsgi else peer.connections
                log = Path(var_dir) / f"{peer.label}.log".replace(" ", "_").replace("/", "_")
                measured += [{**row, "wsgi": peer.wsgi}
                             for row in measure(peer, port, env, args.seconds, connections, log)]  # fmt: skip
    rows = medians(measured)
    if not args.only:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "compare.json").write_text(json.dumps(rows, indent=2))
        chart([r for r in rows if not r["wsgi"]], RESULTS / "compare.png")
    print()
    print(table(rows, "FastAPI + aiohttp"))


if __name__ == "__main__":
    main()
