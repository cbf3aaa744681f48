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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from harness import ROOT, free_port, running, wrk
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    seconds = parser.parse_args().seconds
    content = _image()
    print(
        f"image: {len(content) / 1e6:.1f} MB PNG, {SIDE}x{SIDE}; {UPLOADERS} uploaders", flush=True
    )
    rows = []
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
        target = f"{base}/api/orders/stats/"
        load = {"connections": 64, "seconds": seconds, "headers": [f"Authorization: Bearer {key}"]}
        with running(server, env=env, ready_url=f"{base}/healthz"):
            rows.append(wrk(target, label="idle", **load))
            with _uploading(f"{base}/api/images/", headers, content) as statuses:
                rows.append(wrk(target, label="10 MB uploads arriving, no worker", **load))
            queued = _count(env, "queued")
            print(f"uploads accepted: {statuses.count(202)} of {len(statuses)}", flush=True)
            started = time.monotonic()
            with _worker(env):
                while _count(env, "queued") + _count(env, "processing"):
                    time.sleep(0.2)
            elapsed = time.monotonic() - started
            jobs_per_second = queued / elapsed
            print(f"one db_worker: {queued} jobs in {elapsed:.1f} s = {jobs_per_second:.2f} jobs/s "
                  "(includes the worker's start-up and this script's polling)", flush=True)  # fmt: skip
            with _worker(env), _uploading(f"{base}/api/images/", headers, content) as statuses:
                rows.append(wrk(target, label="uploads + db_worker resizing", **load))
            print(f"uploads accepted: {statuses.count(202)} of {len(statuses)}", flush=True)
            with _uploading(f"{base}/bench/images-inline/", headers, content) as statuses:
                rows.append(wrk(target, label="uploads resized inline in the async view", **load))
            print(f"inline uploads done: {statuses.count(201)} of {len(statuses)}", flush=True)
    print("\n| while | connections | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.row())


if __name__ == "__main__":
    main()
