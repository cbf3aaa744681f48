"""The API's description: included under ``api/`` by ``storefront.urls``."""

from django.urls import path

from storefront.access.pages import staff_only
from storefront.apidocs import views

urlpatterns = [
    path("schema/", views.schema, name="api-schema"),
    path("docs/", staff_only(views.docs), name="api-docs"),
]
