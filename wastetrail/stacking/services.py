"""Writes for residential areas, stacking points, fill reports and collections.

Each service checks who acts (stacking.policy), then the state under a row lock (a wrong state
raises DomainError with a code and changes nothing), then the input (ValidationError naming the
field), and writes the change and exactly one audit row in one transaction.

Public fill reports: a resident's report is recorded, but one resident cannot mark a point full.
A point goes FULL when its manager says so (a manager report of 100 % or "full": the manager
confirms) or when ``PUBLIC_FULL_REPORTS`` different residents (distinct ``client_key``) report it
full within ``PUBLIC_FULL_WINDOW``. One resident reports a point at most once per
``PUBLIC_REPORT_INTERVAL``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.services import audit_record
from wastetrail.core.districts import district_name
from wastetrail.core.errors import DomainError
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests.models import ManifestStatus
from wastetrail.manifests.services import manifest_issue_collection
from wastetrail.permits.models import ApprovalKind
from wastetrail.permits.selectors import valid_approval_ids
from wastetrail.registry.geometry import decimal_from_e6, locate_in_jiangmen
from wastetrail.registry.models import Driver, ReceivingSite, Vehicle
from wastetrail.stacking import policy
from wastetrail.stacking.models import (
    DECORATION_CATEGORY_CODE,
    OPEN_COLLECTION_STATUSES,
    CollectionManifest,
    CollectionRequest,
    CollectionStatus,
    FillReport,
    FillSource,
    PointStatus,
    ResidentialArea,
    StackingPoint,
)

PUBLIC_FULL_REPORTS = 3
PUBLIC_FULL_WINDOW = dt.timedelta(hours=24)
PUBLIC_REPORT_INTERVAL = dt.timedelta(minutes=30)
# A collection is asked for when the point is full or nearly so: a truck is not sent for a third.
COLLECTION_MIN_FILL = 80

AREA_FIELDS = ["name", "property_manager", "households", "address"]
POINT_FIELDS = ["name", "container_type", "capacity_m3", "opens_at", "closes_at", "open_days",
                "address", "contact_phone", "notes"]
POINT_AUDIT_FIELDS = ["code", "name", "area", "manager", "container_type", "capacity_m3", "opens_at",
                      "closes_at", "open_days", "status", "fill_percent", "lon_e6", "lat_e6", "district",
                      "address", "contact_phone", "notes"]


# --- input helpers --------------------------------------------------------------------------
def _reject_unknown(changes: dict[str, Any], allowed: list[str]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})


def _require(**values: Any) -> None:
    missing = [name for name, value in values.items() if value in (None, "")]
    if missing:
        raise ValidationError({name: _("This field is required.") for name in missing})


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def clean_open_days(value: Any) -> str:
    """ISO weekdays as a sorted string of distinct digits 1-7 ("12345" = Monday to Friday)."""
    text = re.sub(r"[\s,]", "", str(value or ""))
    if not text or not set(text) <= set("1234567"):
        raise ValidationError({"open_days": _("Give the ISO weekdays it is open, digits 1 (Monday) to 7 (Sunday).")})
    return "".join(sorted(set(text)))


def _percent(value: Any) -> int:
    try:
        percent = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"fill_percent": _("Enter a whole number from 0 to 100.")}) from None
    if not 0 <= percent <= 100:
        raise ValidationError({"fill_percent": _("Enter a whole number from 0 to 100.")})
    return percent


def _lock_point(point: StackingPoint) -> StackingPoint:
    return StackingPoint.objects.select_for_update().get(pk=point.pk)


# --- residential areas ----------------------------------------------------------------------
def _check_area_parties(street_office: Organisation | None, property_manager: Organisation | None) -> None:
    errors = {}
    if street_office is not None and street_office.kind != OrganisationKind.STREET_OFFICE:
        errors["street_office"] = _("Choose a street office / town government.")
    if property_manager is not None and property_manager.kind != OrganisationKind.PROPERTY_MANAGER:
        errors["property_manager"] = _("Choose a property manager.")
    if errors:
        raise ValidationError(errors)


def area_create(
    *,
    actor: Actor,
    name: str,
    street_office: Organisation | None,
    lon: Any,
    lat: Any,
    address: str = "",
    property_manager: Organisation | None = None,
    households: int | None = None,
) -> ResidentialArea:
    """A street office registers an area of its district; a regulator any in its jurisdiction."""
    actor.require(policy.can_register_areas(actor))
    _require(street_office=street_office, name=_text(name))
    _check_area_parties(street_office, property_manager)
    location = locate_in_jiangmen(lon, lat)
    actor.require(policy.can_register_area(actor, street_office_id=street_office.pk,
                                           street_office_district=street_office.district,
                                           district=location["district"]))
    with transaction.atomic():
        area = validated_create(ResidentialArea, name=_text(name), street_office=street_office,
                                property_manager=property_manager, households=households,
                                address=_text(address) or "", **location)
        audit_record(actor=actor.user, action="stacking.area_create", target=area, organisation=street_office,
                     data=snapshot(area, ["name", "street_office", "property_manager", "households", "address",
                                          "lon_e6", "lat_e6", "district"]))
    return area


def area_update(*, actor: Actor, area: ResidentialArea, **changes: Any) -> ResidentialArea:
    """Change AREA_FIELDS and the position. Setting or changing the property manager hands the
    area's points to the new responsible organisation (Art. 15), in the same change."""
    actor.require(policy.can_edit_area(actor, area))
    _reject_unknown(changes, AREA_FIELDS + ["lon", "lat"])
    lon, lat = changes.pop("lon", None), changes.pop("lat", None)
    for key in ("name", "address"):
        if key in changes:
            changes[key] = _text(changes[key]) or ""
    _check_area_parties(None, changes.get("property_manager"))
    if lon is not None or lat is not None:
        changes |= locate_in_jiangmen(lon if lon is not None else decimal_from_e6(area.lon_e6),
                          lat if lat is not None else decimal_from_e6(area.lat_e6))
        actor.require(policy.can_register_area(actor, street_office_id=area.street_office_id,
                                               street_office_district=area.street_office.district,
                                               district=changes["district"]))
    with transaction.atomic():
        locked = ResidentialArea.objects.select_for_update().get(pk=area.pk)
        diff = validated_update(locked, changes)
        moved: list[StackingPoint] = []
        if "property_manager" in diff:
            moved = list(StackingPoint.objects.select_for_update().filter(area=locked)
                         .exclude(manager_id=locked.responsible_id).order_by("code"))
            diff["points_handed_over"] = [point.code for point in moved]
        if diff:
            audit_record(actor=actor.user, action="stacking.area_update", target=locked,
                         organisation=locked.street_office_id, data=diff)
        # Each point's own trail says who ran it when: one row per point handed over.
        for point in moved:
            before = point.manager_id
            point.manager_id = locked.responsible_id
            point.save(update_fields=["manager", "updated_at"])
            audit_record(actor=actor.user, action="stacking.point_handover", target=point,
                         organisation=point.manager_id,
                         data={"manager": [before, point.manager_id], "area": locked.pk})
    return locked


