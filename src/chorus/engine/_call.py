"""Calls to named upstreams, and the rules that keep them on their upstream.

``call("inventory", "/items/{sku}", path_params={"sku": sku})`` describes one
request. The upstream's scheme, host and base path come only from settings.
Request values go in ``path_params`` and ``params``: each path parameter is
percent-encoded as a single segment (``/``, ``?``, ``#``, ``@``, ``%`` and
CR/LF cannot survive it) and dot segments are refused, so no value can change
the host or climb out of the base path. The path template itself is checked
too, for the day someone formats a request value into it by hand.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import orjson

from chorus.engine._exceptions import UnsafeRequestError
from chorus.engine._policy_config import BreakerPolicy, CachePolicy, HedgePolicy, RetryPolicy
from chorus.engine._settings import UpstreamConfig
from chorus.engine.transport._base import header_problem
from chorus.engine.transport._url import UpstreamURL

__all__ = ["DEFAULT", "Call", "Default", "PolicyOverrides", "QueryValue", "call"]


class Default:
    """The type of ``DEFAULT``: "use the configured value" (an upstream's ``TIMEOUT``,
    ``CHORUS["DEFAULT_DEADLINE"]``)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = Default()

# A call's policy overrides: (breaker, retry, hedge, cache), each None for the
# upstream's own, False for off, or a policy to use instead.
PolicyOverrides = tuple[
    BreakerPolicy | bool | None,
    RetryPolicy | bool | None,
    HedgePolicy | bool | None,
    CachePolicy | bool | None,
]

QueryValue = str | int | float | Sequence[str | int | float]

