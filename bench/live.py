"""Live events to N concurrent ``/api/live/`` viewers on one worker: delivery latency, memory, CPU.

    uv run --group bench python bench/live.py --viewers 1000 [--rate 100] [--seconds 10]
                                              [--backend redis|database]

Starts storefront under uvicorn (one worker, uvloop, httptools, ``DEBUG=0``) on
a free loopback port, opens ``--viewers`` SSE streams from this
process (asyncio on uvloop, one socket and protocol each, no task per viewer,
so the client costs as little as it can), waits until every stream has said
``ready``, then runs a publisher *process* that calls ``storefront.live.publish`` ``--rate`` times a second for
``--seconds``, each event carrying its publish time. Every viewer counts the
events it receives; up to 1,000 viewers, spread over the connection order,
also record receive time minus publish time for every event (same host, same
clock). Parsing every timestamp of 10,000 viewers would make the client, not
the worker, the bottleneck being measured.

Reports: events delivered (and expected), latency p50/p99/max, the worker's
RSS before and after the viewers connected (memory per viewer), and its CPU
share during publishing. Redis backend: ``REDIS_URL`` (default db 4 here) with
a stream of its own, deleted at the end. Everything on 127.0.0.1, bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psutil
import redis
import uvloop
from harness import ROOT, bench_api_key, bench_env, free_port, running

BATCH = 250
TIMED_VIEWERS = 1_000
PUBLISHER = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")
django.setup()
from storefront import live
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
start = time.monotonic()
for n in range(int(rate * seconds)):
    delay = start + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    live.publish("bench.tick", {"n": n, "t": time.time()})
"""
_PUBLISHED_AT = re.compile(rb'"t":([0-9.]+)')


