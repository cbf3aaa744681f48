"""How many idle Server-Sent Events streams one storefront worker holds, and what each costs.

    uv run python bench/sse.py [--target 10000] [--heartbeat 5]

Starts storefront under uvicorn (one worker, uvloop, httptools, ``DEBUG=0``)
on a free loopback port, then, from this process (the client: asyncio on
uvloop, one raw socket per stream), opens ``/api/events/`` streams in steps up
to ``--target``. The streams send one event at connect and then, a minute
apart, the next, so what flows between is heartbeats. At each step it waits
just over one heartbeat interval, then checks that every open stream received
a heartbeat in that window and records the worker's RSS (psutil). Prints a
Markdown table for ``bench/README.md``. Everything is on 127.0.0.1 and bounded
in time; the server is stopped and every socket closed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from dataclasses import dataclass, field

import psutil
import uvloop
from harness import bench_api_key, bench_env, free_port, running

STEPS = (1_000, 2_500, 5_000, 7_500, 10_000)
BATCH = 250
HEARTBEAT_FRAME = b": heartbeat\n\n"


@dataclass
class Stream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    heartbeats: int = 0
    last_heartbeat: float = 0.0


@dataclass
class Client:
    port: int
    heartbeat: float
    authorization: str
    streams: list[Stream] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    failures: int = 0

    def request(self) -> bytes:
        path = f"/api/events/?count=1000&interval=60&heartbeat={self.heartbeat}"
        return (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            f"{self.authorization}\r\n\r\n"
        ).encode()

    async def open_one(self) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=4096)
            writer.write(self.request())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            self.failures += 1
            return
        if not head.startswith(b"HTTP/1.1 200"):
            self.failures += 1
            writer.close()
            return
        stream = Stream(reader, writer)
        self.streams.append(stream)
        self.readers.append(asyncio.create_task(self._read(stream)))

    async def _read(self, stream: Stream) -> None:
        while chunk := await stream.reader.read(4096):
            if count := chunk.count(HEARTBEAT_FRAME):
                stream.heartbeats += count
                stream.last_heartbeat = time.monotonic()

    async def grow_to(self, target: int) -> None:
        while len(self.streams) + self.failures < target:
            batch = min(BATCH, target - len(self.streams) - self.failures)
            await asyncio.gather(*(self.open_one() for _ in range(batch)))

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for stream in self.streams:
            stream.writer.close()


@dataclass(frozen=True)
class Step:
    streams: int
    failures: int
    fed: int
    seconds_to_open: float
    rss_mib: float
    kib_per_stream: float
    cpu_percent: float

    def row(self) -> str:
        return (
            f"| {self.streams:,} | {self.fed:,} ({self.fed / max(self.streams, 1):.0%}) | "
            f"{self.rss_mib:,.1f} | {self.kib_per_stream:.1f} | {self.cpu_percent:.0f} % | "
            f"{self.seconds_to_open:.1f} | {self.failures} |"
        )


async def measure(
    port: int, pid: int, target: int, heartbeat: float, authorization: str
) -> tuple[float, list[Step]]:
    worker = psutil.Process(pid)
    client = Client(port, heartbeat, authorization)
    await asyncio.sleep(1)
    baseline = worker.memory_info().rss
    steps = []
    try:
        async with asyncio.timeout(600):
            for size in (s for s in STEPS if s <= target):
                started = time.monotonic()
                await client.grow_to(size)
                opened = time.monotonic() - started
                window = time.monotonic()
                worker.cpu_percent()
                await asyncio.sleep(heartbeat * 1.5)
                cpu = worker.cpu_percent()
                fed = sum(1 for s in client.streams if s.last_heartbeat >= window)
                rss = worker.memory_info().rss
                n = len(client.streams)
                steps.append(
                    Step(
                        streams=n,
                        failures=client.failures,
                        fed=fed,
                        seconds_to_open=opened,
                        rss_mib=rss / 2**20,
                        kib_per_stream=(rss - baseline) / max(n, 1) / 1024,
                        cpu_percent=cpu,
                    )
                )
                print(steps[-1].row(), file=sys.stderr, flush=True)
    finally:
        await client.close()
    return baseline / 2**20, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=int, default=10_000)
    parser.add_argument("--heartbeat", type=float, default=5.0)
    args = parser.parse_args()

    # One descriptor per stream on each side, plus headroom; the worker inherits the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.target + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < args.target + 256:
        sys.exit(f"the open-file limit ({hard}) is too low for {args.target} streams")

    port = free_port()
    # No upstream is called (the URLs only need to be valid); plain http on loopback, and
    # no per-client rate limit, since every stream comes from the one client address.
    env = bench_env(free_port(), SECURE_SSL_REDIRECT="0", STOREFRONT_RATE_LIMIT_ANONYMOUS_RATE="0")
    uvicorn = [
        sys.executable, "-m", "uvicorn", "storefront.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--backlog", "4096",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    [authorization] = bench_api_key(env)
    with running(uvicorn, env=env, ready_url=f"http://127.0.0.1:{port}/healthz") as server:
        baseline, steps = uvloop.run(
            measure(port, server.pid, args.target, args.heartbeat, authorization)
        )
    print(f"worker RSS before any stream: {baseline:.1f} MiB; heartbeat every {args.heartbeat} s\n")
    print(
        "| open streams | fed a heartbeat in the last window | worker RSS MiB | KiB per stream "
        "| worker CPU | s to open the step | failed opens |\n|---|---|---|---|---|---|---|"
    )
    for step in steps:
        print(step.row())


if __name__ == "__main__":
    main()
