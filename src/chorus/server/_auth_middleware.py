"""``AuthenticationMiddleware`` with its hook on the event loop (see ``_stock_middleware.py``).

A module of its own because importing Django's auth middleware imports the auth
models: ``chorus.server`` loads this one the first time the class is asked for,
so importing chorus needs neither a ready app registry nor ``django.contrib.auth``.
"""

from __future__ import annotations

from django.contrib.auth import middleware as auth

from chorus.server._middleware_bases import NonBlockingMiddlewareMixin

__all__ = ["AuthenticationMiddleware"]


class AuthenticationMiddleware(NonBlockingMiddlewareMixin, auth.AuthenticationMiddleware):  # type: ignore[misc]
    """Django's ``AuthenticationMiddleware``, its hook on the event loop.

    Safe: ``process_request`` checks that ``request.session`` exists and sets two
    lazy accessors, ``request.user`` (a ``SimpleLazyObject``) and
    ``request.auser`` (a coroutine function); neither loads the session or the
    user. Loading happens where the user is first used: a sync view in its own
    thread, an async view with ``await request.auser()`` (Django's async path
    since 5.0), which is the same with or without this class. (An async view
    that reads ``request.user`` directly makes Django raise
    ``SynchronousOnlyOperation``, as it would under Django's class.)
    """
