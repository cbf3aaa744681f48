"""Idle connections against storefront's gunicorn worker: shed with 503, logged, and recovered.

    uv run python bench/idle_connections.py [--sockets 19000] [--cap 1000]

Issue 16 opened 19,990 idle sockets to one uvicorn worker: they exhausted its
20,000 descriptors and ``/healthz`` went unanswered with nothing in the log.
This starts the simulator and ``deploy/gunicorn.conf.py`` with one worker
(``STOREFRONT_MAX_CONNECTIONS=--cap``), opens ``--sockets`` connections that
never send a byte, then asks ``/healthz`` from a new connection, closes the
sockets, and asks again; the worker's warnings about the limit appear on
stderr as it sheds (one a second at most, with the number shed).
Needs a descriptor limit above ``--sockets`` in this shell (``ulimit -n``).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request

from harness import ROOT, bench_env, free_port, running, simulator


def healthz(url: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            status = answer.status
    except urllib.error.HTTPError as refused:
        status = refused.code
    return status, (time.monotonic() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=19_000)
    parser.add_argument("--cap", type=int, default=1000)
    args = parser.parse_args()
    upstream_port, port = free_port(), free_port()
    env = bench_env(
        upstream_port,
        STOREFRONT_VAR_DIR=tempfile.mkdtemp(prefix="chorus-idle-"),
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="1",
        STOREFRONT_MAX_CONNECTIONS=str(args.cap),
    )
    argv = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
            "storefront.asgi:application"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"
    with simulator(upstream_port), running(argv, env=env, ready_url=url):
        sockets = []
        try:
            started = time.monotonic()
            for _ in range(args.sockets):
                sockets.append(socket.create_connection(("127.0.0.1", port)))
            print(f"{args.sockets:,} idle sockets opened in {time.monotonic() - started:.1f} s")
            time.sleep(0.5)
            status, ms = healthz(url)
            print(f"/healthz from a new connection while they are open: {status} in {ms:.0f} ms")
        finally:
            for each in sockets:
                each.close()
        time.sleep(1.5)  # the worker reports what it shed once a second
        status, ms = healthz(url)
        print(f"/healthz after they closed: {status} in {ms:.0f} ms")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
