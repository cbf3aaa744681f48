"""What every transport is: the ``Transport`` protocol and the response it returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Transport", "TransportResponse"]


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
