"""Reads of approvals, scoped by the acting user (see permits.policy), and the checks that
other apps (manifests) ask: is there a valid approval for this holder, on this day, covering…?
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_trail_for
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.permits import policy
from wastetrail.permits.models import OPEN_STATUSES, Approval, ApprovalKind, ApprovalStatus
from wastetrail.registry.models import Project, ReceivingSite, Vehicle


def approval_list(
    *,
    actor: Actor,
    kind: str | None = None,
    status: str | None = None,
    holder: int | None = None,
    search: str = "",
) -> QuerySet[Approval]:
    visibility = policy.approval_visibility(actor)
    qs = Approval.objects.all() if visibility is None else Approval.objects.filter(visibility)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if holder:
        qs = qs.filter(holder_id=holder)
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(holder__name__icontains=search))
    return qs.select_related("holder", "project", "site", "applied_by", "decided_by").prefetch_related(
        "categories", "vehicles", "sites", "attachments",
    )


def approval_get(*, actor: Actor, pk: Any) -> Approval:
    try:
        return approval_list(actor=actor).get(pk=pk)
    except (Approval.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def review_queue(*, actor: Actor) -> QuerySet[Approval]:
    """Applications waiting for a decision, the most urgent first (regulators only)."""
    actor.require(policy.is_reviewer(actor))
    return approval_list(actor=actor).filter(status__in=OPEN_STATUSES).order_by("review_due", "applied_at", "pk")


def approval_history(*, actor: Actor, approval: Approval) -> QuerySet[AuditEntry]:
    """The approval's audit rows, oldest first. ``approval`` comes from approval_get (scoped)."""
    return audit_trail_for(approval).order_by("seq")


def valid_approval(
    kind: str,
    holder: Organisation | int,
    on: dt.date,
    *,
    category: WasteCategory | None = None,
    vehicle: Vehicle | None = None,
    site: ReceivingSite | None = None,
    project: Project | None = None,
) -> Approval | None:
    """The holder's approval of ``kind`` in force on ``on`` covering everything given, or None.

    In force: approved (not suspended, revoked or expired) and ``on`` within the validity, even
    if the daily job has not run yet. A ``site`` is covered when it is in the scope's receiving
    sites; a transport approval that names no site covers every site. Not scoped by an actor:
    this is for other services, which have already checked who is asking.
    """
    holder_id = getattr(holder, "pk", holder)
    qs = Approval.objects.filter(kind=kind, holder_id=holder_id, status=ApprovalStatus.APPROVED,
                                 valid_from__lte=on, valid_to__gte=on)
    if category is not None:
        qs = qs.filter(categories=category)
    if vehicle is not None:
        qs = qs.filter(vehicles=vehicle)
    if project is not None:
        qs = qs.filter(project=project)
    if site is not None:
        covers_site = Q(sites=site)
        if kind == ApprovalKind.TRANSPORT:
            covers_site |= Q(sites__isnull=True)
        qs = qs.filter(covers_site)
    return qs.distinct().order_by("-valid_to", "-pk").first()
