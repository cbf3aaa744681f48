"""The orders API: async views only, each awaiting the async ORM (see ``queries``).

| route                          | view                 |
|--------------------------------|----------------------|
| GET  /api/users/active-count/  | ``active_user_count`` |
| GET  /api/orders/stats/        | ``OrderStatsView``   |
| GET  /api/orders/recent/       | ``recent_orders``    |
| GET  /api/orders/<id>/         | ``order_detail``     |
| PATCH /api/orders/<id>/        | ``order_detail`` (status) |
| POST /api/orders/              | ``create_order``     |
"""

from __future__ import annotations

import asyncio

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import Http404, HttpRequest, HttpResponse
from django.views import View
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from storefront.http.body import json_body
from storefront.http.contract import Param, operation
from storefront.http.errors import json_error
from storefront.http.responses import json_response
from storefront.orders import queries, services
from storefront.orders.schemas import ActiveUsers, OrderIn, OrderOut, OrderPage, StatusChange
from storefront.orders.serializers import money, order_dict
from storefront.orders.validation import InvalidOrder, parse_order, parse_status_change
from storefront.orders.writes import write

__all__ = ["OrderStatsView", "active_user_count", "create_order", "order_detail", "recent_orders"]


@operation("get", "How many customers are active", tag="orders", answers={200: ActiveUsers})
@require_GET
async def active_user_count(request: HttpRequest) -> HttpResponse:
    """The shop's users are its customers: how many are active."""
    return json_response({"active_users": await queries.active_customer_count()})


class OrderStatsView(View):
    """Order counts and revenue, the independent queries awaited together.

    Only ``get`` is defined, and it is async: Django refuses a class whose
    handlers mix sync and async.
    """

    http_method_names = ["get", "head", "options"]  # noqa: RUF012 - View's own attribute

    async def get(self, request: HttpRequest) -> HttpResponse:
        by_status, today, active_customers, paid_revenue = await asyncio.gather(
            queries.order_counts_by_status(),
            queries.todays_order_counts(),
            queries.active_customer_count(),
            queries.revenue(),
        )
        return json_response(
            {
                "orders": {"total": sum(by_status.values()), "by_status": by_status},
                "today": {"total": sum(today.values()), "by_status": today},
                "active_customers": active_customers,
                "revenue": money(paid_revenue),
            }
        )


@operation(
    "get",
    "The newest orders, 50 a page, with their customers and items",
    tag="orders",
    answers={200: OrderPage},
    errors=(404,),
    params=[Param("page", "page number, from 1", {"type": "integer", "minimum": 1})],
)
@require_GET
async def recent_orders(request: HttpRequest) -> HttpResponse:
    """The newest orders, 50 a page (``?page=``), with links to the neighbouring pages."""
    try:
        page = await queries.recent_orders_page(request.GET.get("page", "1"))
    except PageNotAnInteger:
        return json_error(400, "invalid_page", "page must be a whole number from 1.")
    except EmptyPage as exc:
        return json_error(404, "page_not_found", str(exc))

    def link(number: int) -> str:
        return request.build_absolute_uri(f"{request.path}?page={number}")

    return json_response(
        {
            "count": page.count,
            "page": page.number,
            "num_pages": page.num_pages,
            "per_page": page.per_page,
            "next": link(page.number + 1) if page.has_next else None,
            "previous": link(page.number - 1) if page.number > 1 else None,
            "results": page.results,
        }
    )


@operation("get", "One order", tag="orders", answers={200: OrderOut}, errors=(404,))
@operation(
    "patch",
    "Move an order to another status",
    tag="orders",
    description="pending → paid or cancelled; paid → shipped or cancelled; shipped → "
    "completed. Any other move is a 409 `forbidden_transition`. `status` is the only field: "
    "any other (`total`, ...) is a 400 `unknown_field` naming it.",
    body=StatusChange,
    answers={200: OrderOut},
    errors=(404, 409),
    write=True,
)
@require_http_methods(["GET", "HEAD", "PATCH"])
async def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One order; ``PATCH {"status": ...}`` moves it along ``services.ALLOWED_TRANSITIONS``."""
    if request.method == "PATCH":
        try:
            status = parse_status_change(json_body(request))
            order, items = await write(services.change_status, pk, status)
        except InvalidOrder as exc:
            return json_error(exc.status, exc.code, exc.message, fields=exc.fields)
        return json_response(order_dict(order, items))
    try:
        order = await queries.order_with_items(pk)
    except Http404:
        return json_error(404, "order_not_found", f"No order {pk}.")
    return json_response(order_dict(order, order.items.all()))


# Not csrf_exempt: key-authenticated calls skip CSRF (storefront.access), staff sessions must not.
@operation(
    "post",
    "Create an order and its items, atomically",
    tag="orders",
    description="The customer must exist and be active; SKUs are unique within an order.",
    body=OrderIn,
    answers={201: OrderOut},
    write=True,
)
@require_POST
async def create_order(request: HttpRequest) -> HttpResponse:
    """Create an order and its items in one transaction; 201 with the order as stored."""
    try:
        order_input = parse_order(json_body(request))
        order, items = await write(services.create_order, order_input)
    except InvalidOrder as exc:
        return json_error(exc.status, exc.code, exc.message, fields=exc.fields)
    response = json_response(order_dict(order, items), status=201)
    response["Location"] = f"/api/orders/{order.pk}/"
    return response
