"""``MockTransport``: upstreams faked in a project's tests, without a server.

In the spirit of ``httpx.MockTransport`` and respx: routes name an upstream
of ``CHORUS["UPSTREAMS"]``, a method and a path under its ``BASE_URL``, and
answer with a ``MockResponse``, a handler or an exception. Every request is
recorded; one that no route matches fails its call with
``UnmatchedRequestError`` (a transport error, so the envelope says so) and
again, loudly, when ``mock_upstreams`` ends.

The transport is the innermost link: the policies (cache, breaker, retry,
hedge), the bulkhead, timeouts and the envelope all run as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, cast
from urllib.parse import unquote

import orjson

from chorus.engine._exceptions import ResponseTooLargeError, TransportError
from chorus.engine._settings import get_settings
from chorus.engine.transport import _factory
from chorus.engine.transport._base import TransportResponse

__all__ = [
    "Answer",
    "Handler",
    "MockRequest",
    "MockResponse",
    "MockRoute",
    "MockTransport",
    "UnmatchedRequestError",
    "mock_upstreams",
]


class UnmatchedRequestError(TransportError):
    """A request that no route of a ``MockTransport`` answers."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True, kw_only=True)
class MockRequest:
    """One request a ``MockTransport`` saw.

    ``upstream`` is the configured upstream whose ``BASE_URL`` the URL is under
    (``None`` when none is), ``path`` the rest of the URL, percent-decoded;
    ``path_params`` what a route's ``{name}`` segments matched.
    """

    upstream: str | None
    method: str
    path: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes | None = None
    path_params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when there is none)."""
        return None if self.body is None else orjson.loads(self.body)

    def header(self, name: str) -> str | None:
        """A request header, whatever its case."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.method} {self.upstream or self.url} {self.path}" + (
            f"?{query}" if query else ""
        )


@dataclass(frozen=True, slots=True)
class MockResponse:
    """What a route answers: a status, a JSON value or raw body, headers.

    ``json`` is encoded (and ``Content-Type: application/json`` set) unless
    ``body`` is given; ``delay`` seconds pass before the answer, for timeouts
    and hedging (the call's own timeout and the fan-out's deadline still cut it).
    """

    status: int = 200
    json: Any = _UNSET
    body: bytes | str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    delay: float = 0.0

    def _encode(self) -> tuple[dict[str, str], bytes]:
        headers = dict(self.headers)
        if self.body is not None:
            body = self.body.encode() if isinstance(self.body, str) else self.body
        elif self.json is not _UNSET:
            body = orjson.dumps(self.json)
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        else:
            body = b""
        return headers, body


#: A handler takes the request and returns (or awaits) a ``MockResponse``, or raises.
Handler = Callable[[MockRequest], MockResponse | Awaitable[MockResponse]]
#: What a route answers with: a response, a handler, or an exception to raise.
Answer = MockResponse | Handler | BaseException | type[BaseException]

_ROUTE = re.compile(r"(?P<method>[A-Z]+|\*)\s+(?P<upstream>[a-z0-9_-]+)\s*(?P<path>/\S*)")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(slots=True, eq=False)
class MockRoute:
    """One route of a ``MockTransport``: what it matches, what it answers, what it saw."""

    method: str
    upstream: str
    path: str
    answers: tuple[Answer, ...]
    requests: list[MockRequest] = field(default_factory=list)
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts = _PARAM.split(self.path)
        # Even parts are literal text; odd ones name a segment.
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        self._pattern = re.compile(regex)

    @property
    def called(self) -> bool:
        return bool(self.requests)

    @property
    def call_count(self) -> int:
        return len(self.requests)

    def __str__(self) -> str:
        return f"{self.method} {self.upstream} {self.path}"

    def _match(self, upstream: str | None, method: str, path: str) -> dict[str, str] | None:
        if upstream != self.upstream or self.method not in ("*", method):
            return None
        found = self._pattern.fullmatch(path)
        return None if found is None else found.groupdict()

    def _next_answer(self) -> Answer:
        # A list is answered in turn (before this request is recorded); its last one repeats.
        return self.answers[min(len(self.requests), len(self.answers) - 1)]


