"""Gunicorn for storefront in production: uvicorn workers (ASGI), one per core by default.

    uv run gunicorn -c deploy/gunicorn.conf.py storefront.asgi:application

``deploy/entrypoint.sh`` (the container's entrypoint, and what the tests run)
migrates, then execs exactly that. Settings come from the environment:

- ``STOREFRONT_BIND``: the address to listen on (``0.0.0.0:8000``);
- ``STOREFRONT_WORKERS``: worker processes (the machine's CPU count). Each
  worker is one event loop serving many requests at once, so more workers than
  cores only adds memory and context switches;
- ``STOREFRONT_WORKER_TIMEOUT``: seconds a worker may stay silent before the
  arbiter replaces it (30). An async worker that is silent that long has a
  blocked event loop, which no request should ever cause;
- ``STOREFRONT_GRACEFUL_TIMEOUT``: seconds a stopping worker gets to finish
  its requests after SIGTERM (20);
- ``STOREFRONT_KEEPALIVE_TIMEOUT``: seconds an idle kept-alive connection
  stays open (5);
- ``STOREFRONT_MAX_CONNECTIONS``, ``STOREFRONT_HEADER_TIMEOUT``,
  ``STOREFRONT_MAX_HEADER_BYTES``, ``STOREFRONT_FD_RESERVE``: the worker's
  connection cap and header bounds (``storefront/ops/worker.py``);
- ``FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-*`` headers are
  trusted (``127.0.0.1``).

The worker class is ``storefront.ops.worker.StorefrontWorker``: uvicorn's
gunicorn worker, plus draining on SIGTERM (SSE streams get a final
``event: shutdown`` and end; WebSockets close with 1012), a graceful wait one
second inside ``graceful_timeout``, and the connection limits above.

Access logging is chorus's ``RequestIDMiddleware`` line (method, path, status,
duration and the request id, on the ``chorus.request`` logger), so gunicorn's
own access log is off: one line per request, not two.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("STOREFRONT_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("STOREFRONT_WORKERS", multiprocessing.cpu_count()))
# uvicorn's worker with uvloop, httptools, draining and connection limits.
worker_class = "storefront.ops.worker.StorefrontWorker"
timeout = int(os.environ.get("STOREFRONT_WORKER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("STOREFRONT_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("STOREFRONT_KEEPALIVE_TIMEOUT", "5"))
# Recycle workers now and then, at staggered moments, so that slow leaks in any
# library cannot grow without bound and the workers never restart all at once.
max_requests = int(os.environ.get("STOREFRONT_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Heartbeat files on a RAM disk where there is one, as gunicorn's docs advise: a container's
# overlay disk can stall them. They hold no data, only their modification time.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's worker heartbeat files, not data
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM

# -- Prometheus metrics from every worker (docs/deploy.md#metrics) ---------------------------
# Each worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR and GET /metrics adds
# them up. The directory must be set before the workers start (prometheus-client reads it once),
# emptied at start (old files would be counted again) and told when a worker exits (its live
# gauges go). Without a setting, a fresh directory per server, removed when it stops.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="storefront-metrics-")


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
