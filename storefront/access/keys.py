"""Making API keys and checking them, fast: a digest lookup behind a short in-process cache.

A request's key is hashed (SHA-256, a microsecond) and looked up in a small
per-process cache (``cachetools.TTLCache``); only a miss goes to the
database, through the async ORM. Answers, found or not, are kept for
``STOREFRONT_API_KEY_CACHE_TTL`` seconds (default 30), so a revoked key keeps
working in *other* processes for at most that long; the process that saves or
deletes a key forgets its entries at once. The cache holds digests, never
keys, and is bounded (least recently used out first). Unknown keys are
remembered in a cache of their own, so that guessing never evicts the real ones.

    plaintext, api_key = create_key(name="ci", scope=Scope.READ)
    credential = await check_key(plaintext)  # None when unknown or revoked
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from django.conf import settings
from django.core.signals import setting_changed
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


class _Remembered:
    """Known keys' credentials and unknown keys' digests, each kept for the TTL.

    Unknown keys are remembered apart, so that a flood of made-up keys, which
    fills that cache, never pushes the real keys out of this one.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        size = _MAX_CACHED if ttl > 0 else 0
        self.known: TTLCache[str, Credential] = TTLCache(maxsize=size, ttl=max(ttl, 1e-9))
        self.unknown: TTLCache[str, bool] = TTLCache(maxsize=size, ttl=max(ttl, 1e-9))


_remembered = _Remembered(_ttl())


def _cached(key_digest: str) -> tuple[bool, Credential | None]:
    credential = _remembered.known.get(key_digest)
    if credential is not None:
        return True, credential
    return key_digest in _remembered.unknown, None


def _remember(key_digest: str, credential: Credential | None) -> Credential | None:
    if _remembered.ttl > 0:
        if credential is None:
            _remembered.unknown[key_digest] = True
        else:
            _remembered.known[key_digest] = credential
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
    global _remembered
    _remembered = _Remembered(_ttl())


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STOREFRONT_API_KEY_CACHE_TTL":
        forget_keys()


def connect_signals() -> None:
    post_save.connect(forget_keys, sender=ApiKey, dispatch_uid="storefront.access.forget")
    post_delete.connect(forget_keys, sender=ApiKey, dispatch_uid="storefront.access.forget")
    setting_changed.connect(_on_setting_changed, dispatch_uid="storefront.access.ttl")
