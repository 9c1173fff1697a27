"""Reads of approvals, scoped by the acting user (see permits.policy), and the checks that
other apps (manifests) ask: is there a valid approval for this holder, on this day, covering…?
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
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


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in_force_sql(kind: str, holder: Organisation | int, *, category: WasteCategory | int | None = None,
                  vehicle: Vehicle | int | None = None, site: ReceivingSite | int | None = None,
                  project: Project | int | None = None) -> tuple[str, list[Any]]:
    """valid_approval's condition on the approval ``a`` (besides status and validity) for one
    kind, as SQL and parameters. The scope is tested with EXISTS on the link tables, so each
    approval is one row without DISTINCT."""
    sql, params = ["a.kind = %s AND a.holder_id = %s"], [str(kind), _pk(holder)]
    if category is not None:
        sql.append(f"EXISTS (SELECT 1 FROM {_table(Approval.categories.through)} l "
                   "WHERE l.approval_id = a.id AND l.wastecategory_id = %s)")
        params.append(_pk(category))
    if vehicle is not None:
        sql.append(f"EXISTS (SELECT 1 FROM {_table(Approval.vehicles.through)} l "
                   "WHERE l.approval_id = a.id AND l.vehicle_id = %s)")
        params.append(_pk(vehicle))
    if project is not None:
        sql.append("a.project_id = %s")
        params.append(_pk(project))
    if site is not None:
        sites = _table(Approval.sites.through)
        covers = f"EXISTS (SELECT 1 FROM {sites} l WHERE l.approval_id = a.id AND l.receivingsite_id = %s)"
        if kind == ApprovalKind.TRANSPORT:
            covers = f"({covers} OR NOT EXISTS (SELECT 1 FROM {sites} l WHERE l.approval_id = a.id))"
        sql.append(covers)
        params.append(_pk(site))
    return " AND ".join(sql), params


def valid_approval_ids(on: dt.date, wanted: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    """valid_approval for several kinds at once, in one query: ``wanted`` maps each kind to
    valid_approval's other arguments (``holder`` and the scope); returns kind → the id of the
    approval valid_approval returns, or None.

    Written in SQL because issuing a manifest asks it for every load: the ORM took 5 ms to build
    and compile this query, which the database answers in 0.1 ms."""
    found: dict[str, int | None] = dict.fromkeys(wanted)
    if not wanted:
        return found
    conditions, params = [], [str(ApprovalStatus.APPROVED), connection.ops.adapt_datefield_value(on),
                              connection.ops.adapt_datefield_value(on)]
    for kind, arguments in wanted.items():
        condition, condition_params = _in_force_sql(kind, **arguments)
        conditions.append(f"({condition})")
        params += condition_params
    with connection.cursor() as cursor:
        # In force: approved and ``on`` within the validity, even before the daily job has run.
        # Several qualify: the one valid the longest, then the newest.
        cursor.execute(f"SELECT a.id, a.kind FROM {_table(Approval)} a WHERE a.status = %s "
                       f"AND a.valid_from <= %s AND a.valid_to >= %s AND ({' OR '.join(conditions)}) "
                       "ORDER BY a.valid_to DESC, a.id DESC", params)
        for pk, kind in cursor.fetchall():
            if found[kind] is None:
                found[kind] = pk
    return found


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
    pk = valid_approval_ids(on, {kind: {"holder": holder, "category": category, "vehicle": vehicle, "site": site,
                                        "project": project}})[kind]
    return None if pk is None else Approval.objects.get(pk=pk)
