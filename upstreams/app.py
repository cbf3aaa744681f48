"""The upstream simulator: one raw ASGI app playing five services, with faults on demand.

``/<service>/...`` answers as inventory, notifications, analytics, users or
billing would, after a default latency of 100 ms. ``/_faults`` changes how a
service misbehaves, ``/_stats`` tells what really reached it. No framework and
no Django: the simulator is what chorus is measured against, so it must cost
next to nothing per request and depend on nothing it tests.

Endpoints: ``GET /inventory/stock``, ``/inventory/items/<sku>``,
``/notifications/recent``, ``/analytics/summary``, ``/users/summary``,
``/billing/summary``. Control: ``GET /_faults`` (all settings),
``GET|PUT|DELETE /_faults/<service>``, ``DELETE /_faults`` (all to defaults),
``GET|DELETE /_stats`` (per service: ``requests``, ``in_flight``,
``disconnects``, and raw ``paths`` and ``queries`` with their counts). Fault
keys (see ``upstreams.faults``) also work as query parameters on one request.

Usage::

    uv run manage.py upstreams --port 8100
    curl -X PUT localhost:8100/_faults/analytics -d '{"fault": "hang", "rate": 0.5}'
    curl 'localhost:8100/inventory/stock?latency_ms=250'
"""

from __future__ import annotations

import functools
import random
from urllib.parse import parse_qsl

from upstreams.catalog import SERVICES, Body, Catalog, build_catalog, encode_json
from upstreams.faults import (
    FaultError,
    FaultSettings,
    parse_json_overrides,
    parse_query_overrides,
)
from upstreams.stats import ServiceStats
from upstreams.wire import Exchange, Message, Receive, Send

__all__ = ["Simulator", "app"]

_MAX_SETTINGS_BYTES = 64 * 1024
_INVALID_JSON = b'{"items": [{"sku": "SKU-1001", "on_hand": 4'
# Looks like an internal error page leaking secrets, so chorus's tests can
# check that upstream error bodies never reach its clients.
_LEAKY_DETAIL = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/billing/db.py", line 88, in connect\n'
    "psycopg.OperationalError: connection to server at 10.0.0.5 failed: "
    "db user=app password=hunter2"
)


def _error(status: int, message: str) -> Body:
    return Body(status, encode_json({"error": message}))


@functools.cache
def _upstream_failure(status: int) -> Body:
    return Body(
        status,
        encode_json({"error": "upstream failure", "status": status, "detail": _LEAKY_DETAIL}),
    )


def _raw_remainder(scope: Message) -> bytes:
    """The raw path after ``/<service>``, exactly as the client sent it."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    slash = raw_path.find(b"/", 1)
    return raw_path[slash:] if slash != -1 else b""


class Simulator:
    """The ASGI application. Each instance keeps its own faults and stats."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else build_catalog()
        self.faults = dict.fromkeys(SERVICES, FaultSettings())
        self.stats = {service: ServiceStats() for service in SERVICES}
        self._random = random.Random()  # noqa: S311 - jitter and rates, not secrets
        self._exchanges: set[Exchange] = set()

    def release_waiting(self) -> None:
        """Reset every open request's connection (hangs included): the server is stopping.

        Call it on the server's event loop, as its shutdown begins.
        """
        for exchange in self._exchanges:
            exchange.release()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        service, _, rest = scope["path"][1:].partition("/")
        exchange = Exchange(receive, send)
        self._exchanges.add(exchange)
        try:
            if service in self.stats:
                await self._serve(service, "/" + rest if rest else "", scope, exchange)
            elif service == "_faults":
                await exchange.answer(await self._faults_api(rest, scope, receive))
            elif service == "_stats" and not rest:
                await exchange.answer(self._stats_api(scope["method"]))
            else:
                await exchange.answer(_error(404, f"no such service or path: {scope['path']}"))
        finally:
            self._exchanges.discard(exchange)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _serve(self, service: str, path: str, scope: Message, exchange: Exchange) -> None:
        stats = self.stats[service]
        stats.record(_raw_remainder(scope), scope["query_string"])
        stats.in_flight += 1
        try:
            await self._misbehave(service, path, scope, exchange)
        finally:
            stats.in_flight -= 1
            if exchange.disconnected:
                stats.disconnects += 1

    async def _misbehave(self, service: str, path: str, scope: Message, exchange: Exchange) -> None:
        settings = self.faults[service]
        query: bytes = scope["query_string"]
        if query:
            try:
                pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                settings = settings.with_overrides(parse_query_overrides(pairs))
            except FaultError as exc:
                await exchange.answer(_error(400, str(exc)))
                return
        if scope["method"] not in ("GET", "HEAD"):
            body = _error(405, f"{service} only answers GET")
        else:
            body = self.catalog.lookup(service, path) or _error(404, f"{service} has no {path!r}")

        latency = settings.latency_ms + self._random.uniform(0, settings.jitter_ms)
        if not await exchange.pause(latency / 1000):
            return
        applies = settings.rate >= 1 or self._random.random() < settings.rate
        if not applies:
            await exchange.answer(body)
            return
        if settings.status != 200:
            body = _upstream_failure(settings.status)
        match settings.fault:
            case "hang":
                await exchange.hang()
            case "reset":
                await exchange.reset(body)
            case "invalid_json":
                await exchange.answer(Body(body.status, _INVALID_JSON))
            case "oversize":
                await exchange.flood(body.status, settings.oversize_bytes)
            case "slow_body":
                await exchange.trickle(body, settings.slow_body_ms / 1000)
            case _:
                await exchange.answer(body)

    async def _faults_api(self, service: str, scope: Message, receive: Receive) -> Body:
        method = scope["method"]
        if not service:
            if method == "GET":
                return self._faults_listing()
            if method == "DELETE":
                self.faults = dict.fromkeys(SERVICES, FaultSettings())
                return self._faults_listing()
            return _error(405, "/_faults answers GET and DELETE")
        if service not in self.faults:
            return _error(404, f"no such service: {service!r}")
        if method == "DELETE":
            self.faults[service] = FaultSettings()
        elif method == "PUT":
            try:
                overrides = parse_json_overrides(await _read_body(receive))
            except FaultError as exc:
                return _error(400, str(exc))
            self.faults[service] = self.faults[service].with_overrides(overrides)
        elif method != "GET":
            return _error(405, f"/_faults/{service} answers GET, PUT and DELETE")
        return Body(200, encode_json({"service": service, **self.faults[service].as_dict()}))

    def _faults_listing(self) -> Body:
        listing = {service: settings.as_dict() for service, settings in self.faults.items()}
        return Body(200, encode_json({"services": listing}))

    def _stats_api(self, method: str) -> Body:
        if method == "DELETE":
            for stats in self.stats.values():
                stats.reset()
        elif method != "GET":
            return _error(405, "/_stats answers GET and DELETE")
        listing = {service: stats.as_dict() for service, stats in self.stats.items()}
        return Body(200, encode_json({"services": listing}))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > _MAX_SETTINGS_BYTES:
            raise FaultError(f"body is larger than {_MAX_SETTINGS_BYTES} bytes")
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


app = Simulator()
