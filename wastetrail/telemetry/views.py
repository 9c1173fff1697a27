"""Telemetry pages: the live map of trucks, a vehicle's track, the terminals' connection status.

The live map is drawn by frontend/src/live.js, which polls the API's ``live`` operation; the track
page passes its points in the page. Views only translate HTTP to selectors (scoped by the actor).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wastetrail.accounts.policy import actor_for
from wastetrail.core.errors import NotFound
from wastetrail.registry.map_views import JIANGMEN_CENTRE_LAT_LON, JIANGMEN_ZOOM
from wastetrail.telemetry import policy, selectors
from wastetrail.telemetry.forms import TerminalFilterForm, TrackPeriodForm
from wastetrail.telemetry.models import LoadState
from wastetrail.telemetry.selectors import TrackPoint

REFRESH_SECONDS = 5
# Every this many refreshes the map asks for everything instead of the changes (see live.js).
FULL_REFRESH_EVERY = 12
TRACK_TABLE_PAGE_SIZE = 100
TERMINAL_PAGE_SIZE = 50


def _map_config() -> dict:
    """The base map both pages share, in the request's language (see registry.map_views)."""
    return {
        "districtsUrl": reverse("map-layer", args=["districts"]),
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "center": list(JIANGMEN_CENTRE_LAT_LON),
        "zoom": JIANGMEN_ZOOM,
        "language": get_language() or settings.LANGUAGE_CODE,
        "timeZone": settings.TIME_ZONE,
        "showEnglishNames": (get_language() or "").startswith("en"),
        "boundaryAttribution": _("Boundaries: DataV"),
        "flags": [{"value": int(flag), "label": str(label)} for flag, label in selectors.FLAG_NAMES.items()],
        "alarms": [{"bit": bit, "label": str(label)} for bit, label in selectors.ALARM_BIT_NAMES.items()],
    }


def _common_text() -> dict:
    return {
        "legend": _("Legend"),
        "offline": _("Offline base map (no tile server configured)"),
        "speed": _("Speed"),
        "alarm": _("Alarm"),
        "flags": _("Doubtful position"),
        "yes": _("Yes"),
        "no": _("No"),
        "unknown": _("Unknown"),
    }


def live_config() -> dict:
    return _map_config() | {
        "liveUrl": reverse("api:telemetry-live"),
        "manifestUrl": reverse("manifests-detail", args=[0]),
        "trackUrl": reverse("vehicle-track", args=[0]),
        "refreshMs": REFRESH_SECONDS * 1000,
        "fullEvery": FULL_REFRESH_EVERY,
        "states": selectors.state_legend(),
        "loads": {LoadState.EMPTY: _("Empty"), LoadState.HALF: _("Half loaded"), LoadState.FULL: _("Fully loaded"),
                  LoadState.UNKNOWN: _("Unknown")},
        "text": _common_text() | {
            "legendNote": _("Positions refresh every %(seconds)d seconds. Trucks that never reported are not shown.")
            % {"seconds": REFRESH_SECONDS},
            "company": _("Transport company"),
            "state": _("State"),
            "manifest": _("Open manifest"),
            "none": _("None"),
            "lastReport": _("Last report"),
            "acc": _("Ignition (ACC)"),
            "load": _("Load"),
            "cover": _("Cover open"),
            "lift": _("Body lifted"),
            "problems": _("Alarms and doubts"),
            "track": _("Track of the last 24 hours"),
            "findPlate": _("Find a plate"),
            "notFound": _("No truck with this plate on the map."),
            "refreshFailed": _("Could not refresh the positions; trying again."),
        },
    }


@login_required
@require_GET
def live_page(request: HttpRequest) -> HttpResponse:
    return render(request, "telemetry/live.html", {"title": _("Live map"), "live_config": live_config()})


