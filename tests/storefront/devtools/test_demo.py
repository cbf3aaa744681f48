"""``manage.py demo`` as a user runs it: a real process tree on free loopback ports."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
from PIL import Image

from tests.fixtures.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def _demo_argv(port: int, upstreams_port: int) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "demo",
        "--port",
        str(port),
        "--upstreams-port",
        str(upstreams_port),
    ]


def _demo_environment(var_dir: Path) -> dict[str, str]:
    environ = {**os.environ, "STOREFRONT_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}
    # The demo's own embedded defaults, whatever services this test run uses.
    for name in ("DATABASE_URL", "REDIS_URL"):
        environ.pop(name, None)
    return environ


class Demo:
    """``manage.py demo`` in a subprocess; its merged output is collected line by line."""

    def __init__(self, var_dir: Path, port: int, upstreams_port: int, **environ: str) -> None:
        self.port = port
        self.upstreams_port = upstreams_port
        self.process = subprocess.Popen(
            _demo_argv(port, upstreams_port),
            cwd=REPO_ROOT,
            env={**_demo_environment(var_dir), **environ},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                if line.strip() == READY_LINE:
                    self.ready.set()
        finally:
            self.ready.set()  # the output ended: wake wait_ready() to fail at once

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def printed(self, label: str) -> str:
        """The value the demo printed after ``label`` (``"API key"``, ``"staff login"``)."""
        line = next(line for line in self.lines if line.strip().startswith(label + " "))
        return line.strip().removeprefix(label).strip()

    def wait_ready(self) -> None:
        self.ready.wait(START_TIMEOUT)
        if READY_LINE not in self.lines:
            pytest.fail(f"the demo never printed {READY_LINE!r}; output:\n{self.output}")

    def finish(self) -> int:
        """The exit code; the output is complete once every holder of the pipe has gone."""
        returncode = self.process.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)
        assert not self._reader.is_alive(), "a child still holds the demo's output open"
        return returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        # Closing under a reading thread would block; the children (PDEATHSIG) end it soon.
        self._reader.join(STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by this module's demos, as by a user's runs: only the first one migrates."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def demo(var_dir: Path) -> Iterator[Demo]:
    running = Demo(var_dir, free_port(), free_port())
    try:
        yield running
    finally:
        # Only a failed test gets here with the demo alive; its children have PDEATHSIG.
        running.kill()


def _children(demo: Demo) -> list[psutil.Process]:
    return psutil.Process(demo.process.pid).children(recursive=True)


def _assert_all_gone(children: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT)
    assert alive == []


def _fetch_pages(demo: Demo) -> None:
    api = f"http://127.0.0.1:{demo.port}/api/orders/stats/"
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        health = client.get(f"http://127.0.0.1:{demo.port}/healthz")
        stats = client.get(f"http://127.0.0.1:{demo.upstreams_port}/_stats")
        anonymous = client.get(api)
        with_key = client.get(api, headers={"Authorization": f"Bearer {demo.printed('API key')}"})
    assert anonymous.status_code == 401
    assert with_key.status_code == 200
    assert health.status_code == 200
    health_body = orjson.loads(health.content)
    assert health_body["status"] == "ok"
    assert set(health_body["door"]) == {"limit", "in_flight", "waiting"}
    assert stats.status_code == 200
    assert "inventory" in stats.text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_serves_then_stops_every_child_on_a_signal(demo: Demo, signum: int) -> None:
    demo.wait_ready()
    children = _children(demo)
    assert len(children) >= 2
    _fetch_pages(demo)

    demo.process.send_signal(signum)

    assert demo.finish() == 0
    _assert_all_gone(children)
    assert "Traceback" not in demo.output
    assert f"http://127.0.0.1:{demo.port}/api/dashboard/" in demo.output
    assert f"http://127.0.0.1:{demo.upstreams_port}/_faults" in demo.output
    assert demo.lines[-1] == f"Stopped on {signal.Signals(signum).name}: every child has exited."


def test_demo_uses_the_password_and_key_from_the_environment(var_dir: Path) -> None:
    password, key = "demo-password-from-env", "sf_demo-key-from-the-environment-0123"
    demo = Demo(
        var_dir,
        free_port(),
        free_port(),
        STOREFRONT_DEMO_PASSWORD=password,
        STOREFRONT_DEMO_API_KEY=key,
    )
    try:
        demo.wait_ready()
        assert demo.printed("staff login") == f"staff / {password}"
        assert demo.printed("API key") == key
        base = f"http://127.0.0.1:{demo.port}"
        with httpx.Client(trust_env=False, timeout=10.0, base_url=base) as client:
            assert client.get("/api/dashboard/", headers={"X-API-Key": key}).status_code == 200
            login = client.get("/login/")
            logged_in = client.post(
                "/login/",
                data={
                    "username": "staff",
                    "password": password,
                    "csrfmiddlewaretoken": login.cookies["csrftoken"],
                },
            )
            assert logged_in.status_code == 302
            assert logged_in.headers["location"] == "/"
            assert client.get("/").status_code == 200
    finally:
        demo.kill()


def test_demo_child_dying_stops_the_others_and_fails(demo: Demo) -> None:
    demo.wait_ready()
    children = _children(demo)
    simulator = next(child for child in children if "upstreams" in child.cmdline())

    simulator.kill()

    assert demo.finish() == 1
    _assert_all_gone(children)
    assert "Traceback" not in demo.output
    assert demo.lines[-1] == (
        "CommandError: simulator exited unexpectedly (killed by SIGKILL); stopped the others"
    )


def test_demo_children_die_with_a_killed_demo(demo: Demo) -> None:
    demo.wait_ready()
    children = _children(demo)

    demo.process.kill()

    demo.process.wait(STOP_TIMEOUT)
    _assert_all_gone(children)


def test_demo_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            _demo_argv(port, free_port()),
            cwd=REPO_ROOT,
            env=_demo_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        f"CommandError: port {port} on 127.0.0.1 (storefront) is already in use;"
        " choose another with --port"
    ]
    assert not (tmp_path / "storefront.sqlite3").exists()


def test_demo_runs_a_task_worker_that_resizes_an_upload(demo: Demo) -> None:
    demo.wait_ready()
    children = _children(demo)
    assert any("db_worker" in child.cmdline() for child in children)
    base = f"http://127.0.0.1:{demo.port}"
    headers = {"Authorization": f"Bearer {demo.printed('API key')}"}
    with httpx.Client(trust_env=False, timeout=10.0, base_url=base, headers=headers) as client:
        buffer = io.BytesIO()
        Image.new("RGB", (600, 400), "teal").save(buffer, "PNG")
        created = client.post("/api/images/", files={"file": ("a.png", buffer.getvalue())})
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 30
        while (job := client.get(created.json()["url"]).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "done", job
        thumb = client.get(job["variants"]["thumb"]["url"])
        assert thumb.status_code == 200
        assert thumb.headers["content-type"] == "image/webp"
    demo.process.send_signal(signal.SIGTERM)
    assert demo.finish() == 0
    _assert_all_gone(children)
