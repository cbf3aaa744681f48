"""``import chorus`` loads no optional dependency, and a missing extra is named when used."""

import subprocess
import sys
import textwrap

OPTIONAL = ("aiohttp", "redis", "prometheus_client", "channels", "psycopg", "opentelemetry")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_every_face_loads_no_optional_dependency():
    done = _run(
        f"""
        import sys
        import chorus, chorus.server, chorus.streams, chorus.testing
        print(sorted(name for name in {OPTIONAL!r} if name in sys.modules))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_missing_aiohttp_names_its_extra():
    done = _run(
        """
        import sys
        sys.modules["aiohttp"] = None  # as if it were not installed
        import chorus
        chorus.AiohttpTransport
        """
    )
    assert "pip install 'django-chorus[aiohttp]'" in done.stderr


def test_a_missing_redis_names_its_extra():
    done = _run(
        """
        import sys
        sys.modules["redis"] = None
        import chorus.streams
        chorus.streams.RedisStreamLog
        """
    )
    assert "pip install 'django-chorus[redis]'" in done.stderr
