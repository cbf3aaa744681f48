"""Whether chorus traces, decided once: the switch every tracing hook asks first.

Tracing is OpenTelemetry's (the ``otel`` extra, ``opentelemetry-api``). It is on
when the API is installed and a real tracer provider is configured: the
API's own default (a ``ProxyTracerProvider`` with nothing behind it, or the
``NoOpTracerProvider``) records nothing, so chorus does no tracing work for
it either. The answer is worked out on first use and cached, so each hook
on the hot path costs one call and one branch (``spans()``); only then,
with tracing on, is ``chorus.engine._spans`` (and so ``opentelemetry``) imported.
``import chorus`` never imports it.

A provider configured after chorus first asked is not seen until
``chorus.use_tracer_provider()`` is called (OpenTelemetry offers no signal
when one is set); ``use_tracer_provider(provider)`` points chorus at a
provider of its own instead of the global one (what the tests do: the
global provider can be set only once per process).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from django.core.signals import setting_changed
from django.dispatch import receiver

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from chorus.engine._spans import Spans

__all__ = ["spans", "use_tracer_provider"]

_decided = False
_spans: Spans | None = None
# The provider given to use_tracer_provider, else None for OpenTelemetry's global one.
_provider: TracerProvider | None = None


def spans() -> Spans | None:
    """chorus's tracing hooks, or ``None`` when tracing is off."""
    if _decided:
        return _spans
    return _decide()


def _decide() -> Spans | None:
    global _decided, _spans
    _spans = None
    if importlib.util.find_spec("opentelemetry") is not None:
        from chorus.engine._spans import Spans, tracer_of

        tracer = tracer_of(_provider)
        if tracer is not None:
            _spans = Spans(tracer)
    _decided = True
    return _spans


def use_tracer_provider(provider: TracerProvider | None = None) -> None:
    """Trace through ``provider``, or look again at OpenTelemetry's global one (``None``).

        trace.set_tracer_provider(provider)   # after chorus has served requests
        chorus.use_tracer_provider()          # chorus sees it from the next fan-out on

    Tests give a provider of their own (with an in-memory exporter), and
    ``use_tracer_provider()`` again to let go of it.
    """
    global _decided, _provider
    _provider = provider
    _decided = False


@receiver(setting_changed)
def _decide_again_on_change(*, setting: str, **kwargs: object) -> None:
    global _decided
    if setting == "CHORUS":
        _decided = False
