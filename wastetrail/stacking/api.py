"""API for decoration-waste stacking points: areas, points, status, fill reports, collections and
their manifests, plus the public, unauthenticated ``GET /public/points`` (nearest open points,
no personal data).

Each operation resolves ids to objects, calls one service and returns the object as the
actor's selector sees it. Error keys name the payload's fields (``area_id``, ``carrier_id``).
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.models import Organisation
from wastetrail.api import payload_errors, request_actor
from wastetrail.core.errors import NotFound
from wastetrail.registry.models import Driver, ReceivingSite, Vehicle
from wastetrail.stacking import selectors, services
from wastetrail.stacking.models import CollectionStatus, ContainerType, PointStatus

router = Router(tags=["stacking points"])

PAYLOAD_NAMES = {"area": "area_id", "street_office": "street_office_id", "property_manager": "property_manager_id",
                 "carrier": "carrier_id", "vehicle": "vehicle_id", "driver": "driver_id", "site": "site_id"}


# --- schemas --------------------------------------------------------------------------------
class AreaOut(Schema):
    id: int
    name: str
    district: int
    district_name: str
    address: str
    lon: float
    lat: float
    street_office_id: int
    street_office_name: str = Field(..., alias="street_office.name")
    property_manager_id: int | None
    property_manager_name: str | None
    households: int | None

    @staticmethod
    def resolve_property_manager_name(obj) -> str | None:
        return obj.property_manager.name if obj.property_manager_id else None


class AreaIn(Schema):
    name: str
    street_office_id: int
    property_manager_id: int | None = None
    lon: Decimal
    lat: Decimal
    address: str
    households: int | None = None


class AreaPatch(Schema):
    name: str | None = None
    property_manager_id: int | None = Field(None, description="0 removes the property manager")
    lon: Decimal | None = None
    lat: Decimal | None = None
    address: str | None = None
    households: int | None = None


class PointOut(Schema):
    id: int
    code: str
    name: str
    area_id: int
    area_name: str = Field(..., alias="area.name")
    manager_id: int
    manager_name: str = Field(..., alias="manager.name")
    container_type: str
    capacity_m3: float
    opens_at: dt.time
    closes_at: dt.time
    open_days: str
    status: str
    status_display: str = Field(..., alias="get_status_display")
    fill_percent: int
    fill_reported_at: dt.datetime | None
    district: int
    district_name: str
    address: str
    lon: float
    lat: float
    contact_phone: str
    notes: str


class PointIn(Schema):
    area_id: int
    name: str
    lon: Decimal
    lat: Decimal
    address: str
    container_type: ContainerType
    capacity_m3: Decimal
    opens_at: dt.time
    closes_at: dt.time
    open_days: str = "1234567"
    contact_phone: str = ""
    notes: str = ""


class PointPatch(Schema):
    name: str | None = None
    lon: Decimal | None = None
    lat: Decimal | None = None
    address: str | None = None
    container_type: ContainerType | None = None
    capacity_m3: Decimal | None = None
    opens_at: dt.time | None = None
    closes_at: dt.time | None = None
    open_days: str | None = None
    contact_phone: str | None = None
    notes: str | None = None


class StatusIn(Schema):
    status: PointStatus
    reason: str = ""


class FillIn(Schema):
    fill_percent: int
    full: bool = False
    is_dirty: bool = False
    note: str = ""


class FillReportOut(Schema):
    id: int
    source: str
    fill_percent: int
    is_dirty: bool
    note: str
    reported_at: dt.datetime


class CollectionOut(Schema):
    id: int
    point_id: int
    point_code: str = Field(..., alias="point.code")
    point_name: str = Field(..., alias="point.name")
    carrier_id: int
    carrier_name: str = Field(..., alias="carrier.name")
    status: str
    status_display: str = Field(..., alias="get_status_display")
    estimated_m3: float
    note: str
    requested_at: dt.datetime
    accepted_at: dt.datetime | None
    manifest_id: int | None
    manifest_number: str | None
    done_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancellation_reason: str

    @staticmethod
    def resolve_manifest_number(obj) -> str | None:
        return obj.manifest.number if obj.manifest_id else None


class CollectionIn(Schema):
    carrier_id: int
    estimated_m3: Decimal | None = None
    note: str = ""


class ReasonIn(Schema):
    reason: str


class CollectionManifestIn(Schema):
    vehicle_id: int
    driver_id: int
    site_id: int
    estimated_m3: Decimal | None = None
    estimated_t: Decimal | None = None
    route: str = ""
    expected_arrival_at: dt.datetime | None = None


class HistoryEntryOut(Schema):
    seq: int
    at: dt.datetime
    actor_label: str
    action: str
    data: dict


class PointHistoryOut(Schema):
    point: PointOut
    fill_reports: list[FillReportOut]
    collections: list[CollectionOut]
    audit: list[HistoryEntryOut]


class PublicPointOut(Schema):
    """What a resident needs: where, when, whether it takes waste now. No personal data."""

    code: str
    name: str
    district_name: str
    address: str
    lon: float
    lat: float
    container_type: str
    opens_at: dt.time
    closes_at: dt.time
    open_days: str
    status: str
    fill_percent: int
    contact_phone: str
    notes: str
    distance_m: int | None = None
    open_now: bool


# --- resolving ids --------------------------------------------------------------------------
def _org(pk: int | None, field: str) -> Organisation | None:
    if pk in (None, 0):
        return None
    found = Organisation.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: _("There is no organisation with id %(pk)s.") % {"pk": pk}})
    return found


def _one(model, pk: int, field: str):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: _("Nothing with id %(pk)s.") % {"pk": pk}})
    return found


def _area_for(actor, pk: int):
    try:
        return selectors.area_get(actor=actor, pk=pk)
    except NotFound:
        raise ValidationError({"area_id": _("There is no residential area with id %(pk)s.") % {"pk": pk}}) from None


def _seen_point(actor, point):
    return selectors.point_get(actor=actor, pk=point.pk)


def _seen_collection(actor, collection):
    return selectors.collection_get(actor=actor, pk=collection.pk)


# --- areas ----------------------------------------------------------------------------------
@router.get("/areas", response=list[AreaOut])
@paginate(LimitOffsetPagination)
def area_list(request, district: int | None = None, q: str = ""):
    return selectors.area_list(actor=request_actor(request), district=district, search=q)


@router.get("/areas/{pk}", response=AreaOut)
def area_detail(request, pk: int):
    return selectors.area_get(actor=request_actor(request), pk=pk)


@router.post("/areas", response={201: AreaOut})
def area_create(request, payload: AreaIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        area = services.area_create(
            actor=actor, name=payload.name, street_office=_org(payload.street_office_id, "street_office_id"),
            property_manager=_org(payload.property_manager_id, "property_manager_id"), lon=payload.lon,
            lat=payload.lat, address=payload.address, households=payload.households)
    return Status(201, selectors.area_get(actor=actor, pk=area.pk))


@router.patch("/areas/{pk}", response=AreaOut)
def area_update(request, pk: int, payload: AreaPatch):
    actor = request_actor(request)
    area = selectors.area_get(actor=actor, pk=pk)
    changes = payload.dict(exclude_unset=True)
    if "property_manager_id" in changes:
        changes["property_manager"] = _org(changes.pop("property_manager_id"), "property_manager_id")
    with payload_errors(PAYLOAD_NAMES):
        services.area_update(actor=actor, area=area, **changes)
    return selectors.area_get(actor=actor, pk=pk)


# --- points ---------------------------------------------------------------------------------
@router.get("/points", response=list[PointOut])
@paginate(LimitOffsetPagination)
def point_list(request, district: int | None = None, status: PointStatus | None = None, manager: int | None = None,
               area: int | None = None, q: str = ""):
    return selectors.point_list(actor=request_actor(request), district=district, status=status, manager=manager,
                                area=area, search=q)


@router.get("/points/{pk}", response=PointOut)
def point_detail(request, pk: int):
    return selectors.point_get(actor=request_actor(request), pk=pk)


@router.get("/points/{pk}/history", response=PointHistoryOut)
def point_history(request, pk: int):
    return selectors.point_history(actor=request_actor(request), pk=pk)


@router.post("/points", response={201: PointOut})
def point_create(request, payload: PointIn):
    actor = request_actor(request)
    data = payload.dict()
    area = _area_for(actor, data.pop("area_id"))
    with payload_errors(PAYLOAD_NAMES):
        point = services.point_create(actor=actor, area=area, **data)
    return Status(201, _seen_point(actor, point))


@router.patch("/points/{pk}", response=PointOut)
def point_update(request, pk: int, payload: PointPatch):
    actor = request_actor(request)
    point = selectors.point_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        point = services.point_update(actor=actor, point=point, **payload.dict(exclude_unset=True))
    return _seen_point(actor, point)


@router.post("/points/{pk}/status", response=PointOut)
def point_set_status(request, pk: int, payload: StatusIn):
    actor = request_actor(request)
    point = selectors.point_get(actor=actor, pk=pk)
    point = services.point_set_status(actor=actor, point=point, status=payload.status, reason=payload.reason)
    return _seen_point(actor, point)


@router.post("/points/{pk}/fill-reports", response={201: FillReportOut})
def fill_report_create(request, pk: int, payload: FillIn):
    actor = request_actor(request)
    point = selectors.point_get(actor=actor, pk=pk)
    report = services.fill_report_create(actor=actor, point=point, fill_percent=payload.fill_percent,
                                         full=payload.full, is_dirty=payload.is_dirty, note=payload.note)
    return Status(201, report)


# --- collections ----------------------------------------------------------------------------
@router.get("/collections", response=list[CollectionOut])
@paginate(LimitOffsetPagination)
def collection_list(request, status: CollectionStatus | None = None, point: int | None = None,
                    carrier: int | None = None):
    return selectors.collection_list(actor=request_actor(request), status=status, point=point, carrier=carrier)


@router.get("/collections/{pk}", response=CollectionOut)
def collection_detail(request, pk: int):
    return selectors.collection_get(actor=request_actor(request), pk=pk)


@router.post("/points/{pk}/collections", response={201: CollectionOut})
def collection_request_create(request, pk: int, payload: CollectionIn):
    actor = request_actor(request)
    point = selectors.point_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        collection = services.collection_request_create(
            actor=actor, point=point, carrier=_org(payload.carrier_id, "carrier_id"),
            estimated_m3=payload.estimated_m3, note=payload.note)
    return Status(201, _seen_collection(actor, collection))


@router.post("/collections/{pk}/accept", response=CollectionOut)
def collection_accept(request, pk: int):
    actor = request_actor(request)
    collection = services.collection_accept(actor=actor, collection=selectors.collection_get(actor=actor, pk=pk))
    return _seen_collection(actor, collection)


@router.post("/collections/{pk}/cancel", response=CollectionOut)
def collection_cancel(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    collection = services.collection_cancel(actor=actor, collection=selectors.collection_get(actor=actor, pk=pk),
                                            reason=payload.reason)
    return _seen_collection(actor, collection)


@router.post("/collections/{pk}/manifest", response={201: CollectionOut})
def collection_issue_manifest(request, pk: int, payload: CollectionManifestIn):
    """Issue the collection's manifest (then follow it under /api/manifests/{manifest_id})."""
    actor = request_actor(request)
    collection = selectors.collection_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        collection = services.collection_issue_manifest(
            actor=actor, collection=collection, vehicle=_one(Vehicle, payload.vehicle_id, "vehicle_id"),
            driver=_one(Driver, payload.driver_id, "driver_id"), site=_one(ReceivingSite, payload.site_id, "site_id"),
            estimated_m3=payload.estimated_m3, estimated_t=payload.estimated_t, route=payload.route,
            expected_arrival_at=payload.expected_arrival_at)
    return Status(201, _seen_collection(actor, collection))


