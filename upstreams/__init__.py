"""A simulator of storefront's five upstream services, with latency and faults on demand.

``upstreams.app`` is the ASGI application; ``upstreams.server`` runs it on a
loopback port for tests and scripts; ``manage.py upstreams`` runs it in the
foreground. It imports neither Django nor chorus: it stands for services
that know nothing about either.
"""
