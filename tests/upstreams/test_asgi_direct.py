"""The app called directly over ASGI, for the paths a real server never takes."""

from __future__ import annotations

from typing import Any

from upstreams.app import Simulator
from upstreams.stats import MAX_DISTINCT, OTHER, ServiceStats
from upstreams.wire import Message


def _scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [],
    }


async def test_reset_without_a_reachable_transport_sends_a_truncated_response() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    # A plain function, not a server's bound method: no transport to reset.
    async def send(message: Message) -> None:
        sent.append(message)

    await Simulator()(_scope("/users/summary", b"fault=reset&latency_ms=0"), receive, send)

    start, body = sent
    promised = int(dict(start["headers"])[b"content-length"])
    assert body["more_body"] is True
    assert len(body["body"]) < promised


def test_distinct_paths_beyond_the_cap_are_counted_together() -> None:
    stats = ServiceStats()

    for number in range(MAX_DISTINCT + 5):
        stats.record(f"/items/{number}".encode(), b"")
    stats.record(b"/items/0", b"")

    assert len(stats.paths) == MAX_DISTINCT + 1
    assert (stats.paths[OTHER], stats.paths["/items/0"], stats.requests) == (5, 2, MAX_DISTINCT + 6)
