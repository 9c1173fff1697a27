"""API for electronic manifests (电子联单): list, read (by id or by number), issue, amend, cancel,
depart, arrive, receive, close, redirect, and a manifest's signatures.

Each operation resolves ids to objects, calls one service and returns the manifest as the
actor's selector sees it. Error keys name the payload's fields (``project_id``, ``vehicle_id``,
``gross_t``).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.policy import Actor
from wastetrail.api import payload_errors, request_actor
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.selectors import categories_by_codes
from wastetrail.manifests import selectors, services
from wastetrail.manifests.models import DisposalMethod, Manifest, ManifestSignature, ManifestStatus
from wastetrail.registry import selectors as registry_selectors
from wastetrail.registry.models import Driver, ReceivingSite, Vehicle

router = Router(tags=["manifests"])

PAYLOAD_NAMES = {
    "project": "project_id", "vehicle": "vehicle_id", "driver": "driver_id", "site": "site_id",
    "changes": "driver_id",
}


def _scoped(qs: QuerySet[Manifest]) -> QuerySet[Manifest]:
    """What the output needs beyond the selector's joins: the signatories (constant queries)."""
    return qs.prefetch_related("signatures__organisation", "signatures__signed_by")


def _get(actor: Actor, pk: Any) -> Manifest:
    return selectors.manifest_get(actor=actor, pk=pk)


def _as_seen(actor: Actor, manifest: Manifest) -> Manifest:
    try:
        return _scoped(selectors.manifest_list(actor=actor)).get(pk=manifest.pk)
    except Manifest.DoesNotExist:
        return manifest


# --- schemas --------------------------------------------------------------------------------
class SignatureOut(Schema):
    step: str
    step_display: str = Field(..., alias="get_step_display")
    signed_at: dt.datetime
    signed_by_id: int
    signed_by: str
    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    lon: float | None = Field(None, description="WGS-84 longitude, if the signatory gave a position")
    lat: float | None = None

    @staticmethod
    def resolve_signed_by(obj: ManifestSignature) -> str:
        return obj.signed_by.get_username()

    @staticmethod
    def resolve_lon(obj: ManifestSignature) -> float | None:
        return None if obj.lon_e6 is None else obj.lon_e6 / 1_000_000

    @staticmethod
    def resolve_lat(obj: ManifestSignature) -> float | None:
        return None if obj.lat_e6 is None else obj.lat_e6 / 1_000_000


class ReceiptOut(Schema):
    received_at: dt.datetime | None
    quantity_unit: str = Field(..., description="t: weighed; m3: measured by volume")
    gross_t: float | None
    tare_t: float | None
    net_t: float | None
    received_m3: float | None
    received_quantity: float | None
    accepted_quantity: float | None
    refused_quantity: float | None
    accepted_m3: float | None = Field(..., description="What the site's capacity was charged")
    refusal_reason: str


class ManifestOut(Schema):
    id: int
    number: str
    status: ManifestStatus
    status_display: str = Field(..., alias="get_status_display")
    allowed_steps: list[str] = Field(..., description="The steps the state machine allows next")
    parent_id: int | None = Field(..., description="The refused manifest this one redirects")
    parent_number: str | None
    source: str = Field(..., description="project, or collection (a stacking point's: no project, plan or "
                                         "emission approval)")
    plan_id: int | None
    # GD 联单办法 Art. 4
    emitter_id: int
    emitter_name: str = Field(..., alias="emitter.name")
    project_id: int | None
    project_name: str | None = Field(..., description="The project's name; null for a collection")
    origin: str = Field(..., alias="origin_display",
                        description="Where the load comes from: the project's name, or for a collection the "
                                    "stacking point's address")
    emitter_address: str
    category: str = Field(..., alias="category.code")
    category_name: str
    estimated_m3: float
    estimated_t: float
    carrier_id: int
    carrier_name: str = Field(..., alias="carrier.name")
    vehicle_id: int
    vehicle_plate: str = Field(..., alias="vehicle.plate")
    driver_id: int
    driver_name: str = Field(..., alias="driver.name")
    route: str
    planned_departure_at: dt.datetime
    expected_arrival_at: dt.datetime
    receiver_id: int
    receiver_name: str = Field(..., alias="receiver.name")
    site_id: int
    site_name: str = Field(..., alias="site.name")
    disposal_method: str
    disposal_method_display: str = Field(..., alias="get_disposal_method_display")
    emission_approval_id: int | None
    emission_approval_number: str | None
    transport_approval_id: int
    transport_approval_number: str = Field(..., alias="transport_approval.number")
    disposal_approval_id: int
    disposal_approval_number: str = Field(..., alias="disposal_approval.number")
    # lifecycle
    issued_at: dt.datetime
    issued_by: str
    departed_at: dt.datetime | None
    arrived_at: dt.datetime | None
    received_at: dt.datetime | None
    closed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancellation_reason: str
    is_overdue: bool
    overdue_at: dt.datetime | None
    receipt: ReceiptOut | None = Field(..., description="Null until the site has weighed the load")
    signatures: list[SignatureOut]

    @staticmethod
    def resolve_project_name(obj: Manifest) -> str | None:
        return obj.project.name if obj.project_id else None

    @staticmethod
    def resolve_parent_number(obj: Manifest) -> str | None:
        return obj.parent.number if obj.parent_id else None

    @staticmethod
    def resolve_emission_approval_number(obj: Manifest) -> str | None:
        return obj.emission_approval.number if obj.emission_approval_id else None

    @staticmethod
    def resolve_category_name(obj: Manifest) -> str:
        return str(obj.category)

    @staticmethod
    def resolve_issued_by(obj: Manifest) -> str:
        return obj.issued_by.get_username()

    @staticmethod
    def resolve_receipt(obj: Manifest) -> Manifest | None:
        return obj if obj.received_at is not None else None

    @staticmethod
    def resolve_signatures(obj: Manifest) -> list[ManifestSignature]:
        return list(obj.signatures.all())


