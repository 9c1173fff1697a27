"""API for handling plans: list and read every version, write drafts, file, discard.

Quantities and streams are nested lists; a PATCH that gives one replaces it whole. Errors of a
stream name its row ("Stream 2, …") under ``streams``. Each operation resolves ids, calls one
service and returns the plan as the actor's selector sees it.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.models import Organisation
from wastetrail.api import request_actor
from wastetrail.plans import selectors, services
from wastetrail.plans.models import HandlingPlan, PlanStatus, TransportMode
from wastetrail.registry import selectors as registry_selectors
from wastetrail.registry.models import ReceivingSite

router = Router(tags=["plans"])


# --- schemas --------------------------------------------------------------------------------
class QuantityIn(Schema):
    category: str = Field(..., description="Waste category code, e.g. excavated_soil")
    quantity_m3: Decimal | None = Field(None, ge=0)
    quantity_t: Decimal | None = Field(None, ge=0)


class StreamIn(Schema):
    category: str = Field(..., description="Waste category code")
    quantity_m3: Decimal = Field(..., ge=0)
    carrier_id: int = Field(..., description="The transport company (organisation id)")
    site_id: int = Field(..., description="The receiving site")
    daily_start: dt.time
    daily_end: dt.time = Field(..., description="Earlier than daily_start: the window crosses midnight")
    valid_from: dt.date
    valid_to: dt.date
    transport_mode: TransportMode = TransportMode.SEALED_TRUCK
    route: str = ""


class QuantityOut(Schema):
    category: str
    category_name: str
    quantity_m3: float
    quantity_t: float


class StreamOut(Schema):
    category: str
    category_name: str
    quantity_m3: float
    carrier_id: int
    carrier_name: str
    site_id: int
    site_name: str
    daily_start: dt.time
    daily_end: dt.time
    valid_from: dt.date
    valid_to: dt.date
    transport_mode: str
    route: str


class SiteRef(Schema):
    id: int
    name: str


class PlanOut(Schema):
    id: int
    project_id: int
    project_name: str = Field(..., description="As filed; the current name while a draft")
    project_code: str
    version: int
    status: PlanStatus
    status_display: str = Field(..., alias="get_status_display")
    created_at: dt.datetime
    updated_at: dt.datetime
    filed_at: dt.datetime | None
    filed_by: str | None
    superseded_at: dt.datetime | None
    contact_name: str
    contact_phone: str
    project_address: str
    construction_unit_name: str
    construction_unit_uscc: str
    owner_name: str
    quantities: list[QuantityOut]
    reduction_measures: str
    pollution_control_measures: str
    reuse_rate_target: float | None
    streams: list[StreamOut]
    receiving_sites: list[SiteRef]
    other_matters: str

    @staticmethod
    def resolve_project_name(obj: HandlingPlan) -> str:
        return obj.project_name if not obj.is_draft else obj.project.name

    @staticmethod
    def resolve_project_code(obj: HandlingPlan) -> str:
        return obj.project_code if not obj.is_draft else obj.project.code

    @staticmethod
    def resolve_filed_by(obj: HandlingPlan) -> str | None:
        return obj.filed_by.get_username() if obj.filed_by_id else None

    @staticmethod
    def resolve_quantities(obj: HandlingPlan) -> list[dict]:
        return [{"category": q.category.code, "category_name": str(q.category),
                 "quantity_m3": q.quantity_m3, "quantity_t": q.quantity_t} for q in obj.quantities.all()]

    @staticmethod
    def resolve_streams(obj: HandlingPlan) -> list[dict]:
        return [{"category": s.category.code, "category_name": str(s.category), "quantity_m3": s.quantity_m3,
                 "carrier_id": s.carrier_id, "carrier_name": s.carrier.name, "site_id": s.site_id,
                 "site_name": s.site.name, "daily_start": s.daily_start, "daily_end": s.daily_end,
                 "valid_from": s.valid_from, "valid_to": s.valid_to, "transport_mode": s.transport_mode,
                 "route": s.route} for s in obj.streams.all()]

    @staticmethod
    def resolve_receiving_sites(obj: HandlingPlan) -> list[dict]:
        return [{"id": site.pk, "name": site.name} for site in obj.receiving_sites]


class PlanParts(Schema):
    contact_name: str | None = None
    contact_phone: str | None = None
    reduction_measures: str | None = None
    pollution_control_measures: str | None = None
    reuse_rate_target: Decimal | None = Field(None, ge=0, le=100, description="Percent")
    other_matters: str | None = None
    quantities: list[QuantityIn] | None = Field(None, description="Replaces every quantity")
    streams: list[StreamIn] | None = Field(None, description="Replaces every stream")


class PlanIn(PlanParts):
    project_id: int


class ProjectPlansOut(Schema):
    project_id: int
    filed_version: int | None
    versions: list[PlanOut]


# --- helpers --------------------------------------------------------------------------------
def _stream_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Swap carrier_id / site_id for the objects; an unknown id is an error on ``streams``."""
    resolved = []
    for number, row in enumerate(rows, 1):
        row = dict(row)
        carrier = Organisation.objects.filter(pk=row.pop("carrier_id")).first()
        site = ReceivingSite.objects.filter(pk=row.pop("site_id")).first()
        for value, what in ((carrier, _("carrier")), (site, _("receiving site"))):
            if value is None:
                raise ValidationError({"streams": _("Stream %(n)d: there is no such %(what)s.") % {
                    "n": number, "what": what}})
        resolved.append(row | {"carrier": carrier, "site": site})
    return resolved


