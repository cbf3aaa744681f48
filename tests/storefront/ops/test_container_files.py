"""What the Dockerfile and compose.yaml promise, read from the files themselves.

No container engine runs on our machines, so the image is not built here. The
entrypoint it runs is: tests/storefront/ops/test_gunicorn.py starts the same
``deploy/entrypoint.sh`` on the host.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def instructions(name: str) -> list[str]:
    """Every instruction ``name`` in the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_the_image_runs_as_a_non_root_user():
    users = instructions("USER")
    assert users, "no USER: the image would run as root"
    assert users[-1] not in ("root", "0")


def test_the_image_checks_its_health_on_healthz():
    (check,) = instructions("HEALTHCHECK")
    assert "/healthz" in check


def test_the_image_installs_the_locked_dependencies_without_the_dev_tools():
    runs = " ".join(instructions("RUN"))
    assert "uv sync --locked" in runs
    assert "--no-default-groups --group storefront" in runs
    assert "UV_COMPILE_BYTECODE=1" in DOCKERFILE
    assert "collectstatic" in runs


def test_the_image_starts_through_the_entrypoint_the_tests_run():
    (entrypoint,) = instructions("ENTRYPOINT")
    assert "deploy/entrypoint.sh" in entrypoint
    assert (ROOT / "deploy" / "entrypoint.sh").exists()


def test_the_image_is_built_in_two_stages():
    assert len(instructions("FROM")) == 2


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_every_service_has_a_health_check_and_a_restart_policy(service):
    definition = COMPOSE["services"][service]
    assert definition.get("healthcheck", {}).get("test")
    assert definition.get("restart") in ("unless-stopped", "always", "on-failure")


def test_storefront_starts_once_its_dependencies_are_healthy():
    storefront = COMPOSE["services"]["storefront"]
    depends = storefront["depends_on"]
    assert set(depends) == {"postgres", "redis", "simulator", "otel-collector"}
    needed = {name: each for name, each in depends.items() if name != "otel-collector"}
    assert all(each["condition"] == "service_healthy" for each in needed.values())


def test_storefront_exports_its_traces_to_the_collector_and_on_to_jaeger():
    environment = COMPOSE["services"]["storefront"]["environment"]
    assert environment["OTEL_TRACES_EXPORTER"].startswith("${OTEL_TRACES_EXPORTER:-otlp}")
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    collector = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert "16686:16686" in COMPOSE["services"]["jaeger"]["ports"]


def test_storefront_runs_two_workers_on_postgres_and_redis_with_a_media_volume():
    storefront = COMPOSE["services"]["storefront"]
    environment = storefront["environment"]
    assert environment["STOREFRONT_WORKERS"] == "2"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["REDIS_URL"].startswith("redis://")
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")  # required, never baked in
    assert any(volume.startswith("media:") for volume in storefront["volumes"])
    assert "media" in COMPOSE["volumes"]