class PositionIn(Schema):
    lon: Decimal | None = Field(None, description="WGS-84 longitude of the signatory (optional)")
    lat: Decimal | None = None


class IssueIn(PositionIn):
    project_id: int
    category: str = Field(..., description="Waste category code, e.g. excavated_soil")
    vehicle_id: int
    driver_id: int
    site_id: int
    estimated_m3: Decimal | None = Field(None, description="Either quantity; the other from the density")
    estimated_t: Decimal | None = None
    disposal_method: DisposalMethod | None = Field(None, description="Default: the site's kind")
    route: str = Field("", description="Default: the route of the plan stream that allows the load")
    planned_departure_at: dt.datetime | None = Field(None, description="Default: now")
    expected_arrival_at: dt.datetime | None = Field(None, description="Default: departure + 4 h")


class AmendIn(Schema):
    driver_id: int | None = None
    route: str | None = None


class ReasonIn(Schema):
    reason: str


class ReceiveIn(PositionIn):
    outcome: str = Field(..., description="accepted, partially_refused or refused")
    gross_t: Decimal | None = Field(None, description="Weighbridge: gross and tare (t)")
    tare_t: Decimal | None = None
    volume_m3: Decimal | None = Field(None, description="Without a weighbridge: the volume (m³)")
    refused_quantity: Decimal | None = Field(None, description="In the received unit (t or m³)")
    reason: str = ""


class RedirectIn(Schema):
    site_id: int
    disposal_method: DisposalMethod | None = None
    route: str = ""
    expected_arrival_at: dt.datetime | None = None


# --- resolving ids --------------------------------------------------------------------------
def _project(actor: Actor, pk: int):
    try:
        return registry_selectors.project_get(actor=actor, pk=pk)
    except NotFound:
        raise ValidationError({"project_id": _("There is no project with id %(pk)s.") % {"pk": pk}}) from None


def _one(model, pk: int, field: str, message: str):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: message % {"pk": pk}})
    return found


def _vehicle(pk: int) -> Vehicle:
    return _one(Vehicle, pk, "vehicle_id", _("There is no vehicle with id %(pk)s."))


def _driver(pk: int) -> Driver:
    return _one(Driver, pk, "driver_id", _("There is no driver with id %(pk)s."))


def _site(pk: int) -> ReceivingSite:
    return _one(ReceivingSite, pk, "site_id", _("There is no receiving site with id %(pk)s."))


# --- reads ----------------------------------------------------------------------------------
@router.get("", response=list[ManifestOut])
@paginate(LimitOffsetPagination)
def manifest_list(request, status: ManifestStatus | None = None, project: int | None = None,
                  vehicle: int | None = None, site: int | None = None, overdue: bool | None = None,
                  q: str = ""):
    """The manifests the caller may see, newest first; ``q`` searches the number and the plate."""
    qs = selectors.manifest_list(actor=request_actor(request), status=status, project=project, site=site,
                                 overdue=overdue, search=q)
    if vehicle:
        qs = qs.filter(vehicle_id=vehicle)
    return _scoped(qs)


@router.get("/by-number/{number}", response=ManifestOut)
def manifest_by_number(request, number: str):
    """For the receiving site that scans or types the number (case and spaces do not matter)."""
    actor = request_actor(request)
    return _as_seen(actor, selectors.manifest_by_number(actor=actor, number=number))


