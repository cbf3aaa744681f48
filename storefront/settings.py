"""Storefront settings: every deployment value comes from the environment (see env.py)."""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.csp import CSP

from storefront.env import (
    SIMULATOR_URL,
    EnvironmentVariableError,
    env_bool,
    env_database,
    env_float,
    env_int,
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
    "servestatic",
    "django.contrib.staticfiles",
    "chorus",
    "storefront",
    "storefront.dashboard",
    "storefront.orders",
    "storefront.access",
    "storefront.live",
    "storefront.apidocs",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as static files (no CDN)
    "storefront.ops",
    "storefront.devtools",
    # Before django_tasks_db: its db_worker command is storefront's (with the heartbeat).
    "storefront.images",
    "django_tasks_db",
]

# Django's built-ins, made async-native (storefront/http/middleware.py): no thread hop per hook.
# ServeStatic answers /static/ before anything else looks at the request.
# ApiInputMiddleware wraps everything that can refuse an /api/ request, so every refusal is JSON;
# ApiAccessMiddleware needs the session's user, and RateLimitMiddleware the identity it finds.
MIDDLEWARE = [
    "chorus.server.RequestIDMiddleware",
    "chorus.server.RouteMetricsMiddleware",
    "storefront.http.middleware.SecurityMiddleware",
    "storefront.http.middleware.StaticFilesMiddleware",
    # storefront.http.body's, letting the multipart image upload through to its view.
    "storefront.http.body.ApiInputMiddleware",
    "storefront.http.middleware.SessionMiddleware",
    "storefront.http.middleware.CommonMiddleware",
    "storefront.http.middleware.CsrfViewMiddleware",
    "storefront.http.middleware.AuthenticationMiddleware",
    "storefront.access.middleware.ApiAccessMiddleware",
    "storefront.http.ratelimit.RateLimitMiddleware",
    "storefront.http.middleware.MessageMiddleware",
    "storefront.http.middleware.XFrameOptionsMiddleware",
    "storefront.http.middleware.ContentSecurityPolicyMiddleware",
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
                "django.template.context_processors.csp",
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

# Security: production values whenever DEBUG is off, each overridable from the environment
# (behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 so Django sees https).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and scrapers come over plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "storefront.http.errors.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Same-origin only: the dashboard page and the admin load nothing from elsewhere and hold no
# inline script or style (a template that needs one uses {% csp_nonce_attr %}).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "connect-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "storefront.http.redaction.ExceptionReporterFilter"
# Django finds these middleware by path and storefront's are async-native subclasses:
# storefront/checks.py checks them (and everything that depends on them) instead.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# /api/ access (storefront/access/): how long a process trusts its answer about a key, so a
# revoked key stops working everywhere within this many seconds (0: ask the database each time).
STOREFRONT_API_KEY_CACHE_TTL = env_float("STOREFRONT_API_KEY_CACHE_TTL", 30.0, allow_zero=True)
# Bearer JWTs validated locally (storefront/access/tokens.py); off until issuer and key are set.
# KEY is the HS secret or the issuer's PEM public key ("\n" may stand for newlines).
STOREFRONT_JWT = {
    "ISSUER": os.environ.get("STOREFRONT_JWT_ISSUER", "").strip(),
    "AUDIENCE": os.environ.get("STOREFRONT_JWT_AUDIENCE", "storefront").strip(),
    "KEY": os.environ.get("STOREFRONT_JWT_KEY", "").strip().replace("\\n", "\n"),
    "ALGORITHMS": env_list("STOREFRONT_JWT_ALGORITHMS", ["RS256"]),
    "LEEWAY": env_float("STOREFRONT_JWT_LEEWAY", 30.0, allow_zero=True),
    "WRITE_SCOPE": "storefront:write",
}
# Live events (storefront/live/conf.py): a Redis stream when REDIS_URL is set, else a table.
STOREFRONT_LIVE = {
    "BACKEND": os.environ.get("STOREFRONT_LIVE_BACKEND", "redis" if REDIS_URL else "database"),
    "REDIS_URL": REDIS_URL,
    "STREAM": os.environ.get("STOREFRONT_LIVE_STREAM", "storefront:live"),
    "BACKLOG": env_int("STOREFRONT_LIVE_BACKLOG", 10_000),
    "VIEWER_QUEUE": env_int("STOREFRONT_LIVE_VIEWER_QUEUE", 1_000),
    "POLL_INTERVAL": env_float("STOREFRONT_LIVE_POLL_INTERVAL", 0.1),
    "HEARTBEAT": env_float("STOREFRONT_LIVE_HEARTBEAT", 15.0),
}
# Django Channels' layer (storefront/live/revocation.py): it addresses WebSocket connections
# across workers, to close those of a revoked key. Redis pub/sub when REDIS_URL is set; in
# memory (this process only) otherwise. The events themselves travel over STOREFRONT_LIVE.
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "storefront:channels"},
        }
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}
# GET /metrics (storefront/ops/metrics.py): open to loopback and private addresses, and to
# "Authorization: Bearer <token>" from anywhere when this is set.
STOREFRONT_METRICS_TOKEN = os.environ.get("STOREFRONT_METRICS_TOKEN", "").strip()
# GET /readyz (storefront/ops/readiness.py): each an async function that raises when its part
# is not ready; Redis is checked only when there is one.
STOREFRONT_READINESS_CHECKS = [
    "storefront.ops.readiness.database",
    *(["storefront.ops.readiness.redis"] if REDIS_URL else []),
    # Uploads wait for a task worker: not ready without one, unless this deployment has none.
    *(
        ["storefront.ops.readiness.task_worker"]
        if env_bool("STOREFRONT_READY_NEEDS_TASK_WORKER", True)
        else []
    ),
]
STOREFRONT_API_MAX_BODY_BYTES = env_int("STOREFRONT_API_MAX_BODY_BYTES", 64 * 1024)
# Token buckets (storefront/http/ratelimit.py): RATE per second, BURST at once; a RATE of 0 turns it off.
STOREFRONT_RATE_LIMITS = {
    "API": {
        "RATE": env_float("STOREFRONT_RATE_LIMIT_API_RATE", 1000.0, allow_zero=True),
        "BURST": env_int("STOREFRONT_RATE_LIMIT_API_BURST", 2000),
    },
    "ANONYMOUS": {
        "RATE": env_float("STOREFRONT_RATE_LIMIT_ANONYMOUS_RATE", 20.0, allow_zero=True),
        "BURST": env_int("STOREFRONT_RATE_LIMIT_ANONYMOUS_BURST", 200),
    },
}

