"""Making API keys and checking them, fast: a digest lookup behind a short in-process cache.

A request's key is hashed (SHA-256, a microsecond) and looked up in a small
per-process cache (``CoalescingCache``); only a miss goes to the
database, once however many requests missed together. Answers, found or not, are kept for
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
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from cachetools import TTLCache
from django.core.signals import setting_changed
from django.db import close_old_connections
from django.db.models.signals import post_delete, post_save

from storefront.access.coalesce import CoalescingCache
from storefront.access.conf import conf
from storefront.access.models import ApiKey, Scope

__all__ = [
    "MIN_KEY_LENGTH",
    "Credential",
    "acheck_key",
    "aclose",
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
    return conf.api_key_cache_ttl


class _UnknownKeyError(Exception):
    """A lookup found no usable key: remembered apart, never as a known key's entry."""


class _Remembered:
    """Known keys' credentials and unknown keys' digests, each kept for the TTL.

    Known keys sit in a ``CoalescingCache`` (``coalesce.py``): a burst of requests for a key
    that is not cached makes one query, and a key in use is looked up again
    ahead of its expiry, so it never goes cold under steady traffic. Unknown
    keys are remembered apart, so that a flood of made-up keys, which fills
    that cache, never pushes the real keys out of this one.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.known: CoalescingCache[str, Credential] = CoalescingCache(ttl=ttl, maxsize=_MAX_CACHED)
        size = _MAX_CACHED if ttl > 0 else 0
        self.unknown: TTLCache[str, bool] = TTLCache(maxsize=size, ttl=max(ttl, 1e-9))

    def remember_unknown(self, key_digest: str) -> None:
        if self.ttl > 0:
            self.unknown[key_digest] = True


_remembered = _Remembered(_ttl())


def _credential(api_key: ApiKey | None) -> Credential | None:
    if api_key is None or api_key.revoked:
        return None
    return Credential(identity=f"key:{api_key.pk}", name=api_key.name, scope=api_key.scope)


def _lookup(key_digest: str) -> Credential:
    """One query, in whichever thread runs it; its connection is tidied as a request's is."""
    try:
        credential = _credential(ApiKey.objects.filter(digest=key_digest).first())
    finally:
        close_old_connections()
    if credential is None:
        raise _UnknownKeyError
    return credential


async def acheck_key(key: str) -> Credential | None:
    """The key's credential, or ``None``; the database is asked only on a cache miss.

    Concurrent misses for one key share a single query (see ``_Remembered``); it runs
    on ``sync_to_async``'s one shared thread, not on a thread of each request's own.
    """
    key_digest = digest(key)
    remembered = _remembered
    if key_digest in remembered.unknown:
        return None
    try:
        return await remembered.known.get(key_digest, partial(_alookup, remembered, key_digest))
    except _UnknownKeyError:
        return None


async def _alookup(remembered: _Remembered, key_digest: str) -> Credential:
    try:
        return await sync_to_async(_lookup)(key_digest)
    except _UnknownKeyError:
        # Also when a refresh ahead of expiry finds the key revoked: refused from now on.
        remembered.remember_unknown(key_digest)
        raise


def check_key(key: str) -> Credential | None:
    """``acheck_key`` for sync code (the WSGI baseline)."""
    key_digest = digest(key)
    remembered = _remembered
    if key_digest in remembered.unknown:
        return None
    credential = remembered.known.peek(key_digest)
    if isinstance(credential, Credential):
        return credential
    api_key = ApiKey.objects.filter(digest=key_digest).first()
    found = _credential(api_key)
    if found is None:
        remembered.remember_unknown(key_digest)
    else:
        remembered.known.put(key_digest, found)
    return found


async def aclose() -> None:
    """Cancel this loop's key lookups in flight (``chorus.server.on_shutdown``)."""
    await _remembered.known.aclose()


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
