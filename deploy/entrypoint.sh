#!/bin/sh
# Storefront's entrypoint, in the container and on a bare machine alike (the tests run it too):
# bring the database schema up to date, then become gunicorn (exec: signals reach it directly).
set -eu
cd "$(dirname "$0")/.."
python manage.py migrate --noinput
exec gunicorn -c deploy/gunicorn.conf.py storefront.asgi:application "$@"
