"""Load at start-up what the first fan-out would otherwise load inside its timeouts.

``import chorus`` loads no optional dependency (``prometheus_client`` for
metrics, ``opentelemetry`` for tracing): they are imported where first used.
Left at that, a worker's first fan-out imports them after its timers have
started (measured: 37 ms for tracing's modules before the first source starts,
47 ms for prometheus-client's inside the first call, on an idle machine), so
a loaded machine's first request can miss a short per-call timeout. The app's
``ready()`` calls ``warm_up()``: the imports happen while Django starts, and
only for what is installed and switched on. Nothing is decided or created
here: whether to trace is still decided on first use (a tracer provider may
be configured after Django starts), and the metric families are still made in
the worker that records (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import importlib
import importlib.util

from chorus.engine._exceptions import ConfigurationError
from chorus.engine._settings import get_settings

__all__ = ["warm_up"]


def warm_up() -> None:
    """Import the optional modules the hot path will use, if installed and on."""
    if _installed("opentelemetry"):
        importlib.import_module("chorus.engine._spans")
    if _installed("prometheus_client") and _metrics_on():
        importlib.import_module("chorus.engine._metric_families")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _metrics_on() -> bool:
    try:
        return get_settings().metrics
    except ConfigurationError:
        return False  # the system checks name the mistake; nothing to load for it
