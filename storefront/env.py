"""Deployment values read from the environment, each with a working local default.

Every reader raises ``EnvironmentVariableError`` (an ``ImproperlyConfigured``)
naming the variable, so a typo in a deployment fails at start-up with one clear
line instead of somewhere later; ``manage.py`` prints that line without a traceback.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "EnvironmentVariableError",
    "env_bool",
    "env_database",
    "env_float",
    "env_int",
    "env_list",
    "env_log_level",
    "env_redis_url",
    "env_secret_key",
]

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# The databases storefront is built and tested for; any other scheme dj-database-url
# knows (mysql, oracle, ...) would fail later on a missing driver or feature.
_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


class EnvironmentVariableError(ImproperlyConfigured):
    """An environment variable holds a value storefront cannot use; the message names it."""


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvironmentVariableError(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_float(
    name: str,
    default: float,
    environ: Mapping[str, str] = os.environ,
    *,
    allow_zero: bool = False,
) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EnvironmentVariableError(f"{name} must be a number; got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "greater than 0"
        raise EnvironmentVariableError(f"{name} must be {bound}; got {raw!r}")
    return value


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """A whole number, 0 or more (``SECURE_HSTS_SECONDS=0`` is how HSTS is turned off)."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip()
    if not value.isdigit():
        raise EnvironmentVariableError(f"{name} must be a whole number, 0 or more; got {raw!r}")
    return int(value)


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_log_level(environ: Mapping[str, str] = os.environ) -> str:
    """``LOG_LEVEL``, checked here: logging's own error would be a long traceback."""
    raw = environ.get("LOG_LEVEL", "").strip()
    if not raw:
        return "INFO"
    if raw.upper() not in _LOG_LEVELS:
        raise EnvironmentVariableError(
            f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}; got {raw!r}"
        )
    return raw.upper()


def env_secret_key(var_dir: Path, *, debug: bool, environ: Mapping[str, str] = os.environ) -> str:
    """``SECRET_KEY`` from the environment; for local use, one generated once under ``var/``."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if not debug:
        raise EnvironmentVariableError("SECRET_KEY must be set when DEBUG is off")
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return _read_secret_key(key_file)
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Written to a private temporary file, then linked into place: the key file
    # appears whole or not at all, and when two processes start at once (the
    # demo's children) the second link fails and both use the first key.
    partial = var_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        os.link(partial, key_file)
    except FileExistsError:
        return _read_secret_key(key_file)
    finally:
        partial.unlink(missing_ok=True)
    return key


def _read_secret_key(key_file: Path) -> str:
    key = key_file.read_text().strip()
    if not key:
        raise EnvironmentVariableError(
            f"SECRET_KEY is unset and {key_file} is empty: delete the file to generate a new key"
        )
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
            "OPTIONS": {
                # Writers take the lock when they begin, not halfway (no deadlock to retry),
                # and wait for it up to 20 s instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # WAL: readers never wait for the writer; NORMAL: a commit is not an fsync
                # (a power cut can lose the last commits, never corrupt the file).
                # cache_size: 256 KiB of page cache per connection, not SQLite's 2,000 KiB.
                # A request's connection lives for that request alone (a new thread and
                # connection each, closed at its end), so its cache never serves another
                # one; what it held was a copy of every page the request's scans read (the
                # newest-orders page's COUNT(*), the dashboard's counts by status), which
                # grows with the tables until the 2,000 KiB bound, times every request in
                # flight, and glibc's per-thread arenas keep each one's peak
                # (bench/README.md, "Soak": RSS +21% over 10 minutes). The file's pages
                # stay in the OS's page cache either way.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256;"
                ),
            },
        }
    # The URL itself is never quoted back: it usually holds a password.
    scheme, separator, _ = url.partition("://")
    if not separator or not scheme:
        raise EnvironmentVariableError(
            "DATABASE_URL must be a URL such as postgres://user:password@host:5432/name"
        )
    if scheme.lower() not in _DATABASE_SCHEMES:
        raise EnvironmentVariableError(
            f"DATABASE_URL has the scheme {scheme!r}, which storefront does not support;"
            " use postgres:// or sqlite:///"
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except (ValueError, KeyError):
        raise EnvironmentVariableError(
            "DATABASE_URL is not a valid URL: check that the port is a number"
            " and that special characters in the password are %-quoted"
        ) from None
    if config["ENGINE"] == "django.db.backends.postgresql":
        if not config.get("NAME"):
            raise EnvironmentVariableError(
                "DATABASE_URL must name a database, e.g. postgres://host/db"
            )
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            # A thread waiting for a pooled connection cannot be cancelled: wait no longer
            # than a request's deadline (storefront's default is 2 s).
            "pool": {"min_size": 1, "max_size": pool_max_size, "timeout": 2},
        }
    return config


def env_redis_url(environ: Mapping[str, str] = os.environ) -> str | None:
    url = environ.get("REDIS_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise EnvironmentVariableError(
            f"REDIS_URL must start with redis://, rediss:// or unix://; got {url.split(':', 1)[0]!r}"
        )
    return url
