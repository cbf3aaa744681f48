from django.apps import AppConfig


class ApiDocsConfig(AppConfig):
    name = "storefront.apidocs"
    label = "apidocs"
    verbose_name = "API schema and docs"
