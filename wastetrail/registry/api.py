"""API for the registry: projects, receiving sites, vehicles, terminals and drivers.

Each operation validates the payload, resolves ids to objects, calls one service and returns
the object as the actor's selector sees it (so drivers' personal data comes back masked when
the caller may not see it). Error keys name the payload's fields (``company_id``, not
``company``); a location outside Jiangmen is reported under ``location``.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.models import Organisation, User
from wastetrail.accounts.policy import Actor
from wastetrail.api import payload_errors, request_actor
from wastetrail.core.errors import NotFound
from wastetrail.registry import selectors, services
from wastetrail.registry.models import (
    LicenceClass,
    PlateColour,
    ProjectStatus,
    ProjectType,
    SiteKind,
    SiteStatus,
    TerminalProtocol,
    VehicleStatus,
)

router = Router(tags=["registry"])

# Service errors name model fields; API clients sent the *_id fields.
PAYLOAD_NAMES = {
    "construction_unit": "construction_unit_id", "owner": "owner_id", "operator": "operator_id",
    "company": "company_id", "vehicle": "vehicle_id", "user": "user_id",
}


def _organisation(field: str, pk: int | None) -> Organisation | None:
    if pk is None:
        return None
    organisation = Organisation.objects.filter(pk=pk).first()
    if organisation is None:
        raise ValidationError({field: _("There is no organisation with id %(pk)s.") % {"pk": pk}})
    return organisation


def _vehicle(actor: Actor, pk: int | None):
    if pk is None:
        return None
    try:
        return selectors.vehicle_get(actor=actor, pk=pk)
    except NotFound:
        raise ValidationError({"vehicle_id": _("There is no vehicle with id %(pk)s.") % {"pk": pk}}) from None


def _user(pk: int | None) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({"user_id": _("There is no user with id %(pk)s.") % {"pk": pk}})
    return user


def _as_seen(get, actor: Actor, obj):
    """The object as the actor's selector returns it (annotations, prefetches); a regulator
    admin may write outside its own district, and then gets the written object back."""
    try:
        return get(actor=actor, pk=obj.pk)
    except NotFound:
        return obj


def _resolve(data: dict[str, Any], resolvers: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """Swap each present ``<name>_id`` key for the object ``<name>``."""
    for id_key, (name, resolve) in resolvers.items():
        if id_key in data:
            data[name] = resolve(id_key, data.pop(id_key))
    return data


# --- projects -------------------------------------------------------------------------------
class EstimateIn(Schema):
    category: str = Field(..., description="Waste category code, e.g. excavated_soil")
    quantity_m3: Decimal | None = Field(None, ge=0)
    quantity_t: Decimal | None = Field(None, ge=0)


class EstimateOut(Schema):
    category: str
    category_name: str
    quantity_m3: float
    quantity_t: float


class ProjectOut(Schema):
    id: int
    name: str
    code: str
    project_type: str
    project_type_display: str = Field(..., alias="get_project_type_display")
    status: str
    status_display: str = Field(..., alias="get_status_display")
    construction_unit_id: int
    construction_unit_name: str = Field(..., alias="construction_unit.name")
    owner_id: int | None
    owner_name: str | None
    address: str
    lon: float = Field(..., description="WGS-84 longitude")
    lat: float = Field(..., description="WGS-84 latitude")
    district: int
    district_name: str
    planned_start: dt.date
    planned_end: dt.date | None
    estimates: list[EstimateOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner_name(obj) -> str | None:
        return obj.owner.name if obj.owner_id else None

    @staticmethod
    def resolve_estimates(obj) -> list[dict]:
        return [
            {"category": e.category.code, "category_name": str(e.category),
             "quantity_m3": e.quantity_m3, "quantity_t": e.quantity_t}
            for e in obj.estimates.all()
        ]


class ProjectIn(Schema):
    name: str
    code: str
    project_type: ProjectType
    construction_unit_id: int
    owner_id: int | None = None
    address: str = ""
    lon: Decimal = Field(..., description="WGS-84 longitude in decimal degrees")
    lat: Decimal = Field(..., description="WGS-84 latitude in decimal degrees")
    planned_start: dt.date
    planned_end: dt.date | None = None
    status: ProjectStatus = ProjectStatus.PLANNED
    estimates: list[EstimateIn] = Field(
        default_factory=list,
        description="Per category; give m³ or tonnes or both (the other is computed from the density)",
    )


class ProjectPatch(Schema):
    name: str | None = None
    code: str | None = None
    project_type: ProjectType | None = None
    construction_unit_id: int | None = None
    owner_id: int | None = None
    address: str | None = None
    lon: Decimal | None = None
    lat: Decimal | None = None
    planned_start: dt.date | None = None
    planned_end: dt.date | None = None
    status: ProjectStatus | None = None
    estimates: list[EstimateIn] | None = Field(None, description="Replaces every estimate")


PROJECT_RESOLVERS = {
    "construction_unit_id": ("construction_unit", _organisation),
    "owner_id": ("owner", _organisation),
}


@router.get("/projects", response=list[ProjectOut])
@paginate(LimitOffsetPagination)
def project_list(request, q: str = "", district: int | None = None, project_type: ProjectType | None = None,
                 status: ProjectStatus | None = None):
    return selectors.project_list(actor=request_actor(request), search=q, district=district,
                                  project_type=project_type, status=status)


@router.get("/projects/{pk}", response=ProjectOut)
def project_detail(request, pk: int):
    return selectors.project_get(actor=request_actor(request), pk=pk)


@router.post("/projects", response={201: ProjectOut})
def project_create(request, payload: ProjectIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        data = _resolve(payload.dict(), PROJECT_RESOLVERS)
        project = services.project_create(actor=actor, **data)
    return Status(201, _as_seen(selectors.project_get, actor, project))


@router.patch("/projects/{pk}", response=ProjectOut)
def project_update(request, pk: int, payload: ProjectPatch):
    actor = request_actor(request)
    project = selectors.project_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        data = _resolve(payload.dict(exclude_unset=True), PROJECT_RESOLVERS)
        project = services.project_update(actor=actor, project=project, **data)
    return _as_seen(selectors.project_get, actor, project)


@router.get("/map/projects", response=dict)
def project_map(request):
    """Visible projects as a GeoJSON FeatureCollection of WGS-84 points."""
    return selectors.project_map_features(actor=request_actor(request))


# --- receiving sites ------------------------------------------------------------------------
class SiteOut(Schema):
    id: int
    name: str
    kind: str
    kind_display: str = Field(..., alias="get_kind_display")
    status: str
    status_display: str = Field(..., alias="get_status_display")
    operator_id: int
    operator_name: str = Field(..., alias="operator.name")
    address: str
    boundary: dict = Field(..., description="GeoJSON Polygon or MultiPolygon, WGS-84")
    centroid_lon: float = Field(..., description="A point inside the site (WGS-84)")
    centroid_lat: float
    area_m2: int
    district: int
    district_name: str
    accepted_categories: list[str]
    capacity_m3: float
    used_capacity_m3: float
    remaining_capacity_m3: float
    opens_at: dt.time | None
    closes_at: dt.time | None
    hours_note: str
    opening_hours: str = Field(..., alias="opening_hours_display")
    has_weighbridge: bool
    weighbridge_name: str
    licence_number: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_accepted_categories(obj) -> list[str]:
        return [c.code for c in obj.accepted_categories.all()]


class SiteIn(Schema):
    name: str
    kind: SiteKind
    operator_id: int
    address: str = ""
    boundary: dict[str, Any] = Field(..., description="GeoJSON Polygon (or Feature) in WGS-84")
    accepted_categories: list[str] = Field(default_factory=list, description="Waste category codes")
    capacity_m3: Decimal = Field(..., ge=0)
    used_capacity_m3: Decimal = Field(Decimal("0"), ge=0)
    opens_at: dt.time | None = None
    closes_at: dt.time | None = None
    hours_note: str = ""
    has_weighbridge: bool = False
    weighbridge_name: str = ""
    licence_number: str = ""
    status: SiteStatus = SiteStatus.OPEN


class SitePatch(Schema):
    name: str | None = None
    kind: SiteKind | None = None
    operator_id: int | None = None
    address: str | None = None
    boundary: dict[str, Any] | None = None
    accepted_categories: list[str] | None = None
    capacity_m3: Decimal | None = Field(None, ge=0)
    used_capacity_m3: Decimal | None = Field(None, ge=0)
    opens_at: dt.time | None = None
    closes_at: dt.time | None = None
    hours_note: str | None = None
    has_weighbridge: bool | None = None
    weighbridge_name: str | None = None
    licence_number: str | None = None
    status: SiteStatus | None = None


SITE_RESOLVERS = {"operator_id": ("operator", _organisation)}


@router.get("/sites", response=list[SiteOut])
@paginate(LimitOffsetPagination)
def site_list(request, q: str = "", kind: SiteKind | None = None, status: SiteStatus | None = None,
              district: int | None = None, category: str | None = None):
    return selectors.site_list(actor=request_actor(request), search=q, kind=kind, status=status,
                               district=district, category=category)


@router.get("/sites/{pk}", response=SiteOut)
def site_detail(request, pk: int):
    return selectors.site_get(actor=request_actor(request), pk=pk)


@router.post("/sites", response={201: SiteOut})
def site_create(request, payload: SiteIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        site = services.site_create(actor=actor, **_resolve(payload.dict(), SITE_RESOLVERS))
    return Status(201, _as_seen(selectors.site_get, actor, site))


@router.patch("/sites/{pk}", response=SiteOut)
def site_update(request, pk: int, payload: SitePatch):
    actor = request_actor(request)
    site = selectors.site_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        site = services.site_update(actor=actor, site=site,
                                    **_resolve(payload.dict(exclude_unset=True), SITE_RESOLVERS))
    return _as_seen(selectors.site_get, actor, site)


@router.get("/map/sites", response=dict)
def site_map(request):
    """Receiving sites as a GeoJSON FeatureCollection of WGS-84 polygons."""
    return selectors.site_map_features(actor=request_actor(request))


# --- vehicles -------------------------------------------------------------------------------
class VehicleOut(Schema):
    id: int
    plate: str
    plate_colour: int = Field(..., description="JT/T 808 code: 1 blue, 2 yellow, 3 black, 4 white, 5 green, 9 other")
    plate_colour_display: str = Field(..., alias="get_plate_colour_display")
    vin: str
    company_id: int
    company_name: str = Field(..., alias="company.name")
    sealed_body_certified: bool
    sealed_body_certificate_no: str
    capacity_m3: float | None
    capacity_t: float | None
    status: str
    status_display: str = Field(..., alias="get_status_display")
    terminal_phone: str
    terminal_id: str = Field(..., alias="terminal_identifier")
    created_at: dt.datetime
    updated_at: dt.datetime


class VehicleIn(Schema):
    plate: str = Field(..., description="e.g. 粤J12345, or 粤JD12345 / 粤J12345D for new-energy vehicles")
    plate_colour: PlateColour = PlateColour.YELLOW
    vin: str
    company_id: int
    capacity_m3: Decimal | None = None
    capacity_t: Decimal | None = None
    sealed_body_certified: bool = False
    sealed_body_certificate_no: str = ""
    status: VehicleStatus = VehicleStatus.ACTIVE


class VehiclePatch(Schema):
    plate: str | None = None
    plate_colour: PlateColour | None = None
    vin: str | None = None
    company_id: int | None = None
    capacity_m3: Decimal | None = None
    capacity_t: Decimal | None = None
    sealed_body_certified: bool | None = None
    sealed_body_certificate_no: str | None = None
    status: VehicleStatus | None = None


FLEET_RESOLVERS = {"company_id": ("company", _organisation)}


@router.get("/vehicles", response=list[VehicleOut])
@paginate(LimitOffsetPagination)
def vehicle_list(request, q: str = "", status: VehicleStatus | None = None, company: int | None = None):
    return selectors.vehicle_list(actor=request_actor(request), search=q, status=status, company=company)


@router.get("/vehicles/{pk}", response=VehicleOut)
def vehicle_detail(request, pk: int):
    return selectors.vehicle_get(actor=request_actor(request), pk=pk)


@router.post("/vehicles", response={201: VehicleOut})
def vehicle_create(request, payload: VehicleIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        vehicle = services.vehicle_create(actor=actor, **_resolve(payload.dict(), FLEET_RESOLVERS))
    return Status(201, _as_seen(selectors.vehicle_get, actor, vehicle))


@router.patch("/vehicles/{pk}", response=VehicleOut)
def vehicle_update(request, pk: int, payload: VehiclePatch):
    actor = request_actor(request)
    vehicle = selectors.vehicle_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        vehicle = services.vehicle_update(actor=actor, vehicle=vehicle,
                                          **_resolve(payload.dict(exclude_unset=True), FLEET_RESOLVERS))
    return _as_seen(selectors.vehicle_get, actor, vehicle)


# --- terminals ------------------------------------------------------------------------------
class TerminalOut(Schema):
    id: int
    company_id: int
    company_name: str = Field(..., alias="company.name")
    phone: str = Field(..., description="Canonical: digits without the BCD left padding")
    terminal_id: str
    protocol: str
    manufacturer_id: str
    terminal_model: str
    vehicle_id: int | None
    vehicle_plate: str | None
    registered: bool = Field(..., description="Whether the terminal has registered with the gateway")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_vehicle_plate(obj) -> str | None:
        return obj.vehicle.plate if obj.vehicle_id else None

    @staticmethod
    def resolve_registered(obj) -> bool:
        return bool(obj.auth_code)


class TerminalIn(Schema):
    company_id: int
    phone: str
    terminal_id: str
    protocol: TerminalProtocol = TerminalProtocol.V2019
    manufacturer_id: str = ""
    terminal_model: str = ""
    vehicle_id: int | None = None


class TerminalPatch(Schema):
    company_id: int | None = None
    phone: str | None = None
    terminal_id: str | None = None
    protocol: TerminalProtocol | None = None
    manufacturer_id: str | None = None
    terminal_model: str | None = None
    vehicle_id: int | None = Field(None, description="Bind to a vehicle; null takes the terminal off")


@router.get("/terminals", response=list[TerminalOut])
@paginate(LimitOffsetPagination)
def terminal_list(request, q: str = "", company: int | None = None, bound: bool | None = None):
    return selectors.terminal_list(actor=request_actor(request), search=q, company=company, bound=bound)


@router.get("/terminals/{pk}", response=TerminalOut)
def terminal_detail(request, pk: int):
    return selectors.terminal_get(actor=request_actor(request), pk=pk)


def _terminal_resolvers(actor: Actor) -> dict:
    return FLEET_RESOLVERS | {"vehicle_id": ("vehicle", lambda _field, pk: _vehicle(actor, pk))}


@router.post("/terminals", response={201: TerminalOut})
def terminal_create(request, payload: TerminalIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        terminal = services.terminal_create(actor=actor, **_resolve(payload.dict(), _terminal_resolvers(actor)))
    return Status(201, _as_seen(selectors.terminal_get, actor, terminal))


@router.patch("/terminals/{pk}", response=TerminalOut)
def terminal_update(request, pk: int, payload: TerminalPatch):
    actor = request_actor(request)
    terminal = selectors.terminal_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        data = _resolve(payload.dict(exclude_unset=True), _terminal_resolvers(actor))
        if set(data) == {"vehicle"}:
            terminal = services.terminal_bind(actor=actor, terminal=terminal, vehicle=data["vehicle"])
        elif data:
            terminal = services.terminal_update(actor=actor, terminal=terminal, **data)
    return _as_seen(selectors.terminal_get, actor, terminal)


# --- drivers --------------------------------------------------------------------------------
class DriverOut(Schema):
    id: int
    company_id: int
    company_name: str = Field(..., alias="company.name")
    name: str
    id_number: str = Field(..., alias="id_number_shown", description="Masked unless you may see it")
    phone: str = Field(..., alias="phone_shown", description="Masked unless you may see it")
    licence_number: str = Field(..., alias="licence_number_shown")
    licence_class: str
    personal_data_masked: bool
    user_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_personal_data_masked(obj) -> bool:
        return not obj.shows_personal_data


class DriverIn(Schema):
    company_id: int
    name: str
    id_number: str
    phone: str
    licence_number: str = ""
    licence_class: LicenceClass | None = None
    user_id: int | None = None
    is_active: bool = True


class DriverPatch(Schema):
    company_id: int | None = None
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    licence_number: str | None = None
    licence_class: LicenceClass | None = None
    user_id: int | None = None
    is_active: bool | None = None


DRIVER_RESOLVERS = FLEET_RESOLVERS | {"user_id": ("user", lambda _field, pk: _user(pk))}


@router.get("/drivers", response=list[DriverOut])
@paginate(LimitOffsetPagination)
def driver_list(request, q: str = "", company: int | None = None, active: bool | None = None):
    return selectors.driver_list(actor=request_actor(request), search=q, company=company, active=active)


@router.get("/drivers/{pk}", response=DriverOut)
def driver_detail(request, pk: int):
    return selectors.driver_get(actor=request_actor(request), pk=pk)


@router.post("/drivers", response={201: DriverOut})
def driver_create(request, payload: DriverIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        driver = services.driver_create(actor=actor, **_resolve(payload.dict(), DRIVER_RESOLVERS))
    return Status(201, _as_seen(selectors.driver_get, actor, driver))


@router.patch("/drivers/{pk}", response=DriverOut)
def driver_update(request, pk: int, payload: DriverPatch):
    actor = request_actor(request)
    driver = selectors.driver_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        driver = services.driver_update(actor=actor, driver=driver,
                                        **_resolve(payload.dict(exclude_unset=True), DRIVER_RESOLVERS))
    return _as_seen(selectors.driver_get, actor, driver)
