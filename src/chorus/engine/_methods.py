"""The HTTP methods chorus may send twice: one list for the policies and the transport."""

from __future__ import annotations

from typing import Final

__all__ = ["IDEMPOTENT_METHODS"]

# Idempotent (RFC 9110 §9.2.2): the only requests a retry or a hedge may repeat, and the
# only ones the transport resends on a keep-alive connection the server had closed.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
