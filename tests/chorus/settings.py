"""Minimal Django settings for chorus's own tests: chorus alone, no storefront.

``uv run pytest tests/chorus --ds tests.chorus.settings`` runs the library's
suite on these (CI does, as its own step), which shows that chorus can be
tested, and so used, without the reference project. In the whole suite the
same tests run under storefront's settings: they set what they rely on.
"""

SECRET_KEY = "chorus-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "chorus",
]
MIDDLEWARE = ["chorus.server.RequestIDMiddleware"]
ROOT_URLCONF = "tests.chorus.support.plain_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
CHORUS: dict[str, object] = {}
