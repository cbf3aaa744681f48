"""The orders API's routes, included under ``api/`` by ``storefront.urls``."""

from django.urls import path

from storefront.http.contract import described, operation
from storefront.orders import views
from storefront.orders.schemas import OrderStats

urlpatterns = [
    path("users/active-count/", views.active_user_count, name="active-user-count"),
    path("orders/", views.create_order, name="order-create"),
    path(
        "orders/stats/",
        described(
            views.OrderStatsView.as_view(),
            operation("get", "Order counts and revenue", tag="orders", answers={200: OrderStats}),
        ),
        name="order-stats",
    ),
    path("orders/recent/", views.recent_orders, name="recent-orders"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
]
