from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "storefront"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import chorus
        from storefront import checks  # noqa: F401 - registers the deploy checks
        from storefront.http.ratelimit import aclose_rate_limiter

        chorus.server.on_shutdown(aclose_rate_limiter)
