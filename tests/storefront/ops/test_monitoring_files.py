"""deploy/alerts.yml and deploy/grafana-dashboard.json ask only for metrics /metrics has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from chorus.server import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
METRIC = re.compile(r"\b((?:chorus|storefront)_[a-z_]+)")
SUFFIXES = ("_bucket", "_total", "_sum", "_count", "_created")


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _alert_exprs() -> list[str]:
    document = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert all({"alert", "expr", "labels", "annotations"} <= set(rule) for rule in rules)
    return [rule["expr"] for rule in rules]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def _exposed_families() -> set[str]:
    # Traffic first, so that the per-route families have samples.
    await asgi_request(ChorusASGIHandler(), "/healthz")
    response = await asgi_request(ChorusASGIHandler(), "/metrics", client=("127.0.0.1", 1))
    assert response.status == 200
    return {
        line.split()[2]
        for line in response.body.decode().splitlines()
        if line.startswith("# TYPE ")
    }


@pytest.mark.parametrize("exprs", [_alert_exprs, _dashboard_exprs], ids=["alerts", "grafana"])
async def test_every_metric_they_use_is_exposed(exprs):
    used = {_family(name) for expr in exprs() for name in METRIC.findall(expr)}
    assert used, "no chorus_/storefront_ metric found: the pattern is wrong"
    exposed = {_family(name) for name in await _exposed_families()}
    assert used <= exposed, f"not exposed: {sorted(used - exposed)}"
