"""The public pages: no login, phone first, Chinese by default. Views translate HTTP to the
services (complaints, stacking) and add what only a door can do: throttling by client
(core.ratelimit), the request size limit, and one-time display of the tracking code.

The code is shown once, after a redirect, from a session value that is removed when read; it is
never put in a URL. A resident who proves number + code may follow and rate that order for
``VERIFIED_FOR`` in this browser session: the rating form carries no code.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import time_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from wastetrail.complaints import selectors, services
from wastetrail.complaints.models import WorkOrder, WorkOrderSource
from wastetrail.complaints.public import throttle
from wastetrail.complaints.public.forms import FillReportForm, PointSearchForm, RateForm, ReportForm, TrackForm
from wastetrail.core.crud import attach_errors
from wastetrail.core.districts import DISTRICT_CHOICES, district_at
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.core.images import PHOTO_MAX_BYTES
from wastetrail.core.ratelimit import Limit, client_key
from wastetrail.registry.map_views import JIANGMEN_CENTRE_LAT_LON, JIANGMEN_ZOOM, districts_layer_bytes
from wastetrail.registry.map_views import districts_layer_etag as _districts_etag
from wastetrail.stacking import selectors as stacking_selectors
from wastetrail.stacking import services as stacking_services
from wastetrail.stacking.models import PointStatus, StackingPoint

RECEIPT_SESSION_KEY = "public_receipt"
VERIFIED_SESSION_KEY = "public_verified_orders"
VERIFIED_FOR = dt.timedelta(minutes=30)
NEAREST_LIMIT = 20
SEARCH_LIMIT = 50
# History steps that name the unit answering (a public body); other events name nobody.
UNIT_EVENTS = ("dispatched", "accepted", "answered")


def _retry_text(limit: Limit) -> str:
    return timezone.localtime(limit.retry_at(timezone.now())).strftime("%H:%M")


# --- shared page parts ------------------------------------------------------------------------
def _map_config(**extra: Any) -> dict:
    """What frontend/src/public.js needs, in the request's language."""
    return {
        "districts": reverse("public:districts"),
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "center": list(JIANGMEN_CENTRE_LAT_LON),
        "zoom": JIANGMEN_ZOOM,
        "boundaryAttribution": _("Boundaries: DataV"),
        "text": {
            "offline": _("Offline base map (no tile server configured)"),
            "locating": _("Finding your location…"),
            "refused": _("Your location was not shared. Choose your district or search below; to report a "
                         "problem, tap the place on the map."),
            "unavailable": _("This browser cannot share its location. Choose your district or search below."),
            "picked": _("Place marked. Drag the map and tap again to move it."),
            "outside": _("That place is outside Jiangmen."),
            "distance": _("Distance"),
            "report": _("Report it full or dirty"),
            "loadFailed": _("The map could not be loaded; the list below still works."),
        },
        **extra,
    }


def _open_days_text(open_days: str) -> str:
    if set("1234567") <= set(open_days):
        return _("every day")
    return " ".join(str(WEEKDAYS_ABBR[int(day) - 1]) for day in sorted(open_days) if day in "1234567")


def _distance_text(metres: float | None) -> str:
    if metres is None:
        return ""
    if metres < 1000:
        return _("%(m)d m") % {"m": round(metres / 10) * 10}
    return _("%(km).1f km") % {"km": metres / 1000}


def point_card(point: StackingPoint, distance: float | None, now: dt.datetime) -> dict:
    """What residents see of a point: nothing about its manager beyond the public phone."""
    return {
        "id": point.pk,
        "name": point.name,
        "address": point.address,
        "area": point.area.name,
        "district": point.district_name,
        "hours": f"{time_format(point.opens_at, 'H:i')}–{time_format(point.closes_at, 'H:i')}",
        "days": _open_days_text(point.open_days),
        "open_now": stacking_selectors.point_is_open_now(point, now),
        "container": point.get_container_type_display(),
        "capacity": f"{point.capacity_m3:.1f}".removesuffix(".0"),
        "status": point.status,
        "status_label": str(point.get_status_display()),
        "fill_percent": point.fill_percent,
        "distance_m": round(distance) if distance is not None else None,
        "distance": _distance_text(distance),
        "phone": point.contact_phone,
        "notes": point.notes,
        "lon": point.lon,
        "lat": point.lat,
        "report_url": reverse("public:point-report", args=[point.pk]),
    }


# --- pages ------------------------------------------------------------------------------------
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html", {"title": _("Decoration waste and construction waste")})


@require_GET
def guide(request: HttpRequest) -> HttpResponse:
    return render(request, "public/guide.html", {"title": _("What may go in a stacking point")})


