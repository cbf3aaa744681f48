"""Storefront settings: every deployment value comes from the environment (see env.py)."""

from __future__ import annotations

import os
from pathlib import Path

from storefront.env import (
    SIMULATOR_URL,
    env_bool,
    env_database,
    env_float,
    env_list,
    env_log_level,
    env_redis_url,
    env_secret_key,
    env_upstream_urls,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOREFRONT_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret_key(VAR_DIR, debug=DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "chorus",
    "storefront",
    "storefront.orders",
]

# Django's built-ins, made async-native (storefront/middleware.py): no thread hop per hook.
MIDDLEWARE = [
    "chorus.RequestIDMiddleware",
    "storefront.middleware.SecurityMiddleware",
    "storefront.middleware.SessionMiddleware",
    "storefront.middleware.CommonMiddleware",
    "storefront.middleware.CsrfViewMiddleware",
    "storefront.middleware.AuthenticationMiddleware",
    "storefront.middleware.MessageMiddleware",
    "storefront.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "storefront.urls"
WSGI_APPLICATION = "storefront.wsgi.application"
ASGI_APPLICATION = "storefront.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

_UPSTREAM_URLS = env_upstream_urls()
_UPSTREAM_TIMEOUT = env_float("STOREFRONT_UPSTREAM_TIMEOUT", 0.5)

CHORUS = {
    "UPSTREAMS": {
        name: {"BASE_URL": url, "TIMEOUT": _UPSTREAM_TIMEOUT, "MAX_CONNECTIONS": 512}
        for name, url in _UPSTREAM_URLS.items()
    },
    "DEFAULT_DEADLINE": env_float("STOREFRONT_DEADLINE", 2.0),
}

# The simulator's fault API, behind the dashboard's fault controls (storefront/fault_control.py):
# STOREFRONT_SIMULATOR_URL, or the local simulator when every upstream is it; "" turns them off.
STOREFRONT_SIMULATOR_URL = os.environ.get("STOREFRONT_SIMULATOR_URL", "").strip() or (
    SIMULATOR_URL
    if all(url == f"{SIMULATOR_URL}/{name}" for name, url in _UPSTREAM_URLS.items())
    else ""
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "chorus.RequestIDFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_log_level()},
}
