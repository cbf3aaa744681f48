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

__all__ = ["ServiceStats"]


@dataclass(slots=True)
class ServiceStats:
    requests: int = 0
    in_flight: int = 0
    disconnects: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)

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