@require_GET
@condition(etag_func=lambda request: _districts_etag())
def districts(request: HttpRequest) -> HttpResponse:
    """The bundled district boundaries, public: the public map's base layer."""
    response = HttpResponse(districts_layer_bytes(), content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def points(request: HttpRequest) -> HttpResponse:
    """The finder: nearest first from a position (the browser's, sent by public.js), else by
    district and search words. Rendered on the server: it works without JavaScript."""
    form = PointSearchForm(request.GET or None)
    now = timezone.now()
    found: list[tuple[StackingPoint, float | None]] = []
    origin, outside = None, False
    searched = form.is_bound and form.is_valid()
    if searched:
        data = form.cleaned_data
        open_only = not data["everything"]
        if data["lon"] is not None and data["lat"] is not None:
            origin = (data["lon"], data["lat"])
            outside = district_at(lon=origin[0], lat=origin[1]) is None
            found = list(stacking_selectors.nearest_points(origin[0], origin[1], limit=NEAREST_LIMIT,
                                                           open_only=open_only))
        else:
            qs = stacking_selectors.public_points(district=data["district"], open_only=open_only)
            if open_only:
                qs = qs.filter(status=PointStatus.OPEN)
            words = data["q"].strip()
            if words:
                qs = qs.filter(Q(name__icontains=words) | Q(address__icontains=words) | Q(area__name__icontains=words))
            found = [(point, None) for point in qs[:SEARCH_LIMIT]]
    cards = [point_card(point, distance, now) for point, distance in found]
    return render(request, "public/points.html", {
        "title": _("Find a stacking point"), "form": form, "cards": cards, "searched": searched,
        "origin": origin, "outside": outside, "districts": DISTRICT_CHOICES,
        "map_config": _map_config(mode="points", points=cards,
                                  origin=list(origin) if origin else None),
    })


@never_cache
@require_http_methods(["GET", "POST"])
def point_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A resident says a point is full or dirty (stacking.services.fill_report_create)."""
    point = get_object_or_404(stacking_selectors.public_points(), pk=pk)
    form = FillReportForm(request.POST or None)
    status, done = 200, False
    if request.method == "POST" and form.is_valid():
        key = client_key(request)
        limit = throttle.limits()["fill_report"]
        if not throttle.admit(limit, key):
            form.add_error(None, _("Too many reports from this connection. Please try again after %(time)s.")
                           % {"time": _retry_text(limit)})
            status = 429
        else:
            full = form.cleaned_data["problem"] == FillReportForm.FULL
            try:
                stacking_services.fill_report_create(
                    actor=None, point=point, fill_percent=100 if full else point.fill_percent, full=full,
                    is_dirty=not full, note=form.cleaned_data["note"], client_key=key)
                done = True
            except ValidationError as exc:
                attach_errors(form, exc)
                status = 400
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = 409
    elif request.method == "POST":
        status = 400
    return render(request, "public/point_report.html", {
        "title": _("Report a stacking point"), "point": point_card(point, None, timezone.now()), "form": form,
        "done": done}, status=status)


# --- reporting a problem ----------------------------------------------------------------------
@csrf_exempt  # checked below, after the size check: the CSRF check would read the whole body first
@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > throttle.max_report_bytes():
            return _report_page(request, ReportForm(), status=413, error=_(
                "The report is too large (%(mb)d MB at most, with photos). Send smaller or fewer photos.")
                % {"mb": throttle.max_report_bytes() // (1024 * 1024)})
    return _report_checked(request)


@csrf_protect  # before the count: another site's page must not use up a visitor's allowance
def _report_checked(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _report_page(request, ReportForm(initial=_initial_from_point(request)))
    limit = throttle.limits()["report_post"]
    if not throttle.admit(limit, client_key(request)):
        return _report_page(request, ReportForm(), status=429, error=_(
            "Too many reports from this connection. Please try again after %(time)s, or call 12345.")
            % {"time": _retry_text(limit)})
    form = ReportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _report_page(request, form, status=400)
    data = form.cleaned_data
    try:
        order, code = services.workorder_receive(
            actor=None, source=WorkOrderSource.PUBLIC, category=data["category"], description=data["description"],
            lon=data["lon"], lat=data["lat"], address=data["address"], reported_plate=data["reported_plate"],
            stacking_point=data["stacking_point"], photos=request.FILES.getlist("photos"),
            anonymous=data["anonymous"], complainant_name=data["complainant_name"],
            complainant_phone=data["complainant_phone"], client_key=client_key(request))
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            exc = ValidationError({ReportForm.SERVICE_FIELDS.get(field, field): errors
                                   for field, errors in exc.error_dict.items()})
        attach_errors(form, exc)
        return _report_page(request, form, status=400)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _report_page(request, form, status=429 if exc.code == "rate_limited" else 409)
    request.session[RECEIPT_SESSION_KEY] = {"number": order.number, "code": code,
                                            "phone": bool(order.complainant_phone)}
    _remember_verified(request, order.number)
    return redirect("public:report-done")


def _initial_from_point(request: HttpRequest) -> dict:
    """Coming from a stacking point's card: the point, its place and the usual category."""
    try:
        point = stacking_selectors.public_points().get(pk=int(request.GET.get("point", "")))
    except (ValueError, StackingPoint.DoesNotExist):
        return {}
    category = selectors.categories(public_only=True).filter(code="stacking_point_dirty").first()
    return {"stacking_point": point.pk, "lon": f"{point.lon:.6f}", "lat": f"{point.lat:.6f}",
            "address": f"{point.name} · {point.address}", "category": category}


def _report_page(request: HttpRequest, form: ReportForm, *, status: int = 200, error: str = "") -> HttpResponse:
    point = form["stacking_point"].value()
    point = stacking_selectors.public_points().filter(pk=point).first() if str(point or "").isdigit() else None
    initial = (form["lon"].value(), form["lat"].value())
    return render(request, "public/report.html", {
        "title": _("Report a problem"), "form": form, "error": error, "point": point,
        "photo_limit": services.PHOTO_LIMIT, "photo_mb": PHOTO_MAX_BYTES // (1024 * 1024),
        "map_config": _map_config(mode="pick", picked=list(initial) if all(initial) else None),
    }, status=status)


@never_cache
@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    """The tracking number and code, once: the session value is gone after this response."""
    receipt = request.session.pop(RECEIPT_SESSION_KEY, None)
    return render(request, "public/report_done.html", {"title": _("Report received"), "receipt": receipt})


# --- following a report -----------------------------------------------------------------------
def _verified(request: HttpRequest) -> dict[str, float]:
    now = time.time()
    return {number: until for number, until in request.session.get(VERIFIED_SESSION_KEY, {}).items() if until > now}


def _remember_verified(request: HttpRequest, number: str) -> None:
    verified = _verified(request)
    verified[number] = time.time() + VERIFIED_FOR.total_seconds()
    request.session[VERIFIED_SESSION_KEY] = verified


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            number, code = form.cleaned_data["number"], form.cleaned_data["code"]
            try:
                order = throttle.track(client=client_key(request), number=number, code=code)
            except throttle.TrackingLocked as locked:
                # Locked: the code is not even compared, so guessing on gets nowhere.
                form.add_error(None, _("Too many wrong codes. For your safety, following this report is locked "
                                       "until %(time)s. Call 12345 if you need help sooner.")
                               % {"time": _retry_text(locked.limit)})
                status = 429
            except NotFound as exc:
                form.add_error(None, str(exc))
                status = 404
            else:
                _remember_verified(request, order.number)
                return redirect("public:track-order", number=order.number)
    return render(request, "public/track.html", {"title": _("Follow my report"), "form": form}, status=status)


def _tracked_order(request: HttpRequest, number: str) -> WorkOrder | None:
    if number not in _verified(request):
        return None
    return WorkOrder.objects.select_related("category", "unit").filter(number=number).first()


@never_cache
@require_GET
def track_order(request: HttpRequest, number: str) -> HttpResponse:
    order = _tracked_order(request, number)
    if order is None:
        return redirect("public:track")
    return _order_page(request, order, RateForm())


@never_cache
@require_POST
def track_rate(request: HttpRequest, number: str) -> HttpResponse:
    """Rating needs the number + code check done earlier in this session (not a code in the form)."""
    order = _tracked_order(request, number)
    if order is None:
        return redirect("public:track")
    form = RateForm(request.POST)
    if not form.is_valid():
        return _order_page(request, order, form, status=400)
    try:
        services.workorder_rate(actor=None, order=order, satisfaction=form.cleaned_data["satisfaction"],
                                comment=form.cleaned_data["comment"])
    except ValidationError as exc:
        attach_errors(form, exc)
        return _order_page(request, order, form, status=400)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _order_page(request, order, form, status=409)
    return redirect("public:track-order", number=order.number)


def _order_page(request: HttpRequest, order: WorkOrder, form: RateForm, *, status: int = 200) -> HttpResponse:
    """What the complainant sees: never their own name or phone, never staff notes."""
    history = [{"label": event.get_kind_display(), "at": event.at,
                "unit": event.organisation.name if event.organisation and event.kind in UNIT_EVENTS else ""}
               for event in selectors.workorder_history(order, public=True)]
    return render(request, "public/track_order.html", {
        "title": _("Report %(number)s") % {"number": order.number}, "order": order, "history": history,
        "category": order.category.display_name if order.category else "", "form": form,
        "can_rate": order.can("rate"), "english": (get_language() or "").startswith("en"),
    }, status=status)