class Viewer(asyncio.Protocol):
    """One SSE stream, read by the protocol's callbacks (no task, no stream reader per viewer).

    Every viewer counts the event frames it receives; a ``timed`` one also
    records receive time minus publish time for each of them, parsing only
    complete frames (a chunk may end inside one).
    """

    def __init__(self, viewers: Viewers, timed: bool) -> None:
        self.viewers = viewers
        self.timed = timed
        self.ready = False
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:  # uvloop's is no asyncio.Transport
        self.transport = transport
        transport.write(
            f"GET /api/live/?heartbeat=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Accept: text/event-stream\r\n{self.viewers.authorization}\r\n\r\n".encode()
        )

    def data_received(self, chunk: bytes) -> None:
        now = time.time()
        viewers = self.viewers
        if not self.ready:
            self.buffer += chunk
            if not self.buffer.startswith(b"HTTP/1.1 200"):
                if len(self.buffer) >= 12:
                    viewers.refused += 1
                    print(self.buffer[:300], file=sys.stderr)
                    assert self.transport is not None
                    self.transport.close()
                return
            _head, found, rest = self.buffer.partition(b"event: ready")
            if not found:
                return
            self.ready = True
            viewers.ready += 1
            if viewers.ready == viewers.target:
                viewers.all_ready.set()
            # What follows the ready frame's own lines are events.
            chunk = rest.partition(b"\n\n")[2]
            self.buffer = b"\n"  # each frame then starts after a line break: b"\nid: "
        data = self.buffer + chunk
        if self.timed:
            complete, end, rest = data.rpartition(b"\n\n")
            if not end:
                self.buffer = data
                return
            self.buffer = b"\n" + rest
            viewers.latencies.extend(now - float(t) for t in _PUBLISHED_AT.findall(complete))
            viewers.delivered += complete.count(_FRAME_START)
        else:
            # Count frame starts; keep a tail too short to hold one, so none is counted twice.
            viewers.delivered += data.count(_FRAME_START)
            self.buffer = data[-(len(_FRAME_START) - 1) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.viewers.failures += 1
        else:
            self.viewers.ended += 1


_FRAME_START = b"\nid: "


@dataclass
class Viewers:
    port: int
    authorization: str
    target: int
    timed_every: int = 1
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    ready: int = 0
    failures: int = 0
    refused: int = 0
    ended: int = 0
    opened: int = 0
    all_ready: asyncio.Event = field(default_factory=asyncio.Event)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    async def open_one(self) -> None:
        timed = self.opened % self.timed_every == 0
        self.opened += 1
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_connection(
                lambda: Viewer(self, timed), "127.0.0.1", self.port
            )
        except OSError:
            self.failures += 1
            return
        self.transports.append(transport)

    async def close(self) -> None:
        for transport in self.transports:
            transport.close()
        await asyncio.sleep(0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def run(args: argparse.Namespace, env: dict[str, str], authorization: str, port: int) -> None:
    with running(
        [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--backlog", "4096"],
        env=env, ready_url=f"http://127.0.0.1:{port}/healthz",
    ) as server:  # fmt: skip
        worker = psutil.Process(server.pid)
        # Warm: one request loads the views, the access check and the live app's modules.
        warm = Viewers(port, authorization, target=1)
        await warm.open_one()
        await asyncio.wait_for(warm.all_ready.wait(), timeout=30)
        await warm.close()
        await asyncio.sleep(0.5)
        rss_before = worker.memory_info().rss
        # Latency is recorded on up to TIMED_VIEWERS viewers spread over the connection
        # order (the hub's order is its set's, unrelated to it); every viewer counts.
        viewers = Viewers(
            port, authorization, target=args.viewers,
            timed_every=max(1, args.viewers // TIMED_VIEWERS),
        )  # fmt: skip
        started = time.monotonic()
        for first in range(0, args.viewers, BATCH):
            await asyncio.gather(
                *(viewers.open_one() for _ in range(min(BATCH, args.viewers - first)))
            )
        try:
            await asyncio.wait_for(viewers.all_ready.wait(), timeout=120)
        except TimeoutError:
            print(
                f"only {viewers.ready} of {args.viewers} viewers ready: {viewers.failures} failed,"
                f" {viewers.refused} refused, {viewers.ended} ended",
                file=sys.stderr,
            )
        connect_s = time.monotonic() - started
        await asyncio.sleep(1)
        rss_after = worker.memory_info().rss
        me = psutil.Process()
        client_before = me.cpu_times()
        cpu_before, wall_before = worker.cpu_times(), time.monotonic()
        publisher = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PUBLISHER, str(args.rate), str(args.seconds), cwd=ROOT, env=env
        )
        await publisher.wait()
        await asyncio.sleep(2)  # let the last events land
        cpu_after, wall_after = worker.cpu_times(), time.monotonic()
        client_after = me.cpu_times()
        client_cpu = (
            client_after.user + client_after.system - client_before.user - client_before.system
        ) / (wall_after - wall_before)
        print(f"client CPU {client_cpu * 100:.0f} %", file=sys.stderr)
        await viewers.close()
    expected = int(args.rate * args.seconds) * viewers.ready
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / (
        wall_after - wall_before
    )
    ms = [value * 1000 for value in viewers.latencies]
    print(
        f"| {args.backend} | {args.viewers:,} | {viewers.ready:,} | {args.rate:g}/s x {args.seconds:g} s "
        f"| {viewers.delivered:,} / {expected:,} | {len(ms):,} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.99):.1f} "
        f"| {max(ms, default=float('nan')):.0f} | {(rss_after - rss_before) / max(1, viewers.ready) / 1024:.1f} KiB "
        f"| {rss_after / 2**20:.0f} MiB | {cpu * 100:.0f} % | {connect_s:.1f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backend", choices=("redis", "database"), default="redis")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        extra = {"STOREFRONT_VAR_DIR": var_dir, "STOREFRONT_LIVE_BACKEND": args.backend}
        stream = f"bench:live:{uuid.uuid4().hex}"
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4")
        if args.backend == "redis":
            extra |= {"REDIS_URL": redis_url, "STOREFRONT_LIVE_STREAM": stream}
        env = bench_env(free_port(), **extra)
        env.pop("DATABASE_URL", None)
        if args.backend == "database":
            env.pop("REDIS_URL", None)
        [authorization] = bench_api_key(env)
        try:
            uvloop.run(run(args, env, authorization, port))
        finally:
            if args.backend == "redis":
                client = redis.Redis.from_url(redis_url)
                client.delete(stream)
                client.close()
    print(
        "| backend | viewers | ready | events | delivered / expected | timed | p50 ms | p99 ms | max ms "
        "| memory per viewer | worker RSS | worker CPU | connect time |",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
