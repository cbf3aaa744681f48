from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "storefront.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        import os

        import chorus
        from storefront.ops.readiness import aclose_redis
        from storefront.ops.tracing import configure_tracing

        chorus.server.on_shutdown(aclose_redis)
        configure_tracing(os.environ)  # on only when OTEL_TRACES_EXPORTER names an exporter
