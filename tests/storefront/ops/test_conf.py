"""One default for the header size limit: the worker's protocol and chorus's request limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from uvicorn_worker import UvicornWorker

from storefront.ops import conf
from storefront.ops.protocol import Limits
from storefront.ops.worker import StorefrontWorker

ROOT = Path(__file__).resolve().parents[3]


def _worker_limit(monkeypatch, **env: str) -> int | None:
    monkeypatch.delenv("STOREFRONT_MAX_HEADER_BYTES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("max_connections", "header_timeout", "max_header_bytes"):
        monkeypatch.setattr(Limits, name, getattr(Limits, name))

    def init(self, *args, **kwargs):
        self.config = SimpleNamespace()
        self.cfg = SimpleNamespace(graceful_timeout=30)

    monkeypatch.setattr(UvicornWorker, "__init__", init)
    StorefrontWorker()
    return Limits.max_header_bytes


def test_the_worker_defaults_to_the_one_header_limit(monkeypatch) -> None:
    assert _worker_limit(monkeypatch) == conf.MAX_HEADER_BYTES == 32 * 1024


def test_the_worker_follows_the_environment(monkeypatch) -> None:
    assert _worker_limit(monkeypatch, STOREFRONT_MAX_HEADER_BYTES="8192") == 8192


def test_chorus_request_limits_default_to_the_same_header_limit(tmp_path) -> None:
    code = "import storefront.settings as s; print(s.CHORUS['REQUEST_LIMITS']['MAX_HEADER_BYTES'])"
    environ = {**os.environ, "STOREFRONT_VAR_DIR": str(tmp_path)}
    environ.pop("STOREFRONT_MAX_HEADER_BYTES", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == conf.MAX_HEADER_BYTES