# --- stacking points ------------------------------------------------------------------------
# A racing creation in the same district takes the same next code; the loser tries again.
CODE_ATTEMPTS = 5


def _next_code(district: int) -> str:
    """DP + district adcode + a serial within the district, at least four digits. Reads the one
    highest code (longest, then greatest: DP…10000 comes after DP…9999)."""
    prefix = f"DP{district}"
    last = (StackingPoint.objects.filter(code__startswith=prefix, code__regex=rf"^{prefix}[0-9]+$")
            .order_by(Length("code").desc(), "-code").values_list("code", flat=True).first())
    return f"{prefix}{int(last[len(prefix):]) + 1 if last else 1:04d}"


def _check_in_area_district(area: ResidentialArea, location: dict[str, int]) -> None:
    if location["district"] != area.district:
        raise ValidationError({"location": _(
            "This position lies in %(district)s, but the residential area %(area)s is in %(area_district)s: "
            "a point stands in its area's district.") % {
            "district": district_name(location["district"]), "area": area.name,
            "area_district": area.district_name}})


def point_create(
    *,
    actor: Actor,
    area: ResidentialArea | None,
    name: str,
    lon: Any,
    lat: Any,
    address: str,
    container_type: str,
    capacity_m3: Any,
    opens_at: dt.time | None,
    closes_at: dt.time | None,
    open_days: str = "1234567",
    contact_phone: str = "",
    notes: str = "",
) -> StackingPoint:
    """Art. 15: only the area's property manager (or, without one, its street office) sets its
    points. The point accepts bagged decoration waste only (category ``decoration_waste``)."""
    _require(area=area)
    actor.require(policy.can_create_point_in(actor, area))
    _require(name=_text(name), address=_text(address), opens_at=opens_at, closes_at=closes_at)
    days = clean_open_days(open_days)
    location = locate_in_jiangmen(lon, lat)
    _check_in_area_district(area, location)
    fields = {"name": _text(name), "area": area, "manager_id": area.responsible_id,
              "container_type": container_type, "capacity_m3": capacity_m3, "opens_at": opens_at,
              "closes_at": closes_at, "open_days": days, "address": _text(address),
              "contact_phone": _text(contact_phone) or "", "notes": _text(notes) or "", **location}
    with transaction.atomic():
        point = _create_with_next_code(fields, location["district"])
        audit_record(actor=actor.user, action="stacking.point_create", target=point, organisation=point.manager_id,
                     data=snapshot(point, POINT_AUDIT_FIELDS))
    return point


