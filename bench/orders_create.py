"""Concurrent order creation: N simultaneous ``POST /api/orders/`` on SQLite and PostgreSQL.

    uv run python bench/orders_create.py [--orders 200] [--rounds 3] [--checkout PATH]
                                         [--postgres postgres://postgres@127.0.0.1:5432/bench_create]

For each database: migrate, load the sample shop, start storefront (one uvicorn
worker, uvloop, httptools, ``DEBUG=0``), then ``--rounds`` times send
``--orders`` order creations at once (aiohttp, one connection each) and time
until the last answer. Afterwards every answered id is checked against the
database: none lost, none doubled. Prints a Markdown table for ``bench/README.md``.
``--checkout`` runs another checkout's storefront (``git worktree`` of an older
commit) for a before/after in one sitting; ``--postgres ''`` skips PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from harness import ROOT, bench_api_key, bench_env, free_port, wait_until_up

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/bench_create"


def payload(number: int, customers: list[int]) -> bytes:
    return orjson.dumps(
        {
            "customer": customers[number % len(customers)],
            "items": [
                {"sku": f"B{number}-{k}", "qty": k + 1, "unit_price": f"{number % 90}.{k}5"}
                for k in range(3)
            ],
        }
    )


async def one_round(
    url: str, authorization: str, orders: int, customers: list[int]
) -> tuple[float, list[int], int]:
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def create(number: int) -> int | None:
            async with session.post(url, data=payload(number, customers)) as response:
                body = await response.read()
                return int(orjson.loads(body)["id"]) if response.status == 201 else None

        started = time.perf_counter()
        answers = await asyncio.gather(*(create(n) for n in range(orders)))
        elapsed = time.perf_counter() - started
    ids = [answer for answer in answers if answer is not None]
    return elapsed, ids, orders - len(ids)


def in_django(env: dict[str, str], checkout: Path, code: str, data: object = None) -> object:
    """Run ``code`` (which sets ``result``) in a child with ``checkout``'s settings."""
    script = (
        "import django, sys, json; django.setup(); data = json.load(sys.stdin)\n"
        f"{code}\nprint(json.dumps(result))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=checkout,
        env={**env, "DJANGO_SETTINGS_MODULE": "storefront.settings"},
        input=orjson.dumps(data),
        capture_output=True,
        check=True,
    )
    return orjson.loads(done.stdout)


def stored_count(env: dict[str, str], checkout: Path, ids: list[int]) -> tuple[int, int]:
    """How many of ``ids`` are stored, and how many orders the database holds in all."""
    found, total = in_django(  # type: ignore[misc]
        env,
        checkout,
        "from storefront.orders.models import Order\n"
        "result = [Order.objects.filter(pk__in=data).count(), Order.objects.count()]",
        ids,
    )
    return int(found), int(total)


def bench(label: str, env: dict[str, str], checkout: Path, orders: int, rounds: int) -> str:
    authorization = bench_api_key(env)[0].partition(": ")[2]
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "load_sample_data"], cwd=checkout, env=env, check=True)
    _, before = stored_count(env, checkout, [])
    customers = in_django(
        env,
        checkout,
        "from storefront.orders.models import Customer\n"
        "result = list(Customer.objects.filter(active=True).values_list('pk', flat=True)[:50])",
    )
    assert isinstance(customers, list)
    port = free_port()
    uvicorn = [
        sys.executable, "-m", "uvicorn", "storefront.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(uvicorn, cwd=checkout, env=env, start_new_session=True)
    times, ids, failed = [], [], 0
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        for _ in range(rounds):
            elapsed, made, refused = asyncio.run(
                one_round(f"http://127.0.0.1:{port}/api/orders/", authorization, orders, customers)
            )
            times.append(elapsed)
            ids += made
            failed += refused
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
    found, after = stored_count(env, checkout, ids)
    lost = len(ids) - found
    doubled = (after - before) - len(set(ids))
    return (
        f"| {label} | {orders} | {statistics.median(times):.2f} | {max(times):.2f} "
        f"| {failed} | {lost} | {doubled} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-create-") as var_dir:
        env = bench_env(free_port(), STOREFRONT_VAR_DIR=var_dir, PYTHONPATH=str(checkout))
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        rows.append(bench("SQLite", env, checkout, args.orders, args.rounds))
        if args.postgres:
            subprocess.run(
                ["psql", args.postgres.rsplit("/", 1)[0] + "/postgres", "-qc",
                 f"DROP DATABASE IF EXISTS {args.postgres.rsplit('/', 1)[1]}"],
                check=True,
            )  # fmt: skip
            subprocess.run(
                ["psql", args.postgres.rsplit("/", 1)[0] + "/postgres", "-qc",
                 f"CREATE DATABASE {args.postgres.rsplit('/', 1)[1]}"],
                check=True,
            )  # fmt: skip
            env["DATABASE_URL"] = args.postgres
            rows.append(bench("PostgreSQL", env, checkout, args.orders, args.rounds))
    print("| database | orders at once | median s | worst s | refused | lost | doubled |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
