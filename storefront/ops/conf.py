"""Limits shared by the gunicorn worker (worker.py, no Django settings there) and settings.py.

``STOREFRONT_MAX_HEADER_BYTES`` bounds a request's headers twice with one value:
the worker's protocol (storefront.ops.protocol, request line and headers as they
arrive) and chorus's ``CHORUS["REQUEST_LIMITS"]["MAX_HEADER_BYTES"]`` (names and
values, under any server). Both answer ``431`` beyond it.
"""

from __future__ import annotations

__all__ = ["MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 32 * 1024
