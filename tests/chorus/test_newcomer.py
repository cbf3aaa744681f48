"""The newcomer's path, as docs/quickstart.md tells it, from a wheel into a fresh project.

Builds the wheel, installs it with Django and uvicorn in a new virtualenv,
runs ``django-admin startproject``, writes the quickstart's titled code blocks
(``tests/chorus/support/doc_blocks.py``), checks that ``manage.py check``
prints no chorus warning, serves the project with uvicorn in front of the
quickstart's stand-in services (JSON after 100 ms, on a loopback port) and
checks the envelope. It needs PyPI (or uv's cache) and a minute or two:
selected with ``-m newcomer`` (``.ci/run`` does), deselected otherwise.

Each (Python, Django) pair runs when the package declares it supported;
one outside ``requires-python`` or the ``django`` requirement is skipped,
saying so, and runs by itself once the range covers it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.chorus.support.doc_blocks import apply_page
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.newcomer, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# The newest supported pair, and the oldest Django on the oldest Python.
PAIRS = [("3.13", "6.1"), ("3.12", "5.2")]


def _declared_django() -> SpecifierSet:
    for dependency in PROJECT["dependencies"]:
        requirement = Requirement(dependency)
        if requirement.name.lower() == "django":
            return requirement.specifier
    raise AssertionError("pyproject.toml declares no django dependency")


def _unsupported(python: str, django: str) -> str | None:
    requires_python = SpecifierSet(PROJECT["requires-python"])
    if python not in requires_python:
        return f"Python {python} is outside django-chorus's requires-python ({requires_python})"
    declared = _declared_django()
    if f"{django}.0" not in declared and django not in declared:
        return f"Django {django} is outside django-chorus's declared range (django{declared})"
    return None


def _wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 30) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n{output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on port {port} within {seconds} s")


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("check", True)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [str(arg) for arg in args], capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run("uv", "build", "--wheel", "--out-dir", out, cwd=ROOT)
    (built,) = out.glob("django_chorus-*.whl")
    return built


def _interpreter(version: str) -> str:
    """pyenv's installed ``python<version>`` if there is one (its shims answer only for the
    active version), else the version for uv to find."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}.*/bin/python{version}"))
    return str(found[-1]) if found else version


def _clean_env(**extra: str) -> dict[str, str]:
    # Nothing of this suite's environment: no settings module, no virtualenv of ours.
    drop = ("DJANGO_", "PYTEST_", "VIRTUAL_ENV", "UV_PROJECT", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | extra


@pytest.mark.parametrize(("python", "django"), PAIRS, ids=[f"py{p}-django{d}" for p, d in PAIRS])
def test_the_quickstart_from_a_wheel_in_a_fresh_project(wheel, tmp_path, python, django):
    if (reason := _unsupported(python, django)) is not None:
        pytest.skip(reason)
    env = _clean_env()
    venv = tmp_path / "venv"
    _run("uv", "venv", "--python", _interpreter(python), venv, env=env)
    bin_ = venv / "bin"
    _run(
        "uv", "pip", "install", "--python", bin_ / "python",
        wheel, f"django=={django}.*", "uvicorn", env=env,
    )  # fmt: skip
    project = tmp_path / "project"
    project.mkdir()
    _run(bin_ / "django-admin", "startproject", "mysite", project, env=env)
    blocks = apply_page("quickstart.md", project)
    assert {"mysite/settings.py", "mysite/views.py", "mysite/urls.py", "mysite/asgi.py"} <= {
        block.path for block in blocks
    }

    services_port, web_port = free_port(), free_port()
    env = _clean_env(SERVICES_URL=f"http://127.0.0.1:{services_port}")

    check = _run(bin_ / "python", "manage.py", "check", cwd=project, env=env)
    _assert_no_chorus_warning(check.stdout + check.stderr)

    # The quickstart's stand-in services, as the page shows them: JSON after 100 ms.
    services = _start([bin_ / "python", "services.py", str(services_port)], project, env)
    web = _start(
        [bin_ / "uvicorn", "mysite.asgi:application", "--port", str(web_port), "--no-access-log"],
        project,
        env,
    )
    try:
        _wait_for_port(services_port, services)
        _wait_for_port(web_port, web)
        for _ in range(2):  # the second on connections kept alive, as a warm worker would
            status, headers, envelope = _get(f"http://127.0.0.1:{web_port}/dashboard/")
        _assert_the_envelope(status, headers, envelope)
    finally:
        for process in (web, services):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _start(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _get(url: str) -> tuple[int, dict[str, str], dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        headers = {name.lower(): value for name, value in response.headers.items()}
        return response.status, headers, json.loads(response.read())


def _assert_no_chorus_warning(output: str) -> None:
    # One message is "<where>: (chorus.W003) <text>\n\tHINT: <hint>".
    messages = re.findall(r"^([^\n]*\((chorus\.[EW]\d{3})\)[^\n]*(?:\n\t[^\n]*)*)", output, re.M)
    assert not messages, "manage.py check warned about chorus:\n" + "\n".join(
        m for m, _ in messages
    )


def _assert_the_envelope(status: int, headers: dict[str, str], envelope: dict[str, object]) -> None:
    assert status == 200, envelope
    assert headers["content-type"].startswith("application/json")
    assert headers["server-timing"].startswith("inventory;dur=")
    assert set(envelope) == {"data", "sources", "complete", "elapsed_ms"}
    assert envelope["complete"] is True
    assert envelope["data"] == {
        "inventory": {"path": "/inventory/stock", "items": [1, 2, 3]},
        "pricing": {"path": "/pricing/prices", "items": [1, 2, 3]},
    }
    sources = envelope["sources"]
    assert isinstance(sources, dict)
    for name, required in (("inventory", True), ("pricing", False)):
        source = sources[name]
        assert source["status"] == "ok", source
        assert source["required"] is required
        assert source["http_status"] == 200
        assert source["ms"] >= 100  # the services take 100 ms
    # Two calls of 100 ms each, made at once: the whole took about one of them.
    elapsed = envelope["elapsed_ms"]
    assert isinstance(elapsed, float)
    assert 100 <= elapsed < sources["inventory"]["ms"] + sources["pricing"]["ms"]
