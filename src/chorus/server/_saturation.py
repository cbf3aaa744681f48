"""Whether this worker is saturated now, for a readiness probe: ``saturation()``.

A worker is saturated when what it was sized for is used up and more is
queueing: requests wait at the door (``CHORUS["ADMISSION"]``: every place taken
and someone waiting), or ``REQUEST_LIMITS``' ``SATURATED_BODY_READS`` bodies or
more are being read at once (bodies are read before the door, see
``chorus.server._asgi``, so a crowd of slow or stalled uploads shows here, not
there). A load balancer that asks ``/readyz`` should then send its traffic to
another worker; ``/healthz`` stays 200, as the worker is alive.

    from chorus.server import saturation

    async def capacity() -> None:  # a readiness check
        reason = saturation()
        if reason is not None:
            raise NotReady(reason)

Read in the loop that serves the requests (the door and the count are per loop).
"""

from __future__ import annotations

from chorus.server._admission import admission_state
from chorus.server._request_body import bodies_being_read
from chorus.server._settings import get_server_settings

__all__ = ["saturation"]


def saturation() -> str | None:
    """Why the running loop's worker is saturated now, or ``None`` when it is not."""
    reasons = []
    door = admission_state()
    if door.limit is not None and door.waiting > 0:
        reasons.append(
            f"{door.waiting} requests waiting at the door "
            f"({door.in_flight} in flight, limit {door.limit})"
        )
    busy = get_server_settings().request_limits.saturated_body_reads
    reading = bodies_being_read()
    if busy is not None and reading >= busy:
        reasons.append(f"{reading} request bodies being read (saturated at {busy})")
    return "; ".join(reasons) or None