@router.get("/{pk}", response=ManifestOut)
def manifest_detail(request, pk: int):
    actor = request_actor(request)
    return _as_seen(actor, _get(actor, pk))


@router.get("/{pk}/signatures", response=list[SignatureOut])
def manifest_signatures(request, pk: int):
    manifest = _get(request_actor(request), pk)
    return list(manifest.signatures.select_related("organisation", "signed_by"))


# --- writes ---------------------------------------------------------------------------------
@router.post("", response={201: ManifestOut})
def manifest_issue(request, payload: IssueIn):
    """The construction unit issues a manifest for one load and signs it."""
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        manifest = services.manifest_issue(
            actor=actor, project=_project(actor, payload.project_id),
            category=categories_by_codes([payload.category], field="category")[0],
            vehicle=_vehicle(payload.vehicle_id), driver=_driver(payload.driver_id), site=_site(payload.site_id),
            estimated_m3=payload.estimated_m3, estimated_t=payload.estimated_t,
            disposal_method=payload.disposal_method, route=payload.route,
            planned_departure_at=payload.planned_departure_at, expected_arrival_at=payload.expected_arrival_at,
            lon=payload.lon, lat=payload.lat,
        )
    return Status(201, _as_seen(actor, manifest))


@router.patch("/{pk}", response=ManifestOut)
def manifest_amend(request, pk: int, payload: AmendIn):
    """The transport unit changes the driver or the route before departure."""
    actor = request_actor(request)
    manifest = _get(actor, pk)
    data = payload.dict(exclude_unset=True)
    changes: dict[str, Any] = {}
    with payload_errors(PAYLOAD_NAMES):
        if "driver_id" in data:
            if data["driver_id"] is None:
                raise ValidationError({"driver_id": _("This field is required.")})
            changes["driver"] = _driver(data["driver_id"])
        if "route" in data:
            changes["route"] = data["route"] or ""
        manifest = services.manifest_amend(actor=actor, manifest=manifest, changes=changes)
    return _as_seen(actor, manifest)


@router.post("/{pk}/cancel", response=ManifestOut)
def manifest_cancel(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    manifest = _get(actor, pk)
    return _as_seen(actor, services.manifest_cancel(actor=actor, manifest=manifest, reason=payload.reason))


@router.post("/{pk}/depart", response=ManifestOut)
def manifest_depart(request, pk: int, payload: PositionIn | None = None):
    """The carrier's staff or the assigned driver signs the departure; the body (the signatory's
    position) is optional."""
    actor = request_actor(request)
    manifest = _get(actor, pk)
    position = payload or PositionIn()
    return _as_seen(actor, services.manifest_depart(actor=actor, manifest=manifest, lon=position.lon,
                                                    lat=position.lat))


@router.post("/{pk}/arrive", response=ManifestOut)
def manifest_arrive(request, pk: int):
    actor = request_actor(request)
    manifest = _get(actor, pk)
    return _as_seen(actor, services.manifest_arrive(actor=actor, manifest=manifest))


@router.post("/{pk}/receive", response=ManifestOut)
def manifest_receive(request, pk: int, payload: ReceiveIn):
    """Weigh (gross and tare) or measure (volume) the load; accept, partially refuse or refuse it."""
    actor = request_actor(request)
    manifest = _get(actor, pk)
    manifest = services.manifest_receive(
        actor=actor, manifest=manifest, outcome=payload.outcome, gross_t=payload.gross_t, tare_t=payload.tare_t,
        volume_m3=payload.volume_m3, refused_quantity=payload.refused_quantity, reason=payload.reason,
        lon=payload.lon, lat=payload.lat,
    )
    return _as_seen(actor, manifest)


@router.post("/{pk}/close", response=ManifestOut)
def manifest_close(request, pk: int):
    actor = request_actor(request)
    manifest = _get(actor, pk)
    return _as_seen(actor, services.manifest_close(actor=actor, manifest=manifest))


@router.post("/{pk}/redirect", response={201: ManifestOut})
def manifest_redirect(request, pk: int, payload: RedirectIn):
    """The emitting unit sends a refused quantity to another site: a new manifest."""
    actor = request_actor(request)
    manifest = _get(actor, pk)
    with payload_errors(PAYLOAD_NAMES):
        redirected = services.manifest_redirect(
            actor=actor, manifest=manifest, site=_site(payload.site_id), disposal_method=payload.disposal_method,
            route=payload.route, expected_arrival_at=payload.expected_arrival_at,
        )
    return Status(201, _as_seen(actor, redirected))
