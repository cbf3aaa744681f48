"""The OpenAPI 3.1 document, built from the URLconf and each view's declared operations.

Every route under ``/api/`` is walked; its view's ``storefront.http.contract``
declarations give the methods, bodies, answers and parameters, and msgspec
describes the types (``components/schemas``). Path parameters come from the
route's converters. Built once per URLconf and kept, encoded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
import orjson
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from storefront.http.contract import EVENT_STREAM, Operation, operations_of, path_schemas_of
from storefront.http.errors import is_api_path

__all__ = ["ErrorBody", "api_routes", "openapi_document", "openapi_json"]

_REF = "#/components/schemas/{name}"
_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "str": {"type": "string", "pattern": "^[^/]+$"},
    "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
}
# One Server-Sent Event, as a client's parser sees it (``data`` holds JSON text).
_SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
# What any authenticated operation can answer, whatever it does.
_AUTH_ERRORS = (400, 401, 403, 429)


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    fields: list[str] = []


class ErrorBody(msgspec.Struct):
    """Every error storefront's API answers: a machine code, a message, the fields at fault."""

    error: ErrorDetail


def api_routes(urlconf: str | None = None) -> Iterator[tuple[str, Any, str | None]]:
    """``(route, view, name)`` for each route under ``/api/``, routes in Django's syntax."""
    for route, pattern in _walk(get_resolver(urlconf).url_patterns, "/"):
        if is_api_path(route):
            yield route, pattern.callback, pattern.name


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # regex routes (none under /api/) have no OpenAPI form
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _openapi_path(route: str, view: Any) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    declared = path_schemas_of(view)
    for found in _CONVERTER.finditer(route):
        name, converter = found.group("name"), found.group("converter") or "str"
        schema = declared.get(name) or _CONVERTER_SCHEMAS.get(converter, {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": dict(schema)})
    return _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", route), parameters


class _Types:
    """Each type used, once, named as its class is, for ``components/schemas``."""

    def __init__(self) -> None:
        self.used: list[Any] = [ErrorBody]

    def ref(self, type_: Any) -> dict[str, Any]:
        if type_ not in self.used:
            self.used.append(type_)
        return {"__type__": self.used.index(type_)}

    def resolve(self, document: Any, schemas: tuple[dict[str, Any], ...]) -> Any:
        if isinstance(document, dict):
            if set(document) == {"__type__"}:
                return schemas[document["__type__"]]
            return {key: self.resolve(value, schemas) for key, value in document.items()}
        if isinstance(document, list):
            return [self.resolve(value, schemas) for value in document]
        return document


def _error_response(types: _Types, status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": types.ref(ErrorBody)}},
    }


def _operation(
    types: _Types, name: str | None, op: Operation, path_parameters: list[dict[str, Any]]
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in op.answers.items():
        description = HTTPStatus(status).phrase
        if answer is None:
            responses[str(status)] = {"description": description}
        elif answer == EVENT_STREAM:
            responses[str(status)] = {
                "description": "Server-Sent Events: `id:`, `event:` and JSON `data:` lines.",
                "content": {EVENT_STREAM: {"schema": _SSE_EVENT}},
            }
        else:
            content = {"application/json": {"schema": types.ref(answer)}}
            responses[str(status)] = {"description": description, "content": content}
    errors = set(op.errors) | ({400} if op.public else set(_AUTH_ERRORS))
    if op.body is not None:
        errors |= {413, 415}
    for status in sorted(errors - set(op.answers)):
        responses[str(status)] = _error_response(types, status)
    document: dict[str, Any] = {
        "operationId": f"{op.method}_{(name or 'route').replace('-', '_')}",
        "summary": op.summary,
        "tags": [op.tag] if op.tag else [],
        "parameters": [
            *path_parameters,
            *(
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required,
                    "description": p.description,
                    "schema": dict(p.schema),
                }
                for p in op.params
            ),
        ],
        "responses": responses,
    }
    if op.description:
        document["description"] = op.description
    if op.body is not None:
        schema = dict(op.body) if isinstance(op.body, Mapping) else types.ref(op.body)
        document["requestBody"] = {"required": True, "content": {op.body_media: {"schema": schema}}}
    if op.public:
        document["security"] = []
    elif op.write:
        document["description"] = (
            document.get("description", "") + "\n\nNeeds a read-write API key, a JWT with the "
            "write scope, or a staff session (with the CSRF token in `X-CSRFToken`)."
        ).strip()
    return document


_SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`sf_...`), or a JWT from the configured issuer.",
    },
    "Session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "A staff user's session (the dashboard page's requests); unsafe "
        "methods also need the CSRF token in `X-CSRFToken`.",
    },
}


def openapi_document(urlconf: str | None = None) -> dict[str, Any]:
    types = _Types()
    paths: dict[str, dict[str, Any]] = {}
    for route, view, name in api_routes(urlconf):
        operations = operations_of(view)
        if not operations:
            continue
        path, path_parameters = _openapi_path(route, view)
        paths[path] = {
            method: _operation(types, name, op, path_parameters)
            for method, op in operations.items()
        }
    schemas, components = msgspec.json.schema_components(types.used, ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Storefront API",
            "version": "1.0.0",
            "description": "The shop's operations API. Errors always answer "
            '`{"error": {"code", "message", "fields"?}}`; see docs/api.md.',
        },
        "paths": types.resolve(paths, schemas),
        "components": {"schemas": components, "securitySchemes": _SECURITY_SCHEMES},
        "security": [{"ApiKey": []}, {"Bearer": []}, {"Session": []}],
    }


@functools.cache
def openapi_json(urlconf: str | None = None) -> bytes:
    return orjson.dumps(openapi_document(urlconf))
