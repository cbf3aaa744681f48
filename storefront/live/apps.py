from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "storefront.live"
    label = "live"
    verbose_name = "Live events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import chorus
        from storefront.live import order_events
        from storefront.live.hub import aclose_hubs

        order_events.connect()
        chorus.on_shutdown(aclose_hubs)
