"""The dashboard API's answers, as msgspec Structs for the OpenAPI document.

The fan-out routes answer chorus's envelope (docs/chorus.md) with 200, 502 or
504 alike: what each source did is in ``sources``, never in the status alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from upstreams.faults import FAULTS

__all__ = ["Envelope", "FaultSettings", "PolicyReport", "SourceReport"]

SourceStatus = Literal[
    "ok", "timeout", "error", "bad_status", "bad_body", "circuit_open", "skipped", "cancelled"
]
Fault = Literal[FAULTS]  # type: ignore[valid-type]


class SourceReport(msgspec.Struct):
    """What one source did: its outcome, timing, and whether a policy stepped in."""

    status: SourceStatus
    required: bool = True
    http_status: int | None = None
    started_ms: float | None = None
    ms: float | None = None
    attempts: int = 1
    cached: bool = False
    stale: bool = False
    hedged: bool = False
    error: str | None = None


class Envelope(msgspec.Struct):
    """Each source's data (``null`` when it failed) and report; ``complete`` if all were ok."""

    data: dict[str, Any]
    sources: dict[str, SourceReport]
    complete: bool
    elapsed_ms: float


class PolicyReport(msgspec.Struct):
    """This worker's view of each upstream's breaker, retry budget and cache."""

    process: int
    upstreams: dict[str, dict[str, Any]]


Milliseconds = Annotated[float, msgspec.Meta(ge=0, le=60_000)]


class FaultSettings(msgspec.Struct):
    """A fault for one simulated service (``null`` clears it); at least one setting."""

    fault: Fault | msgspec.UnsetType | None = msgspec.UNSET
    latency_ms: Milliseconds | msgspec.UnsetType = msgspec.UNSET
    jitter_ms: Milliseconds | msgspec.UnsetType = msgspec.UNSET
    status: Annotated[int, msgspec.Meta(ge=200, le=599)] | msgspec.UnsetType = msgspec.UNSET
    rate: Annotated[float, msgspec.Meta(ge=0, le=1)] | msgspec.UnsetType = msgspec.UNSET
