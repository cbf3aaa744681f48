"""Resilience policies, one module each, behind the ``Attempt``/``Reply`` seam (private)."""
