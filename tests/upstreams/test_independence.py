"""The simulator stands for services that know nothing of Django or chorus."""

from __future__ import annotations

import subprocess
import sys


def test_simulator_imports_neither_django_nor_chorus() -> None:
    probe = (
        "import sys, upstreams.app, upstreams.server; "
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'django', 'chorus', 'storefront'}))"
    )

    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert finished.stdout.strip() == "[]"
