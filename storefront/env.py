"""Deployment values read from the environment, each with a working local default.

Every reader raises ``ImproperlyConfigured`` naming the variable, so a typo in a
deployment fails at start-up with one clear line instead of somewhere later.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "UPSTREAM_NAMES",
    "env_bool",
    "env_database",
    "env_float",
    "env_list",
    "env_redis_url",
    "env_secret_key",
    "env_upstream_urls",
]

UPSTREAM_NAMES = ("inventory", "notifications", "analytics", "users", "billing")
SIMULATOR_URL = "http://127.0.0.1:8100"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_float(name: str, default: float, environ: Mapping[str, str] = os.environ) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be greater than 0; got {raw!r}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret_key(var_dir: Path, *, debug: bool, environ: Mapping[str, str] = os.environ) -> str:
    """``SECRET_KEY`` from the environment; for local use, one generated once under ``var/``."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    key_file = var_dir / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must agree on one key, not overwrite.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def env_database(
    var_dir: Path, *, environ: Mapping[str, str] = os.environ, pool_max_size: int = 20
) -> dict[str, Any]:
    """``DATABASES["default"]`` from ``DATABASE_URL``; SQLite under ``var/`` when unset.

    PostgreSQL gets Django's psycopg connection pool with ``CONN_MAX_AGE = 0``:
    the pool, not persistent connections, is what keeps connection count bounded
    under async views whose ORM calls run in a thread pool.
    """
    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        var_dir.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var_dir / "storefront.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if not engine:
        raise ImproperlyConfigured(
            f"DATABASE_URL has an unsupported scheme: {url.split(':', 1)[0]!r}"
        )
    if engine == "django.db.backends.postgresql":
        if not config.get("NAME"):
            raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://host/db")
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            "pool": {"min_size": 1, "max_size": pool_max_size, "timeout": 10},
        }
    return config


def env_redis_url(environ: Mapping[str, str] = os.environ) -> str | None:
    url = environ.get("REDIS_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis://, rediss:// or unix://; got {url.split(':', 1)[0]!r}"
        )
    return url


def env_upstream_urls(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """One base URL per upstream: ``STOREFRONT_UPSTREAM_<NAME>_URL``, default the local simulator."""
    urls = {}
    for name in UPSTREAM_NAMES:
        var = f"STOREFRONT_UPSTREAM_{name.upper()}_URL"
        url = environ.get(var, "").strip() or f"{SIMULATOR_URL}/{name}"
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"{var} must be an http:// or https:// URL; got {url!r}")
        urls[name] = url.rstrip("/")
    return urls
