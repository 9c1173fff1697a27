"""Reconciliation (issue 3 point 6): what a project planned, issued, sent off and had received,
per waste category; what each receiving site has taken in against its capacity; and the flags
raised when a project's outflow exceeds its filed plan by more than the rulebook's tolerance.

Pure reads, scoped by the acting user. Every figure comes from one grouped aggregate over the
manifests (conditional Sum/Count per category), so a page costs the same few queries for one
category or five, one project or a thousand. Definitions (docs/reconciliation.md):

- issued: manifests of the project that are not cancelled and are not redirects, by their
  estimates. Redirects are counted apart: they carry a refused load already counted onward.
- in transit: manifests still open (issued, departed, arrived), redirects included, by estimate.
- received: the quantity sites accepted (all manifests); m³ is the stored ``accepted_m3`` (what
  the site's capacity was charged), t is converted with the category's density where the load
  was measured by volume.
- refused: the quantity sites refused (all manifests, so a load refused twice counts twice).
- outflow: what physically left the project — every manifest that is not a redirect and has
  departed; by its received quantity (accepted + refused: the weighbridge wins) once a site has
  weighed it, else by its estimate. A redirect is the same load moving on, so never counts again;
  a cancelled manifest never left.
- a category is flagged ``over_plan`` when its outflow (m³) > planned m³ × (1 + tolerance/100),
  and ``unplanned`` when it has outflow but the filed plan plans none of it (or there is no filed
  plan). A project is flagged when any of its categories is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.rulebook.quantities import CENT, m3_from_tonnes, tonnes_from_m3
from wastetrail.core.rulebook.selectors import PLAN_OUTFLOW_TOLERANCE_PERCENT, parameter_value
from wastetrail.manifests.models import VEHICLE_BUSY_STATUSES, Manifest, ManifestStatus, QuantityUnit
from wastetrail.manifests.policy import site_records_visibility
from wastetrail.plans.models import HandlingPlan, PlanQuantity, PlanStatus
from wastetrail.registry.models import Project, ReceivingSite
from wastetrail.registry.policy import project_visibility

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

OVER_PLAN = "over_plan"
UNPLANNED = "unplanned"

# --- the conditions the aggregates are built from -------------------------------------------
LIVE = ~Q(status=ManifestStatus.CANCELLED)
ORIGINAL = Q(parent__isnull=True)
REDIRECT = Q(parent__isnull=False)
OPEN = Q(status__in=VEHICLE_BUSY_STATUSES)
RECEIVED = Q(received_at__isnull=False)
DEPARTED = Q(departed_at__isnull=False)
IN_T = Q(quantity_unit=QuantityUnit.TONNE)
IN_M3 = Q(quantity_unit=QuantityUnit.CUBIC_METRE)


def _sum(field_name: str, condition: Q) -> Coalesce:
    return Coalesce(Sum(field_name, filter=condition), ZERO)


# Shared by projects and sites: each is one conditional aggregate per (group, category).
FIGURES = {
    "issued_count": Count("pk", filter=LIVE & ORIGINAL),
    "issued_m3": _sum("estimated_m3", LIVE & ORIGINAL),
    "issued_t": _sum("estimated_t", LIVE & ORIGINAL),
    "redirect_count": Count("pk", filter=LIVE & REDIRECT),
    "redirect_m3": _sum("estimated_m3", LIVE & REDIRECT),
    "transit_count": Count("pk", filter=OPEN),
    "transit_m3": _sum("estimated_m3", OPEN),
    "transit_t": _sum("estimated_t", OPEN),
    "received_count": Count("pk", filter=RECEIVED),
    "accepted_m3": _sum("accepted_m3", RECEIVED),
    "accepted_in_t": _sum("accepted_quantity", RECEIVED & IN_T),
    "accepted_in_m3": _sum("accepted_quantity", RECEIVED & IN_M3),
    "refused_in_t": _sum("refused_quantity", RECEIVED & IN_T),
    "refused_in_m3": _sum("refused_quantity", RECEIVED & IN_M3),
    # Outflow: departed originals, by estimate until weighed, then by the received quantity.
    "out_estimated_m3": _sum("estimated_m3", ORIGINAL & DEPARTED & ~RECEIVED),
    "out_estimated_t": _sum("estimated_t", ORIGINAL & DEPARTED & ~RECEIVED),
    "out_received_in_t": _sum("received_quantity", ORIGINAL & RECEIVED & IN_T),
    "out_received_in_m3": _sum("received_quantity", ORIGINAL & RECEIVED & IN_M3),
}


@dataclass
class CategoryFigures:
    """One category's line. Quantities in m³ and t, rounded to the cent."""

    category: WasteCategory
    planned_m3: Decimal | None = None
    planned_t: Decimal | None = None
    issued_count: int = 0
    issued_m3: Decimal = ZERO
    issued_t: Decimal = ZERO
    redirect_count: int = 0
    redirect_m3: Decimal = ZERO
    transit_count: int = 0
    transit_m3: Decimal = ZERO
    transit_t: Decimal = ZERO
    received_count: int = 0
    received_m3: Decimal = ZERO
    received_t: Decimal = ZERO
    refused_m3: Decimal = ZERO
    refused_t: Decimal = ZERO
    outflow_m3: Decimal = ZERO
    outflow_t: Decimal = ZERO
    limit_m3: Decimal | None = None
    flag: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.flag)

    @property
    def outflow_percent(self) -> Decimal | None:
        """Outflow as a percentage of the plan (None without a planned quantity)."""
        if not self.planned_m3:
            return None
        return (self.outflow_m3 * HUNDRED / self.planned_m3).quantize(Decimal("0.1"))


