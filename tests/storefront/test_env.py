"""Reading deployment values from the environment (storefront/env.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from storefront.env import (
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_redis_url,
    env_secret_key,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", ["1", "true", "True", " yes ", "ON"])
def test_bool_true_spellings(raw: str) -> None:
    assert env_bool("DEBUG", False, {"DEBUG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_bool_false_spellings(raw: str) -> None:
    assert env_bool("DEBUG", True, {"DEBUG": raw}) is False


def test_bool_unset_is_the_default() -> None:
    assert env_bool("DEBUG", True, {}) is True
    assert env_bool("DEBUG", False, {}) is False


def test_bool_rejects_other_words_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^DEBUG must be one of .*'maybe'"):
        env_bool("DEBUG", True, {"DEBUG": "maybe"})


def test_float_parses_and_defaults() -> None:
    assert env_float("STOREFRONT_DEADLINE", 2.0, {"STOREFRONT_DEADLINE": "0.75"}) == 0.75
    assert env_float("STOREFRONT_DEADLINE", 2.0, {}) == 2.0
    assert env_float("STOREFRONT_DEADLINE", 2.0, {"STOREFRONT_DEADLINE": "  "}) == 2.0


@pytest.mark.parametrize("raw", ["fast", "0", "-1", "nan", "inf"])
def test_float_rejects_non_positive_or_non_numbers(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^STOREFRONT_DEADLINE must be"):
        env_float("STOREFRONT_DEADLINE", 2.0, {"STOREFRONT_DEADLINE": raw})


def test_float_may_allow_zero_to_mean_off() -> None:
    environ = {"STOREFRONT_RATE_LIMIT_API_RATE": "0"}
    assert env_float("STOREFRONT_RATE_LIMIT_API_RATE", 1.0, environ, allow_zero=True) == 0
    with pytest.raises(ImproperlyConfigured, match="must be 0 or more"):
        env_float("STOREFRONT_RATE_LIMIT_API_RATE", 1.0, {"STOREFRONT_RATE_LIMIT_API_RATE": "-1"}, allow_zero=True)  # fmt: skip


def test_int_reads_whole_numbers_and_names_the_variable_when_wrong() -> None:
    assert env_int("SECURE_HSTS_SECONDS", 5, {"SECURE_HSTS_SECONDS": " 0 "}) == 0
    assert env_int("SECURE_HSTS_SECONDS", 5, {}) == 5
    for raw in ("-1", "1.5", "a year"):
        with pytest.raises(ImproperlyConfigured, match=r"^SECURE_HSTS_SECONDS must be a whole"):
            env_int("SECURE_HSTS_SECONDS", 5, {"SECURE_HSTS_SECONDS": raw})


def test_list_splits_on_commas_and_drops_blanks() -> None:
    environ = {"ALLOWED_HOSTS": " shop.example , ,api.example,"}
    assert env_list("ALLOWED_HOSTS", ["localhost"], environ) == ["shop.example", "api.example"]


def test_list_unset_is_the_default_and_empty_is_empty() -> None:
    assert env_list("ALLOWED_HOSTS", ["localhost"], {}) == ["localhost"]
    assert env_list("ALLOWED_HOSTS", ["localhost"], {"ALLOWED_HOSTS": ""}) == []


def test_log_level_defaults_to_info_and_ignores_case() -> None:
    assert env_log_level({}) == "INFO"
    assert env_log_level({"LOG_LEVEL": "warning"}) == "WARNING"


def test_log_level_unknown_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^LOG_LEVEL must be one of .*'loud'"):
        env_log_level({"LOG_LEVEL": "loud"})


def test_database_unset_is_sqlite_under_the_var_dir(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    database = env_database(var_dir, environ={})
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(var_dir / "storefront.sqlite3")
    assert var_dir.is_dir()


def test_database_postgres_url_gets_the_pool_and_no_persistent_connections(
    tmp_path: Path,
) -> None:
    url = "postgres://shop:s3cret@db.internal:6432/storefront?sslmode=require"
    database = env_database(tmp_path, environ={"DATABASE_URL": url}, pool_max_size=7)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["USER"], database["PASSWORD"]) == ("shop", "s3cret")
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        6432,
        "storefront",
    )
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["sslmode"] == "require"
    assert database["OPTIONS"]["pool"]["max_size"] == 7


def test_database_sqlite_url_is_accepted(tmp_path: Path) -> None:
    database = env_database(tmp_path, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == f"{tmp_path}/x.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://user@host:notaport/db",
        "postgres://user:pw@host:99999/db",
        "nonsense",
        "://",
        "mongodb://host/db",
        "mysql://host/db",
        "postgres://host",
    ],
)
def test_database_malformed_url_is_an_error_naming_the_variable(url: str, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL "):
        env_database(tmp_path, environ={"DATABASE_URL": url})


def test_database_error_never_repeats_the_password(tmp_path: Path) -> None:
    url = "postgres://shop:hunter2@host:port/db"
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL ") as error:
        env_database(tmp_path, environ={"DATABASE_URL": url})
    assert "hunter2" not in str(error.value)


def test_secret_key_from_the_environment_wins(tmp_path: Path) -> None:
    key = env_secret_key(tmp_path, debug=False, environ={"SECRET_KEY": "from-env"})
    assert key == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_is_generated_once_and_persisted_privately(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    first = env_secret_key(var_dir, debug=True, environ={})
    second = env_secret_key(var_dir, debug=True, environ={})
    key_file = var_dir / "secret_key"
    assert len(first) >= 50
    assert second == first
    assert key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in var_dir.iterdir()] == ["secret_key"]


def test_secret_key_is_required_when_debug_is_off(tmp_path: Path) -> None:
    env_secret_key(tmp_path, debug=True, environ={})  # a local key exists...
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY must be set when DEBUG is off"):
        env_secret_key(tmp_path, debug=False, environ={})  # ...but production never uses it


def test_secret_key_empty_file_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY is unset and .* is empty"):
        env_secret_key(tmp_path, debug=True, environ={})


def test_redis_url_unset_is_none() -> None:
    assert env_redis_url({}) is None
    assert env_redis_url({"REDIS_URL": " "}) is None


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"]
)
def test_redis_url_is_accepted(url: str) -> None:
    assert env_redis_url({"REDIS_URL": url}) == url


def test_redis_url_other_scheme_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^REDIS_URL must start with redis://"):
        env_redis_url({"REDIS_URL": "http://cache.example"})


def test_malformed_database_url_stops_manage_py_with_one_line(tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "DATABASE_URL": "postgres://user@host:notaport/db",
        "STOREFRONT_VAR_DIR": str(tmp_path),
    }
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.startswith("Error: DATABASE_URL ")
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.splitlines()) == 1


def _sqlite_memory_used() -> int:
    """``sqlite3_memory_used()`` of the libsqlite3 Python's ``sqlite3`` is linked with."""
    import _sqlite3
    import ctypes

    try:
        memory_used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (OSError, AttributeError):
        pytest.skip("libsqlite3's sqlite3_memory_used is not reachable from ctypes here")
    memory_used.restype = ctypes.c_int64
    return int(memory_used())


def test_sqlite_connection_page_cache_does_not_grow_with_the_table(
    tmp_path: Path, django_db_blocker: Any
) -> None:
    """A scan leaves at most 256 KiB of pages in the connection's cache, not SQLite's 2,000 KiB.

    Every request opens its own connection (its own thread, closed at its end), and the
    newest-orders page counts every order: with the default cache, each connection in
    flight held up to 2 MiB, growing with the table (bench/README.md, "Soak").
    """
    import sqlite3

    from django.db.utils import ConnectionHandler

    config = env_database(tmp_path, environ={})
    with sqlite3.connect(config["NAME"]) as setup:  # some 5 MiB of pages, in one transaction
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)")
        setup.executemany("INSERT INTO t (pad) VALUES (?)", [("x" * 200,)] * 20_000)
    setup.close()
    connection = ConnectionHandler({"default": config})["default"]
    with django_db_blocker.unblock():
        try:
            connection.ensure_connection()
            before = _sqlite_memory_used()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*), sum(length(pad)) FROM t")
                assert cursor.fetchone() == (20_000, 4_000_000)
            grown = _sqlite_memory_used() - before
        finally:
            connection.close()
    assert grown < 512 * 1024, f"the connection kept {grown / 1024:.0f} KiB after one scan"
