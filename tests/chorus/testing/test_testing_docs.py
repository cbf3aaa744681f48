"""docs/testing.md's examples run: the quickstart's project, the page's tests, pytest on them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.chorus.support.doc_blocks import apply_page


def test_the_testing_page_examples_pass_on_the_quickstart_project(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)],
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": ""},
    )
    apply_page("quickstart.md", tmp_path)
    blocks = apply_page("testing.md", tmp_path)
    tests = [block.path for block in blocks if block.path.startswith("tests/")]
    count = sum(block.code.count("\ndef test_") for block in blocks if block.path in tests)
    assert len(tests) >= 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *tests],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Every test of the page ran, and passed.
    assert f"{count} passed" in run.stdout, run.stdout
