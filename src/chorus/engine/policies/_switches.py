"""Process-wide switches the policies read on each call; ``chorus.testing`` sets them."""

from __future__ import annotations

__all__ = ["testing"]

# True in a test suite: retries do not sleep between attempts.
testing = False
