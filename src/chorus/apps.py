from django.apps import AppConfig


class ChorusConfig(AppConfig):
    name = "chorus"
    verbose_name = "Chorus"

    def ready(self) -> None:
        from chorus import _checks  # noqa: F401  (registers the system checks)
