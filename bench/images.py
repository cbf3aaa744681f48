"""Other requests' latency while 10 MB images arrive and are resized, and a worker's jobs/s.

``uv run python bench/images.py [--seconds 10]`` starts storefront under uvicorn
(one process, production settings, SQLite in a temporary var dir) and loads
``GET /api/orders/stats/`` (an API key, four ORM queries) with wrk at 64
connections, in turn:

1. idle: nothing else happening;
2. uploads, no worker: four clients post 10 MB PNGs to ``POST /api/images/``
   over and over (jobs queue up, nothing resizes them);
3. jobs/s: one ``db_worker`` process started on the jobs queued in 2, timed to
   the last one done (no other load);
4. uploads + worker: 2 again, with a ``db_worker`` resizing on the same machine;
5. inline: the same uploads to a route that parses, decodes, resizes and stores
   in the async view itself (``bench/settings/images_inline_urls.py``), no worker.

Prints a markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from harness import ROOT, WrkResult, free_port, running, wrk
from PIL import Image

UPLOADERS = 4
IMAGES = 20
SIDE = 1800  # 1800 x 1800 RGB noise: a 9.7 MB PNG that does not compress


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "ERROR",
        "SECURE_SSL_REDIRECT": "0",
        "STOREFRONT_VAR_DIR": str(var_dir),
        "STOREFRONT_RATE_LIMIT_API_RATE": "1000000000",
        "STOREFRONT_RATE_LIMIT_API_BURST": "1000000000",
        **extra,
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def _image() -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (SIDE, SIDE), os.urandom(SIDE * SIDE * 3)).save(buffer, "PNG")
    return buffer.getvalue()


@contextlib.contextmanager
def _uploading(url: str, headers: dict[str, str], content: bytes) -> Iterator[list[int]]:
    """Clients posting ``content`` until the block ends; yields the list of statuses seen."""
    statuses: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(trust_env=False, timeout=120, headers=headers) as http:
            while not stop.is_set():
                response = http.post(url, files={"file": ("bench.png", content)})
                statuses.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(UPLOADERS)]
    for thread in threads:
        thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _worker(env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    argv = [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1",
            "--no-startup-delay", "-v", "0"]  # fmt: skip
    return _process(argv, env)


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _count(env: dict[str, str], status: str) -> int:
    code = f"from storefront.images.models import ImageJob; print(ImageJob.objects.filter(status={status!r}).count())"
    return int(_manage(env, "shell", "--no-imports", "-c", code))


def _median(results: list[WrkResult]) -> WrkResult:
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    first = results[0]
    return WrkResult(
        first.label,
        first.connections,
        mid([r.requests_per_second for r in results]),
        mid([r.p50_ms for r in results]),
        mid([r.p99_ms for r in results]),
        sum(r.errors for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", default="/healthz", help="the request measured under load")
    args = parser.parse_args()
    content = _image()
    print(
        f"image: {len(content) / 1e6:.1f} MB PNG, {SIDE}x{SIDE}; {UPLOADERS} uploaders", flush=True
    )
    results: dict[str, list[WrkResult]] = {}
    rates: list[float] = []
    uploads: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as var:
        env = _env(
            Path(var), DJANGO_SETTINGS_MODULE="bench.settings.images_inline", PYTHONPATH=str(ROOT)
        )
        _manage(env, "migrate", "--verbosity", "0")
        key = _manage(env, "api_key", "create", "--name", "bench", "--scope", "read-write")
        headers = {"Authorization": f"Bearer {key}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--port", str(port),
                  "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        target = f"{base}{args.path}"
        load = {"connections": 64, "seconds": args.seconds, "threads": 1,
                "headers": [f"Authorization: Bearer {key}"]}  # fmt: skip

        def measure(label: str, upload_path: str | None = None) -> None:
            if upload_path is None:
                results.setdefault(label, []).append(wrk(target, label=label, **load))
                return
            with _uploading(f"{base}{upload_path}", headers, content) as statuses:
                results.setdefault(label, []).append(wrk(target, label=label, **load))
            uploads.setdefault(label, []).append(sum(status < 300 for status in statuses))

        with running(server, env=env, ready_url=f"{base}/healthz"):
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}", flush=True)
                measure("idle")
                measure("10 MB uploads arriving, no worker", "/api/images/")
                queued = _count(env, "queued")
                started = time.monotonic()
                with _worker(env):
                    while _count(env, "queued") + _count(env, "processing"):
                        time.sleep(0.2)
                rates.append(queued / (time.monotonic() - started))
                with _worker(env):
                    measure("uploads + one db_worker resizing them", "/api/images/")
                measure("uploads resized inline in the async view", "/bench/images-inline/")
    print(f"\nGET {args.path}, wrk -c64 -t1, {args.seconds} s, medians of {args.rounds} rounds")
    print("| while | requests/s | p50 ms | p99 ms | errors | uploads done per run |")
    print("|---|---|---|---|---|---|")
    for label, runs in results.items():
        row = _median(runs)
        done = "/".join(str(n) for n in uploads.get(label, [])) or "-"
        print(
            f"| {label} | {row.requests_per_second:,.1f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.errors} | {done} |"
        )
    print(f"\none db_worker, 1800x1800 PNG jobs: {', '.join(f'{rate:.2f}' for rate in rates)} jobs/s "
          "(from its start to the last job done, so start-up included)")  # fmt: skip


if __name__ == "__main__":
    main()
