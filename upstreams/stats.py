"""Counters of what really reached each service, for tests to read back.

Paths and query strings are kept exactly as they arrived on the wire (raw
bytes, decoded as latin-1 so every byte survives), so a test can check that
nothing a client sent was rewritten, and that an injection attempt stayed
inside the path or query where it was put.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OTHER", "ServiceStats"]

# Distinct paths (and queries) kept per service: a load test sending unique
# URLs must not grow the simulator's memory without bound.
MAX_DISTINCT = 10_000
OTHER = "(other)"


@dataclass(slots=True)
class ServiceStats:
    requests: int = 0
    in_flight: int = 0
    disconnects: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)

    def record(self, raw_path: bytes, raw_query: bytes) -> None:
        """Count one request to ``raw_path`` (after the service prefix) with ``raw_query``."""
        self.requests += 1
        _count(self.paths, raw_path.decode("latin-1"))
        if raw_query:
            _count(self.queries, raw_query.decode("latin-1"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "in_flight": self.in_flight,
            "disconnects": self.disconnects,
            "paths": dict(self.paths),
            "queries": dict(self.queries),
        }

    def reset(self) -> None:
        # In-flight requests are still running; forgetting them would make the
        # count go negative when they finish.
        self.requests = self.disconnects = 0
        self.paths.clear()
        self.queries.clear()


def _count(counter: Counter[str], key: str) -> None:
    if key in counter or len(counter) < MAX_DISTINCT:
        counter[key] += 1
    else:
        counter[OTHER] += 1
