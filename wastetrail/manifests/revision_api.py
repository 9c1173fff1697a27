"""API for revision requests of manifests: a party asks to change fields locked by a signature,
the other parties approve or refuse, the requester may cancel; ``/revisions?waiting=true`` is the
caller's inbox.

Mounted at the API's root (wastetrail/api.py) so that the requests sit under their manifest
(``/manifests/{id}/revisions``) and the inbox at ``/revisions``. Error keys name the fields of
``changes`` (``estimated_m3``, ``driver``, ``gross_t``…), or ``reason``, ``comment``, ``party``.
"""

import datetime as dt
from typing import Any

from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.policy import Actor
from wastetrail.api import request_actor
from wastetrail.manifests import policy, revision_selectors, revisions, selectors
from wastetrail.manifests.models import (
    ManifestRevisionDecision,
    ManifestRevisionRequest,
    RevisionStatus,
    SignatureStep,
)

router = Router(tags=["manifest revisions"])


class DecisionOut(Schema):
    step: str = Field(..., description="The party the organisation decided as")
    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    decided_by: str
    verdict: str = Field(..., description="approve or refuse")
    comment: str
    decided_at: dt.datetime

    @staticmethod
    def resolve_decided_by(obj: ManifestRevisionDecision) -> str:
        return obj.decided_by.get_username()


class OrganisationRef(Schema):
    id: int
    name: str


class RevisionOut(Schema):
    id: int
    manifest_id: int
    manifest_number: str = Field(..., alias="manifest.number")
    status: RevisionStatus
    status_display: str = Field(..., alias="get_status_display")
    requested_step: str = Field(..., description="emitter, transporter or receiver")
    requested_organisation_id: int
    requested_organisation_name: str = Field(..., alias="requested_organisation.name")
    requested_by: str
    reason: str
    changes: dict[str, Any] = Field(..., description="Manifest field → new value (decimals as strings, the "
                                                     "driver as its id, the receipt's outcome as outcome)")
    previous: dict[str, Any] = Field(..., description="The same fields' values when the request was made")
    failure_reason: str = Field(..., description="Why an approved request was not applied (status failed)")
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decisions: list[DecisionOut]
    waiting_for: list[OrganisationRef] = Field(..., description="Organisations still to decide (while pending)")

    @staticmethod
    def resolve_requested_by(obj: ManifestRevisionRequest) -> str:
        return obj.requested_by.get_username()

    @staticmethod
    def resolve_decisions(obj: ManifestRevisionRequest) -> list[ManifestRevisionDecision]:
        return list(obj.decisions.all())

    @staticmethod
    def resolve_waiting_for(obj: ManifestRevisionRequest) -> list[dict[str, Any]]:
        if obj.status != RevisionStatus.PENDING:
            return []
        manifest = obj.manifest
        names = {manifest.emitter_id: manifest.emitter.name, manifest.carrier_id: manifest.carrier.name,
                 manifest.receiver_id: manifest.receiver.name}
        return [{"id": org, "name": names[org]} for org in policy.undecided_approvers(obj)]


class RevisionIn(Schema):
    changes: dict[str, Any] = Field(..., description=(
        "Field → new value. Emitter: estimated_m3, estimated_t (the other follows from the density unless "
        "both are given), emitter_address, disposal_method, route. Transporter: driver (id), route. "
        "Receiver: receipt = {outcome, gross_t, tare_t | volume_m3, refused_quantity, refusal_reason}."))
    reason: str = ""
    party: SignatureStep | None = Field(None, description="Only when you act for several parties")


class CommentIn(Schema):
    comment: str = Field("", description="Required to refuse")


def _revision(actor: Actor, pk: int, rid: int) -> ManifestRevisionRequest:
    return revision_selectors.revision_get(manifest=selectors.manifest_get(actor=actor, pk=pk), pk=rid)


def _as_seen(actor: Actor, revision: ManifestRevisionRequest) -> ManifestRevisionRequest:
    return revision_selectors.revision_get(manifest=selectors.manifest_get(actor=actor, pk=revision.manifest_id),
                                           pk=revision.pk)


@router.get("/revisions", response=list[RevisionOut])
@paginate(LimitOffsetPagination)
def revision_list(request, waiting: bool = False, status: RevisionStatus | None = None, manifest: int | None = None):
    """Revision requests on the manifests the caller may see, newest first; ``waiting=true``: those
    on which the caller's organisation still has to decide."""
    return revision_selectors.revision_list(actor=request_actor(request), waiting=waiting, status=status,
                                            manifest=manifest)


@router.get("/manifests/{pk}/revisions", response=list[RevisionOut])
def manifest_revisions(request, pk: int):
    manifest = selectors.manifest_get(actor=request_actor(request), pk=pk)
    return list(revision_selectors.revisions_of(manifest=manifest))


@router.get("/manifests/{pk}/revisions/{rid}", response=RevisionOut)
def manifest_revision(request, pk: int, rid: int):
    return _revision(request_actor(request), pk, rid)


@router.post("/manifests/{pk}/revisions", response={201: RevisionOut})
def manifest_revision_request(request, pk: int, payload: RevisionIn):
    """A party asks to change fields locked by a signature; every other party must approve."""
    actor = request_actor(request)
    manifest = selectors.manifest_get(actor=actor, pk=pk)
    revision = revisions.manifest_revision_request(actor=actor, manifest=manifest, changes=payload.changes,
                                                   reason=payload.reason, party=payload.party)
    return Status(201, _as_seen(actor, revision))


@router.post("/manifests/{pk}/revisions/{rid}/approve", response=RevisionOut)
def manifest_revision_approve(request, pk: int, rid: int, payload: CommentIn | None = None):
    """The last approval applies the change (or ends the request ``failed`` with the reason).
    The body (a comment) is optional."""
    actor = request_actor(request)
    revision = revisions.manifest_revision_approve(actor=actor, revision=_revision(actor, pk, rid),
                                                   comment=(payload or CommentIn()).comment)
    return _as_seen(actor, revision)


@router.post("/manifests/{pk}/revisions/{rid}/refuse", response=RevisionOut)
def manifest_revision_refuse(request, pk: int, rid: int, payload: CommentIn):
    actor = request_actor(request)
    revision = revisions.manifest_revision_refuse(actor=actor, revision=_revision(actor, pk, rid),
                                                  comment=payload.comment)
    return _as_seen(actor, revision)


@router.post("/manifests/{pk}/revisions/{rid}/cancel", response=RevisionOut)
def manifest_revision_cancel(request, pk: int, rid: int):
    actor = request_actor(request)
    revision = revisions.manifest_revision_cancel(actor=actor, revision=_revision(actor, pk, rid))
    return _as_seen(actor, revision)
