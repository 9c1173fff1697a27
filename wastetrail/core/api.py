"""API for the audit trail (regulators only)."""


from datetime import datetime

from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.policy import can_read_audit
from wastetrail.api import request_actor
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_verify

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    seq: int
    at: datetime
    actor_label: str
    organisation_id: int | None
    action: str
    object_type: str
    object_id: str
    data: dict
    prev_hash: str
    hash: str


class AuditVerifyOut(Schema):
    checked: int
    ok: bool
    first_broken_seq: int | None
    reason: str | None


@router.get("/audit", response=list[AuditEntryOut])
@paginate(LimitOffsetPagination)
def audit_list(request, object_type: str = "", object_id: str = ""):
    actor = request_actor(request)
    actor.require(can_read_audit(actor))
    qs = AuditEntry.objects.order_by("-seq")
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    return qs


@router.get("/audit/verify", response=AuditVerifyOut)
def audit_verify_view(request):
    actor = request_actor(request)
    actor.require(can_read_audit(actor))
    checked, broken = audit_verify()
    return {
        "checked": checked, "ok": broken is None,
        "first_broken_seq": broken.seq if broken else None,
        "reason": broken.reason if broken else None,
    }
