"""The id of the request being served, as the engine forwards it to every upstream call.

The server side's ``RequestIDMiddleware`` accepts or makes the id and sets it
here for the length of the request; the engine only reads it, so a fan-out run
outside a request (a script, a task) simply sends none.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["REQUEST_ID_HEADER", "current_request_id", "request_id_var"]

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("chorus_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return request_id_var.get()
