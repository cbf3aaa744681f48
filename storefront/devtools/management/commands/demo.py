"""``manage.py demo``: the whole reference system on one machine, from one command.

It prepares the database in this process, then runs the upstream simulator,
the ASGI server (uvicorn) and a task worker (``db_worker``, or a Celery worker
when ``STOREFRONT_TASKS=celery``) as child processes, waits until each answers
(the worker: until its heartbeat is in the database), prints
where to look, and supervises: Ctrl-C or SIGTERM stops every child and exits 0;
a child that dies on its own stops the rest and exits non-zero, naming it.

Ports are checked before anything starts, so a port in use costs one line and
no half-started system. New parts of the system are one entry each: a set-up
command in ``SETUP_COMMANDS``, a child in ``_services()``.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from storefront.access.keys import create_key, digest
from storefront.access.models import ApiKey, Scope
from storefront.dashboard.upstreams import UPSTREAM_NAMES
from storefront.devtools.processes import Child, Children
from upstreams.server import bind_socket

__all__ = ["SETUP_COMMANDS", "Command"]

# Management commands run, in order, before any child starts; each must be idempotent.
SETUP_COMMANDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("migrate", {"interactive": False, "verbosity": 0}),
    ("load_sample_data", {"verbosity": 0}),
)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
DEMO_USERNAME = "staff"
DEMO_KEY_NAME = "demo"
# The children listen on this machine: a proxy from the environment must not be asked.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_READY_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.1
_STOP_TIMEOUT_SECONDS = 10.0
# Open streams (SSE) would otherwise hold uvicorn's graceful shutdown open forever.
_GRACEFUL_SHUTDOWN_SECONDS = 3


@dataclass(frozen=True, slots=True)
class _Service:
    name: str
    argv: list[str]
    # None for a child that listens on no port (the task worker): its readiness is its heartbeat.
    port: int | None
    ready_path: str | None


class _StopRequest:
    """Turns SIGINT and SIGTERM into a flag the supervising loop checks."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name

    @contextmanager
    def installed(self) -> Iterator[_StopRequest]:
        previous = {signum: signal.signal(signum, self) for signum in _STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


class Command(BaseCommand):
    help = (
        "Run the storefront demo: migrate, then the upstream simulator, the ASGI server"
        " and a task worker."
    )
    # Run by handle() once the ports are known free: on SQLite the model checks (a JSONField's)
    # open the database, and a refused port must leave no database behind.
    requires_system_checks: list[str] = []  # noqa: RUF012 - BaseCommand's own attribute

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Storefront's port.")
        parser.add_argument(
            "--upstreams-port", type=int, default=8100, help="The upstream simulator's port."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        services = _services(host, options["port"], options["upstreams_port"])
        _refuse_ports_in_use(host, services)
        self.check()
        with _StopRequest().installed() as stop:
            for command, command_options in SETUP_COMMANDS:
                call_command(command, **command_options)
            self.stdout.write(f"Database ready: {settings.DATABASES['default']['NAME']}")
            credentials = _demo_credentials()
            children = Children()
            try:
                self._supervise(children, services, _connect_host(host), stop, credentials)
            finally:
                children.stop(_STOP_TIMEOUT_SECONDS)
            if stop.signal_name:
                self.stdout.write(f"Stopped on {stop.signal_name}: every child has exited.")

    def _supervise(
        self,
        children: Children,
        services: list[_Service],
        host: str,
        stop: _StopRequest,
        credentials: _Credentials,
    ) -> None:
        environment = _child_environment(host, services)
        for service in services:
            if stop.signal_name:
                return
            children.start(service.name, service.argv, env=environment, cwd=settings.BASE_DIR)
        started = timezone.now()
        waiting = {
            service.name: (
                _url(host, service.port, service.ready_path)
                if service.port is not None and service.ready_path is not None
                else None
            )
            for service in services
        }
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while waiting and not stop.signal_name:
            _raise_if_exited(children)
            waiting = {
                name: url
                for name, url in waiting.items()
                if not (_answers(url) if url is not None else _worker_seen_since(started))
            }
            if waiting and time.monotonic() > deadline:
                raise CommandError(
                    f"{', '.join(waiting)} did not answer within {_READY_TIMEOUT_SECONDS:.0f} s"
                )
            time.sleep(_POLL_SECONDS)
        if stop.signal_name:
            return
        self._print_urls(host, services, credentials)
        while not stop.signal_name:
            _raise_if_exited(children)
            time.sleep(_POLL_SECONDS)

    def _print_urls(self, host: str, services: list[_Service], credentials: _Credentials) -> None:
        port = {service.name: service.port or 0 for service in services}
        lines = [
            ("dashboard page", _url(host, port["storefront"], "/")),
            ("dashboard API", _url(host, port["storefront"], "/api/dashboard/")),
            ("admin", _url(host, port["storefront"], "/admin/")),
            ("health", _url(host, port["storefront"], "/healthz")),
            ("image upload", _url(host, port["storefront"], "/api/images/")),
            ("metrics", _url(host, port["storefront"], "/metrics")),
            ("simulator faults", _url(host, port["simulator"], "/_faults")),
            ("simulator stats", _url(host, port["simulator"], "/_stats")),
        ]
        self.stdout.write("\nChorus demo is running:")
        for label, url in lines:
            self.stdout.write(f"  {label:<17} {url}")
        self.stdout.write(f"  {'staff login':<17} {credentials.username} / {credentials.password}")
        self.stdout.write(f"  {'API key':<17} {credentials.api_key}")
        self.stdout.write(
            f"  try: curl -H 'Authorization: Bearer {credentials.api_key}' "
            f"{_url(host, port['storefront'], '/api/dashboard/')}"
        )
        self.stdout.write("Press Ctrl-C to stop.")
        self.stdout.flush()


@dataclass(frozen=True, slots=True)
class _Credentials:
    username: str
    password: str
    api_key: str


def _demo_credentials() -> _Credentials:
    """A staff login and a read-write API key for this run, printed with the URLs.

    ``STOREFRONT_DEMO_PASSWORD`` and ``STOREFRONT_DEMO_API_KEY`` fix them (for
    scripts and benchmarks); otherwise each run makes new ones, and the key of
    an earlier run is revoked, so the printed pair is the only one that works.
    """
    password = os.environ.get("STOREFRONT_DEMO_PASSWORD", "").strip() or secrets.token_urlsafe(12)
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_USERNAME).first() or user_model(
        username=DEMO_USERNAME, email="staff@example.com"
    )
    user.is_staff = user.is_active = True
    user.set_password(password)
    user.save()
    # What the admin's API keys page needs to list and revoke keys, and no more.
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label=ApiKey._meta.app_label,
            codename__in=[f"{action}_{ApiKey._meta.model_name}" for action in ("view", "change")],
        )
    )

    api_key = os.environ.get("STOREFRONT_DEMO_API_KEY", "").strip() or None
    keep = digest(api_key) if api_key else None
    ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).exclude(
        digest=keep or ""
    ).update(revoked_at=timezone.now())
    if api_key is None or not ApiKey.objects.filter(digest=keep, revoked_at__isnull=True).exists():
        ApiKey.objects.filter(digest=keep or "").delete()  # a revoked copy of the chosen key
        try:
            api_key, _ = create_key(name=DEMO_KEY_NAME, scope=Scope.READ_WRITE, key=api_key)
        except ValueError as exc:
            raise CommandError(f"STOREFRONT_DEMO_API_KEY: {exc}") from None
    return _Credentials(DEMO_USERNAME, password, api_key)


