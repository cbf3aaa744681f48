from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    name = "storefront.devtools"
    label = "devtools"
    verbose_name = "Development tools"
