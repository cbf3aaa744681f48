"""Metrics under gunicorn with two uvicorn workers, as real processes: whichever worker
answers ``/metrics``, it counts the requests both workers served (multiprocess mode)."""

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.storefront.ops.test_gunicorn import ENTRYPOINT, ROOT, free_port, wait_until_up
from tests.storefront.ops.test_gunicorn import production_env as production_env  # fixture


def responses(text: str, route: str, status: str = "200") -> float:
    """``chorus_http_responses_total`` for ``route`` in a scrape's text."""
    pattern = (
        rf'^chorus_http_responses_total\{{route="{re.escape(route)}",status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # A file left by an earlier server: counted again unless the server empties the directory.
    (directory / "counter_1.db").write_bytes(b"left over")
    return directory


def test_two_workers_metrics_add_up_in_one_scrape(production_env, metrics_dir):
    port = free_port()
    env = {
        **production_env,
        "STOREFRONT_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
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
        assert not (metrics_dir / "counter_1.db").exists()
        key = subprocess.run(
            [sys.executable, "manage.py", "api_key", "create", "--name", "metrics"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        close = {"Connection": "close"}  # a new connection each time: either worker may take it
        with httpx.Client(base_url=base, trust_env=False, timeout=5) as client:
            served: Counter[int] = Counter()
            while len(served) < 2 or sum(served.values()) < 20:
                answer = client.get("/api/upstreams/", headers={**close, "X-API-Key": key})
                assert answer.status_code == 200
                served[answer.json()["process"]] += 1
                assert sum(served.values()) < 400, "one worker took every connection"
            dashboard = client.get("/api/dashboard/", headers={**close, "X-API-Key": key})
            assert dashboard.status_code == 200
            # Every scrape, from whichever worker, has both workers' counts.
            for _ in range(6):
                scrape = client.get("/metrics", headers=close)
                assert scrape.status_code == 200
                text = scrape.text
                assert responses(text, "/api/upstreams/") == sum(served.values())
                assert responses(text, "/api/dashboard/") == 1
                assert 'chorus_upstream_calls_total{outcome="ok",upstream="inventory"} 1.0' in text
        assert len({name.split("_")[-1] for name in os.listdir(metrics_dir)}) >= 2  # both pids
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        assert server.stdout is not None
        output = server.stdout.read()
        server.stdout.close()
        print(output)  # shown with a failure
    assert "Traceback" not in output
