# Fixtures shared by the whole suite live in tests/fixtures/, one module per concept. None of
# them imports storefront: chorus's tests run without it (tests/chorus/settings.py).
# Storefront's own fixtures (API keys, staff sessions, rate limits): tests/storefront/conftest.py.
pytest_plugins = [
    "tests.fixtures.transport",
    "tests.fixtures.simulator",
    "tests.fixtures.services",
    "tests.fixtures.database",
    "tests.fixtures.sqlite_file",
    "tests.fixtures.upstreams",
    "tests.fixtures.recorder",
    "tests.fixtures.raw_server",
    "tests.fixtures.http1",
    "tests.fixtures.tracing",
]
