"""The map of open work orders (front end: frontend/src/workorders.js).

The page carries its settings; the markers come from a JSON endpoint scoped by
``visible_workorders(actor)``: one query for the orders however many there are, capped at
``MAP_LIMIT`` (the most urgent first). The base map is the bundled district boundaries, so the
page works on an offline intranet.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.complaints import policy, selectors
from wastetrail.complaints.forms import MapFilterForm
from wastetrail.complaints.models import OPEN_STATUSES, WorkOrderStatus, WorkOrderType
from wastetrail.registry.map_views import base_map_config, fresh_json, map_data_view

MAP_LIMIT = 2000
OVERDUE_COLOUR, WARNED_COLOUR = "#e03131", "#f59f00"
STATUS_COLOURS = {
    WorkOrderStatus.RECEIVED: "#1c7ed6",
    WorkOrderStatus.CLASSIFIED: "#4263eb",
    WorkOrderStatus.RETURNED: "#862e9c",
    WorkOrderStatus.DISPATCHED: "#0ca678",
    WorkOrderStatus.ACCEPTED: "#2b8a3e",
    WorkOrderStatus.HANDLED: "#5c940d",
    WorkOrderStatus.ANSWERED: "#868e96",
}


def legend() -> list[dict[str, str]]:
    entries = [{"value": "overdue", "label": _("Overdue"), "colour": OVERDUE_COLOUR},
               {"value": "warned", "label": _("Due soon (warned)"), "colour": WARNED_COLOUR}]
    return entries + [{"value": status, "label": str(WorkOrderStatus(status).label), "colour": colour}
                      for status, colour in STATUS_COLOURS.items()]


def map_config(query: str) -> dict[str, Any]:
    config = base_map_config()
    config["text"] |= {
        "legend": _("Legend"), "loadFailed": _("Could not load the work orders. Reload the page to try again."),
        "truncated": _("Only the %(limit)d most urgent orders are shown: narrow the filter.") % {"limit": MAP_LIMIT},
        "status": _("Status"), "type": _("Type"), "category": _("Category"), "due": _("Answer due"),
        "unit": _("Responsible unit"), "open": _("Open the work order"),
    }
    return config | {"mode": "orders", "dataUrl": reverse("complaints:map-data") + (f"?{query}" if query else ""),
                     "legend": legend()}


def _filters(request: HttpRequest) -> dict[str, Any]:
    form = MapFilterForm(request.GET or None)
    return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")} if form.is_valid() else {}


def open_orders_on_map(actor: Actor, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The open orders with a position the actor may see, most urgent first; (rows, truncated)."""
    qs = selectors.visible_workorders(actor).filter(status__in=OPEN_STATUSES, lon_e6__isnull=False)
    if filters.get("order_type"):
        qs = qs.filter(order_type=filters["order_type"])
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    if filters.get("district"):
        qs = qs.filter(district=filters["district"])
    rows = list(qs.order_by(F("overdue_at").desc(nulls_last=True), F("due_date").asc(nulls_last=True), "-id")
                .values("id", "number", "title", "status", "order_type", "due_date", "warned_at", "overdue_at",
                        "lon_e6", "lat_e6", "category__name_zh", "category__name_en", "unit__name")[:MAP_LIMIT + 1])
    english = (get_language() or "").startswith("en")
    detail = reverse("complaints:detail", args=[0])
    orders = []
    for row in rows[:MAP_LIMIT]:
        mark = "overdue" if row["overdue_at"] else "warned" if row["warned_at"] else row["status"]
        orders.append({
            "id": row["id"], "number": row["number"], "title": row["title"], "mark": mark,
            "status": str(WorkOrderStatus(row["status"]).label),
            "type": str(WorkOrderType(row["order_type"]).label) if row["order_type"] else "",
            "category": row["category__name_en" if english else "category__name_zh"] or "",
            "unit": row["unit__name"] or "",
            "due": row["due_date"].isoformat() if row["due_date"] else "",
            "lon": row["lon_e6"] / 1e6, "lat": row["lat_e6"] / 1e6,
            "url": detail.replace("/0/", f"/{row['id']}/"),
        })
    return orders, len(rows) > MAP_LIMIT


@login_required
@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    if not policy.can_use_workorders(actor):
        raise PermissionDenied
    form = MapFilterForm(request.GET or None)
    query = request.GET.urlencode() if form.is_bound and form.is_valid() else ""
    return render(request, "complaints/map.html", {"title": _("Open work orders on the map"), "form": form,
                                                   "map_config": map_config(query)})


@map_data_view
def map_data(request: HttpRequest) -> HttpResponse:
    orders, truncated = open_orders_on_map(actor_for(request.user), _filters(request))
    return fresh_json({"orders": orders, "truncated": truncated, "limit": MAP_LIMIT})
