"""Making API keys and checking them, fast: a digest lookup behind a short in-process cache.

A request's key is hashed (SHA-256, a microsecond) and looked up in a small
per-process dictionary; only a miss goes to the database, through the async
ORM. Answers, found or not, are kept for ``STOREFRONT_API_KEY_CACHE_TTL``
seconds (default 30), so a revoked key keeps working in *other* processes for
at most that long; the process that saves or deletes a key forgets its entry
at once. The cache holds digests, never keys, and is bounded: when full it is
emptied, which costs a few database queries and nothing else. Unknown keys are
remembered in a separate map, so that guessing never evicts the real ones.

    plaintext, api_key = create_key(name="ci", scope=Scope.READ)
    credential = await check_key(plaintext)  # None when unknown or revoked
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from storefront.access.models import ApiKey, Scope

__all__ = [
    "MIN_KEY_LENGTH",
    "Credential",
    "acheck_key",
    "check_key",
    "connect_signals",
    "create_key",
    "digest",
    "forget_keys",
    "new_key",
]

MIN_KEY_LENGTH = 24
_KEY_PREFIX = "sf_"
_MAX_CACHED = 10_000
_cache: dict[str, tuple[float, Credential | None]] = {}
# Unknown keys are remembered apart, so that a flood of made-up keys, which
# fills this one, never pushes the real keys out of the cache above.
_misses: dict[str, float] = {}


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request's key or token allows; ``identity`` (``key:<id>``, ``jwt:<sub>``) names it."""

    identity: str
    name: str
    scope: str

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.READ_WRITE


def new_key() -> str:
    """A fresh key: ``sf_`` and 43 URL-safe characters (256 random bits)."""
    return _KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(*, name: str, scope: str, key: str | None = None) -> tuple[str, ApiKey]:
    """Store a key (a new one unless ``key`` is given) and return it in clear, once."""
    plaintext = key if key is not None else new_key()
    if len(plaintext) < MIN_KEY_LENGTH or not plaintext.isprintable() or " " in plaintext:
        raise ValueError(f"an API key must be at least {MIN_KEY_LENGTH} printable characters")
    api_key = ApiKey.objects.create(
        name=name, scope=scope, prefix=plaintext[:8], digest=digest(plaintext)
    )
    return plaintext, api_key


def _ttl() -> float:
    return float(getattr(settings, "STOREFRONT_API_KEY_CACHE_TTL", 30.0))


def _cached(key_digest: str) -> tuple[bool, Credential | None]:
    now = time.monotonic()
    entry = _cache.get(key_digest)
    if entry is not None and entry[0] > now:
        return True, entry[1]
    return _misses.get(key_digest, 0.0) > now, None


def _remember(key_digest: str, credential: Credential | None) -> Credential | None:
    ttl = _ttl()
    if ttl > 0:
        remembered: dict[str, Any] = _misses if credential is None else _cache
        if len(remembered) >= _MAX_CACHED:
            remembered.clear()
        if credential is None:
            _misses[key_digest] = time.monotonic() + ttl
        else:
            _cache[key_digest] = (time.monotonic() + ttl, credential)
    return credential


def _credential(api_key: ApiKey | None) -> Credential | None:
    if api_key is None or api_key.revoked:
        return None
    return Credential(identity=f"key:{api_key.pk}", name=api_key.name, scope=api_key.scope)


async def acheck_key(key: str) -> Credential | None:
    """The key's credential, or ``None``; the database is asked only on a cache miss."""
    key_digest = digest(key)
    found, credential = _cached(key_digest)
    if found:
        return credential
    api_key = await ApiKey.objects.filter(digest=key_digest).afirst()
    return _remember(key_digest, _credential(api_key))


def check_key(key: str) -> Credential | None:
    """``acheck_key`` for sync code (the WSGI baseline)."""
    key_digest = digest(key)
    found, credential = _cached(key_digest)
    if found:
        return credential
    api_key = ApiKey.objects.filter(digest=key_digest).first()
    return _remember(key_digest, _credential(api_key))


def forget_keys(**kwargs: Any) -> None:
    """Empty this process's cache: the next request for each key asks the database."""
    _cache.clear()
    _misses.clear()


def connect_signals() -> None:
    post_save.connect(forget_keys, sender=ApiKey, dispatch_uid="storefront.access.forget")
    post_delete.connect(forget_keys, sender=ApiKey, dispatch_uid="storefront.access.forget")
