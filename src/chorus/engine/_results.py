"""What a fan-out returns: one ``SourceResult`` per source, gathered in a ``Result``.

``Result.response()`` renders the response envelope (docs/envelope.md) with the
status policy: 200 when every required source is ``ok``; 504 when a required
source timed out (or was skipped for lack of time); 502 when one failed any
other way. ``Chorus-Complete: false`` marks any missing source and
``Server-Timing`` carries one entry per source plus ``total``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from django.http import HttpResponse

from chorus.engine._exceptions import (
    CircuitOpenError,
    UpstreamBodyError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)

__all__ = ["Outcome", "Result", "SourceResult", "outcome_of"]


class Outcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    ERROR = "error"
    BAD_STATUS = "bad_status"
    BAD_BODY = "bad_body"
    CIRCUIT_OPEN = "circuit_open"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


_OUT_OF_TIME = frozenset({Outcome.TIMEOUT, Outcome.SKIPPED})


def outcome_of(error: BaseException) -> Outcome:
    """The outcome a failure stands for: the one mapping from exceptions to outcomes."""
    match error:
        case CircuitOpenError():
            return Outcome.CIRCUIT_OPEN
        case UpstreamTimeoutError() | TimeoutError():
            return Outcome.TIMEOUT
        case UpstreamStatusError():
            return Outcome.BAD_STATUS
        case UpstreamBodyError():
            return Outcome.BAD_BODY
        case _:
            return Outcome.ERROR


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceResult:
    """How one source ended. Times are milliseconds from the start of the fan-out.

    A failed source has no ``data``, except a ``stale`` one: its cache answered
    with the last good value in its place (``cached`` and ``stale`` are both true).
    """

    name: str
    outcome: Outcome
    required: bool
    data: Any = None
    http_status: int | None = None
    started_ms: float = 0.0
    ms: float = 0.0
    attempts: int = 1
    cached: bool = False
    stale: bool = False
    hedged: bool = False
    error: str | None = None
    # The upstream's own bytes for ``data`` (already validated as JSON), for rendering.
    raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def answered(self) -> bool:
        """``ok``, or ``stale``: there is data to show. A required source answered stale does
        not fail the response; it leaves it incomplete (``complete`` is false)."""
        return self.outcome is Outcome.OK or self.stale

    def as_dict(self) -> dict[str, Any]:
        """The entry under ``sources`` in the envelope (without ``data``)."""
        return {
            "status": self.outcome.value,
            "required": self.required,
            "http_status": self.http_status,
            "started_ms": round(self.started_ms, 1),
            "ms": round(self.ms, 1),
            "attempts": self.attempts,
            "cached": self.cached,
            "stale": self.stale,
            "hedged": self.hedged,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """Every source's result, in the order the sources were given."""

    sources: Mapping[str, SourceResult]
    elapsed_ms: float

    def __getitem__(self, name: str) -> Any:
        """The data of source ``name`` (``None`` unless it was ``ok`` or ``stale``)."""
        return self.sources[name].data

    @property
    def data(self) -> dict[str, Any]:
        return {name: source.data for name, source in self.sources.items()}

    @property
    def complete(self) -> bool:
        return all(source.outcome is Outcome.OK for source in self.sources.values())

    @property
    def status_code(self) -> int:
        failed = [s for s in self.sources.values() if s.required and not s.answered]
        if not failed:
            return 200
        if any(s.outcome in _OUT_OF_TIME for s in failed):
            return 504
        return 502

    def as_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "sources": {name: source.as_dict() for name, source in self.sources.items()},
            "complete": self.complete,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }

    def server_timing(self) -> str:
        # An Outcome formats as its value (a StrEnum), without the enum's ``value`` lookup.
        entries = [
            f'{name};dur={source.ms:.1f};desc="{source.outcome}"'
            for name, source in self.sources.items()
        ]
        entries.append(f"total;dur={self.elapsed_ms:.1f}")
        return ", ".join(entries)

    def render(self) -> bytes:
        """The envelope as JSON bytes; upstream bodies are embedded as they came, not re-encoded."""
        return orjson.dumps(self._envelope(self.complete))

    def _envelope(self, complete: bool) -> dict[str, Any]:
        # as_dict(), with each upstream body as its own bytes (one pass, no data dict to drop).
        return {
            "data": {
                name: source.data if source.raw is None else orjson.Fragment(source.raw)
                for name, source in self.sources.items()
            },
            "sources": {name: source.as_dict() for name, source in self.sources.items()},
            "complete": complete,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }

    def response(self) -> HttpResponse:
        """The envelope as an ``HttpResponse`` with the status policy and timing headers."""
        complete = self.complete
        response = HttpResponse(
            orjson.dumps(self._envelope(complete)),
            status=self.status_code,
            content_type="application/json",
        )
        response["Server-Timing"] = self.server_timing()
        if not complete:
            response["Chorus-Complete"] = "false"
        # For the access log's per-upstream summary (chorus.server._request_id), read only if it logs.
        response.chorus_result = self  # type: ignore[attr-defined]
        return response