_FORMATTER = string.Formatter()
_SAFE_PATH = re.compile(r"^(/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)*$")
_ENCODED_DELIMITER = re.compile(r"%(2e|2f|5c|00)", re.IGNORECASE)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One request to a named upstream. Build it with ``chorus.call(...)``."""

    upstream: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    body: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    required: bool = True
    timeout: float | Default | None = DEFAULT
    # None when the call uses its upstream's policies as configured (the common case).
    overrides: PolicyOverrides | None = None

    def __post_init__(self) -> None:
        # The one check of a call's own headers, however the call was made: the transport
        # sends them as they are (CheckedHeaders).
        for name, value in self.headers:
            if any(char in name + value for char in "\r\n\0"):
                raise UnsafeRequestError(self.upstream, f"header {name!r} contains a line break")
            if (problem := header_problem(name, value)) is not None:
                raise UnsafeRequestError(self.upstream, problem)

    def url(self, upstream: UpstreamConfig) -> str:
        """The full URL on ``upstream``, checked to stay under its base URL."""
        url = _url(upstream.base_url, self.path)
        if url is None:
            raise UnsafeRequestError(upstream.name, "path leaves the upstream's base URL")
        return url

    def resolved_timeout(self, upstream: UpstreamConfig) -> float | None:
        return upstream.timeout if isinstance(self.timeout, Default) else self.timeout


@functools.lru_cache(maxsize=4096)
def _url(base_url: str, path: str) -> str | None:
    # Cached: a fan-out asks for the same few URLs on every request, and the transport
    # reads the parts of one parsed object instead of splitting a new string each time.
    url = base_url + path
    base, target = urlsplit(base_url), urlsplit(url)
    stays_under = (target.scheme, target.netloc) == (base.scheme, base.netloc) and (
        target.path + "/"
    ).startswith(base.path + "/")
    return UpstreamURL.parse(url) if stays_under else None


def call(
    upstream: str,
    path: str = "",
    /,
    *,
    path_params: Mapping[str, str | int] | None = None,
    params: Mapping[str, QueryValue | None] | None = None,
    method: str = "GET",
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    required: bool = True,
    timeout: float | Default | None = DEFAULT,
    breaker: bool | None = None,
    retry: RetryPolicy | bool | None = None,
    hedge: HedgePolicy | bool | None = None,
    cache: CachePolicy | bool | None = None,
) -> Call:
    """Describe a request to the upstream named ``upstream`` in ``CHORUS["UPSTREAMS"]``.

    ``path`` is relative to the upstream's base URL and may hold ``{name}``
    placeholders filled from ``path_params``; query values go in ``params``
    (``None`` values are left out, sequences repeat the key). ``timeout`` is in
    seconds, defaults to the upstream's ``TIMEOUT``, and ``None`` means only the
    fan-out's deadline bounds the call.

    ``breaker``, ``retry``, ``hedge`` and ``cache`` override the upstream's
    policies for this call: ``False`` turns one off, a policy object
    (``chorus.RetryPolicy(...)``) replaces it, ``None`` keeps the configured one.

        chorus.call("inventory", "/items/{sku}", path_params={"sku": sku}, required=False)
        chorus.call("billing", "/charge", method="PUT", json=charge, retry=False)
    """
    verb = method.upper()
    if verb not in _METHODS:
        raise ValueError(f"unsupported method {method!r}")
    if timeout is not None and not isinstance(timeout, Default) and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds, or None for no limit")
    return Call(
        upstream=upstream,
        path=_safe_path(upstream, path, path_params or {}),
        params=_query_pairs(params or {}),
        method=verb,
        body=None if json is None else orjson.dumps(json),
        headers=tuple((headers or {}).items()),
        required=required,
        timeout=timeout,
        overrides=_overrides(breaker, retry, hedge, cache),
    )


def _overrides(
    breaker: bool | None,
    retry: RetryPolicy | bool | None,
    hedge: HedgePolicy | bool | None,
    cache: CachePolicy | bool | None,
) -> PolicyOverrides | None:
    for given, kind in ((retry, RetryPolicy), (hedge, HedgePolicy), (cache, CachePolicy)):
        if not (given is None or isinstance(given, bool | kind)):
            raise TypeError(f"expected None, a bool or a {kind.__name__}; got {given!r}")
    if breaker is not None and not isinstance(breaker, bool):
        raise TypeError(f"breaker takes None, True or False; got {breaker!r}")
    chosen = (breaker, retry, hedge, cache)
    # True means "as configured", like None: only a change is worth a chain of its own.
    if all(value is None or value is True for value in chosen):
        return None
    return tuple(None if value is True else value for value in chosen)  # type: ignore[return-value]


def _safe_path(upstream: str, template: str, values: Mapping[str, str | int]) -> str:
    if template and not template.startswith("/"):
        template = "/" + template
    _check_template(upstream, template)
    pieces: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        pieces.append(literal)
        if name is None:
            continue
        if spec or conversion or name not in values:
            raise ValueError(f"path placeholder {{{name}}} needs a plain value in path_params")
        pieces.append(_segment(upstream, values[name]))
    return "".join(pieces)


def _check_template(upstream: str, template: str) -> None:
    if "\\" in template or "//" in template:
        raise UnsafeRequestError(upstream, "path may not contain '//' or backslashes")
    if _ENCODED_DELIMITER.search(template):
        raise UnsafeRequestError(upstream, "path may not contain encoded '.', '/', '\\' or NUL")
    literal = "".join(part for part, *_ in _FORMATTER.parse(template))
    if not _SAFE_PATH.match(literal.replace("{", "").replace("}", "")):
        raise UnsafeRequestError(upstream, "path has characters outside a URL path")
    if any(segment in (".", "..") for segment in literal.split("/")):
        raise UnsafeRequestError(upstream, "path may not contain '.' or '..' segments")


def _segment(upstream: str, value: str | int) -> str:
    text = str(value)
    if text in ("", ".", ".."):
        raise UnsafeRequestError(upstream, f"path parameter {text!r} is not a usable segment")
    return quote(text, safe="")


def _query_pairs(params: Mapping[str, QueryValue | None]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else (value,)
        pairs.extend((key, _query_text(item)) for item in values)
    return tuple(pairs)


def _query_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"query values must be str, int or float; got {type(value).__name__}")
    return str(value)
