"""Supervised child processes (storefront/devtools/processes.py), on real processes."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from storefront.devtools.processes import Children

# Ignores SIGTERM, says so through a file, then waits to be killed.
STUBBORN = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).touch()
time.sleep(60)
"""


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never appeared")
        time.sleep(0.05)


def test_children_start_in_their_own_session() -> None:
    children = Children()
    try:
        child = children.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        assert os.getsid(child.pid) == child.pid
        assert os.getpgid(child.pid) == child.pid
    finally:
        children.stop()
    assert child.returncode == -signal.SIGTERM


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    children = Children()
    try:
        child = children.start("stubborn", [sys.executable, "-c", STUBBORN, str(ready)])
        _wait_for(ready)
    finally:
        children.stop(timeout=0.5)
    assert child.returncode == -signal.SIGKILL


def test_first_exited_names_the_child_that_ended() -> None:
    children = Children()
    try:
        children.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        quitter = children.start("quitter", [sys.executable, "-c", "raise SystemExit(3)"])
        quitter.process.wait(30)
        exited = children.first_exited()
    finally:
        children.stop()
    assert exited is quitter
    assert exited.returncode == 3