def _create_with_next_code(fields: dict[str, Any], district: int) -> StackingPoint:
    """Insert under the district's next code; a code taken meanwhile by a concurrent creation
    (the unique column refuses it) is read again, inside a savepoint so the caller's
    transaction survives."""
    point = StackingPoint(**fields)
    point.full_clean(exclude=["code"])  # the code is ours; its uniqueness is the insert's to check
    for attempt in range(CODE_ATTEMPTS):
        point.code = _next_code(district)
        try:
            with transaction.atomic():
                point.save(force_insert=True)
            return point
        except IntegrityError:
            if attempt == CODE_ATTEMPTS - 1 or not StackingPoint.objects.filter(code=point.code).exists():
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def point_update(*, actor: Actor, point: StackingPoint, **changes: Any) -> StackingPoint:
    """Change POINT_FIELDS and the position (the district follows it). Status and fill level
    have their own services."""
    actor.require(policy.can_run_point(actor, point))
    _reject_unknown(changes, POINT_FIELDS + ["lon", "lat"])
    lon, lat = changes.pop("lon", None), changes.pop("lat", None)
    for key in ("name", "address", "contact_phone", "notes"):
        if key in changes:
            changes[key] = _text(changes[key]) or ""
    for key in ("name", "address", "opens_at", "closes_at"):
        if key in changes:
            _require(**{key: changes[key]})
    if "open_days" in changes:
        changes["open_days"] = clean_open_days(changes["open_days"])
    if lon is not None or lat is not None:
        changes |= locate_in_jiangmen(lon if lon is not None else decimal_from_e6(point.lon_e6),
                          lat if lat is not None else decimal_from_e6(point.lat_e6))
        _check_in_area_district(point.area, changes)
    with transaction.atomic():
        locked = _lock_point(point)
        diff = validated_update(locked, changes)
        if diff:
            audit_record(actor=actor.user, action="stacking.point_update", target=locked,
                         organisation=locked.manager_id, data=diff)
    return locked


def point_set_status(*, actor: Actor, point: StackingPoint, status: str, reason: str = "") -> StackingPoint:
    """Open, full or closed. Closing needs a reason (residents find the point shut)."""
    actor.require(policy.can_run_point(actor, point))
    if status not in PointStatus.values:
        raise ValidationError({"status": _("Choose open, full or closed.")})
    text = (reason or "").strip()
    if status == PointStatus.CLOSED and not text:
        raise ValidationError({"reason": _("Give a reason for closing the point.")})
    with transaction.atomic():
        locked = _lock_point(point)
        if locked.status == status:
            raise DomainError(_("The point is already %(status)s.") % {"status": PointStatus(status).label},
                              code="same_status")
        if status == PointStatus.CLOSED and CollectionRequest.objects.filter(
                point=locked, status__in=OPEN_COLLECTION_STATUSES).exists():
            # A truck is on its way or loading: closing now would strand it; finish or cancel first.
            raise DomainError(_("The point has an open collection: let it finish or cancel it before closing "
                                "the point."), code="collection_open")
        before = locked.status
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor.user, action="stacking.point_status", target=locked, organisation=locked.manager_id,
                     data={"status": [before, status], "reason": text})
    return locked