def _services(host: str, port: int, upstreams_port: int) -> list[_Service]:
    """The children, in start order: the simulator first, as storefront calls it."""
    if port == upstreams_port:
        raise CommandError(
            f"--port and --upstreams-port are both {port}; give them different ports"
        )
    manage_py = str(settings.BASE_DIR / "manage.py")
    return [
        _Service(
            "simulator",
            [sys.executable, manage_py, "upstreams", "--host", host, "--port", str(upstreams_port)],
            upstreams_port,
            "/_faults",
        ),
        _Service(
            "storefront",
            [
                sys.executable, "-m", "uvicorn", "storefront.asgi:application",
                "--host", host, "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--lifespan", "on",
                "--no-access-log",
                "--timeout-graceful-shutdown", str(_GRACEFUL_SHUTDOWN_SECONDS),
            ],
            port,
            "/healthz",
        ),
        _Service("task worker", _task_worker_argv(manage_py), None, None),
    ]  # fmt: skip


def _task_worker_argv(manage_py: str) -> list[str]:
    """The embedded engine's worker, or Celery's when the demo runs with STOREFRONT_TASKS=celery."""
    if settings.STOREFRONT_TASKS == "celery":
        return [sys.executable, "-m", "celery", "-A", "storefront", "worker",
                "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]  # fmt: skip
    # No autoreload: a reloader's extra process would escape the supervision's stop order.
    return [sys.executable, manage_py, "db_worker", "--no-reload", "--verbosity", "0"]


def _worker_seen_since(started: Any) -> bool:
    from storefront.images.workers import last_seen

    seen = last_seen()
    return seen is not None and seen >= started


def _refuse_ports_in_use(host: str, services: list[_Service]) -> None:
    for service in services:
        if service.port is None:
            continue
        try:
            bind_socket(host, service.port).close()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {service.port} on {host} ({service.name}) is already in use;"
                    f" choose another with --{'upstreams-' if service.name == 'simulator' else ''}port"
                ) from None
            raise CommandError(f"cannot listen on {host}:{service.port}: {exc.strerror}") from None


def _child_environment(host: str, services: list[_Service]) -> dict[str, str]:
    """This process's environment, with storefront's upstreams pointing at the demo's simulator."""
    simulator_port = next(service.port or 0 for service in services if service.name == "simulator")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in UPSTREAM_NAMES:
        environment[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = _url(
            host, simulator_port, f"/{name}"
        )
    return environment


def _connect_host(host: str) -> str:
    """Where to reach a server listening on ``host``: a wildcard address means this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def _url(host: str, port: int, path: str) -> str:
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


def _answers(url: str) -> bool:
    # urllib, not httpx: httpx logs every request at INFO, which would bury the URLs.
    try:
        with _DIRECT.open(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:  # URLError and HTTPError are OSErrors
        return False


def _raise_if_exited(children: Children) -> None:
    child = children.first_exited()
    if child is not None:
        raise CommandError(
            f"{child.name} exited unexpectedly ({_describe_exit(child)}); stopped the others"
        )


def _describe_exit(child: Child) -> str:
    code = child.returncode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
