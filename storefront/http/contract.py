"""What each ``/api/`` operation takes and answers, declared beside its view.

The OpenAPI document (storefront/apidocs/) is built from these declarations
and the URLconf, never kept by hand: a route without one fails its test.

    @operation("post", "Create an order", body=OrderIn, answers={201: OrderOut},
               errors=(400, 409), write=True)
    @require_POST
    async def create_order(request): ...

    path("api/dashboard/", described(Dashboard.as_view(), operation("get", ...)))

``answers`` maps a status to a msgspec Struct (or any type msgspec can describe),
``EVENT_STREAM`` for Server-Sent Events, or ``None`` for no body. ``errors``
lists the statuses that answer the error envelope besides the ones every
authenticated route can give (400 bad input, 401, 403, 429).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "EVENT_STREAM",
    "Operation",
    "Param",
    "described",
    "operation",
    "operations_of",
    "path_parameter",
    "path_schemas_of",
]

EVENT_STREAM: Final = "text/event-stream"


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter or header; ``schema`` is JSON Schema."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    where: str = "query"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    summary: str
    description: str = ""
    tag: str = ""
    body: Any = None  # a type msgspec can describe, or a JSON Schema (a Mapping)
    body_media: str = "application/json"
    answers: Mapping[int, Any] = field(default_factory=dict)
    errors: Sequence[int] = ()
    params: Sequence[Param] = ()
    write: bool = False
    public: bool = False  # no credentials needed

    def __call__(self, view: Any) -> Any:
        """Used as a decorator: attach this operation to ``view``."""
        return described(view, self)


_ATTRIBUTE = "api_operations"
_PATH_SCHEMAS = "api_path_schemas"


def operation(method: str, summary: str, **details: Any) -> Operation:
    """What ``method`` takes and answers: a decorator, or an argument to ``described``."""
    return Operation(method.lower(), summary, **details)


def described(view: Any, *declared: Operation) -> Any:
    """Attach operations to a view (``as_view()``'s result, or a function); returns it."""
    # A fresh dict: functools.wraps copies __dict__, so a wrapper may share its view's.
    operations = dict(getattr(view, _ATTRIBUTE, {}))
    for one in declared:
        operations[one.method] = one
    setattr(view, _ATTRIBUTE, operations)
    return view


def path_parameter(name: str, schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Narrow a path parameter's schema beyond its converter's (an enum of known names)."""

    def decorate(view: Any) -> Any:
        setattr(view, _PATH_SCHEMAS, {**getattr(view, _PATH_SCHEMAS, {}), name: schema})
        return view

    return decorate


def path_schemas_of(view: Any) -> Mapping[str, Mapping[str, Any]]:
    schemas: Mapping[str, Mapping[str, Any]] = getattr(view, _PATH_SCHEMAS, {})
    return schemas


def operations_of(view: Any) -> Mapping[str, Operation]:
    operations: Mapping[str, Operation] = getattr(view, _ATTRIBUTE, {})
    return operations
