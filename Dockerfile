# syntax=docker/dockerfile:1
# Storefront's image, after uv's documented pattern (docs.astral.sh/uv/guides/integration/docker):
# dependencies installed from the lock file in a build stage, bytecode compiled, the project
# copied into a slim runtime stage that runs as a non-root user.
#
#   docker build -t storefront .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e ALLOWED_HOSTS=... storefront
#
# The entrypoint is deploy/entrypoint.sh (migrate, then gunicorn with deploy/gunicorn.conf.py),
# the same script the test suite runs on the host.

FROM python:3.13-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0
WORKDIR /app
# Dependencies first, from the lock file alone: this layer is rebuilt only when they change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-install-project --no-default-groups --group storefront
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --group storefront
# Static files collected at build time; ServeStatic serves them from STATIC_ROOT.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    STOREFRONT_VAR_DIR=/app/var \
    /app/.venv/bin/python manage.py collectstatic --noinput --verbosity 0

FROM python:3.13-slim-bookworm
RUN groupadd --system --gid 10001 storefront \
    && useradd --system --uid 10001 --gid storefront --home-dir /app --no-create-home storefront \
    && mkdir -p /app/var/media \
    && chown -R storefront:storefront /app
COPY --from=build --chown=storefront:storefront /app /app
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own arena (up to 8 per core)
# and keeps each arena at its peak; a worker's ORM threads come and go per request, so RSS
# would follow the busiest moment of every thread (bench/README.md, "Soak").
ENV PATH="/app/.venv/bin:$PATH" \
    MALLOC_ARENA_MAX=2 \
    PYTHONUNBUFFERED=1 \
    DEBUG=0 \
    STOREFRONT_VAR_DIR=/app/var \
    STOREFRONT_BIND=0.0.0.0:8000
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