# Background tasks (django.tasks): the task code is the same on either engine (docs/images.md).
# "db": django-tasks-db, worker `manage.py db_worker`; "celery": Celery, `celery -A storefront worker`.
STOREFRONT_TASKS = os.environ.get("STOREFRONT_TASKS", "db").strip().lower()
if STOREFRONT_TASKS not in ("db", "celery"):
    raise EnvironmentVariableError(
        f"STOREFRONT_TASKS must be db or celery; got {STOREFRONT_TASKS!r}"
    )
TASKS = {
    "default": (
        {"BACKEND": "django_tasks_db.DatabaseBackend"}
        if STOREFRONT_TASKS == "db"
        else {
            "BACKEND": "django_tasks_celery.CeleryBackend",
            "OPTIONS": {"CELERY_APP": "storefront.celery.app"},
        }
    )
}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or REDIS_URL or None
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("STOREFRONT_CELERY_QUEUE", "storefront")
# Acknowledge after the work: a worker killed mid-job leaves its message to be delivered
# again (and the heartbeat re-queues the job sooner, see storefront/images/workers.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Images (storefront/images/conf.py): the limits an upload is checked against before queuing.
STOREFRONT_IMAGE_MAX_BYTES = env_int("STOREFRONT_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
STOREFRONT_IMAGE_MAX_PIXELS = env_int("STOREFRONT_IMAGE_MAX_PIXELS", 40_000_000)
STOREFRONT_IMAGE_TIME_LIMIT = env_float("STOREFRONT_IMAGE_TIME_LIMIT", 60.0)
STOREFRONT_IMAGE_MAX_ATTEMPTS = env_int("STOREFRONT_IMAGE_MAX_ATTEMPTS", 3)
STOREFRONT_IMAGE_STEP_DELAY = env_float("STOREFRONT_IMAGE_STEP_DELAY", 0.0, allow_zero=True)
STOREFRONT_WORKER_HEARTBEAT = env_float("STOREFRONT_WORKER_HEARTBEAT", 10.0)
# Celery's own hard limit backs up the job's (a stuck C call ignores SIGALRM).
CELERY_TASK_TIME_LIMIT = STOREFRONT_IMAGE_TIME_LIMIT + 30
# Longer than a job's limit and its longest retry delay, or Redis hands a running job out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("STOREFRONT_CELERY_VISIBILITY_TIMEOUT", 600)
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("STOREFRONT_MEDIA_ROOT", VAR_DIR / "media"))
# Storefront serves MEDIA_URL itself (the demo, one machine); off when a CDN or bucket does.
STOREFRONT_SERVE_MEDIA = env_bool("STOREFRONT_SERVE_MEDIA", True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# ServeStatic finds the apps' static files where they are (no collectstatic needed to run), and
# also serves STATIC_ROOT once collectstatic has filled it (the container image does). It never
# re-scans the disk per request: autorefresh would look a path up on a thread for every request.
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = False
# Same-origin assets: no Access-Control-Allow-Origin: * on them.
SERVESTATIC_ALLOW_ALL_ORIGINS = False

_UPSTREAM_URLS = env_upstream_urls()
_UPSTREAM_TIMEOUT = env_float("STOREFRONT_UPSTREAM_TIMEOUT", 0.5)


# Resilience policies (docs/chorus.md#resilience); STOREFRONT_POLICIES=0 turns them all off
# (bench/faults.py compares the two).
_POLICIES = env_bool("STOREFRONT_POLICIES", True)
# Every upstream: a breaker over the last 10 s of calls, shared by every worker through
# Redis when there is one; one retry of a GET on a reset or a 502/503/504, under the budget.
_BREAKER = {
    "FAILURE_RATE": 0.5,
    "MINIMUM_CALLS": 10,
    "WINDOW_SECONDS": 10.0,
    "COOL_DOWN": 5.0,
    "SHARED": bool(REDIS_URL),
}
_RETRY = {"ATTEMPTS": 2}
# The dashboard's required upstreams are asked on every page (TTL 0: never served from the
# cache while they answer), but a failure, a timeout or an open breaker is answered with the
# worker's last good answer for 30 s, marked stale: the page is a 200 saying which source is
# old and why (complete: false), not a 502 for one dropped call in a few hundred. Past 30 s
# an outage is an outage again.
_LAST_GOOD = {"TTL": 0, "STALE_IF_ERROR": 30.0, "BACKEND": "memory"}
_POLICIES_BY_UPSTREAM = {
    # Analytics is optional and changes slowly: a five-second cache, and its last good
    # answer (marked stale) for five minutes when it fails or its breaker is open.
    "analytics": {
        "CACHE": {
            "TTL": 5.0,
            "STALE_IF_ERROR": 300.0,
            "BACKEND": "redis" if REDIS_URL else "memory",
        }
    },
    # Inventory is required and on every dashboard: a hedge after its observed p95 cuts
    # the tail of the page for about 5% more inventory requests. The others are either
    # optional (a slow answer costs nothing) or not on the page's critical path.
    "inventory": {"HEDGE": {"DELAY": "p95"}, "CACHE": _LAST_GOOD},
    "notifications": {"CACHE": _LAST_GOOD},
}

_MAX_IN_FLIGHT = env_int("STOREFRONT_MAX_IN_FLIGHT", 256)
CHORUS = {
    "UPSTREAMS": {
        name: {
            "BASE_URL": url,
            "TIMEOUT": _UPSTREAM_TIMEOUT,
            "MAX_CONNECTIONS": 512,
            **(
                {"BREAKER": _BREAKER, "RETRY": _RETRY, **_POLICIES_BY_UPSTREAM.get(name, {})}
                if _POLICIES
                else {}
            ),
        }
        for name, url in _UPSTREAM_URLS.items()
    },
    "DEFAULT_DEADLINE": env_float("STOREFRONT_DEADLINE", 2.0),
    "REDIS_URL": REDIS_URL or None,
    # Refused on the headers, before a byte of the body is read (chorus/limits.py): the API
    # takes small JSON documents; the admin's forms and the login page little more.
    # /api/ access decided on the headers, before a body is read (storefront/access/gate.py).
    "BEFORE_BODY": "storefront.access.gate.before_body",
    "REQUEST_LIMITS": {
        "MAX_BODY_BYTES": {
            "/": 1024 * 1024,
            "/api/": STOREFRONT_API_MAX_BODY_BYTES,
            # The image and its multipart framing (with the small text fields around it).
            "/api/images/": STOREFRONT_IMAGE_MAX_BYTES + 64 * 1024,
        },
        "MAX_HEADERS": env_int("STOREFRONT_MAX_HEADERS", 100),
        "MAX_HEADER_BYTES": env_int("STOREFRONT_MAX_HEADER_BYTES", 32 * 1024),
    },
    # Prometheus metrics (GET /metrics); STOREFRONT_METRICS=0 turns them off (bench/compare.py).
    "METRICS": env_bool("STOREFRONT_METRICS", True),
    # Requests handled at once per worker, the rest waiting at the door in arrival order
    # (chorus.server._admission; bench/README.md, "Soak" and "The door"): the limit moves
    # between the floor and the ceiling, down only while the loop's lag stays over 5 ms for
    # 200 ms on end, so a fan-out's upstream timeouts measure the upstreams, not the queue;
    # a wait at a standing queue is cut at 5 s (a 503). STOREFRONT_MAX_IN_FLIGHT=0: no door.
    # The probes never wait: a load balancer must see a busy worker as alive.
    "ADMISSION": {
        "MAX_IN_FLIGHT": _MAX_IN_FLIGHT or None,
        "MIN_IN_FLIGHT": min(16, _MAX_IN_FLIGHT) or None,
        "EXEMPT": ["/healthz", "/readyz"],
    },
}

# The simulator's fault API, behind the dashboard's fault controls (storefront/dashboard/fault_control.py):
# STOREFRONT_SIMULATOR_URL, or the local simulator when every upstream is it; "" turns them off.
_simulator_url = os.environ.get("STOREFRONT_SIMULATOR_URL")
if _simulator_url is None:
    STOREFRONT_SIMULATOR_URL = (
        SIMULATOR_URL
        if all(url == f"{SIMULATOR_URL}/{name}" for name, url in _UPSTREAM_URLS.items())
        else ""
    )
else:
    STOREFRONT_SIMULATOR_URL = _simulator_url.strip()

# JSON lines in production (a log pipeline parses them), plain text in the demo.
_LOG_FORMAT = os.environ.get("STOREFRONT_LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
if _LOG_FORMAT not in ("plain", "json"):
    raise EnvironmentVariableError(
        f"STOREFRONT_LOG_FORMAT must be plain or json; got {_LOG_FORMAT!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "chorus.server.RequestIDFilter"},
        "redact_secrets": {"()": "storefront.http.redaction.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # One JSON object per line: the access line's fields (route, status, duration,
        # each upstream's outcome: chorus.server._request_id) as keys of their own.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_log_level()},
}
