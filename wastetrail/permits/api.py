"""API for approvals: apply, review, decide, suspend, reinstate, revoke; lists, the review queue,
history and attachments (multipart).

Each operation resolves ids to objects, calls one service and returns the approval as the
actor's selector sees it. Error keys name the payload's fields (``holder_id``, ``vehicle_ids``).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.api import payload_errors, request_actor
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.selectors import categories_by_codes
from wastetrail.permits import selectors, services
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.registry import selectors as registry_selectors
from wastetrail.registry.models import ReceivingSite, Vehicle

router = Router(tags=["approvals"])

PAYLOAD_NAMES = {
    "holder": "holder_id", "project": "project_id", "site": "site_id",
    "vehicles": "vehicle_ids", "sites": "site_ids",
}


def _as_seen(actor: Actor, approval: Approval) -> Approval:
    try:
        return selectors.approval_get(actor=actor, pk=approval.pk)
    except NotFound:
        return approval


# --- schemas --------------------------------------------------------------------------------
class AttachmentOut(Schema):
    id: int
    name: str
    url: str
    uploaded_at: dt.datetime

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.file.url


class ApprovalOut(Schema):
    id: int
    number: str
    kind: str
    kind_display: str = Field(..., alias="get_kind_display")
    status: str
    status_display: str = Field(..., alias="get_status_display")
    holder_id: int
    holder_name: str = Field(..., alias="holder.name")
    project_id: int | None
    site_id: int | None
    subject_name: str = Field(..., alias="subject_display")
    note: str
    applied_at: dt.datetime
    review_due: dt.date
    review_due_official: bool = Field(..., description="False: the calendar lacked official holiday data")
    review_started_at: dt.datetime | None
    decided_at: dt.datetime | None
    rejection_reason: str
    suspension_reason: str
    revocation_reason: str
    categories: list[str] = Field(..., description="Waste category codes in the scope")
    vehicles: list[str] = Field(..., description="Plates in the scope (transport)")
    vehicle_ids: list[int]
    site_ids: list[int] = Field(..., description="Receiving sites in the scope")
    quantity_cap_m3: float | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_categories(obj) -> list[str]:
        return [c.code for c in obj.categories.all()]

    @staticmethod
    def resolve_vehicles(obj) -> list[str]:
        return [v.plate for v in obj.vehicles.all()]

    @staticmethod
    def resolve_vehicle_ids(obj) -> list[int]:
        return [v.pk for v in obj.vehicles.all()]

    @staticmethod
    def resolve_site_ids(obj) -> list[int]:
        return [s.pk for s in obj.sites.all()]

    @staticmethod
    def resolve_attachments(obj) -> list:
        return list(obj.attachments.all())


class ApplyIn(Schema):
    kind: ApprovalKind
    holder_id: int
    project_id: int | None = Field(None, description="Emission: the holder's construction project")
    site_id: int | None = Field(None, description="Disposal: the holder's receiving site")
    note: str = ""


class ApproveIn(Schema):
    categories: list[str] = Field(..., description="Waste category codes")
    valid_from: dt.date
    valid_to: dt.date
    vehicle_ids: list[int] = Field(default_factory=list, description="Transport: sealed vehicles with a terminal")
    site_ids: list[int] = Field(default_factory=list, description="Receiving sites the waste may go to")
    quantity_cap_m3: Decimal | None = None


class ReasonIn(Schema):
    reason: str


class HistoryOut(Schema):
    seq: int
    at: dt.datetime
    action: str
    actor: str = Field(..., alias="actor_label")
    data: dict


# --- resolving ids --------------------------------------------------------------------------
def _holder(pk: int) -> Organisation:
    holder = Organisation.objects.filter(pk=pk).first()
    if holder is None:
        raise ValidationError({"holder_id": _("There is no organisation with id %(pk)s.") % {"pk": pk}})
    return holder


def _project(actor: Actor, pk: int | None):
    if pk is None:
        return None
    try:
        return registry_selectors.project_get(actor=actor, pk=pk)
    except NotFound:
        raise ValidationError({"project_id": _("There is no project with id %(pk)s.") % {"pk": pk}}) from None


def _site(actor: Actor, pk: int | None):
    if pk is None:
        return None
    try:
        return registry_selectors.site_get(actor=actor, pk=pk)
    except NotFound:
        raise ValidationError({"site_id": _("There is no receiving site with id %(pk)s.") % {"pk": pk}}) from None


def _by_ids(model, ids: list[int], field: str) -> list[Any]:
    found = {obj.pk: obj for obj in model.objects.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise ValidationError({field: _("Unknown ids: %(ids)s.") % {"ids": ", ".join(missing)}})
    return [found[pk] for pk in dict.fromkeys(ids)]


# --- reads ----------------------------------------------------------------------------------
@router.get("/approvals", response=list[ApprovalOut])
@paginate(LimitOffsetPagination)
def approval_list(request, kind: ApprovalKind | None = None, status: ApprovalStatus | None = None,
                  holder_id: int | None = None, q: str = ""):
    return selectors.approval_list(actor=request_actor(request), kind=kind, status=status,
                                   holder=holder_id, search=q)


@router.get("/approvals/review-queue", response=list[ApprovalOut])
@paginate(LimitOffsetPagination)
def approval_review_queue(request):
    """Applications waiting for a decision, by review deadline (regulators only)."""
    return selectors.review_queue(actor=request_actor(request))


@router.get("/approvals/{pk}", response=ApprovalOut)
def approval_detail(request, pk: int):
    return selectors.approval_get(actor=request_actor(request), pk=pk)


@router.get("/approvals/{pk}/history", response=list[HistoryOut])
def approval_history(request, pk: int):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return list(selectors.approval_history(actor=actor, approval=approval))


# --- writes ---------------------------------------------------------------------------------
@router.post("/approvals", response={201: ApprovalOut})
def approval_apply(request, payload: ApplyIn):
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        approval = services.approval_apply(
            actor=actor, kind=payload.kind, holder=_holder(payload.holder_id),
            project=_project(actor, payload.project_id), site=_site(actor, payload.site_id),
            note=payload.note,
        )
    return Status(201, _as_seen(actor, approval))


@router.post("/approvals/{pk}/start-review", response=ApprovalOut)
def approval_start_review(request, pk: int):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return _as_seen(actor, services.approval_start_review(actor=actor, approval=approval))


@router.post("/approvals/{pk}/approve", response=ApprovalOut)
def approval_approve(request, pk: int, payload: ApproveIn):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    with payload_errors(PAYLOAD_NAMES):
        approval = services.approval_approve(
            actor=actor, approval=approval,
            categories=categories_by_codes(payload.categories, field="categories"),
            vehicles=_by_ids(Vehicle, payload.vehicle_ids, "vehicle_ids"),
            sites=_by_ids(ReceivingSite, payload.site_ids, "site_ids"),
            quantity_cap_m3=payload.quantity_cap_m3,
            valid_from=payload.valid_from, valid_to=payload.valid_to,
        )
    return _as_seen(actor, approval)


@router.post("/approvals/{pk}/reject", response=ApprovalOut)
def approval_reject(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return _as_seen(actor, services.approval_reject(actor=actor, approval=approval, reason=payload.reason))


@router.post("/approvals/{pk}/suspend", response=ApprovalOut)
def approval_suspend(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return _as_seen(actor, services.approval_suspend(actor=actor, approval=approval, reason=payload.reason))


@router.post("/approvals/{pk}/reinstate", response=ApprovalOut)
def approval_reinstate(request, pk: int):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return _as_seen(actor, services.approval_reinstate(actor=actor, approval=approval))


@router.post("/approvals/{pk}/revoke", response=ApprovalOut)
def approval_revoke(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    return _as_seen(actor, services.approval_revoke(actor=actor, approval=approval, reason=payload.reason))


@router.post("/approvals/{pk}/attachments", response={201: AttachmentOut})
def approval_attachment_add(request, pk: int, file: File[UploadedFile], name: Form[str] = ""):
    """Multipart upload: ``file`` (PDF, JPG or PNG, at most 10 MB) and an optional ``name``."""
    actor = request_actor(request)
    approval = selectors.approval_get(actor=actor, pk=pk)
    attachment = services.approval_attachment_add(actor=actor, approval=approval, file=file, name=name)
    return Status(201, attachment)