# --- a vehicle's track ----------------------------------------------------------------------
def track_config() -> dict:
    text = _common_text() | {
        "time": _("Time"),
        "position": _("Position (WGS-84)"),
        "stop": _("Stop"),
        "start": _("Start"),
        "end": _("End"),
        "downsampled": _("More points than the map draws: evenly thinned, doubtful and alarm points kept."),
    }
    legend = [
        {"value": "line", "label": _("Route (trusted positions)"), "colour": "#1c7ed6", "swatch": "swatch-line"},
        {"value": "start", "label": text["start"], "colour": "#2f9e44", "swatch": "swatch-point"},
        {"value": "end", "label": text["end"], "colour": "#212529", "swatch": "swatch-point"},
        {"value": "stop", "label": _("Stop of 3 minutes or more"), "colour": "#7048e8", "swatch": "swatch-point"},
        {"value": "alarm", "label": _("Alarm reported"), "colour": "#e03131", "swatch": "swatch-point"},
        {"value": "flagged", "label": _("Doubtful position (not joined to the route)"), "colour": "#ffffff",
         "swatch": "swatch-flagged"},
    ]
    return _map_config() | {"text": text, "legend": legend}


def _moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _point_rows(points: list[TrackPoint]) -> list[dict]:
    return [{"time": _moment(p.t), "lat": p.lat, "lon": p.lon, "speed": p.speed, "heading": p.heading,
             "flags": ", ".join(selectors.flag_names(p.flags)), "alarms": ", ".join(selectors.alarm_names(p.alarm))}
            for p in points]


@login_required
@require_GET
def track_page(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    try:
        vehicle = selectors.visible_vehicle(actor=actor, vehicle_id=pk)
    except NotFound:
        raise Http404 from None
    asked = "from" in request.GET or "to" in request.GET
    initial = TrackPeriodForm.initial_period()
    form = TrackPeriodForm(request.GET if asked else {key: value.strftime("%Y-%m-%dT%H:%M")
                                                      for key, value in initial.items()})
    context = {
        "title": _("Track of %(plate)s") % {"plate": vehicle["plate"]}, "vehicle": vehicle, "form": form,
        "show_registry_link": not policy.track_from_manifest_only(actor, vehicle["company_id"]),
        "max_days": selectors.TRACK_MAX_PERIOD.days,
    }
    if not form.is_valid():
        return render(request, "telemetry/track.html", context, status=400)
    try:
        track = selectors.vehicle_track(actor=actor, vehicle_id=pk, start=form.cleaned_data["from"],
                                        end=form.cleaned_data["to"])
    except NotFound:  # the load was received meanwhile
        raise Http404 from None
    points_page = Paginator(_point_rows(track.points), TRACK_TABLE_PAGE_SIZE).get_page(request.GET.get("page"))
    period_query = urlencode({"from": form.data.get("from", ""), "to": form.data.get("to", "")})
    context |= {
        "track": track, "points_page": points_page, "period_query": period_query,
        "stops": [{"start": _moment(s.start), "end": _moment(s.end), "minutes": s.minutes, "lat": s.lat,
                   "lon": s.lon} for s in track.stops],
        "alarms": [{"start": _moment(a.start), "end": _moment(a.end), "names": ", ".join(a.names)}
                   for a in track.alarms],
        "cap": selectors.TRACK_POINT_CAP,
        "track_config": track_config(),
        "track_data": {"columns": list(TrackPoint._fields), "points": [list(p) for p in track.points],
                       "stops": [{"start": s.start, "end": s.end, "lat": s.lat, "lon": s.lon} for s in track.stops],
                       "downsampled": track.downsampled},
    }
    return render(request, "telemetry/track.html", context)


# --- terminals ------------------------------------------------------------------------------
@login_required
@require_GET
def terminal_status_page(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    if not policy.can_see_terminals(actor):
        raise PermissionDenied
    form = TerminalFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    order = filters.get("order") or selectors.TerminalOrder.LAST_FRAME_DESC
    terminals = selectors.terminal_status_list(
        actor=actor, connection=filters.get("connection") or None, search=filters.get("q", ""), order=order)
    page = Paginator(terminals, TERMINAL_PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(selectors.Connection.choices)
    for terminal in page:
        terminal.connection_label = labels.get(terminal.connection, "")
    query = request.GET.copy()
    query.pop("page", None)
    query_without_order = query.copy()
    query_without_order.pop("order", None)
    # The "last frame" header flips the order: newest first, oldest first (silent terminals).
    other_order = (selectors.TerminalOrder.LAST_FRAME_DESC if order == selectors.TerminalOrder.LAST_FRAME_ASC
                   else selectors.TerminalOrder.LAST_FRAME_ASC)
    return render(request, "telemetry/terminals.html", {
        "title": _("Terminal status"), "form": form, "page": page, "query": query.urlencode(),
        "query_without_order": query_without_order.urlencode(), "order": order, "other_order": other_order.value,
    })
