"""Storefront settings: every deployment value comes from the environment (see env.py).

Django's sections first, in the order of its settings reference, then the settings of
storefront's own apps and of chorus. An app's defaults live in its ``conf`` module
(``storefront/<app>/conf.py``); this file reads the environment with those defaults
and writes none of them again. The dashboard's upstreams and their resilience
policies are built in ``storefront/dashboard/upstreams.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.csp import CSP

from storefront.access import conf as access_conf
from storefront.dashboard.upstreams import chorus_upstreams, simulator_url
from storefront.env import (
    EnvironmentVariableError,
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_secret_key,
)
from storefront.http import conf as http_conf
from storefront.images import conf as images_conf
from storefront.live.conf import LiveSettings
from storefront.ops import conf as ops_conf
from storefront.ops.log_config import logging_settings

# -- Core ------------------------------------------------------------------------------

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOREFRONT_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret_key(VAR_DIR, debug=DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

ROOT_URLCONF = "storefront.urls"
WSGI_APPLICATION = "storefront.wsgi.application"
ASGI_APPLICATION = "storefront.asgi.application"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# -- Security --------------------------------------------------------------------------

# Production values whenever DEBUG is off, each overridable from the environment
# (behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 so Django sees https).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and scrapers come over plain http from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "storefront.http.errors.csrf_failure"
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
# Django finds these middleware by path and storefront's are async-native subclasses:
# storefront/checks.py checks them (and everything that depends on them) instead.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

# -- Applications and middleware -------------------------------------------------------

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

# Django's built-ins, made async-native: no thread hop per hook. chorus.server's never block;
# storefront/http/middleware.py's (sessions, CSRF, messages, CSP) hop only when they may.
# ServeStatic answers /static/ before anything else looks at the request.
# ApiInputMiddleware wraps everything that can refuse an /api/ request, so every refusal is JSON;
# ApiAccessMiddleware needs the session's user, and RateLimitMiddleware the identity it finds.
MIDDLEWARE = [
    "chorus.server.RequestIDMiddleware",
    "chorus.server.RouteMetricsMiddleware",
    "chorus.server.SecurityMiddleware",
    "storefront.http.middleware.StaticFilesMiddleware",
    # storefront.http.body's, letting the multipart image upload through to its view.
    "storefront.http.body.ApiInputMiddleware",
    "storefront.http.middleware.SessionMiddleware",
    "chorus.server.CommonMiddleware",
    "storefront.http.middleware.CsrfViewMiddleware",
    "storefront.http.middleware.AuthenticationMiddleware",
    "storefront.access.middleware.ApiAccessMiddleware",
    "storefront.http.ratelimit.RateLimitMiddleware",
    "storefront.http.middleware.MessageMiddleware",
    "chorus.server.XFrameOptionsMiddleware",
    "storefront.http.middleware.ContentSecurityPolicyMiddleware",
]

# -- Templates -------------------------------------------------------------------------

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

# -- Database --------------------------------------------------------------------------

DATABASES = {"default": env_database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# -- Cache (and Redis) -----------------------------------------------------------------

# One Redis, when REDIS_URL is set, for the cache, the Channels layer, live events, task
# messages (Celery), rate limits, shared breakers and analytics' cache; else in memory.
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

# -- Authentication and sessions -------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True

# -- Static files and media ------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# ServeStatic finds the apps' static files where they are (no collectstatic needed to run), and
# also serves STATIC_ROOT once collectstatic has filled it (the container image does). It never
# re-scans the disk per request: autorefresh would look a path up on a thread for every request.
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = False
# Same-origin assets: no Access-Control-Allow-Origin: * on them.
SERVESTATIC_ALLOW_ALL_ORIGINS = False

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("STOREFRONT_MEDIA_ROOT", VAR_DIR / "media"))

# -- Logging and error reports ---------------------------------------------------------

# JSON lines in production (a log pipeline parses them), plain text in the demo
# (STOREFRONT_LOG_FORMAT, LOG_LEVEL: storefront/ops/log_config.py).
LOGGING = logging_settings(debug=DEBUG)
DEFAULT_EXCEPTION_REPORTER_FILTER = "storefront.http.redaction.ExceptionReporterFilter"

# -- Tasks -----------------------------------------------------------------------------

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
# Longer than a job's limit and its longest retry delay, or Redis hands a running job out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("STOREFRONT_CELERY_VISIBILITY_TIMEOUT", 600)
}
# CELERY_TASK_TIME_LIMIT follows the image job's own limit: see Images below.

# -- Access: API keys and JWTs (storefront/access/conf.py) -----------------------------

STOREFRONT_API_KEY_CACHE_TTL = env_float(
    "STOREFRONT_API_KEY_CACHE_TTL",
    access_conf.DEFAULTS["STOREFRONT_API_KEY_CACHE_TTL"],
    allow_zero=True,
)
# Off until issuer and key are set; KEY's "\n" may stand for newlines.
_JWT = access_conf.DEFAULTS["STOREFRONT_JWT"]
STOREFRONT_JWT = {
    "ISSUER": os.environ.get("STOREFRONT_JWT_ISSUER", _JWT["ISSUER"]).strip(),
    "AUDIENCE": os.environ.get("STOREFRONT_JWT_AUDIENCE", _JWT["AUDIENCE"]).strip(),
    "KEY": os.environ.get("STOREFRONT_JWT_KEY", _JWT["KEY"]).strip().replace("\\n", "\n"),
    "ALGORITHMS": env_list("STOREFRONT_JWT_ALGORITHMS", _JWT["ALGORITHMS"]),
    "LEEWAY": env_float("STOREFRONT_JWT_LEEWAY", _JWT["LEEWAY"], allow_zero=True),
    "WRITE_SCOPE": _JWT["WRITE_SCOPE"],
}

# -- HTTP: request bodies and rate limits (storefront/http/conf.py) --------------------

STOREFRONT_API_MAX_BODY_BYTES = env_int(
    "STOREFRONT_API_MAX_BODY_BYTES", http_conf.DEFAULTS["STOREFRONT_API_MAX_BODY_BYTES"]
)
# Token buckets: RATE per second, BURST at once; a RATE of 0 turns one off.
_RATE_LIMITS = http_conf.DEFAULTS["STOREFRONT_RATE_LIMITS"]
STOREFRONT_RATE_LIMITS = {
    kind: {
        "RATE": env_float(
            f"STOREFRONT_RATE_LIMIT_{kind}_RATE", _RATE_LIMITS[kind]["RATE"], allow_zero=True
        ),
        "BURST": env_int(f"STOREFRONT_RATE_LIMIT_{kind}_BURST", _RATE_LIMITS[kind]["BURST"]),
    }
    for kind in ("API", "ANONYMOUS")
}

# -- Live events (storefront/live/conf.py) ---------------------------------------------

# A Redis stream when REDIS_URL is set, else a table.
_LIVE = LiveSettings()
STOREFRONT_LIVE = {
    "BACKEND": os.environ.get("STOREFRONT_LIVE_BACKEND", "redis" if REDIS_URL else "database"),
    "REDIS_URL": REDIS_URL,
    "STREAM": os.environ.get("STOREFRONT_LIVE_STREAM", _LIVE.stream),
    "BACKLOG": env_int("STOREFRONT_LIVE_BACKLOG", _LIVE.backlog),
    "VIEWER_QUEUE": env_int("STOREFRONT_LIVE_VIEWER_QUEUE", _LIVE.viewer_queue),
    "POLL_INTERVAL": env_float("STOREFRONT_LIVE_POLL_INTERVAL", _LIVE.poll_interval),
    "HEARTBEAT": env_float("STOREFRONT_LIVE_HEARTBEAT", _LIVE.heartbeat),
    # Open streams lose a revoked key, a logout or a deactivated user within this (revocation.py).
    "RECHECK_INTERVAL": env_float("STOREFRONT_LIVE_RECHECK_INTERVAL", _LIVE.recheck_interval),
}
# Django Channels' layer (storefront/live/revocation.py): it addresses WebSocket connections
# across workers, to close those of a revoked key at once (the re-check above does it anyway
# within RECHECK_INTERVAL). Redis pub/sub when REDIS_URL is set; in memory (this process
# only) otherwise. The events themselves travel over STOREFRONT_LIVE.
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

# -- Images (storefront/images/conf.py) ------------------------------------------------

# The limits an upload is checked against before queuing, and the job's on a worker.
STOREFRONT_IMAGE_MAX_BYTES = env_int(
    "STOREFRONT_IMAGE_MAX_BYTES", images_conf.DEFAULTS["STOREFRONT_IMAGE_MAX_BYTES"]
)
STOREFRONT_IMAGE_MAX_PIXELS = env_int(
    "STOREFRONT_IMAGE_MAX_PIXELS", images_conf.DEFAULTS["STOREFRONT_IMAGE_MAX_PIXELS"]
)
STOREFRONT_IMAGE_TIME_LIMIT = env_float(
    "STOREFRONT_IMAGE_TIME_LIMIT", images_conf.DEFAULTS["STOREFRONT_IMAGE_TIME_LIMIT"]
)
STOREFRONT_IMAGE_MAX_ATTEMPTS = env_int(
    "STOREFRONT_IMAGE_MAX_ATTEMPTS", images_conf.DEFAULTS["STOREFRONT_IMAGE_MAX_ATTEMPTS"]
)
STOREFRONT_IMAGE_STEP_DELAY = env_float(
    "STOREFRONT_IMAGE_STEP_DELAY",
    images_conf.DEFAULTS["STOREFRONT_IMAGE_STEP_DELAY"],
    allow_zero=True,
)
STOREFRONT_WORKER_HEARTBEAT = env_float(
    "STOREFRONT_WORKER_HEARTBEAT", images_conf.DEFAULTS["STOREFRONT_WORKER_HEARTBEAT"]
)
# Celery's own hard limit backs up the job's (a stuck C call ignores SIGALRM).
CELERY_TASK_TIME_LIMIT = STOREFRONT_IMAGE_TIME_LIMIT + 30
# Storefront serves MEDIA_URL itself (the demo, one machine); off when a CDN or bucket does.
STOREFRONT_SERVE_MEDIA = env_bool(
    "STOREFRONT_SERVE_MEDIA", images_conf.DEFAULTS["STOREFRONT_SERVE_MEDIA"]
)

# -- Operations: metrics and readiness (storefront/ops/) -------------------------------

# GET /metrics (storefront/ops/metrics.py): open to loopback and private addresses, and to
# "Authorization: Bearer <token>" from anywhere when this is set.
STOREFRONT_METRICS_TOKEN = os.environ.get("STOREFRONT_METRICS_TOKEN", "").strip()
# GET /readyz (storefront/ops/readiness.py): each an async function that raises when its part
# is not ready; Redis is checked only when there is one.
STOREFRONT_READINESS_CHECKS = [
    # The worker itself: requests waiting at a full door, or too many bodies being read.
    "storefront.ops.readiness.capacity",
    "storefront.ops.readiness.database",
    *(["storefront.ops.readiness.redis"] if REDIS_URL else []),
    # Uploads wait for a task worker: not ready without one, unless this deployment has none.
    *(
        ["storefront.ops.readiness.task_worker"]
        if env_bool("STOREFRONT_READY_NEEDS_TASK_WORKER", True)
        else []
    ),
]

# -- Dashboard (storefront/dashboard/upstreams.py) -------------------------------------

# The simulator's fault API, behind the dashboard's fault controls (fault_control.py):
# STOREFRONT_SIMULATOR_URL, or the local simulator when every upstream is it; "" turns them off.
STOREFRONT_SIMULATOR_URL = simulator_url()

# -- Chorus: upstreams, deadlines, request limits, admission ---------------------------

_MAX_IN_FLIGHT = env_int("STOREFRONT_MAX_IN_FLIGHT", 256)
CHORUS = {
    # The dashboard's upstreams: URLs, timeouts and resilience policies
    # (docs/chorus.md#resilience; STOREFRONT_POLICIES=0 turns the policies off).
    "UPSTREAMS": chorus_upstreams(redis_url=REDIS_URL),
    "DEFAULT_DEADLINE": env_float("STOREFRONT_DEADLINE", 2.0),
    "REDIS_URL": REDIS_URL or None,
    # /api/ access decided on the headers, before a body is read (storefront/access/gate.py).
    "BEFORE_BODY": "storefront.access.gate.before_body",
    # Refused on the headers, before a byte of the body is read (chorus.server, REQUEST_LIMITS): the API
    # takes small JSON documents; the admin's forms and the login page little more.
    "REQUEST_LIMITS": {
        "MAX_BODY_BYTES": {
            "/": 1024 * 1024,
            "/api/": STOREFRONT_API_MAX_BODY_BYTES,
            # The image and its multipart framing (with the small text fields around it).
            "/api/images/": STOREFRONT_IMAGE_MAX_BYTES + 64 * 1024,
        },
        "MAX_HEADERS": env_int("STOREFRONT_MAX_HEADERS", 100),
        # The gunicorn worker's protocol takes the same bound (storefront/ops/conf.py).
        "MAX_HEADER_BYTES": env_int("STOREFRONT_MAX_HEADER_BYTES", ops_conf.MAX_HEADER_BYTES),
        # A body is read before its request takes an admission place, under a deadline: one
        # that falls behind is a 408 and its connection closed (issue 25: stalled POST /login/
        # bodies held the door). 60 s lets the largest body (an image) come at 200 KB/s; a
        # client that stalls is cut BODY_GRACE s in (plus a second per MIN_BODY_RATE bytes).
        "BODY_TIMEOUT": env_float("STOREFRONT_BODY_TIMEOUT", 60.0),
        "MIN_BODY_RATE": env_int("STOREFRONT_MIN_BODY_RATE", 1024),
        "BODY_GRACE": env_float("STOREFRONT_BODY_GRACE", 5.0, allow_zero=True),
        # Bodies read at once past which /readyz calls the worker saturated (the capacity check).
        "SATURATED_BODY_READS": env_int("STOREFRONT_SATURATED_BODY_READS", 100),
    },
    # Prometheus metrics (GET /metrics); STOREFRONT_METRICS=0 turns them off (bench/compare.py).
    "METRICS": env_bool("STOREFRONT_METRICS", True),
    # Requests handled at once per worker, the rest waiting at the door in arrival order
    # (chorus.server, ADMISSION; bench/README.md, "Soak" and "The door"): the limit moves
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
