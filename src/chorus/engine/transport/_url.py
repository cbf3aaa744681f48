"""``UpstreamURL``: a call's URL with its parts parsed once, for every call that uses it.

A call's URL is its upstream's base URL (from settings) and its path (from
``chorus.call()``), and a fan-out makes the same few of them on every request.
``Call.url`` builds each distinct one once, as an ``UpstreamURL``: a ``str``,
so every transport still receives the URL string the ``Transport`` protocol
promises, which also carries its origin, request target and ``Host`` value.
``Http1Transport`` reads those instead of splitting the string again per call.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from chorus.engine._exceptions import TransportError

__all__ = ["Origin", "UpstreamURL", "split_url"]

Origin = tuple[str, str, int]  # scheme, host, port

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def split_url(url: str) -> tuple[Origin, str, bytes]:
    """``url`` as its origin, its request target and its ``Host`` header value."""
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise TransportError(f"unsupported URL scheme {scheme!r}" if host else "URL has no host")
    port = parts.port or _DEFAULT_PORTS[scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    name = f"[{host}]" if ":" in host else host
    host_header = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
    encoded = host_header.encode("ascii" if host_header.isascii() else "idna")
    return (scheme, host, port), target, encoded


class UpstreamURL(str):
    """A URL string with its parts: ``origin``, ``target`` and ``host`` (as ``split_url``).

    Made once per URL and shared: treat it as immutable, as the ``str`` it is.
    """

    origin: Origin
    target: str
    host: bytes

    @classmethod
    def parse(cls, url: str) -> str:
        """``url`` with its parts, or as it is when a transport should refuse it itself."""
        try:
            parts = split_url(url)
        except (TransportError, ValueError):
            return url
        parsed = cls(url)
        parsed.origin, parsed.target, parsed.host = parts
        return parsed
