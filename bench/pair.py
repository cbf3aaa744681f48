"""Builds of storefront side by side, each server kept up, wrk taking turns between them.

    uv run --group bench python bench/pair.py DIR [DIR ...] [--peer] [--rounds 8] [--seconds 4]

Each ``DIR`` is a checkout (``git worktree add DIR <commit>``; ``.`` for this one),
run as shipped, as ``bench/compare.py`` runs storefront (door, policies, metrics,
``DEBUG=0``, the production log to a file; ``CHANGED`` there says what differs),
each under its own uvicorn worker with its own database, all against one nginx
echo upstream. ``--peer`` adds FastAPI + aiohttp. Every server starts once and
stays up; each round loads each in turn with wrk for ``--seconds`` at ``-c``
connections (256), odd rounds in the order given and even rounds reversed (the
one loaded second in a round did better, in every run of session 11), so the builds share the machine's good and bad moments,
round by round, and no figure pays for a start. Printed per round and as
medians, with each build's ratio to the first one's requests/s taken round by
round: on this shared machine one build's throughput moved by a third from
one round to the next, while the ratio within a round moved far less.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

from compare import cpu_seconds, prepare_storefront
from harness import ROOT, bench_api_key, bench_env, free_port, running, wrk
from upstream_nginx import nginx_upstream

PEER = "FastAPI + aiohttp"


def as_shipped(root: Path, upstream_port: int) -> dict[str, str]:
    env = bench_env(upstream_port, STOREFRONT_VAR_DIR=tempfile.mkdtemp(prefix="chorus-pair-"))
    env["PYTHONPATH"] = f"{root / 'src'}:{root}"  # that checkout's chorus and storefront
    for name in ("LOG_LEVEL", "STOREFRONT_LOG_FORMAT", "STOREFRONT_POLICIES",
                 "STOREFRONT_METRICS", "STOREFRONT_MAX_IN_FLIGHT"):  # fmt: skip
        env.pop(name, None)
    prepare_storefront(env, root)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="+", type=Path, help="checkouts of storefront")
    parser.add_argument("--peer", action="store_true", help="add FastAPI + aiohttp")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("-c", "--connections", type=int, default=256)
    args = parser.parse_args()

    upstream_port = free_port()
    figures: dict[str, list[tuple[float, float, float, int]]] = {}
    with nginx_upstream(upstream_port), contextlib.ExitStack() as servers:
        targets = []
        for build in args.builds:
            root = build.resolve()
            env = as_shipped(root, upstream_port)
            targets.append((root.name, env, root, "storefront.asgi:application",
                            "/api/dashboard/", bench_api_key(env, root)))  # fmt: skip
        if args.peer:
            env = bench_env(upstream_port)
            env["PYTHONPATH"] = str(ROOT)
            targets.append((PEER, env, ROOT, "bench.peers.fastapi_aiohttp:app", "/dashboard", []))
        running_ones = []
        for label, env, root, app, path, headers in targets:
            port = free_port()
            argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                    str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                    "--log-level", "warning"]  # fmt: skip
            url = f"http://127.0.0.1:{port}{path}"
            ready = f"http://127.0.0.1:{port}/healthz" if path.startswith("/api/") else url
            log = Path(env.get("STOREFRONT_VAR_DIR", tempfile.mkdtemp())) / "server.log"
            server = servers.enter_context(
                running(argv, env=env, ready_url=ready, log=log, cwd=root)
            )
            wrk(url, label="warm-up", connections=args.connections, seconds=2, headers=headers)
            running_ones.append((label, server, url, headers))
        for round_number in range(1, args.rounds + 1):
            line = []
            # Every other round in reverse: the server loaded second in a round did better.
            in_turn = running_ones if round_number % 2 else running_ones[::-1]
            for label, server, url, headers in in_turn:
                before = cpu_seconds(server.pid)
                result = wrk(url, label=label, connections=args.connections,
                             seconds=args.seconds, headers=headers)  # fmt: skip
                cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / max(result.requests, 1)
                figures.setdefault(label, []).append(
                    (result.requests_per_second, cpu_ms, result.p99_ms, result.errors)
                )
                line.append(f"{label} {result.requests_per_second:,.0f} req/s, "
                            f"{cpu_ms:.3f} ms CPU, p99 {result.p99_ms:.0f} ms")  # fmt: skip
            print(f"round {round_number}: " + " | ".join(line), flush=True)
    first = figures[running_ones[0][0]]
    print(f"\nmedians over {args.rounds} rounds at {args.connections} connections:")
    for label, rows in figures.items():
        ratios = [row[0] / base[0] for row, base in zip(rows, first, strict=True)]
        print(f"{label}: {statistics.median(r[0] for r in rows):,.0f} req/s, "
              f"{statistics.median(r[1] for r in rows):.3f} ms CPU/request, "
              f"p99 {statistics.median(r[2] for r in rows):.0f} ms, "
              f"errors {sum(r[3] for r in rows)}; "
              f"x {running_ones[0][0]} by round: median {statistics.median(ratios):.3f} "
              f"({', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip


if __name__ == "__main__":
    main()
