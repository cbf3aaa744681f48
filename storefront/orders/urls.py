"""The orders API's routes, included under ``api/`` by ``storefront.urls``."""

from django.urls import path

from storefront.orders import views

urlpatterns = [
    path("users/active-count/", views.active_user_count, name="active-user-count"),
    path("orders/", views.create_order, name="order-create"),
    path("orders/stats/", views.OrderStatsView.as_view(), name="order-stats"),
    path("orders/recent/", views.recent_orders, name="recent-orders"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
]
