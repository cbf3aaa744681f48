"""The images API's routes, included under ``api/``, and the media route (demo serving)."""

from django.conf import settings
from django.urls import path

from storefront.images import media, views
from storefront.images.conf import conf

urlpatterns = [
    path("images/", views.upload, name="image-upload"),
    path("images/<int:pk>/", views.detail, name="image-detail"),
]

# Included at the root by storefront.urls when STOREFRONT_SERVE_MEDIA is on.
media_urlpatterns = (
    [path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", media.serve_media, name="media")]
    if conf.serve_media
    else []
)
