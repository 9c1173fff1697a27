"""Reads of handling plans, scoped by the actor; and the unscoped checks other services ask
(the manifest issuing check: "a project without a filed plan cannot issue a manifest", "inside
the plan's time window").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.plans import policy
from wastetrail.plans.models import HandlingPlan, PlanQuantity, PlanStatus, PlanStream
from wastetrail.registry import selectors as registry_selectors
from wastetrail.registry.models import Project, ReceivingSite


def _with_parts(qs: QuerySet[HandlingPlan]) -> QuerySet[HandlingPlan]:
    """Everything a list or detail shows, in a constant number of queries."""
    return qs.select_related("project", "project__construction_unit", "project__owner",
                             "filed_by", "created_by").prefetch_related(
        Prefetch("quantities", queryset=PlanQuantity.objects.select_related("category")),
        Prefetch("streams", queryset=PlanStream.objects.select_related("category", "carrier", "site")),
    )


def plan_list(
    *,
    actor: Actor,
    project: int | None = None,
    status: str | None = None,
    search: str = "",
) -> QuerySet[HandlingPlan]:
    qs = HandlingPlan.objects.all()
    visibility = policy.plan_visibility(actor)
    if visibility is not None:
        qs = qs.filter(visibility)
    if project:
        qs = qs.filter(project_id=project)
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(Q(project__name__icontains=search) | Q(project__code__icontains=search))
    return _with_parts(qs)


def plan_get(*, actor: Actor, pk: Any) -> HandlingPlan:
    try:
        return plan_list(actor=actor).get(pk=pk)
    except (HandlingPlan.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def project_plan_history(*, actor: Actor, project_pk: Any) -> tuple[Project, QuerySet[HandlingPlan]]:
    """Every version of a project's plan, newest first. NotFound if the project is not visible."""
    project = registry_selectors.project_get(actor=actor, pk=project_pk)
    return project, plan_list(actor=actor, project=project.pk).order_by("-version")


# --- for other services (no actor: they check their own permissions) -----------------------
def filed_plan_for(project: Project | int) -> HandlingPlan | None:
    """The plan in force for the project, or None."""
    project_id = getattr(project, "pk", project)
    return _with_parts(HandlingPlan.objects.filter(project_id=project_id, status=PlanStatus.FILED)).first()


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def plan_streams_allowing(
    project: Project | int,
    category: WasteCategory | int,
    *,
    on: dt.date,
    at: dt.time | None = None,
    site: ReceivingSite | int | None = None,
    carrier: Organisation | int | None = None,
) -> list[PlanStream]:
    """The filed plan's streams under which this category may leave the project on this date
    (and at this time, at this site, with this carrier, where given). Empty: not allowed.

    Each stream carries only its plan, route and window; its other fields load when read. Plain
    SQL: issuing a manifest asks this for every load, and the ORM spent ten times the database's
    time building the query."""
    sql = (f"SELECT s.id, s.plan_id, s.route, s.daily_start, s.daily_end, s.valid_from, s.valid_to "
           f"FROM {_table(PlanStream)} s JOIN {_table(HandlingPlan)} p ON p.id = s.plan_id "
           "WHERE p.project_id = %s AND p.status = %s AND s.category_id = %s AND s.valid_from <= %s "
           "AND s.valid_to >= %s")
    day = connection.ops.adapt_datefield_value(on)
    params = [getattr(project, "pk", project), str(PlanStatus.FILED), getattr(category, "pk", category), day, day]
    if site is not None:
        sql += " AND s.site_id = %s"
        params.append(getattr(site, "pk", site))
    if carrier is not None:
        sql += " AND s.carrier_id = %s"
        params.append(getattr(carrier, "pk", carrier))
    streams = PlanStream.objects.raw(sql + " ORDER BY s.id", params)
    return [stream for stream in streams if stream.covers(on, at)]


def plan_allows(
    project: Project | int,
    category: WasteCategory | int,
    *,
    on: dt.date,
    at: dt.time | None = None,
    site: ReceivingSite | int | None = None,
    carrier: Organisation | int | None = None,
) -> bool:
    """Whether the filed plan lets this category leave the project then (see above)."""
    return bool(plan_streams_allowing(project, category, on=on, at=at, site=site, carrier=carrier))
