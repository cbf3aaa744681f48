"""What one ``take_token`` costs on the in-process limiter: µs per call, one process.

    uv run python bench/ratelimit_cost.py [--calls 200000] [--rounds 5]

Runs in one event loop with no ``REDIS_URL``: three loops of ``--calls`` calls
each, the best of ``--rounds``: one identity under its limit (every call
allowed), one identity over it (every call refused with a wait: the path a
client hammering past its limit takes), and a new identity on every call (an
identity rotation); then the sync path (the WSGI baseline's) for one identity
under its limit, from a plain thread. Prints one Markdown row per case for
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

import django

django.setup()

from storefront.http import ratelimit  # noqa: E402


async def per_call(calls: int, identity: str | None, limit: ratelimit.Limit) -> float:
    take = ratelimit.take_token
    names = [f"ip:rot-{i}" for i in range(calls)] if identity is None else [identity] * calls
    started = time.perf_counter()
    for name in names:
        await take(name, limit)
    return (time.perf_counter() - started) / calls * 1e6


def per_sync_call(calls: int) -> float:
    limit = ratelimit.Limit(1e9, 10**9)
    if hasattr(ratelimit, "run_sync"):  # the moving windows: the same coroutine, on its loop

        def take(identity: str, limit: ratelimit.Limit) -> float:
            return ratelimit.run_sync(ratelimit.take_token(identity, limit))

    else:  # the token buckets' sync copy
        take = ratelimit._take_token_sync
    started = time.perf_counter()
    for _ in range(calls):
        take("ip:sync", limit)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    cases = {
        "allowed (one identity, under its limit)": ("ip:allowed", ratelimit.Limit(1e9, 10**9)),
        "refused (one identity, over its limit)": ("ip:refused", ratelimit.Limit(0.001, 1)),
        "rotation (a new identity each call)": (None, ratelimit.Limit(20.0, 200)),
    }
    print("| case | µs per call (best of rounds) |\n|---|---|")
    for name, (identity, limit) in cases.items():
        best = min([await per_call(calls, identity, limit) for _ in range(rounds)])
        print(f"| {name} | {best:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
    sync_calls = max(1, args.calls // 10)
    best = min(per_sync_call(sync_calls) for _ in range(args.rounds))
    print(f"| sync path (WSGI), allowed | {best:.2f} |")
