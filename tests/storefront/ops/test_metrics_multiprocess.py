"""Metrics under gunicorn with two uvicorn workers, as real processes: whichever worker
answers ``/metrics``, it counts the requests both workers served (multiprocess mode)."""

import os
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port
from tests.storefront.ops.servers import ROOT, manage, production_env, serve

ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


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


def test_two_workers_metrics_add_up_in_one_scrape(simulator, tmp_path, metrics_dir):
    port = free_port()
    env = production_env(
        simulator,
        tmp_path,
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    with serve(["sh", str(ENTRYPOINT)], env, port) as server:
        assert not (metrics_dir / "counter_1.db").exists()
        key = manage(env, "api_key", "create", "--name", "metrics")
        close = {"Connection": "close"}  # a new connection each time: either worker may take it
        with httpx.Client(base_url=server.base, trust_env=False, timeout=5) as client:
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
        code, _ = server.terminate_and_wait(within=15)
        assert code == 0
        assert "Traceback" not in server.log()
