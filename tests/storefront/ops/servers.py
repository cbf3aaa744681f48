"""Real server processes for the ops tests: storefront's production environment, start, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from upstreams.catalog import SERVICES
from upstreams.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent


def production_env(
    simulator: SimulatorServer, var_dir: Path, *, keep_redis: bool = False, **extra: str
) -> dict[str, str]:
    """DEBUG off, its own SQLite file (migrated here), the simulator as every upstream;
    Redis (the test run's ``REDIS_URL``) only with ``keep_redis``."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "DEBUG": "0",
        "SECRET_KEY": "ops-test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "STOREFRONT_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "INFO",
        **extra,
    }
    env.pop("DATABASE_URL", None)
    if not keep_redis:
        env.pop("REDIS_URL", None)
    for name in SERVICES:
        env[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = simulator.service_url(name)
    manage(env, "migrate", "--verbosity", "0")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def api_key(env: dict[str, str]) -> str:
    return manage(env, "api_key", "create", "--name", "ops test", "--scope", "read")


class Running:
    """A server process started by ``serve``; ``log()`` is what it has written so far."""

    def __init__(self, process: subprocess.Popen[bytes], base: str, log_file: Path) -> None:
        self.process = process
        self.base = base
        self.log_file = log_file

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    @property
    def output(self) -> str:
        return self.log()

    def terminate_and_wait(self, within: float) -> tuple[int, float]:
        """SIGTERM, then the exit status and how long the exit took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=within)
        return code, time.monotonic() - started


@contextmanager
def serve(
    command: Sequence[str], env: dict[str, str], port: int, *, up_path: str = "/healthz"
) -> Iterator[Running]:
    """Start ``command`` in its own session, wait until it answers, and always stop it.

    Its output goes to a file (a pipe nobody reads while the test runs would fill up and
    block the server).
    """
    log_dir = Path(env.get("STOREFRONT_VAR_DIR") or tempfile.gettempdir())
    log_file = log_dir / f"{Path(command[0]).name}-{port}.log"
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Running(process, f"http://127.0.0.1:{port}", log_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(running.base + up_path, timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{command[0]} did not come up")
                time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        print(running.log())  # shown with a failure


def gunicorn_command(*extra: str) -> list[str]:
    return [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
            "storefront.asgi:application", *extra]  # fmt: skip
