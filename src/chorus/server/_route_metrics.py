"""``RouteMetricsMiddleware``: each response's time and status, by URL route, for Prometheus.

    MIDDLEWARE = ["chorus.server.RequestIDMiddleware", "chorus.server.RouteMetricsMiddleware", ...]

The label is the route's pattern as the URLconf spells it
(``/api/orders/<int:pk>/``), never the request's path: one series per route
however many ids, and a scanner's random paths all land in ``unmatched``
(with anything else answered before URL resolution, such as static files
served by a middleware). Put it near the top so the time includes the
middleware below it. For a streamed response the time is to its headers;
``chorus_streams_open`` counts the streams still open.

Async-native (no thread hop); under WSGI it records the same way. With
``CHORUS["METRICS"] = False`` it only passes the request on.
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponseBase

from chorus.engine import _tracing as tracing
from chorus.engine._metrics import RouteMeter, route_label, route_meter
from chorus.server._middleware_bases import DualModeMiddleware

__all__ = ["RouteMetricsMiddleware"]


class RouteMetricsMiddleware(DualModeMiddleware):
    def call(self, request: HttpRequest) -> HttpResponseBase:
        meter = route_meter()
        if meter is None:
            response: HttpResponseBase = self.get_response(request)
            return response
        started = time.perf_counter()
        response = self.get_response(request)
        _record(meter, request, response, started)
        return response

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        meter = route_meter()
        if meter is None:
            response: HttpResponseBase = await self.get_response(request)
            return response
        started = time.perf_counter()
        response = await self.get_response(request)
        _record(meter, request, response, started)
        return response


def _record(
    meter: RouteMeter, request: HttpRequest, response: HttpResponseBase, started: float
) -> None:
    """The request's route, status and time, with the trace's exemplar when tracing is on."""
    spans = tracing.spans()
    meter.record(
        route_label(request),
        response.status_code,
        time.perf_counter() - started,
        None if spans is None else spans.exemplar(),
    )
