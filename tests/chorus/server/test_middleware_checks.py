"""The middleware checks: W002 (sync-only) and W003 (hooks that hop to a thread), with the
chorus class each hint names, on a real ``startproject`` too."""

import os
import re
import subprocess
import sys
from functools import partial

import pytest
from django.utils.module_loading import import_string

from chorus.server._middleware_checks import check_middleware


def middleware_ids(settings, middleware):
    settings.MIDDLEWARE = middleware
    return [message.id for message in check_middleware()]


def test_async_native_middleware_passes(settings):
    assert middleware_ids(settings, ["chorus.server.RequestIDMiddleware"]) == []


def test_w002_sync_only_middleware(settings):
    assert middleware_ids(settings, ["tests.chorus.support.sync_middleware.SyncOnly"]) == [
        "chorus.W002"
    ]


def w003_hints(settings, middleware):
    settings.MIDDLEWARE = middleware
    messages = check_middleware()
    assert [message.id for message in messages] == ["chorus.W003"] * len(middleware)
    return [message.hint for message in messages]


@pytest.mark.parametrize(
    ("django_path", "chorus_path"),
    [
        ("django.middleware.security.SecurityMiddleware", "chorus.server.SecurityMiddleware"),
        ("django.middleware.common.CommonMiddleware", "chorus.server.CommonMiddleware"),
        (
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "chorus.server.AuthenticationMiddleware",
        ),
        (
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "chorus.server.XFrameOptionsMiddleware",
        ),
    ],
)
def test_w003_names_the_chorus_class_to_list_instead(settings, django_path, chorus_path):
    [hint] = w003_hints(settings, [django_path])
    assert hint.startswith(f"Put {chorus_path} in MIDDLEWARE in place of {django_path}:")
    # ...and that class is Django's, with its hooks on the loop: swapping it quiets W003.
    assert issubclass(import_string(chorus_path), import_string(django_path))
    assert middleware_ids(settings, [chorus_path]) == []


def test_w003_for_a_subclass_names_the_chorus_class_to_base_it_on(settings):
    [hint] = w003_hints(settings, ["tests.chorus.support.stock_subclass.StrictCommon"])
    assert hint == (
        "If the hooks StrictCommon adds never block, base it on chorus.server.CommonMiddleware "
        "instead of django.middleware.common.CommonMiddleware."
    )


def test_w003_for_other_middleware_says_what_to_do(settings):
    [hint] = w003_hints(settings, ["django.middleware.gzip.GZipMiddleware"])
    assert "chorus.server.NonBlockingMiddlewareMixin first in its bases" in hint
    assert "aprocess_response" in hint


@pytest.mark.parametrize(
    "path",
    [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
        "tests.chorus.support.stock_subclass.CustomSession",
    ],
)
def test_no_w003_where_a_hook_can_block_and_the_hop_keeps_the_loop_free(settings, path):
    assert middleware_ids(settings, [path]) == []


def test_a_fresh_startproject_that_swaps_what_w003_names_gets_no_chorus_warning(tmp_path):
    # The quickstart: startproject, chorus in INSTALLED_APPS, then each class W003 names.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    run = partial(subprocess.run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run([sys.executable, "-m", "django", "startproject", "mysite", "."]).returncode == 0
    settings_file = tmp_path / "mysite" / "settings.py"
    source = settings_file.read_text()
    source = source.replace("INSTALLED_APPS = [", "INSTALLED_APPS = [\n    'chorus',", 1)
    settings_file.write_text(source)

    before = run([sys.executable, "manage.py", "check"])
    assert before.returncode == 0, before.stderr
    swaps = re.findall(r"HINT: Put (\S+) in MIDDLEWARE in place of (\S+):", before.stderr)
    assert sorted(chorus for chorus, _ in swaps) == [
        "chorus.server.AuthenticationMiddleware",
        "chorus.server.CommonMiddleware",
        "chorus.server.SecurityMiddleware",
        "chorus.server.XFrameOptionsMiddleware",
    ]
    assert before.stderr.count("chorus.W003") == 4  # no other chorus warning
    for chorus_path, django_path in swaps:
        source = source.replace(f"'{django_path}'", f"'{chorus_path}'")
    settings_file.write_text(source)

    after = run([sys.executable, "manage.py", "check"])
    assert after.returncode == 0, after.stderr
    assert "chorus." not in after.stderr
    assert "System check identified no issues" in after.stdout
