"""Resilience policies, one module each, linked into a chain per upstream by ``chorus.chain``:

    cache (singleflight, stale-if-error) → breaker → retry (budget) → hedge → bulkhead → transport

Settings are read in ``policies.config``; per-process state lives in ``policies.registry``.
"""
