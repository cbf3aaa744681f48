"""Guessing keys never pushes the real ones out of the key cache."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.access import keys
from storefront.access.models import Scope


@pytest.fixture
def real_key(transactional_db):
    keys.forget_keys()
    plaintext, _ = keys.create_key(name="real", scope=Scope.READ)
    keys.forget_keys()
    return plaintext


def test_a_flood_of_unknown_keys_leaves_real_keys_cached(real_key, monkeypatch):
    monkeypatch.setattr(keys, "_MAX_CACHED", 5)
    assert keys.check_key(real_key) is not None  # cached now
    for n in range(20):
        assert keys.check_key(f"sf_made-up-key-number-{n:04d}-xxxxxxxxxxxx") is None
    with CaptureQueriesContext(connection) as queries:
        assert keys.check_key(real_key) is not None
    assert len(queries) == 0


def test_an_unknown_key_is_asked_of_the_database_once_per_ttl(real_key):
    made_up = "sf_never-issued-key-xxxxxxxxxxxxxxxxxxxx"
    with CaptureQueriesContext(connection) as queries:
        assert keys.check_key(made_up) is None
        assert keys.check_key(made_up) is None
    assert len(queries) == 1