class MockTransport:
    """A ``chorus.Transport`` answering from routes, recording every request.

    ::

        mock = MockTransport({
            "GET inventory /stock": MockResponse(json={"count": 3}),
            "GET inventory /items/{sku}": lambda request: MockResponse(
                json={"sku": request.path_params["sku"]}
            ),
            "POST billing /charges": [MockResponse(503), MockResponse(201, json={"id": 1})],
            "GET analytics /summary": chorus.TransportError("connection reset"),
        })

    A route is ``"METHOD upstream /path"`` (``*`` for any method; ``{name}``
    matches one path segment). Its answer is a ``MockResponse``, a handler
    (sync or async) taking the ``MockRequest``, an exception (``TimeoutError``
    is a connect timeout, ``chorus.TransportError`` a failed exchange), or a
    list of those answered in turn, the last one repeating. The first route
    that matches answers. Install it with ``mock_upstreams(mock)`` (or the
    ``mock_upstreams`` pytest fixture); it is also a transport factory
    (``chorus.set_transport_factory(mock)``) for loops that have none yet.
    """

    def __init__(self, routes: Mapping[str, Answer | Sequence[Answer]] | None = None) -> None:
        self.routes: list[MockRoute] = []
        self.requests: list[MockRequest] = []
        self.unmatched: list[MockRequest] = []
        for route, answer in (routes or {}).items():
            self.route(route, answer)

    def route(
        self,
        route: str,
        answer: Answer | Sequence[Answer] | None = None,
        /,
        *,
        status: int = 200,
        json: Any = _UNSET,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> MockRoute:
        """Add a route; without ``answer``, the keywords make its ``MockResponse``."""
        found = _ROUTE.fullmatch(route.strip())
        if found is None:
            raise ValueError(
                f"route {route!r}: expected 'METHOD upstream /path', e.g. 'GET inventory /stock'"
            )
        if "?" in found["path"]:
            raise ValueError(
                f"route {route!r}: a route matches the path only; "
                "read the query in a handler (request.params)"
            )
        if answer is None:
            answers: tuple[Answer, ...] = (
                MockResponse(status, json, body, MappingProxyType(dict(headers or {})), delay),
            )
        elif isinstance(answer, Sequence) and not isinstance(answer, (str, bytes)):
            answers = tuple(answer)
            if not answers:
                raise ValueError(f"route {route!r}: an empty list of answers")
        else:
            answers = (answer,)
        added = MockRoute(found["method"], found["upstream"], found["path"], answers)
        self.routes.append(added)
        return added

    def get(self, upstream: str, path: str, answer: Answer | None = None, **kw: Any) -> MockRoute:
        """``route(f"GET {upstream} {path}", ...)``."""
        return self.route(f"GET {upstream} {path}", answer, **kw)

    def post(self, upstream: str, path: str, answer: Answer | None = None, **kw: Any) -> MockRoute:
        """``route(f"POST {upstream} {path}", ...)``."""
        return self.route(f"POST {upstream} {path}", answer, **kw)

    def calls(self, route: str) -> list[MockRequest]:
        """The requests a route answered, by its ``"METHOD upstream /path"``."""
        wanted = " ".join(route.split())
        for known in self.routes:
            if str(known) == wanted:
                return list(known.requests)
        raise KeyError(f"no route {route!r}; routes: {', '.join(map(str, self.routes)) or 'none'}")

    def assert_all_matched(self) -> None:
        """Raise ``UnmatchedRequestError`` if a request found no route."""
        if self.unmatched:
            raise UnmatchedRequestError(self._explain(self.unmatched))

    def __call__(self) -> MockTransport:
        # A transport factory: every loop gets this one (it holds nothing loop-bound).
        return self

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        connect_timeout: float | None = None,
        max_body_bytes: int,
    ) -> TransportResponse:
        upstream, path = _locate(url)
        for route in self.routes:
            path_params = route._match(upstream, method, path)
            if path_params is not None:
                break
        else:
            route, path_params = None, {}
        seen = MockRequest(
            upstream=upstream,
            method=method,
            path=path,
            url=url,
            params=tuple(params),
            headers=MappingProxyType(dict(headers or {})),
            body=body,
            path_params=MappingProxyType(path_params),
        )
        self.requests.append(seen)
        if route is None:
            self.unmatched.append(seen)
            raise UnmatchedRequestError(self._explain([seen]))
        answer = route._next_answer()
        route.requests.append(seen)
        response = await _respond(answer, seen)
        headers_out, content = response._encode()
        if response.delay:
            await asyncio.sleep(response.delay)
        if len(content) > max_body_bytes:
            raise ResponseTooLargeError(max_body_bytes)
        return TransportResponse(status=response.status, headers=headers_out, body=content)

    async def aclose(self) -> None:
        """Nothing to close: a mock holds no connection."""

    def _explain(self, requests: Sequence[MockRequest]) -> str:
        asked = "; ".join(map(str, requests))
        routes = ", ".join(map(str, self.routes)) or "none"
        return f"no mock route for {asked} (routes: {routes})"


async def _respond(answer: Answer, request: MockRequest) -> MockResponse:
    if isinstance(answer, MockResponse):
        return answer
    if isinstance(answer, BaseException) or (
        isinstance(answer, type) and issubclass(answer, BaseException)
    ):
        raise answer
    handler = cast(Handler, answer)
    result = handler(request)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, MockResponse):
        raise TypeError(f"a mock handler returned {result!r}, not a MockResponse")
    return result


def _locate(url: str) -> tuple[str | None, str]:
    """The configured upstream ``url`` is under (the longest base URL wins), and the rest."""
    best: tuple[str | None, str] = (None, url)
    longest = -1
    for name, upstream in get_settings().upstreams.items():
        base = upstream.base_url
        if url.startswith(base) and len(base) > longest:
            rest = url[len(base) :]
            if rest == "" or rest.startswith(("/", "?")):
                best, longest = (name, unquote(rest.split("?", 1)[0]) or "/"), len(base)
    return best


@contextlib.contextmanager
def mock_upstreams(
    routes: MockTransport | Mapping[str, Answer | Sequence[Answer]] | None = None,
    *,
    assert_all_matched: bool = True,
) -> Iterator[MockTransport]:
    """Answer every chorus call with a ``MockTransport`` inside the block, on every loop.

    ``routes`` is a ``MockTransport`` or the routes to make one of; the block
    may add routes to the one it is given. Afterwards the transport that was
    in use before is back, and, unless ``assert_all_matched=False``, a request
    that no route matched raises ``UnmatchedRequestError`` (also when the call
    that made it had already reported it as an error in its envelope).
    """
    mock = routes if isinstance(routes, MockTransport) else MockTransport(routes)
    previous = _factory.override_transport(mock)
    failed = False
    try:
        yield mock
    except BaseException:
        failed = True
        raise
    finally:
        _factory.override_transport(previous)
        if assert_all_matched and not failed:
            mock.assert_all_matched()