# --- public ---------------------------------------------------------------------------------
def _public(point, distance: float | None) -> dict:
    return {"code": point.code, "name": point.name, "district_name": point.district_name, "address": point.address,
            "lon": point.lon, "lat": point.lat, "container_type": point.container_type, "opens_at": point.opens_at,
            "closes_at": point.closes_at, "open_days": point.open_days, "status": point.status,
            "fill_percent": point.fill_percent, "contact_phone": point.contact_phone, "notes": point.notes,
            "distance_m": None if distance is None else round(distance),
            "open_now": selectors.point_is_open_now(point)}


@router.get("/public/points", response=list[PublicPointOut], auth=None)
def public_points(request, lon: float | None = None, lat: float | None = None, district: int | None = None,
                  limit: int = 10):
    """Nearest points taking waste to (lon, lat); without a position, every point not closed
    (in a district if given). No login."""
    if (lon is None) != (lat is None):
        raise ValidationError({"lon": _("Give both longitude and latitude, or neither.")})
    if lon is not None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError({"lon": _("The position is not on Earth.")})
        found = selectors.nearest_points(lon, lat, limit=limit, district=district)
        return [_public(point, distance) for point, distance in found]
    return [_public(point, None) for point in selectors.public_points(district=district, open_only=True)[:500]]
