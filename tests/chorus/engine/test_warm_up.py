"""Django's start loads what the first fan-out would otherwise import inside its timeouts."""

import subprocess
import sys
import textwrap


def _loaded_after_setup(chorus_settings: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                import django
                from django.conf import settings
                settings.configure(INSTALLED_APPS=["chorus"], CHORUS={chorus_settings})
                before = sorted(n for n in ("prometheus_client", "opentelemetry") if n in sys.modules)
                django.setup()
                after = sorted(n for n in ("prometheus_client", "opentelemetry") if n in sys.modules)
                print(before, after)
                """
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_setup_imports_metrics_and_tracing_modules_when_installed():
    assert _loaded_after_setup("{}") == "[] ['opentelemetry', 'prometheus_client']"


def test_metrics_switched_off_leave_prometheus_unloaded():
    assert _loaded_after_setup('{"METRICS": False}') == "[] ['opentelemetry']"


def test_settings_with_mistakes_do_not_stop_django_starting():
    # The system checks report the mistake; start-up itself must not raise.
    assert _loaded_after_setup('{"DEFAULT_DEADLINE": -1}') == "[] ['opentelemetry']"
