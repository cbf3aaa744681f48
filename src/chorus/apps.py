from django.apps import AppConfig


class ChorusConfig(AppConfig):
    name = "chorus"
    verbose_name = "Chorus"

    def ready(self) -> None:
        # Importing them registers the system checks.
        from chorus import _checks  # noqa: F401
        from chorus.engine._warm_up import warm_up
        from chorus.server import _middleware_checks  # noqa: F401

        warm_up()
