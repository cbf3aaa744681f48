"""A revoked API key loses its open ``/ws/live/`` connections at once, on every worker.

Each WebSocket authenticated by a key joins the Channels group named after
that key (``group_for``). Revoking the key (``revoked_at`` set) or deleting it
sends ``live.revoked`` to the group once the transaction commits; every
consumer in it, in whichever worker, closes with ``4003``. The message goes
through Django Channels' layer: ``channels-redis`` pub/sub when ``REDIS_URL``
is set (one subscription per worker and group), in memory otherwise (the
admin and the sockets then share the one process, as in the demo).

The events themselves do not travel over the layer: they need an order, a
backlog to resume from and one reader per worker (``chorus.streams``), which
channel layers do not give. The layer is for what it is made for: reaching
particular connections, wherever they are.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from storefront.access.models import ApiKey

__all__ = ["REVOKED", "connect", "group_for"]

logger = logging.getLogger("storefront.live")

REVOKED = "live.revoked"


def group_for(identity: str) -> str:
    """The group of the sockets opened with ``identity`` (``key:<id>``): a name Channels
    accepts (ASCII letters, digits, ``.-_``, under 100 characters) whatever the identity holds."""
    return "live.credential." + hashlib.sha256(identity.encode()).hexdigest()[:40]


def close_connections_of(identity: str) -> None:
    """Tell every worker to close the live sockets opened with ``identity``. Sync; never raises."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_for(identity), {"type": REVOKED})
    except Exception:
        # The revocation itself is committed; the keys' cache ends those sockets' access
        # to everything else. Failing here must not fail the admin's save.
        logger.exception("could not tell the workers to close the live sockets of %s", identity)


def _key_saved(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    if instance.revoked:
        transaction.on_commit(partial(close_connections_of, f"key:{instance.pk}"))


def _key_deleted(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    transaction.on_commit(partial(close_connections_of, f"key:{instance.pk}"))


def connect() -> None:
    post_save.connect(_key_saved, sender=ApiKey, dispatch_uid="live-revocation-saved")
    post_delete.connect(_key_deleted, sender=ApiKey, dispatch_uid="live-revocation-deleted")
