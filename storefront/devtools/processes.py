"""Child processes that live and die with their parent: what ``manage.py demo`` runs.

Each child starts in its own session, so a Ctrl-C in the terminal reaches the
parent alone and the parent decides the order of shutdown; the whole process
group is signalled, so nothing a child forks is left behind. On Linux each
child also asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``), which covers the one case no ``finally`` can: the parent
killed with SIGKILL.

Usage::

    children = Children()
    try:
        children.start("simulator", [sys.executable, "manage.py", "upstreams"])
        while children.first_exited() is None:
            time.sleep(0.2)
    finally:
        children.stop()
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "Children"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.poll()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    # Loaded here, in the parent: between fork and exec only the bare call runs.
    libc = ctypes.CDLL(None, use_errno=True)
    parent_pid = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died before prctl took effect: then nobody would signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


class Children:
    """The processes started so far, stopped together by ``stop()``."""

    def __init__(self) -> None:
        self._children: list[Child] = []

    def __iter__(self) -> Iterator[Child]:
        return iter(list(self._children))

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        process = subprocess.Popen(  # noqa: S603 - argv is built by our own commands
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        child = Child(name, process)
        self._children.append(child)
        return child

    def first_exited(self) -> Child | None:
        """The first child found to have exited, if any."""
        for child in self._children:
            if child.returncode is not None:
                return child
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every child's process group, wait up to ``timeout``, then SIGKILL the rest."""
        running = [child for child in self._children if child.returncode is None]
        for child in running:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in running:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.process.wait()


def _signal_group(child: Child, signum: int) -> None:
    # The child is its group's leader (its own session), so its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
