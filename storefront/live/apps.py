from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "storefront.live"
    label = "live"
    verbose_name = "Live events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import chorus
        from chorus.streams import aclose_hubs
        from storefront.live import order_events, revocation

        order_events.connect()
        revocation.connect()
        chorus.server.on_shutdown(aclose_hubs)
