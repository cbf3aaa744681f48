"""Subclasses of Django's stock middleware, as a project writes them (for chorus.W003)."""

from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.common import CommonMiddleware


class StrictCommon(CommonMiddleware):
    pass


class CustomSession(SessionMiddleware):
    pass
