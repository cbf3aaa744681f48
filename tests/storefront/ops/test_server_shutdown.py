"""Under a real uvicorn, SIGTERM closes chorus's pooled session: no "Unclosed client session"."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_sigterm_closes_the_upstream_session_cleanly(simulator, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "STOREFRONT_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
    env.pop("DATABASE_URL", None)
    for name in ("inventory", "notifications", "analytics", "users", "billing"):
        env[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = simulator.service_url(name)
    # fmt: off
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    api_key = subprocess.run(
        [sys.executable, "manage.py", "api_key", "create", "--name", "shutdown test", "--scope", "read"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "storefront.asgi:application", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--lifespan", "on"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # fmt: on
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/dashboard/",
                    headers={"X-API-Key": api_key},
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["complete"] is True
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output
    assert "closed the upstream connection pool" in output
    assert "Unclosed" not in output
    assert "Traceback" not in output
