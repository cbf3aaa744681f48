"""Orders under load: the async ORM views on SQLite and on PostgreSQL.

    uv run python bench/orders.py [--seconds 10] [--postgres postgres://postgres@127.0.0.1:5432/bench_orders]

For each database: migrate, load the sample shop (``load_sample_data``,
default sizes), count the queries each endpoint makes (Django's test client
with ``CaptureQueriesContext``, in a child process on the same settings), then
start storefront under uvicorn (one worker, uvloop, httptools, ``DEBUG=0``) and
measure ``/api/orders/recent/`` and ``/api/orders/stats/`` with wrk at 16 and
64 connections. Prints a Markdown table for ``bench/README.md``.
PostgreSQL is skipped when ``--postgres ''``; its database is created if missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import orjson
from harness import ROOT, bench_api_key, bench_env, free_port, running, wrk

ENDPOINTS = ("/api/orders/recent/", "/api/orders/stats/")
CONNECTIONS = (16, 64)
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/bench_orders"


def count_queries() -> None:
    """Child-process mode: print {path: queries per request} as JSON."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # The sync client runs the async views under async_to_sync, so their ORM
    # calls come back to this thread and its connection, where they are counted.
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=os.environ["BENCH_AUTHORIZATION"])
    client.get(ENDPOINTS[0])  # the key's lookup, cached from then on as in a running server
    counts = {}
    for path in ENDPOINTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[path] = len(captured.captured_queries)
    print(orjson.dumps(counts).decode())


def ensure_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def bench_database(label: str, env: dict[str, str], seconds: int) -> list[str]:
    auth = bench_api_key(env)  # migrates
    manage(env, "load_sample_data")
    counted = subprocess.run(
        [sys.executable, __file__, "--count-queries"],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "storefront.settings",
            "PYTHONPATH": str(ROOT),
            "BENCH_AUTHORIZATION": auth[0].partition(": ")[2],
        },
        check=True,
        capture_output=True,
        text=True,
    )
    queries = orjson.loads(counted.stdout)
    port = free_port()
    uvicorn = [
        sys.executable, "-m", "uvicorn", "storefront.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    rows = []
    with running(uvicorn, env=env, ready_url=f"http://127.0.0.1:{port}/healthz"):
        for path in ENDPOINTS:
            url = f"http://127.0.0.1:{port}{path}"
            wrk(url, label="warm-up", connections=16, seconds=2, headers=auth)
            for connections in CONNECTIONS:
                result = wrk(
                    url, label=path, connections=connections, seconds=seconds, headers=auth
                )
                rows.append(
                    f"| {label} | `{path}` | {connections} | {result.requests_per_second:,.0f} "
                    f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} "
                    f"| {queries[path]} |"
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--count-queries", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_queries:
        count_queries()
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as var_dir:
        env = bench_env(free_port(), STOREFRONT_VAR_DIR=var_dir)
        env.pop("DATABASE_URL", None)
        rows += bench_database("SQLite", env, args.seconds)
    if args.postgres:
        ensure_postgres_database(args.postgres)
        rows += bench_database(
            "PostgreSQL", bench_env(free_port(), DATABASE_URL=args.postgres), args.seconds
        )
    print(
        "| database | endpoint | connections | requests/s | p50 ms | p99 ms | errors | queries/request |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