# --- fill reports ---------------------------------------------------------------------------
def fill_report_create(
    *,
    actor: Actor | None,
    point: StackingPoint,
    fill_percent: Any,
    full: bool = False,
    is_dirty: bool = False,
    note: str = "",
    client_key: str = "",
    now: dt.datetime | None = None,
) -> FillReport:
    """A fill report. ``actor`` staff of the point's manager: the point's fill level is set (and
    100 % or ``full`` makes it FULL, below that a FULL point reopens). ``actor`` None: a resident's
    report, which needs ``client_key`` (a keyed hash of the client the caller computes; no
    address is stored) and moves the point to FULL only as the module docstring says."""
    now = now or timezone.now()
    percent = _percent(fill_percent)
    says_full = bool(full) or percent == 100
    text = (note or "").strip()
    if len(text) > 300:
        raise ValidationError({"note": _("At most 300 characters.")})
    public = actor is None
    if public:
        key = (client_key or "").strip()
        if not key or len(key) > 64:
            raise ValidationError({"client_key": _("A public report needs the client's key (at most 64 characters).")})
    else:
        actor.require(policy.can_run_point(actor, point))
        key = ""
    with transaction.atomic():
        locked = _lock_point(point)
        if locked.status == PointStatus.CLOSED:
            raise DomainError(_("The point is closed."), code="point_closed")
        if public and FillReport.objects.filter(point=locked, client_key=key,
                                                reported_at__gt=now - PUBLIC_REPORT_INTERVAL).exists():
            raise DomainError(_("You reported this point a moment ago; thank you."), code="too_many_reports")
        report = FillReport.objects.create(
            point=locked, source=FillSource.PUBLIC if public else FillSource.MANAGER, fill_percent=percent,
            is_dirty=bool(is_dirty), note=text, reported_by=None if public else actor.user, client_key=key,
            reported_at=now)
        before = (locked.status, locked.fill_percent)
        if public:
            if says_full and locked.status == PointStatus.OPEN and _public_full_reporters(locked, now) >= \
                    PUBLIC_FULL_REPORTS:
                locked.status = PointStatus.FULL
        else:
            locked.fill_percent, locked.fill_reported_at = (100 if says_full else percent), now
            if says_full:
                locked.status = PointStatus.FULL
            elif locked.status == PointStatus.FULL:
                locked.status = PointStatus.OPEN
        if (locked.status, locked.fill_percent) != before or not public:
            locked.save(update_fields=["status", "fill_percent", "fill_reported_at", "updated_at"])
        audit_record(actor=None if public else actor.user, action="stacking.fill_report", target=locked,
                     organisation=locked.manager_id,
                     data={"report": report.pk, "source": report.source, "fill_percent": percent, "full": says_full,
                           "dirty": report.is_dirty, "status": [before[0], locked.status],
                           "point_fill_percent": [before[1], locked.fill_percent]})
    return report


def _public_full_reporters(point: StackingPoint, now: dt.datetime) -> int:
    """Distinct residents who reported the point full within the window."""
    return (FillReport.objects.filter(point=point, source=FillSource.PUBLIC, reported_at__gt=now - PUBLIC_FULL_WINDOW,
                                      reported_at__lte=now, fill_percent=100)
            .values("client_key").distinct().count())


# --- collections ----------------------------------------------------------------------------
def decoration_category() -> WasteCategory:
    try:
        return WasteCategory.objects.get(code=DECORATION_CATEGORY_CODE)
    except WasteCategory.DoesNotExist:
        raise DomainError(_("The rulebook has no decoration waste category."), code="no_category") from None


def _check_carrier(carrier: Organisation, category: WasteCategory, on: dt.date) -> None:
    if carrier.kind != OrganisationKind.TRANSPORT_COMPANY or not carrier.is_active:
        raise ValidationError({"carrier": _("Choose an active transport company.")})
    found = valid_approval_ids(on, {ApprovalKind.TRANSPORT: {"holder": carrier.pk, "category": category}})
    if found[ApprovalKind.TRANSPORT] is None:
        raise DomainError(_("%(carrier)s holds no valid transport approval for %(category)s on %(date)s.") % {
            "carrier": carrier.name, "category": category, "date": on.isoformat()}, code="no_transport_approval")


def _estimate(value: Any, point: StackingPoint) -> Decimal:
    if value in (None, ""):
        return max((point.capacity_m3 * max(point.fill_percent, COLLECTION_MIN_FILL) / 100).quantize(Decimal("0.1")),
                   Decimal("0.1"))
    try:
        estimate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"estimated_m3": _("Enter a number.")}) from None
    if not estimate.is_finite() or not Decimal("0.1") <= estimate <= Decimal("99999"):
        raise ValidationError({"estimated_m3": _("Enter a quantity from 0.1 to 99999 m³.")})
    return estimate.quantize(Decimal("0.1"))


def _open_collection_error(point: StackingPoint) -> DomainError:
    return DomainError(_("%(point)s already has an open collection request.") % {"point": point.name},
                       code="collection_open")


