"""Settings decided at start-up, read in a fresh process as a deployment would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def setting(name, tmp_path, **env):
    code = f"from django.conf import settings; print(repr(settings.{name}))"
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "storefront.settings", **env}
    environ["STOREFRONT_VAR_DIR"] = str(tmp_path)
    for var in ("STOREFRONT_SIMULATOR_URL", "STOREFRONT_UPSTREAM_INVENTORY_URL"):
        if var not in env:
            environ.pop(var, None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_fault_controls_use_the_local_simulator_by_default(tmp_path):
    assert setting("STOREFRONT_SIMULATOR_URL", tmp_path) == "'http://127.0.0.1:8100'"


def test_an_empty_simulator_url_turns_the_fault_controls_off(tmp_path):
    assert setting("STOREFRONT_SIMULATOR_URL", tmp_path, STOREFRONT_SIMULATOR_URL="") == "''"


@pytest.mark.parametrize("url", ["https://inventory.internal/api"])
def test_real_upstreams_turn_the_fault_controls_off(tmp_path, url):
    value = setting("STOREFRONT_SIMULATOR_URL", tmp_path, STOREFRONT_UPSTREAM_INVENTORY_URL=url)
    assert value == "''"


def test_a_lazy_user_first_used_after_its_request_is_gone_says_so(rf):
    # storefront's AuthenticationMiddleware holds the request weakly, so that a
    # request is not a reference cycle; this is the one behaviour that changes.
    import gc

    from django.contrib.sessions.backends.db import SessionStore

    from storefront.http.middleware import AuthenticationMiddleware

    request = rf.get("/")
    request.session = SessionStore()
    AuthenticationMiddleware(lambda r: None).process_request(request)
    user = request.user
    del request
    gc.collect()
    with pytest.raises(ReferenceError, match="after its request was gone"):
        bool(user.is_authenticated)


def test_storefront_stack_has_no_middleware_warnings():
    from chorus.server._middleware_checks import check_middleware

    assert check_middleware() == []


def test_settings_import_nothing_from_the_simulator(tmp_path):
    code = (
        "import sys, storefront.settings; "
        "print(sorted(m for m in sys.modules if m == 'upstreams' or m.startswith('upstreams.')))"
    )
    environ = {**os.environ, "STOREFRONT_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
