"""The re-check's question: which of these credentials have lapsed, and why.

At most three queries however many streams are open: the keys still
unrevoked, the users still active staff, the sessions still there and
unexpired (one query for database-backed sessions; one lookup each for the
others). Sync: ``storefront.live.revocation`` runs it on its own thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from storefront.access.models import ApiKey

__all__ = ["Name", "lapsed"]

# What a stream was opened with: ("key", id), ("user", id) or ("session", key).
Name = tuple[str, object]


def lapsed(names: Iterable[Name]) -> list[tuple[Name, str]]:
    """The names among ``names`` whose credential has lapsed, each with its reason."""
    key_ids: set[int] = set()
    user_ids: set[int] = set()
    session_keys: set[str] = set()
    for kind, value in names:
        if kind == "key":
            key_ids.add(int(value))  # type: ignore[call-overload]
        elif kind == "user":
            user_ids.add(int(value))  # type: ignore[call-overload]
        else:
            session_keys.add(str(value))
    ended: list[tuple[Name, str]] = []
    if key_ids:
        alive = set(
            ApiKey.objects.filter(pk__in=key_ids, revoked_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        ended += [(("key", key_id), "api_key_revoked") for key_id in key_ids - alive]
    if user_ids:
        users = {
            pk: (active, staff)
            for pk, active, staff in get_user_model()
            .objects.filter(pk__in=user_ids)
            .values_list("pk", "is_active", "is_staff")
        }
        for user_id in user_ids:
            active, staff = users.get(user_id, (False, False))
            if not active:
                ended.append((("user", user_id), "user_deactivated"))
            elif not staff:
                ended.append((("user", user_id), "staff_revoked"))
    if session_keys:
        ended += [(("session", key), reason) for key, reason in _sessions_lapsed(session_keys)]
    return ended


def _sessions_lapsed(keys: set[str]) -> list[tuple[str, str]]:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, DatabaseSessionStore):  # cache, file...: one lookup per session
        return [(key, "logged_out") for key in keys if not store().exists(key)]
    # The database's sessions (``db``, ``cached_db``): one query for them all.
    expiry = dict(
        store.get_model_class()
        .objects.filter(session_key__in=keys)
        .values_list("session_key", "expire_date")
    )
    now = timezone.now()
    lapsed = []
    for key in keys:
        expires = expiry.get(key)
        if expires is None:
            lapsed.append((key, "logged_out"))
        elif expires <= now:
            lapsed.append((key, "session_expired"))
    return lapsed
