"""What every transport is: the ``Transport`` protocol and the response it returns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = ["CheckedHeaders", "Transport", "TransportResponse", "header_problem"]

_HEADER_NAME: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# Sent by the transport itself; a second copy would make the message ambiguous.
_FRAMING_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def header_problem(name: str, value: str) -> str | None:
    """What makes ``name: value`` unfit to send (a line break, a bad name), or None."""
    if "\r" in value or "\n" in value or not _HEADER_NAME.match(name):
        return f"header {name!r} is not a valid HTTP header"
    if name.lower() in _FRAMING_HEADERS:
        return f"header {name!r} is the transport's to set"
    return None


class CheckedHeaders(dict[str, str]):
    """Headers checked (``header_problem``) where they came in, which a transport sends as
    they are: a ``Call``'s when it was made, the forwarded ones as they were read, the
    request id by its middleware. Any other mapping is checked by the transport per call.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class TransportResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    # 2 when the request was re-sent after a reused connection dropped (RFC 9112 §9.3.1).
    attempts: int = 1


class Transport(Protocol):
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
        """Send one request to ``url`` (already percent-encoded) and read its body.

        Raises ``TransportError`` (or ``ResponseTooLargeError``) for a failed
        exchange and ``TimeoutError`` when the connection cannot be made in time.
        Must never follow redirects: a redirect could steer the call to another host.
        """
        ...

    async def aclose(self) -> None: ...