def _cents(row: dict[str, Any]) -> dict[str, Any]:
    """Sums to the cent: SQLite's SUM of decimals comes back as a float-like Decimal."""
    return {key: value.quantize(CENT) if isinstance(value, Decimal) else value for key, value in row.items()}


def _figures_from(category: WasteCategory, row: dict[str, Any]) -> CategoryFigures:
    density = category.density_t_per_m3
    row = _cents(row)
    return CategoryFigures(
        category=category,
        issued_count=row["issued_count"], issued_m3=row["issued_m3"], issued_t=row["issued_t"],
        redirect_count=row["redirect_count"], redirect_m3=row["redirect_m3"],
        transit_count=row["transit_count"], transit_m3=row["transit_m3"], transit_t=row["transit_t"],
        received_count=row["received_count"],
        received_m3=row["accepted_m3"],
        received_t=row["accepted_in_t"] + tonnes_from_m3(row["accepted_in_m3"], density),
        refused_m3=row["refused_in_m3"] + m3_from_tonnes(row["refused_in_t"], density),
        refused_t=row["refused_in_t"] + tonnes_from_m3(row["refused_in_m3"], density),
        outflow_m3=(row["out_estimated_m3"] + row["out_received_in_m3"]
                    + m3_from_tonnes(row["out_received_in_t"], density)),
        outflow_t=(row["out_estimated_t"] + row["out_received_in_t"]
                   + tonnes_from_m3(row["out_received_in_m3"], density)),
    )


def _flag(figures: CategoryFigures, tolerance_percent: Decimal) -> None:
    if not figures.planned_m3:
        figures.limit_m3 = None
        figures.flag = UNPLANNED if figures.outflow_m3 > 0 else ""
        return
    limit = figures.planned_m3 * (1 + tolerance_percent / HUNDRED)
    # Compared exactly; shown to the cent.
    figures.limit_m3 = limit.quantize(CENT)
    figures.flag = OVER_PLAN if figures.outflow_m3 > limit else ""


def _totals(rows: list[CategoryFigures]) -> dict[str, Any]:
    names = ("issued_count", "issued_m3", "issued_t", "redirect_count", "redirect_m3", "transit_count",
             "transit_m3", "transit_t", "received_count", "received_m3", "received_t", "refused_m3",
             "refused_t", "outflow_m3", "outflow_t")
    totals: dict[str, Any] = {name: sum((getattr(row, name) for row in rows), 0) for name in names}
    planned = [row for row in rows if row.planned_m3 is not None]
    totals["planned_m3"] = sum((row.planned_m3 for row in planned), ZERO) if planned else None
    totals["planned_t"] = sum((row.planned_t for row in planned), ZERO) if planned else None
    return totals


# --- projects -------------------------------------------------------------------------------
@dataclass
class ProjectReconciliation:
    project: Project
    plan: HandlingPlan | None
    tolerance_percent: Decimal
    rows: list[CategoryFigures] = field(default_factory=list)

    @property
    def flags(self) -> list[CategoryFigures]:
        return [row for row in self.rows if row.flagged]

    @property
    def flagged(self) -> bool:
        return any(row.flagged for row in self.rows)

    @property
    def totals(self) -> dict[str, Any]:
        return _totals(self.rows)


def _categories() -> dict[int, WasteCategory]:
    # Five rows in Jiangmen: cheaper to read them all than to join them into every aggregate.
    return {category.pk: category for category in WasteCategory.objects.all()}


def _sort_key(row: CategoryFigures) -> tuple[int, str]:
    return row.category.sort_order, row.category.code


def _reconcile(projects: list[Project], project_ids: QuerySet) -> dict[int, ProjectReconciliation]:
    """Reconcile every project in ``projects`` (``project_ids``: the same as a subquery) in a
    constant number of queries: the tolerance, the categories, the filed plans, their quantities
    and one grouped aggregate of the manifests."""
    tolerance = parameter_value(PLAN_OUTFLOW_TOLERANCE_PERCENT)
    categories = _categories()
    plans = {plan.project_id: plan for plan in HandlingPlan.objects.filter(
        project_id__in=project_ids, status=PlanStatus.FILED)}
    result = {project.pk: ProjectReconciliation(project=project, plan=plans.get(project.pk),
                                                tolerance_percent=tolerance) for project in projects}
    lines: dict[int, dict[int, CategoryFigures]] = defaultdict(dict)
    aggregates = (Manifest.objects.filter(project_id__in=project_ids).order_by()
                  .values("project_id", "category_id").annotate(**FIGURES))
    for row in aggregates:
        lines[row["project_id"]][row["category_id"]] = _figures_from(categories[row["category_id"]], row)
    quantities = PlanQuantity.objects.filter(plan__project_id__in=project_ids, plan__status=PlanStatus.FILED) \
        .values_list("plan__project_id", "category_id", "quantity_m3", "quantity_t")
    for project_id, category_id, planned_m3, planned_t in quantities:
        figures = lines[project_id].setdefault(category_id, CategoryFigures(category=categories[category_id]))
        figures.planned_m3, figures.planned_t = planned_m3, planned_t
    for project_id, reconciliation in result.items():
        rows = sorted(lines.get(project_id, {}).values(), key=_sort_key)
        for row in rows:
            _flag(row, tolerance)
        reconciliation.rows = rows
    return result


