"""Schemathesis against a real storefront: every operation of /api/schema/, NUL bytes and all.

A storefront under uvicorn (a child process) with its own simulator, on the
suite's database kind: PostgreSQL when ``DATABASE_URL`` points at one (a fresh
database of its own), SQLite otherwise; so CI fuzzes both. The checks are
``not_a_server_error`` and conformance of each response to the schema (status,
content type, body). The seed is fixed and the examples bounded, so a run is
reproducible and takes about a minute. The two endless streams (``/api/live/``,
``/api/events/`` at its defaults) are left out: a stream never "responds" in
full, and tests/storefront/live and dashboard cover them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.browser.conftest import _manage, serving, storefront_env
from upstreams.server import SimulatorServer

SEED = 20261204
MAX_EXAMPLES = 12  # about 40 s a run: CI runs it on both databases within its 30 minutes
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
ENDLESS_STREAMS = "^/api/(live|events)/$"


def _fresh_postgres_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A storefront with sample data and a read-write key; yields (base URL, key)."""
    with SimulatorServer() as simulator:  # its own: the fuzzer sets faults on it
        env = storefront_env(tmp_path_factory.mktemp("contract-var"), simulator)
        env["LOG_LEVEL"] = "ERROR"  # the fuzzer earns thousands of 4xx lines
        env["STOREFRONT_RATE_LIMIT_API_RATE"] = env["STOREFRONT_RATE_LIMIT_API_BURST"] = "1000000"
        env["STOREFRONT_RATE_LIMIT_ANONYMOUS_RATE"] = "1000000"
        env["STOREFRONT_RATE_LIMIT_ANONYMOUS_BURST"] = "1000000"
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith(("postgres://", "postgresql://")):
            env["DATABASE_URL"] = _fresh_postgres_database(database_url, "contract_fuzz")
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
            env["STOREFRONT_LIVE_STREAM"] = "contract-fuzz:live"
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "load_sample_data")
        key = _manage(env, "api_key", "create", "--name", "fuzz", "--scope", "read-write").strip()
        with serving(env) as url:
            yield url, key


def test_every_operation_survives_schemathesis(contract_server: tuple[str, str]) -> None:
    url, key = contract_server
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/schema/",
            "--url", url,
            "--header", f"Authorization: Bearer {key}",
            "--checks", CHECKS,
            "--exclude-path-regex", ENDLESS_STREAMS,
            "--seed", str(SEED),
            "--max-examples", str(MAX_EXAMPLES),
            "--generation-allow-x00", "true",
            "--generation-deterministic",
            "--request-timeout", "10",
            "--workers", "1",
            "--phases", "examples,coverage,fuzzing",
            "--max-failures", "20",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    if run.returncode != 0:
        (Path(os.environ.get("CONTRACT_FUZZ_LOG", "/tmp/contract-fuzz.log"))).write_text(
            run.stdout + run.stderr
        )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "operations" in run.stdout.lower()
