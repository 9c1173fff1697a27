"""The paper-trail half of the demo: disposal, transport and emission approvals, handling plans.

Most of the city is in order (approved, filed) and a few files sit in every other state, so the
review queue, the plan history and the expiry warnings all have something to show. Each plan
sends a category to its nearest accepting site and a small share to the next nearest, so that a
refused load has somewhere to be redirected (the demo's loads do that).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from shapely.geometry import Point

from wastetrail.accounts.models import Membership, Organisation, Role
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.permits import services as permits
from wastetrail.permits.models import ApprovalKind
from wastetrail.plans import services as plans
from wastetrail.plans.models import TransportMode
from wastetrail.registry.models import Project, ProjectStatus, ReceivingSite, Vehicle

if TYPE_CHECKING:
    from wastetrail.scenario.build import ScenarioBuilder

VALID_FROM = dt.date(2026, 1, 1)
VALID_TO = dt.date(2027, 12, 31)


def admin_of(organisation: Organisation) -> Actor:
    membership = (Membership.objects.filter(organisation=organisation, role=Role.ADMIN)
                  .select_related("user").order_by("pk").first())
    return actor_for(membership.user)


def _approved(builder: ScenarioBuilder, approval, **scope):
    permits.approval_start_review(actor=builder.admin, approval=approval)
    return permits.approval_approve(actor=builder.admin, approval=approval, valid_from=VALID_FROM,
                                    valid_to=VALID_TO, **scope)


# The share of a category's quantity a plan sends to its second-nearest site (a fallback).
FALLBACK_SHARE = Decimal("0.15")


def _nearest_sites(project: Project, sites: list[ReceivingSite], category, count: int = 2) -> list[ReceivingSite]:
    accepting = [s for s in sites if category in s.accepted_categories.all()]
    here = Point(project.lon, project.lat)
    return sorted(accepting, key=lambda s: here.distance(Point(s.centroid_lon, s.centroid_lat)))[:count]


def suspend_pending(builder: ScenarioBuilder) -> None:
    """Suspend what the scenario suspends only now, after the loads of the past weeks: the
    carrier's trucks were on the road until this morning's inspection."""
    for approval, reason in getattr(builder, "pending_suspensions", []):
        permits.approval_suspend(actor=builder.admin, approval=approval, reason=reason)


def build_paperwork(builder: ScenarioBuilder, parties: dict[str, list[Organisation]]) -> dict[str, int]:
    counts = {"approvals": 0, "plans_filed": 0, "plans_draft": 0}
    sites = list(ReceivingSite.objects.prefetch_related("accepted_categories").order_by("pk"))

    # Disposal approvals: every site approved but the last, which waits in the review queue.
    for n, site in enumerate(sites):
        approval = permits.approval_apply(actor=admin_of(site.operator), kind=ApprovalKind.DISPOSAL,
                                          holder=site.operator, site=site, note="申请建筑垃圾消纳核准")
        if n < len(sites) - 1:
            _approved(builder, approval, categories=list(site.accepted_categories.all()), sites=[site])
        counts["approvals"] += 1

    # Transport approvals cover each company's sealed trucks that have a terminal.
    carriers = parties["transport_companies"]
    for n, company in enumerate(carriers):
        approval = permits.approval_apply(actor=admin_of(company), kind=ApprovalKind.TRANSPORT,
                                          holder=company, note="申请建筑垃圾运输核准")
        counts["approvals"] += 1
        if n == len(carriers) - 1:
            permits.approval_start_review(actor=builder.admin, approval=approval)
            continue
        fleet = list(Vehicle.objects.filter(company=company, sealed_body_certified=True,
                                            terminal__isnull=False).order_by("plate"))
        approved = _approved(builder, approval, categories=list(builder.categories), vehicles=fleet)
        if n == 0:
            builder.pending_suspensions = [(approved, "车辆未按规定路线行驶，责令整改")]

    # Projects under construction have a filed plan and an emission approval; planned ones a
    # draft plan and an application in the queue.
    projects = Project.objects.filter(
        status__in=[ProjectStatus.UNDER_CONSTRUCTION, ProjectStatus.PLANNED]
    ).select_related("construction_unit").prefetch_related("estimates__category").order_by("pk")
    for n, project in enumerate(projects):
        builder_actor = admin_of(project.construction_unit)
        quantities, streams = [], []
        for estimate in project.estimates.all():
            quantities.append({"category": estimate.category, "quantity_m3": estimate.quantity_m3})
            nearest = _nearest_sites(project, sites, estimate.category)
            if not nearest:
                continue
            night_only = builder.rng.random() < 0.3
            fallback = (estimate.quantity_m3 * FALLBACK_SHARE).quantize(Decimal("1"))
            for rank, site in enumerate(nearest):
                streams.append({
                    "category": estimate.category,
                    "quantity_m3": fallback if rank else estimate.quantity_m3 - fallback,
                    "carrier": carriers[n % (len(carriers) - 1)], "site": site,
                    "daily_start": dt.time(22, 0) if night_only else dt.time(6, 0),
                    "daily_end": dt.time(6, 0) if night_only else dt.time(23, 0),
                    "valid_from": VALID_FROM, "valid_to": VALID_TO,
                    "transport_mode": TransportMode.TANK_TRUCK if estimate.category.code == "slurry"
                    else TransportMode.SEALED_TRUCK,
                    "route": f"{project.address[:20]}—江门大道—{site.name[:12]}",
                })
        draft = plans.plan_draft_create(
            actor=builder_actor, project=project, quantities=quantities, streams=streams,
            contact_name=builder.person_name(), contact_phone=builder.phone(),
            reduction_measures="土方就地平衡，分类收集、分类堆放，可利用部分回填。",
            pollution_control_measures="工地围挡、喷淋降尘，出口车辆冲洗，渣土车密闭运输。",
            reuse_rate_target=Decimal(builder.rng.choice([40, 50, 60, 70])),
        )
        emission = permits.approval_apply(actor=builder_actor, kind=ApprovalKind.EMISSION,
                                          holder=project.construction_unit, project=project,
                                          note="申请建筑垃圾排放核准")
        counts["approvals"] += 1
        if project.status == ProjectStatus.PLANNED:
            counts["plans_draft"] += 1
            continue
        plans.plan_file(actor=builder_actor, plan=draft)
        counts["plans_filed"] += 1
        _approved(builder, emission, categories=[q["category"] for q in quantities],
                  sites=list(dict.fromkeys(s["site"] for s in streams)))
    return counts
