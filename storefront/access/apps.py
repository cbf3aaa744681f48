from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "storefront.access"
    label = "access"
    verbose_name = "API access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import chorus
        from storefront.access import keys

        keys.connect_signals()
        chorus.server.on_shutdown(keys.aclose)
