"""The live operations dashboard at ``/``.

The page is a template plus its scripts and stylesheet, served by storefront
itself through ServeStatic (no CDN, no build step; ``settings.py`` says how).
Its policy allows only same-origin scripts, styles and connections, which is
also why the template holds no inline script or style.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from storefront.dashboard.fault_control import simulator_url
from storefront.dashboard.upstreams import UPSTREAM_NAMES

__all__ = ["dashboard"]

# The panels the page starts with; a source the dashboard gains later gets one as it lands.
_PANELS = (
    ("inventory", "Inventory"),
    ("notifications", "Notifications"),
    ("analytics", "Analytics"),
    ("users", "Users"),
    ("billing", "Billing"),
)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    # A sync view on purpose: template rendering is sync work, and Django runs it in a thread.
    # Its Content-Security-Policy comes from SECURE_CSP, through the CSP middleware.
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "fault_controls": simulator_url() is not None,
            "services": UPSTREAM_NAMES,
            "panel_titles": _PANELS,
        },
    )
