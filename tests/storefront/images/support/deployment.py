"""Storefront as deployed, in real processes: uvicorn, task workers (db_worker or Celery).

Each deployment has its own var dir (SQLite file and media root) or its own
PostgreSQL database, and for Celery its own Redis queue, so tests never see
another test's jobs. Workers run in their own process group: ``kill()`` sends
SIGKILL to the whole group, as a lost machine or the OOM killer would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[4]

__all__ = ["ROOT", "Deployment", "deploy"]


@dataclass
class Deployment:
    env: dict[str, str]
    engine: str
    media_root: Path
    api_key: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    def python(self, code: str) -> str:
        """Django set up in a separate process (as a shell or a probe would be): its stdout."""
        return self.manage("shell", "--no-imports", "-c", code)

    def start_worker(self) -> subprocess.Popen[bytes]:
        if self.engine == "db":
            argv = [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1",
                    "--no-startup-delay", "--worker-id", uuid.uuid4().hex, "-v", "0"]  # fmt: skip
        else:
            argv = [sys.executable, "-m", "celery", "-A", "storefront", "worker",
                    "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING",
                    "--without-gossip", "--without-mingle", "--hostname", f"{uuid.uuid4().hex}@test"]  # fmt: skip
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, start_new_session=True)
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(process)


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2, trust_env=False)
                break
            except httpx.TransportError:
                assert server.poll() is None, "storefront exited at start"
                assert time.monotonic() < deadline, "storefront did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def deploy(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, **extra_env: str
) -> Iterator[Deployment]:
    """``kind``: ``sqlite+db``, ``postgres+db`` or ``postgres+redis+celery``."""
    env = {**os.environ, "STOREFRONT_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING",
           "DEBUG": "0", "SECRET_KEY": "image-tests-only", "ALLOWED_HOSTS": "127.0.0.1",
           "SECURE_SSL_REDIRECT": "0", "STOREFRONT_WORKER_HEARTBEAT": "0.5",
           "STOREFRONT_LIVE_POLL_INTERVAL": "0.05", **extra_env}  # fmt: skip
    for name in ("DATABASE_URL", "REDIS_URL", "STOREFRONT_LIVE_BACKEND", "CELERY_BROKER_URL"):
        env.pop(name, None)
    cleanups = []
    if kind.startswith("postgres"):
        server_url = request.getfixturevalue("postgres_url")
        name = f"images_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = server_url.rsplit("/", 1)[0] + f"/{name}"

        def drop() -> None:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        cleanups.append(drop)
    engine = "db"
    if kind.endswith("celery"):
        redis_url = request.getfixturevalue("redis_url")
        queue = f"tests-images-{uuid.uuid4().hex[:10]}"
        stream = f"tests:images:live:{uuid.uuid4().hex[:10]}"
        env |= {"REDIS_URL": redis_url, "STOREFRONT_TASKS": "celery",
                "STOREFRONT_CELERY_QUEUE": queue, "STOREFRONT_LIVE_STREAM": stream}  # fmt: skip
        engine = "celery"

        def forget() -> None:
            client = redis.Redis.from_url(redis_url)
            client.delete(queue, stream)
            client.close()

        cleanups.append(forget)
    deployment = Deployment(env, engine, tmp_path / "media")
    try:
        deployment.manage("migrate", "--verbosity", "0")
        deployment.api_key = deployment.manage(
            "api_key", "create", "--name", "images", "--scope", "read-write"
        )
        yield deployment
    finally:
        deployment.stop_workers()
        for cleanup in reversed(cleanups):
            cleanup()


KINDS = [
    pytest.param("sqlite+db", id="sqlite-db"),
    pytest.param("postgres+db", id="postgres-db", marks=pytest.mark.services),
    pytest.param(
        "postgres+redis+celery",
        id="postgres-celery",
        marks=[pytest.mark.celery, pytest.mark.services],
    ),
]
