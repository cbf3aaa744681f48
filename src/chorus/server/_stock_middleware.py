"""Django's stock middleware whose hooks never block, with their hooks on the event loop.

Django's ``MiddlewareMixin`` serves an async request by running each hook through
``sync_to_async``: a thread hop per hook per request. For the classes below that
hop buys nothing, since no hook does I/O: each one is Django's own class with
``NonBlockingMiddlewareMixin`` first in its bases, and behaves exactly as Django's
does (under WSGI nothing changes at all). Put them in ``MIDDLEWARE`` in place of
Django's; ``chorus.W003`` names the one to use.

Of ``startproject``'s seven, three keep Django's class and its hops, because a
hook of theirs can block, and chorus does not warn about them:

- ``SessionMiddleware``: saving a modified session (or every session, with
  ``SESSION_SAVE_EVERY_REQUEST``) writes to the session store, a database or
  cache round trip. Sessions have async methods (``aget``, ``asave``) since
  Django 5.0, but the middleware's ``process_response`` calls ``save()``.
- ``CsrfViewMiddleware``: with ``CSRF_USE_SESSIONS`` it reads and writes the
  session; on an unsafe method without the header token it reads
  ``request.POST``, which for a multipart body may write uploads to disk.
- ``MessageMiddleware``: storing messages may load and change the session
  (``FallbackStorage`` falls back to ``SessionStorage``).

``AuthenticationMiddleware``, the fourth that never blocks, is in
``_auth_middleware.py``, loaded by ``chorus.server`` only when asked for:
importing ``django.contrib.auth.middleware`` imports the auth models, which need
the app registry ready and ``django.contrib.auth`` installed.
"""

from __future__ import annotations

from django.middleware import clickjacking, common, security

from chorus.server._middleware_bases import NonBlockingMiddlewareMixin

__all__ = ["CommonMiddleware", "SecurityMiddleware", "XFrameOptionsMiddleware"]


# The ignore on each class: the mixin types ``get_response`` as the async callable it is
# under ASGI, django-stubs as either kind.
class SecurityMiddleware(NonBlockingMiddlewareMixin, security.SecurityMiddleware):  # type: ignore[misc]
    """Django's ``SecurityMiddleware``, its hooks on the event loop.

    Safe: ``process_request`` compares ``request.is_secure()`` and the path with
    settings and may answer with an HTTPS redirect; ``process_response`` sets
    headers (HSTS, ``X-Content-Type-Options``, ``Referrer-Policy``,
    ``Cross-Origin-Opener-Policy``). No I/O in either.
    """


class CommonMiddleware(NonBlockingMiddlewareMixin, common.CommonMiddleware):  # type: ignore[misc]
    """Django's ``CommonMiddleware``, its hooks on the event loop.

    Safe: ``process_request`` matches the user agent against
    ``DISALLOWED_USER_AGENTS``, validates the host and builds the ``www`` /
    trailing-slash redirects, resolving the URL in memory (as the handler does
    for every async view); ``process_response`` sets ``Content-Length`` from a
    body already in memory. No I/O. (Emailing broken links is
    ``BrokenLinkEmailsMiddleware``'s, which sends mail: not here.)
    """


class XFrameOptionsMiddleware(NonBlockingMiddlewareMixin, clickjacking.XFrameOptionsMiddleware):  # type: ignore[misc]
    """Django's ``XFrameOptionsMiddleware``, its hook on the event loop.

    Safe: ``process_response`` sets one header from settings, unless the view
    opted out (``xframe_options_exempt``). No I/O.
    """
