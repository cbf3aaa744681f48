"""Shared pieces of the benchmarks: child servers on free ports, wrk runs, result tables.

Every benchmark starts its own servers on loopback, runs ``wrk`` (installed
from the OS packages if missing) for a bounded time, and stops everything in
``finally``: nothing is left running and no address outside 127.0.0.1 is used.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the scripts run as files; they use the project's packages

from upstreams.catalog import SERVICES  # noqa: E402 - needs the path above


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up in {timeout:.0f} s") from None
            time.sleep(0.1)


def bench_env(upstream_port: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # Production settings, minus the HTTPS redirect: TLS would end at a proxy, not here.
        "SECURE_SSL_REDIRECT": "0",
        # Every API request still takes a token (the limiter's cost is measured), none refused.
        "STOREFRONT_RATE_LIMIT_API_RATE": "1000000000",
        "STOREFRONT_RATE_LIMIT_API_BURST": "1000000000",
        **extra,
    }
    for name in SERVICES:
        env[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = f"http://127.0.0.1:{upstream_port}/{name}"
    return env


def bench_api_key(env: dict[str, str], cwd: Path = ROOT) -> list[str]:
    """wrk ``-H`` headers with a read-write API key, stored in ``env``'s database (migrated here;
    ``cwd``: by another checkout's own ``manage.py``)."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=cwd, env=env, check=True)
    key = subprocess.run(
        [*manage, "api_key", "create", "--name", "bench", "--scope", "read-write"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return [f"Authorization: Bearer {key}"]


@contextlib.contextmanager
def running(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    ready_url: str,
    log: Path | None = None,
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; it must answer ``ready_url`` first.

    With ``log``, its stderr (where storefront's log lines go) is appended to that file;
    ``cwd``: another checkout to run it from.
    """
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("ab")) if log is not None else None
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        wait_until_up(ready_url)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def simulator(port: int) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    argv = [sys.executable, "manage.py", "upstreams", "--host", "127.0.0.1", "--port", str(port)]
    return running(argv, ready_url=f"http://127.0.0.1:{port}/_faults")


@dataclass(frozen=True)
class WrkResult:
    label: str
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0

    def row(self) -> str:
        return (
            f"| {self.label} | {self.connections} | {self.requests_per_second:,.1f} | "
            f"{self.p50_ms:.1f} | {self.p99_ms:.1f} | {self.errors} |"
        )


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNIT_MS[unit]


def wrk(
    url: str,
    *,
    label: str,
    connections: int,
    seconds: int,
    threads: int = 2,
    headers: Sequence[str] = (),
    script: Path | None = None,
) -> WrkResult:
    done = subprocess.run(
        [
            ensure_wrk(),
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            *(("-s", str(script)) if script is not None else ()),
            *(arg for header in headers for arg in ("-H", header)),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    if script is not None and done.stderr.strip():  # a Lua error: wrk would quietly send GETs
        raise RuntimeError(f"wrk's script failed: {done.stderr.strip()}")
    output = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # Anchored: a "+/- Stdev" column such as "60.50%" also contains "50%".
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return WrkResult(label, connections, rps, p50, p99, errors, requests)


TABLE_HEADER = (
    "| endpoint | connections | requests/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|"
)
