from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "storefront.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        import chorus
        from storefront.ops.readiness import aclose_redis

        chorus.server.on_shutdown(aclose_redis)