def _visible_projects(actor: Actor) -> QuerySet[Project]:
    """Projects whose reconciliation the actor sees: those of registry.policy.project_visibility
    (regulators in their districts, the construction unit, the owner) — the same people who see
    the project's plan. Carriers and sites see their own loads in the manifests, not the plan."""
    visibility = project_visibility(actor)
    qs = Project.objects.all() if visibility is None else Project.objects.filter(visibility)
    return qs.select_related("construction_unit")


def project_reconciliation(*, actor: Actor, pk: Any) -> ProjectReconciliation:
    """One project's reconciliation; NotFound if the actor may not see the project."""
    try:
        project = _visible_projects(actor).get(pk=pk)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    return _reconcile([project], Project.objects.filter(pk=project.pk).values("pk"))[project.pk]


def project_reconciliations(*, actor: Actor, flagged_only: bool = False) -> list[ProjectReconciliation]:
    """Every visible project that has a filed plan or a manifest, flagged ones first (then by
    name). A regulator's city or district view; the construction unit's and the owner's own."""
    qs = _visible_projects(actor).filter(
        Exists(HandlingPlan.objects.filter(project=OuterRef("pk"), status=PlanStatus.FILED))
        | Exists(Manifest.objects.filter(project=OuterRef("pk")))
    ).order_by("name", "pk")
    projects = list(qs)
    reconciled = _reconcile(projects, qs.values("pk"))
    ordered = sorted((reconciled[project.pk] for project in projects), key=lambda r: not r.flagged)
    return [r for r in ordered if r.flagged] if flagged_only else ordered


# --- receiving sites ------------------------------------------------------------------------
@dataclass
class SiteReconciliation:
    site: ReceivingSite
    rows: list[CategoryFigures] = field(default_factory=list)

    @property
    def capacity_m3(self) -> Decimal | None:
        return self.site.capacity_m3

    @property
    def used_capacity_m3(self) -> Decimal:
        return self.site.used_capacity_m3 or ZERO

    @property
    def accepted_m3(self) -> Decimal:
        """What the site's manifests say it accepted: must equal its used-capacity counter."""
        return sum((row.received_m3 for row in self.rows), ZERO)

    @property
    def mismatch_m3(self) -> Decimal:
        """Counter minus manifests; anything but zero means they disagree."""
        return self.used_capacity_m3 - self.accepted_m3

    @property
    def agrees(self) -> bool:
        return self.mismatch_m3 == 0

    @property
    def remaining_m3(self) -> Decimal | None:
        return self.site.remaining_capacity_m3

    @property
    def totals(self) -> dict[str, Any]:
        return _totals(self.rows)


def _visible_sites(actor: Actor) -> QuerySet[ReceivingSite]:
    visibility = site_records_visibility(actor)
    qs = ReceivingSite.objects.all() if visibility is None else ReceivingSite.objects.filter(visibility)
    return qs.select_related("operator")


def site_reconciliation(*, actor: Actor, pk: Any) -> SiteReconciliation:
    """One site: capacity, its counter, what its manifests say it accepted, per category."""
    try:
        site = _visible_sites(actor).get(pk=pk)
    except (ReceivingSite.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    categories = _categories()
    aggregates = (Manifest.objects.filter(site_id=site.pk).order_by()
                  .values("category_id").annotate(**FIGURES))
    rows = sorted((_figures_from(categories[row["category_id"]], row) for row in aggregates), key=_sort_key)
    return SiteReconciliation(site=site, rows=rows)


@dataclass(frozen=True)
class SiteSummary:
    site: ReceivingSite
    accepted_m3: Decimal

    @property
    def mismatch_m3(self) -> Decimal:
        return (self.site.used_capacity_m3 or ZERO) - self.accepted_m3

    @property
    def agrees(self) -> bool:
        return self.mismatch_m3 == 0


def site_summaries(*, actor: Actor) -> list[SiteSummary]:
    """The visible sites with their counter and the sum of their manifests' accepted m³ (one
    query), mismatches first."""
    qs = _visible_sites(actor).annotate(
        manifests_accepted_m3=Coalesce(Sum("manifests__accepted_m3", filter=Q(manifests__received_at__isnull=False)),
                                       ZERO),
    ).order_by("name", "pk")
    summaries = [SiteSummary(site=site, accepted_m3=site.manifests_accepted_m3) for site in qs]
    return sorted(summaries, key=lambda s: s.agrees)
