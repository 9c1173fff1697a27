"""API for reconciliation: one project's figures per category, one site's intake against its
capacity, and the projects whose outflow exceeds their plan (the regulator's flag list).

Reads only, scoped like the pages: a project or site the caller may not see is a 404.
Quantities are numbers in m³ and t (to the cent).
"""

from decimal import Decimal

from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.api import request_actor
from wastetrail.manifests import reconciliation
from wastetrail.manifests.reconciliation import CategoryFigures, ProjectReconciliation, SiteReconciliation

router = Router(tags=["reconciliation"])


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class CategoryOut(Schema):
    category: str = Field(..., description="The waste category's code")
    category_name: str
    planned_m3: float | None = Field(None, description="From the filed plan; null: not planned")
    planned_t: float | None = None
    issued_count: int = Field(..., description="Manifests not cancelled, redirects excluded")
    issued_m3: float
    issued_t: float
    redirect_count: int = Field(..., description="Redirects not cancelled: loads already counted")
    redirect_m3: float
    in_transit_count: int = Field(..., description="Open manifests (issued, departed, arrived)")
    in_transit_m3: float
    in_transit_t: float
    received_count: int
    received_m3: float = Field(..., description="Accepted by the sites (what their capacity was charged)")
    received_t: float
    refused_m3: float
    refused_t: float
    outflow_m3: float = Field(..., description="What left the project, each load once")
    outflow_t: float
    limit_m3: float | None = Field(None, description="planned × (1 + tolerance/100)")
    flag: str = Field(..., description="'' | 'over_plan' | 'unplanned'")

    @staticmethod
    def from_figures(row: CategoryFigures) -> "CategoryOut":
        n = _number
        return CategoryOut(
            category=row.category.code, category_name=str(row.category),
            planned_m3=n(row.planned_m3), planned_t=n(row.planned_t),
            issued_count=row.issued_count, issued_m3=n(row.issued_m3), issued_t=n(row.issued_t),
            redirect_count=row.redirect_count, redirect_m3=n(row.redirect_m3),
            in_transit_count=row.transit_count, in_transit_m3=n(row.transit_m3), in_transit_t=n(row.transit_t),
            received_count=row.received_count, received_m3=n(row.received_m3), received_t=n(row.received_t),
            refused_m3=n(row.refused_m3), refused_t=n(row.refused_t),
            outflow_m3=n(row.outflow_m3), outflow_t=n(row.outflow_t),
            limit_m3=n(row.limit_m3), flag=row.flag,
        )


class ProjectReconciliationOut(Schema):
    project_id: int
    project_name: str
    project_code: str
    district: int
    plan_id: int | None = Field(None, description="The filed plan in force; null: none")
    plan_version: int | None = None
    tolerance_percent: float
    flagged: bool
    categories: list[CategoryOut]

    @staticmethod
    def from_result(result: ProjectReconciliation) -> "ProjectReconciliationOut":
        return ProjectReconciliationOut(
            project_id=result.project.pk, project_name=result.project.name, project_code=result.project.code,
            district=result.project.district,
            plan_id=result.plan.pk if result.plan else None,
            plan_version=result.plan.version if result.plan else None,
            tolerance_percent=float(result.tolerance_percent), flagged=result.flagged,
            categories=[CategoryOut.from_figures(row) for row in result.rows],
        )


class FlagOut(Schema):
    category: str
    flag: str
    planned_m3: float | None
    limit_m3: float | None
    outflow_m3: float


class FlaggedProjectOut(Schema):
    project_id: int
    project_name: str
    project_code: str
    district: int
    plan_version: int | None
    tolerance_percent: float
    flags: list[FlagOut]


class SiteReconciliationOut(Schema):
    site_id: int
    site_name: str
    district: int
    capacity_m3: float | None
    used_capacity_m3: float = Field(..., description="The site's counter, charged on each receipt")
    accepted_m3: float = Field(..., description="Sum of accepted m³ of the site's manifests")
    mismatch_m3: float = Field(..., description="Counter minus manifests; 0 when they agree")
    agrees: bool
    remaining_m3: float | None
    categories: list[CategoryOut]

    @staticmethod
    def from_result(result: SiteReconciliation) -> "SiteReconciliationOut":
        n = _number
        return SiteReconciliationOut(
            site_id=result.site.pk, site_name=result.site.name, district=result.site.district,
            capacity_m3=n(result.capacity_m3), used_capacity_m3=n(result.used_capacity_m3),
            accepted_m3=n(result.accepted_m3), mismatch_m3=n(result.mismatch_m3), agrees=result.agrees,
            remaining_m3=n(result.remaining_m3),
            categories=[CategoryOut.from_figures(row) for row in result.rows],
        )


@router.get("/projects/{project_id}", response=ProjectReconciliationOut)
def project_reconciliation(request, project_id: int):
    result = reconciliation.project_reconciliation(actor=request_actor(request), pk=project_id)
    return ProjectReconciliationOut.from_result(result)


@router.get("/sites/{site_id}", response=SiteReconciliationOut)
def site_reconciliation(request, site_id: int):
    result = reconciliation.site_reconciliation(actor=request_actor(request), pk=site_id)
    return SiteReconciliationOut.from_result(result)


@router.get("/flags", response=list[FlaggedProjectOut])
@paginate(LimitOffsetPagination)
def flags(request):
    """Projects whose outflow exceeds their filed plan by more than the rulebook's tolerance (or
    that send off an unplanned category): a regulator's city or district, others their own."""
    results = reconciliation.project_reconciliations(actor=request_actor(request), flagged_only=True)
    return [FlaggedProjectOut(
        project_id=r.project.pk, project_name=r.project.name, project_code=r.project.code,
        district=r.project.district, plan_version=r.plan.version if r.plan else None,
        tolerance_percent=float(r.tolerance_percent),
        flags=[FlagOut(category=row.category.code, flag=row.flag, planned_m3=_number(row.planned_m3),
                       limit_m3=_number(row.limit_m3), outflow_m3=float(row.outflow_m3)) for row in r.flags],
    ) for r in results]
