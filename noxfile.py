"""chorus's suite on each supported Django and Python: ``uv run nox``.

Every combination is a session of ``tests``; list them with ``uv run nox -l``, run
one with ``uv run nox -s "tests(python='3.12', django='5.2')"``. Each installs the
library with its extras and the ``chorus-tests`` dependency group from ``uv.lock``
(never storefront's group: the library's suite must not need the reference
project), then the Django under test over the locked one, and runs
``tests/chorus`` on ``tests.chorus.settings``.

A Python that is not installed here is skipped, not failed (3.14 on the CI
machine today): ``nox.options.error_on_missing_interpreters`` is off, and nox
never downloads an interpreter. Interpreters installed by pyenv are found
whether or not pyenv has them active (its shims answer only for the active ones).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2025.11.12"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"
nox.options.sessions = ["tests"]

PYTHONS = ["3.12", "3.13", "3.14"]
DJANGOS = ["5.2", "6.0", "6.1"]


def _pyenv_interpreters_on_path() -> None:
    """Put each wanted pyenv-installed Python's ``bin`` ahead of pyenv's shims."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for version in PYTHONS:
        candidates = sorted(
            root.glob(f"{version}.*/bin/python{version}"),
            key=lambda path: [int(part) for part in path.parts[-3].split(".") if part.isdigit()],
        )
        if candidates:
            found.append(str(candidates[-1].parent))
    if found:
        os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_pyenv_interpreters_on_path()


@nox.session(python=PYTHONS)
@nox.parametrize("django", DJANGOS)
def tests(session: nox.Session, django: str) -> None:
    """chorus's own suite on one Django (``django``) and one Python."""
    venv = session.virtualenv.location
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--no-default-groups",
        "--group=chorus-tests",
        f"--python={venv}",
        env={"UV_PROJECT_ENVIRONMENT": venv},
    )
    session.install(f"django=={django}.*")
    session.run(
        "python",
        "-c",
        "import django, sys; print('Django', django.get_version(), 'on Python', sys.version.split()[0])",
    )
    session.run(
        "pytest",
        "tests/chorus",
        "--ds=tests.chorus.settings",
        "-p",
        "no:cacheprovider",
        "-q",
        *session.posargs,
        env={"DATABASE_URL": "", "REDIS_URL": "", "CHORUS_REQUIRE_SERVICES": ""},
    )