def _service_data(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("streams") is not None:
        data["streams"] = _stream_rows(data["streams"])
    for key in ("quantities", "streams"):
        if key in data and data[key] is None:
            del data[key]
    # Text parts sent as null mean "empty"; the reuse target may be null.
    for key in ("contact_name", "contact_phone", "reduction_measures", "pollution_control_measures",
                "other_matters"):
        if key in data and data[key] is None:
            data[key] = ""
    return data


# --- operations -----------------------------------------------------------------------------
@router.get("", response=list[PlanOut])
@paginate(LimitOffsetPagination)
def plan_list(request, project: int | None = None, status: PlanStatus | None = None, q: str = ""):
    return selectors.plan_list(actor=request_actor(request), project=project, status=status, search=q)


@router.get("/projects/{project_id}/plans", response=ProjectPlansOut)
def project_plans(request, project_id: int):
    """Every version of the project's plan, newest first."""
    project, plans = selectors.project_plan_history(actor=request_actor(request), project_pk=project_id)
    versions = list(plans)
    filed = next((plan.version for plan in versions if plan.status == PlanStatus.FILED), None)
    return {"project_id": project.pk, "filed_version": filed, "versions": versions}


@router.get("/{pk}", response=PlanOut)
def plan_detail(request, pk: int):
    return selectors.plan_get(actor=request_actor(request), pk=pk)


@router.post("", response={201: PlanOut})
def plan_draft_create(request, payload: PlanIn):
    """Start the next version as a draft (a copy of the filed version, if there is one)."""
    actor = request_actor(request)
    data = payload.dict(exclude_unset=True)
    project = registry_selectors.project_get(actor=actor, pk=data.pop("project_id"))
    plan = services.plan_draft_create(actor=actor, project=project, **_service_data(data))
    return Status(201, selectors.plan_get(actor=actor, pk=plan.pk))


@router.patch("/{pk}", response=PlanOut)
def plan_draft_update(request, pk: int, payload: PlanParts):
    actor = request_actor(request)
    plan = selectors.plan_get(actor=actor, pk=pk)
    services.plan_draft_update(actor=actor, plan=plan, **_service_data(payload.dict(exclude_unset=True)))
    return selectors.plan_get(actor=actor, pk=pk)


@router.post("/{pk}/file", response=PlanOut)
def plan_file(request, pk: int):
    """File the draft; the version filed before it is superseded."""
    actor = request_actor(request)
    plan = services.plan_file(actor=actor, plan=selectors.plan_get(actor=actor, pk=pk))
    return selectors.plan_get(actor=actor, pk=plan.pk)


@router.delete("/{pk}", response={204: None})
def plan_draft_discard(request, pk: int):
    actor = request_actor(request)
    services.plan_draft_discard(actor=actor, plan=selectors.plan_get(actor=actor, pk=pk))
    return Status(204, None)