def collection_request_create(
    *,
    actor: Actor,
    point: StackingPoint,
    carrier: Organisation | None,
    estimated_m3: Any = None,
    note: str = "",
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> CollectionRequest:
    """The point's manager asks a transport company to collect a full (or ≥ 80 %) point. The
    carrier must hold a transport approval in force today covering decoration waste. ``now``:
    the request's time (the demo dates its history); ``today`` defaults to its local date."""
    actor.require(policy.can_run_point(actor, point))
    _require(carrier=carrier)
    now = now or timezone.now()
    category = decoration_category()
    _estimate(estimated_m3, point)  # bad input is refused before anything is locked
    _check_carrier(carrier, category, today or timezone.localdate(now))
    try:
        with transaction.atomic():
            locked = _lock_point(point)
            if locked.status == PointStatus.CLOSED:
                raise DomainError(_("The point is closed."), code="point_closed")
            if locked.status != PointStatus.FULL and locked.fill_percent < COLLECTION_MIN_FILL:
                raise DomainError(_("A collection is requested when the point is full or at least %(min)s %% "
                                    "full; it is %(fill)s %%.") % {"min": COLLECTION_MIN_FILL,
                                                                 "fill": locked.fill_percent},
                                  code="not_full_enough")
            if CollectionRequest.objects.filter(point=locked, status__in=OPEN_COLLECTION_STATUSES).exists():
                raise _open_collection_error(locked)
            estimate = _estimate(estimated_m3, locked)
            collection = CollectionRequest.objects.create(
                point=locked, carrier=carrier, estimated_m3=estimate, note=(note or "").strip()[:300],
                requested_by=actor.user, requested_at=now)
            audit_record(actor=actor.user, action="stacking.collection_request", target=collection,
                         organisation=locked.manager_id,
                         data={"point": locked.code, "carrier": carrier.pk, "estimated_m3": estimate,
                               "fill_percent": locked.fill_percent, "point_status": locked.status})
    except IntegrityError:
        # The partial unique index caught a second request racing past the check.
        raise _open_collection_error(point) from None
    return collection


def _lock_collection(collection: CollectionRequest, steps_from: tuple[str, ...], step: str) -> CollectionRequest:
    # of=self: the point and carrier rows are read with it, but only the collection is locked.
    locked = (CollectionRequest.objects.select_for_update(of=("self",)).select_related("point", "carrier")
              .get(pk=collection.pk))
    if locked.status not in steps_from:
        raise DomainError(_("This collection cannot be %(step)s now; it is %(status)s.") % {
            "step": step, "status": CollectionStatus(locked.status).label}, code="wrong_state")
    return locked


def collection_accept(*, actor: Actor, collection: CollectionRequest,
                      today: dt.date | None = None) -> CollectionRequest:
    """The transport company takes the job (its approval is checked again: it may have lapsed)."""
    actor.require(policy.can_accept_collection(actor, collection))
    with transaction.atomic():
        locked = _lock_collection(collection, (CollectionStatus.REQUESTED,), _("accepted"))
        _check_carrier(locked.carrier, decoration_category(), today or timezone.localdate())
        locked.status, locked.accepted_at = CollectionStatus.ACCEPTED, timezone.now()
        locked.save(update_fields=["status", "accepted_at"])
        audit_record(actor=actor.user, action="stacking.collection_accept", target=locked,
                     organisation=locked.carrier_id, data={"status": locked.status})
    return locked


def collection_is_cancellable(collection: CollectionRequest) -> bool:
    """Before the load leaves under a manifest, or when its manifest was cancelled (nothing left:
    otherwise the point would keep an open collection, and refuse new ones, for good)."""
    if collection.status in (CollectionStatus.REQUESTED, CollectionStatus.ACCEPTED):
        return True
    return (collection.status == CollectionStatus.IN_TRANSIT and collection.manifest_id is not None
            and collection.manifest.status == ManifestStatus.CANCELLED)


def collection_cancel(*, actor: Actor, collection: CollectionRequest, reason: str) -> CollectionRequest:
    """Withdrawn by the point's manager or declined by the transport company, before the load
    leaves under a manifest or after its manifest was cancelled."""
    actor.require(policy.can_cancel_collection(actor, collection))
    text = (reason or "").strip()
    if not text:
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        locked = _lock_collection(collection, OPEN_COLLECTION_STATUSES, _("cancelled"))
        if not collection_is_cancellable(locked):
            raise DomainError(_("This collection travels under manifest %(number)s; it can be cancelled only "
                                "once that manifest is cancelled.") % {"number": locked.manifest.number},
                              code="wrong_state")
        locked.status, locked.cancelled_at, locked.cancellation_reason = (
            CollectionStatus.CANCELLED, timezone.now(), text[:300])
        locked.save(update_fields=["status", "cancelled_at", "cancellation_reason"])
        audit_record(actor=actor.user, action="stacking.collection_cancel", target=locked,
                     organisation=locked.point.manager_id, data={"status": locked.status, "reason": text})
    return locked


def collection_issue_manifest(
    *,
    actor: Actor,
    collection: CollectionRequest,
    vehicle: Vehicle | None,
    driver: Driver | None,
    site: ReceivingSite | None,
    estimated_m3: Any = None,
    estimated_t: Any = None,
    route: str = "",
    expected_arrival_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> CollectionRequest:
    """The point's manager issues the load's manifest (manifests.services.manifest_issue_collection:
    every vehicle, driver, approval and site check) with a vehicle and driver of the carrier that
    accepted. Also from IN_TRANSIT when the previous manifest was cancelled before departure."""
    actor.require(policy.can_run_point(actor, collection.point))
    with transaction.atomic():
        locked = _lock_collection(collection, (CollectionStatus.ACCEPTED, CollectionStatus.IN_TRANSIT),
                                  _("put under a manifest"))
        if locked.status == CollectionStatus.IN_TRANSIT and locked.manifest.status != ManifestStatus.CANCELLED:
            raise DomainError(_("The collection already travels under manifest %(number)s.") % {
                "number": locked.manifest.number}, code="wrong_state")
        manifest = manifest_issue_collection(
            actor=actor, collection=locked, vehicle=vehicle, driver=driver, site=site,
            category=decoration_category(), estimated_m3=estimated_m3 or locked.estimated_m3,
            estimated_t=estimated_t, route=route, expected_arrival_at=expected_arrival_at, now=now)
        previous = locked.manifest_id
        locked.status, locked.manifest = CollectionStatus.IN_TRANSIT, manifest
        locked.save(update_fields=["status", "manifest"])
        CollectionManifest.objects.create(collection=locked, manifest=manifest)
        audit_record(actor=actor.user, action="stacking.collection_manifest", target=locked,
                     organisation=locked.point.manager_id,
                     data={"status": locked.status, "manifest": manifest.number, "previous_manifest": previous})
    return locked


def collection_finish(*, manifest: Any, actor: Actor) -> CollectionRequest | None:
    """The collection's manifest closed (manifests' ``collection_manifest_closed`` signal, inside
    the closing transaction): the collection is done and the point reopens empty. A redirect of
    a collection's manifest has no collection of its own: nothing to do."""
    locked = (CollectionRequest.objects.select_for_update(of=("self",)).select_related("point")
              .filter(manifest_id=manifest.pk, status=CollectionStatus.IN_TRANSIT).first())
    if locked is None:
        return None
    now = timezone.now()
    locked.status, locked.done_at = CollectionStatus.DONE, now
    locked.save(update_fields=["status", "done_at"])
    point = _lock_point(locked.point)
    before = (point.status, point.fill_percent)
    point.fill_percent, point.fill_reported_at = 0, now
    if point.status == PointStatus.FULL:
        point.status = PointStatus.OPEN
    point.save(update_fields=["status", "fill_percent", "fill_reported_at", "updated_at"])
    audit_record(actor=actor.user, action="stacking.collection_done", target=locked,
                 organisation=point.manager_id,
                 data={"manifest": manifest.number, "point": point.code, "status": locked.status,
                       "point_status": [before[0], point.status], "fill_percent": [before[1], 0]})
    return locked


def collection_manifest_redirected(*, manifest: Any, parent: Any) -> None:
    """A collection's refused load sent on under a new manifest (manifests' signal, inside the
    redirect's transaction): the new manifest joins the collection's trail. No audit row here:
    the redirect's own row (manifest.redirect) records the change."""
    entry = CollectionManifest.objects.filter(manifest_id=parent.pk).first()
    if entry is not None:
        CollectionManifest.objects.create(collection_id=entry.collection_id, manifest=manifest)


def on_collection_manifest_redirected(sender: Any, *, manifest: Any, parent: Any, **kwargs: Any) -> None:
    collection_manifest_redirected(manifest=manifest, parent=parent)


def on_collection_manifest_closed(sender: Any, *, manifest: Any, actor: Actor, **kwargs: Any) -> None:
    collection_finish(manifest=manifest, actor=actor)
