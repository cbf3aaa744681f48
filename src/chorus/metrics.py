"""Hooks the policy chain reports through; no-ops until the Prometheus metrics land."""

from __future__ import annotations

__all__ = [
    "breaker_state",
    "cache_event",
    "hedged",
    "retried",
    "retry_budget_refused",
]


def retried(upstream: str) -> None:
    return None


def retry_budget_refused(upstream: str) -> None:
    return None


def hedged(upstream: str) -> None:
    return None


def breaker_state(upstream: str, state: str) -> None:
    return None


def cache_event(upstream: str, kind: str) -> None:
    return None
