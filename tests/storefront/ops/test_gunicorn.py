"""``deploy/entrypoint.sh`` as a real process: it migrates, then gunicorn serves storefront with
two uvicorn workers, both answer, and SIGTERM stops everything cleanly and in time."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port
from upstreams.catalog import SERVICES

ROOT = Path(__file__).resolve().parents[3]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


@pytest.fixture
def production_env(simulator, tmp_path):
    env = {
        **os.environ,
        # The project's virtual environment first, as the container's PATH has it.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DEBUG": "0",
        "SECRET_KEY": "gunicorn-test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STOREFRONT_VAR_DIR": str(tmp_path),
        "STOREFRONT_WORKERS": "2",
        "STOREFRONT_GRACEFUL_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)  # its own SQLite file, migrated by the entrypoint
    env.pop("REDIS_URL", None)
    for name in SERVICES:
        env[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = simulator.service_url(name)
    return env


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=1, trust_env=False)
            return
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not come up (its output is in the captured stdout)")
            time.sleep(0.1)


def test_the_entrypoint_migrates_and_gunicorn_serves_with_two_workers(production_env):
    port = free_port()
    env = {**production_env, "STOREFRONT_BIND": f"127.0.0.1:{port}"}
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/healthz", server)
        # The entrypoint migrated: an API key can be stored and used.
        key = subprocess.run(
            [sys.executable, "manage.py", "api_key", "create", "--name", "gunicorn"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        headers = {"X-API-Key": key}
        with httpx.Client(base_url=base, headers=headers, trust_env=False, timeout=5) as client:
            dashboard = client.get("/api/dashboard/")
            assert dashboard.status_code == 200
            assert dashboard.json()["complete"] is True
            # Both workers answer (each reports its own process id); a new connection
            # per request, since one kept alive would stay with the worker that took it.
            pids = set()
            for _ in range(200):
                answer = client.get("/api/upstreams/", headers={"Connection": "close"})
                pids.add(answer.json()["process"])
                if len(pids) == 2:
                    break
            assert len(pids) == 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0  # a clean exit, inside the graceful timeout
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        assert server.stdout is not None
        output = server.stdout.read()
        server.stdout.close()
        print(output)  # shown with a failure
    assert "Traceback" not in output
