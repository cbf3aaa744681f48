"""Open live streams lose their credential everywhere within seconds: one re-check per worker.

Every ``/api/live/`` stream and ``/ws/live/`` socket is watched for the
credential it was opened with (a ``Grant``: an API key, or a staff user's
session). ``watch(grant)`` hands it a future, the stream's ``cutoff``
(``chorus.streams``): when the credential lapses the future is given
``revoked_event(reason)`` and the stream ends with it (SSE: ``event: revoked``,
``{"reason": ...}``; WebSocket: that message, then close code ``4003`` with
the reason).

Two ways reach a stream, one the other's fallback:

- **The re-check, in every process.** While a worker (event loop) has streams
  open, one task re-checks every credential they hold, every
  ``STOREFRONT_LIVE["RECHECK_INTERVAL"]`` seconds (1 by default), with at most
  three queries however many streams there are, on one thread of its own:
  the keys still unrevoked, the sessions still there and unexpired, the users
  still active staff. It needs nothing but the database every process already
  shares (SQLite in the demo), so a key revoked by ``manage.py api_key revoke``
  in another process, a logout served by another worker, or a user
  deactivated in the shell ends the streams on every worker within that
  interval (plus one query).
- **Signals, in the process where it happens, at once.** A key revoked or
  deleted, a user saved inactive or no longer staff, a user logging out
  (``user_logged_out``) or a session deleted end this process's streams as
  soon as the change commits, without waiting for the next re-check. A
  revoked key also tells the Channels layer (``group_for``), which with
  ``REDIS_URL`` reaches every worker's sockets at once.

Reasons: ``api_key_revoked`` (revoked or deleted), ``logged_out`` (the session
is gone: logout, flush, deletion), ``session_expired``, ``user_deactivated``
(inactive or deleted) and ``staff_revoked`` (no longer staff). If the re-check
cannot reach the database, streams stay open and it is retried (logged);
requests are refused by ``storefront.access`` as before.

The events themselves do not travel over the Channels layer: they need an
order, a backlog to resume from and one reader per worker (``chorus.streams``),
which channel layers do not give.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model, user_logged_out
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest

from chorus.streams import Event
from storefront.access.keys import Credential, forget_keys
from storefront.access.models import ApiKey
from storefront.live.lapsed import Name, lapsed

__all__ = [
    "REASONS",
    "REVOKED",
    "Grant",
    "agrant_for_request",
    "close_connections_of",
    "connect",
    "end_streams",
    "grant_for",
    "group_for",
    "revocation_message",
    "revoked_event",
    "watch",
    "watched_count",
]

logger = logging.getLogger("storefront.live")

REVOKED = "live.revoked"

REASONS: dict[str, str] = {
    "api_key_revoked": "The API key this stream was opened with has been revoked.",
    "logged_out": "The session this stream was opened with has ended (logged out).",
    "session_expired": "The session this stream was opened with has expired.",
    "user_deactivated": "The user this stream was opened by has been deactivated.",
    "staff_revoked": "The user this stream was opened by is no longer staff.",
}

# What a watcher indexes streams by: ("key", id), ("session", key) or ("user", id).


def revoked_event(reason: str) -> Event:
    """The last event of a stream whose credential lapsed: ``revoked``, its reason and why."""
    return Event(event="revoked", data={"reason": reason, "message": REASONS[reason]})


def revocation_message(cutoff: asyncio.Future[Event]) -> str:
    """What a done cutoff says (its event's message)."""
    event = cutoff.result()
    return str(event.data["message"])


@dataclass(frozen=True, slots=True)
class Grant:
    """What a stream was opened with: an API key's id, or a staff user's id and session key."""

    key_id: int | None = None
    user_id: int | None = None
    session_key: str | None = None

    def names(self) -> list[Name]:
        names: list[Name] = []
        if self.key_id is not None:
            names.append(("key", self.key_id))
        if self.user_id is not None:
            names.append(("user", self.user_id))
        if self.session_key is not None:
            names.append(("session", self.session_key))
        return names


def grant_for(credential: Credential | None, user: object, session_key: str | None) -> Grant | None:
    """The grant of a request or socket let in with ``credential`` or as ``user``.

    ``None`` for what cannot be revoked here (a JWT lives until it expires).
    """
    if credential is not None:
        kind, _, key_id = credential.identity.partition(":")
        return Grant(key_id=int(key_id)) if kind == "key" and key_id.isdigit() else None
    user_id = getattr(user, "pk", None)
    if user_id is None or not getattr(user, "is_authenticated", False):
        return None
    return Grant(user_id=int(user_id), session_key=session_key)


async def agrant_for_request(request: HttpRequest) -> Grant | None:
    """The grant of a request that ``storefront.access`` let through."""
    credential = getattr(request, "credential", None)
    if credential is not None:
        return grant_for(credential, None, None)
    session = getattr(request, "session", None)
    # The user the access middleware loaded (``auser`` keeps it): no second query.
    return grant_for(None, await request.auser(), getattr(session, "session_key", None))


class _Watcher:
    """One event loop's watched streams, and the task that re-checks their credentials."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.streams: dict[asyncio.Future[Event], Grant] = {}
        self.by_name: dict[Name, set[asyncio.Future[Event]]] = {}
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        # Resolved at the end of each re-check: what ``checked`` waits for.
        self.round: asyncio.Future[None] = loop.create_future()

    def add(self, grant: Grant) -> asyncio.Future[Event]:
        future: asyncio.Future[Event] = self.loop.create_future()
        self.streams[future] = grant
        for name in grant.names():
            self.by_name.setdefault(name, set()).add(future)
        future.add_done_callback(self._forget)
        if self.task is None:
            self.task = self.loop.create_task(self._recheck())
        return future

    def _forget(self, future: asyncio.Future[Event]) -> None:
        grant = self.streams.pop(future, None)
        if grant is None:
            return
        for name in grant.names():
            futures = self.by_name.get(name)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self.by_name[name]

    def end(self, name: Name, reason: str) -> None:
        if reason == "api_key_revoked":
            # This process's key cache would let the key in again for up to its TTL
            # (a browser's EventSource reconnects by itself): it asks the database now.
            forget_keys()
        for future in list(self.by_name.get(name, ())):
            if not future.done():
                future.set_result(revoked_event(reason))

    async def checked(self) -> None:
        """Wait for a re-check that starts from now (one for every stream waiting)."""
        this_round = self.round
        self.wake.set()
        await asyncio.shield(this_round)

    def _next_round(self) -> None:
        if not self.round.done():
            self.round.set_result(None)

    async def _recheck(self) -> None:
        interval = _interval()
        try:
            while self.streams:
                try:
                    async with asyncio.timeout(interval):
                        await self.wake.wait()
                except TimeoutError:
                    pass
                self.wake.clear()
                # Streams registered from here on wait for the next round, not this one.
                this_round, self.round = self.round, self.loop.create_future()
                try:
                    ended = await _run(lapsed, list(self.by_name))
                except Exception:
                    logger.exception("live streams: cannot re-check their credentials; retrying")
                    await _run(connections.close_all)
                    ended = []
                finally:
                    if not this_round.done():
                        this_round.set_result(None)
                for name, reason in ended:
                    self.end(name, reason)
        finally:
            self._next_round()
            self.task = None
            if _watchers.get(id(self.loop)) is self:
                del _watchers[id(self.loop)]
            # The thread's connection is not kept while nothing is watched.
            _executor.submit(connections.close_all)


_watchers: dict[int, _Watcher] = {}
_executor = ThreadPoolExecutor(1, thread_name_prefix="live-recheck")


async def _run[T](function: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)


def _interval() -> float:
    from storefront.live.conf import live_settings

    return live_settings().recheck_interval


def _watcher() -> _Watcher:
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(id(loop))
    if watcher is None or watcher.loop is not loop:
        watcher = _watchers[id(loop)] = _Watcher(loop)
    return watcher


async def watch(grant: Grant) -> asyncio.Future[Event]:
    """A cutoff for a stream opened with ``grant``: given ``revoked_event(...)`` when it lapses.

    An API key is checked against the database before this returns (with every
    other stream opening meanwhile: one query), not taken from the key cache,
    which may still hold a key revoked elsewhere; when it has lapsed the
    future is already done, and the stream should be refused. (A session and
    its user were just read from the database by the access middleware.)
    Cancel the future (chorus's streams do, when they end) and the stream is no
    longer watched.
    """
    watcher = _watcher()
    future = watcher.add(grant)
    if grant.key_id is not None:
        await watcher.checked()
    return future


def watched_count() -> int:
    """Streams this event loop watches (for tests and metrics)."""
    watcher = _watchers.get(id(asyncio.get_running_loop()))
    return 0 if watcher is None else len(watcher.streams)


def end_streams(name: Name, reason: str) -> None:
    """End this process's streams opened with ``name``, on every event loop; from any thread."""
    for watcher in list(_watchers.values()):
        try:
            watcher.loop.call_soon_threadsafe(watcher.end, name, reason)
        except RuntimeError:  # that loop has closed
            continue


# -- Signals: this process's streams at once; sockets elsewhere through Channels --------


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
        # The revocation itself is committed; the re-check ends those sockets within
        # seconds anyway. Failing here must not fail the admin's save.
        logger.exception("could not tell the workers to close the live sockets of %s", identity)


def _key_revoked(key_id: int) -> None:
    end_streams(("key", key_id), "api_key_revoked")
    close_connections_of(f"key:{key_id}")


def _key_saved(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    if instance.revoked:
        transaction.on_commit(partial(_key_revoked, instance.pk))


def _key_deleted(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    transaction.on_commit(partial(_key_revoked, instance.pk))


def _user_saved(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        transaction.on_commit(partial(end_streams, ("user", instance.pk), "user_deactivated"))
    elif not instance.is_staff:
        transaction.on_commit(partial(end_streams, ("user", instance.pk), "staff_revoked"))


def _user_deleted(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(end_streams, ("user", instance.pk), "user_deactivated"))


def _logged_out(sender: type[Any], request: HttpRequest | None, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        end_streams(("session", session_key), "logged_out")


def _session_deleted(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(end_streams, ("session", instance.session_key), "logged_out"))


def connect() -> None:
    from django.contrib.sessions.models import Session

    user = get_user_model()
    post_save.connect(_key_saved, sender=ApiKey, dispatch_uid="live-revocation-saved")
    post_delete.connect(_key_deleted, sender=ApiKey, dispatch_uid="live-revocation-deleted")
    post_save.connect(_user_saved, sender=user, dispatch_uid="live-revocation-user-saved")
    post_delete.connect(_user_deleted, sender=user, dispatch_uid="live-revocation-user-deleted")
    post_delete.connect(_session_deleted, sender=Session, dispatch_uid="live-revocation-session")
    user_logged_out.connect(_logged_out, dispatch_uid="live-revocation-logged-out")
