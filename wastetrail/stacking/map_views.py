"""The staff map of stacking points (front end: frontend/src/stacking.js).

Every point the user may see (stacking.policy through ``selectors.points_on_map``), one marker
each, coloured by what it needs: full with nobody asked to collect it first, then the points a
truck is coming for, nearly full, open and closed. The base is the bundled district boundaries,
so the page works on an offline intranet like the other maps.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wastetrail.accounts.policy import actor_for
from wastetrail.registry.map_views import base_map_config, fresh_json, map_data_view
from wastetrail.stacking import selectors
from wastetrail.stacking.forms import PointFilterForm
from wastetrail.stacking.models import PointStatus, StackingPoint
from wastetrail.stacking.services import COLLECTION_MIN_FILL

MAP_LIMIT = 5000  # a city has hundreds of points; beyond this the filter must narrow the view

# Marks, most urgent first: the legend lists them in this order.
MARK_COLOURS = {
    "full": "#e03131",         # full and nobody asked to collect it yet
    "collecting": "#1c7ed6",   # a transport company has been asked (requested, accepted or under way)
    "nearly_full": "#f59f00",  # open, at or above the level at which a collection may be asked for
    "open": "#2b8a3e",
    "closed": "#868e96",
}


def mark_of(point: StackingPoint) -> str:
    if point.status == PointStatus.CLOSED:
        return "closed"
    if point.collection_open:
        return "collecting"
    if point.status == PointStatus.FULL:
        return "full"
    return "nearly_full" if point.fill_percent >= COLLECTION_MIN_FILL else "open"


def legend() -> list[dict[str, str]]:
    labels = {
        "full": _("Full, no collection asked for"),
        "collecting": _("Collection under way"),
        "nearly_full": _("Nearly full (%(percent)d %% or more)") % {"percent": COLLECTION_MIN_FILL},
        "open": _("Open"),
        "closed": _("Closed"),
    }
    return [{"value": mark, "label": labels[mark], "colour": colour} for mark, colour in MARK_COLOURS.items()]


def map_config(query: str) -> dict[str, Any]:
    config = base_map_config()
    config["text"] |= {
        "legend": _("Legend"),
        "loadFailed": _("Could not load the stacking points. Reload the page to try again."),
        "truncated": _("Only the %(limit)d fullest points are shown: narrow the filter.") % {"limit": MAP_LIMIT},
        "code": _("Code"), "status": _("Status"), "fill": _("Fill level"), "area": _("Residential area"),
        "manager": _("Managed by"), "hours": _("Opening hours"), "address": _("Address"),
        "open": _("Open the stacking point"),
    }
    data_url = reverse("stacking-map-data") + (f"?{query}" if query else "")
    return config | {"dataUrl": data_url, "legend": legend()}


def _filters(request: HttpRequest) -> dict[str, Any]:
    form = PointFilterForm(request.GET or None)
    if not form.is_valid():
        return {}
    return {"district": form.cleaned_data.get("district"), "status": form.cleaned_data.get("status") or None,
            "search": form.cleaned_data.get("q") or ""}


def point_marker(point: StackingPoint) -> dict[str, Any]:
    return {
        "id": point.pk, "title": point.name, "code": point.code, "mark": mark_of(point),
        "status": point.get_status_display(), "fill": f"{point.fill_percent} %",
        "area": point.area.name, "manager": point.manager.name, "address": point.address,
        "hours": f"{point.opens_at:%H:%M}–{point.closes_at:%H:%M}",
        "lon": point.lon, "lat": point.lat,
        "url": reverse("stacking-points-detail", args=[point.pk]),
    }


@login_required
@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    form = PointFilterForm(request.GET or None)
    query = request.GET.urlencode() if form.is_bound and form.is_valid() else ""
    return render(request, "stacking/map.html", {"title": _("Stacking points on the map"), "form": form,
                                                 "map_config": map_config(query)})


@map_data_view
def map_data(request: HttpRequest) -> HttpResponse:
    points, truncated = selectors.points_on_map(actor=actor_for(request.user), limit=MAP_LIMIT, **_filters(request))
    return fresh_json({"points": [point_marker(point) for point in points], "truncated": truncated,
                       "limit": MAP_LIMIT})
