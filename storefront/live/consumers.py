"""``/ws/live/``: the same live events over a WebSocket (Django Channels), the same access rules.

Each message is one JSON text frame ``{"id", "event", "data"}``, exactly what
``/api/live/`` sends as ``id:``/``event:``/``data:``; the first is ``ready``.
Resume with ``?last_event_id=<id>`` (a WebSocket has no ``Last-Event-ID``).

Access, as on ``/api/`` (storefront/access/): an API key (``X-API-Key`` or
``Authorization: Bearer``, a key or a JWT) or an active staff user's session
cookie. A cookie-authenticated socket must come from the page's own origin:
browsers send cookies with cross-site WebSockets, so this is the CSRF check.
Refusals close the handshake (403). Keep-alive pings are the server's
(uvicorn ``--ws-ping-interval``, daphne ``--ping-interval``).

The events come from the worker's hub (``chorus.streams``: one reader per
worker, ordered, resumable). When the credential a socket was opened with
lapses (a key revoked, a logout, a user deactivated), on whichever process,
the socket gets a last message ``{"id": null, "event": "revoked", "data":
{"reason": ..., "message": ...}}`` and is closed with ``4003`` and the reason
(``storefront/live/revocation.py``: its worker's re-check, within a second or
two; a revoked key's group on the channel layer, at once, on every worker
when ``REDIS_URL`` is set).
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer

import chorus
from chorus.streams import Event, Overflow, to_frame
from storefront.access.keys import Credential, acheck_key
from storefront.access.tokens import check_token, looks_like_jwt
from storefront.live.backends import get_hub
from storefront.live.revocation import grant_for, group_for, revoked_event, watch

__all__ = ["LiveConsumer"]

# Its label in chorus_streams_open: Channels' router is not Django's resolver, so spelled here.
ROUTE = "/ws/live/"
# 4000-4999 are the application's own close codes.
CLOSE_REVOKED = 4003
CLOSE_OVERFLOW = 4008


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {
        name.decode("latin1").lower(): value.decode("latin1") for name, value in scope["headers"]
    }


def _presented_key(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    key = headers.get("x-api-key")
    return None if key is None else key.strip()


async def _key_credential(key: str) -> Credential | None:
    if not key:
        return None
    return check_token(key) if looks_like_jwt(key) else await acheck_key(key)


def _same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == headers.get("host")


class LiveConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    _pump: asyncio.Task[None] | None = None
    _group: str | None = None
    _cutoff: asyncio.Future[Event] | None = None

    async def connect(self) -> None:
        credential = await self._allowed()
        if credential is False:
            await self.close()  # before accept: the handshake is refused with a 403
            return
        if isinstance(credential, Credential) and self.channel_layer is not None:
            self._group = group_for(credential.identity)
            await self.channel_layer.group_add(self._group, self.channel_name)
        after = (
            parse_qs(self.scope.get("query_string", b"").decode()).get("last_event_id") or [None]
        )[0]
        hub = get_hub()
        if after is not None:
            try:
                hub.log.sort_key(after)
            except ValueError:
                await self.close()
                return
        session = self.scope.get("session")
        grant = grant_for(
            credential if isinstance(credential, Credential) else None,
            self.scope.get("user"),
            getattr(session, "session_key", None),
        )
        if grant is not None:
            cutoff = await watch(grant)
            if cutoff.done():  # revoked elsewhere, still in this worker's key cache
                await self.close()
                return
            self._cutoff = cutoff
        await self.accept()
        self._pump = asyncio.create_task(self._forward(after))
        if self._cutoff is not None:
            self._cutoff.add_done_callback(self._cut)

    async def _allowed(self) -> Credential | bool:
        """The key's credential, ``True`` for a staff session from the page, ``False`` otherwise."""
        headers = _headers(self.scope)
        key = _presented_key(headers)
        if key is not None:
            return await _key_credential(key) or False
        user = self.scope.get("user")
        staff = bool(user and user.is_authenticated and user.is_active and user.is_staff)
        return staff and _same_origin(headers)

    async def live_revoked(self, message: dict[str, Any]) -> None:
        """``revocation.REVOKED``: the key this socket was opened with is revoked."""
        if self._cutoff is not None and not self._cutoff.done():
            self._cutoff.set_result(revoked_event("api_key_revoked"))

    def _cut(self, cutoff: asyncio.Future[Event]) -> None:
        if not cutoff.cancelled():
            self._ending = asyncio.create_task(self._end(cutoff.result()))

    async def _end(self, event: Event) -> None:
        """The credential lapsed: stop the events, say why, close with ``4003`` and the reason."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait({pump})
        message = {"id": None, "event": event.event, "data": event.data}
        await self.send(text_data=orjson.dumps(message).decode())
        await self.close(code=CLOSE_REVOKED, reason=event.data["reason"])

    async def _forward(self, after: str | None) -> None:
        # A viewer is open while its events are forwarded (chorus_streams_open).
        with chorus.streams.track_stream(ROUTE, "websocket"):
            async with aclosing(get_hub().subscribe(after)) as items:
                async for item in items:
                    event_id, name, data = to_frame(item)
                    message = {"id": event_id, "event": name, "data": data}
                    await self.send(text_data=orjson.dumps(message).decode())
                    if isinstance(item, Overflow):
                        await self.close(code=CLOSE_OVERFLOW)
                        return

    async def disconnect(self, code: int) -> None:
        cutoff, self._cutoff = self._cutoff, None
        if cutoff is not None and not cutoff.done():
            cutoff.cancel()  # no longer watched
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait({pump})
        group, self._group = self._group, None
        if group is not None and self.channel_layer is not None:
            await self.channel_layer.group_discard(group, self.channel_name)
