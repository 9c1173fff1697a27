"""Reads of the registry, always scoped by the acting user (see registry.policy).

Lists load their related rows up front (select_related / prefetch_related) so that a page or an
API list costs the same number of queries however many rows it shows. Objects outside the
actor's scope raise NotFound, exactly like objects that do not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse

from wastetrail.accounts.policy import Actor
from wastetrail.core.districts import district_name
from wastetrail.core.errors import NotFound
from wastetrail.registry import policy
from wastetrail.registry.models import (
    Driver,
    Project,
    ProjectCategoryEstimate,
    ProjectStatus,
    ProjectType,
    ReceivingSite,
    SiteKind,
    SiteStatus,
    Terminal,
    Vehicle,
)


def _scoped(qs: QuerySet, visibility: Q | None) -> QuerySet:
    return qs if visibility is None else qs.filter(visibility)


def _get(qs: QuerySet, pk: Any):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


# --- projects -------------------------------------------------------------------------------
def project_list(
    *,
    actor: Actor,
    search: str = "",
    district: int | None = None,
    project_type: str | None = None,
    status: str | None = None,
    construction_unit: int | None = None,
) -> QuerySet[Project]:
    qs = _scoped(Project.objects.all(), policy.project_visibility(actor))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search) | Q(address__icontains=search))
    if district:
        qs = qs.filter(district=district)
    if project_type:
        qs = qs.filter(project_type=project_type)
    if status:
        qs = qs.filter(status=status)
    if construction_unit:
        qs = qs.filter(construction_unit_id=construction_unit)
    return qs.select_related("construction_unit", "owner").prefetch_related(
        Prefetch("estimates", queryset=ProjectCategoryEstimate.objects.select_related("category"))
    )


def project_get(*, actor: Actor, pk: Any) -> Project:
    return _get(project_list(actor=actor), pk)


def project_map_features(*, actor: Actor) -> dict:
    """Visible projects as a GeoJSON FeatureCollection of WGS-84 points (convert for display)."""
    qs = _scoped(Project.objects.all(), policy.project_visibility(actor)).values(
        "pk", "name", "code", "lon_e6", "lat_e6", "district", "project_type", "status",
        "construction_unit__name",
    ).order_by("pk")
    types, statuses = dict(ProjectType.choices), dict(ProjectStatus.choices)
    features = []
    for row in qs:
        features.append({
            "type": "Feature",
            "id": row["pk"],
            "geometry": {"type": "Point", "coordinates": [row["lon_e6"] / 1e6, row["lat_e6"] / 1e6]},
            "properties": {
                "id": row["pk"], "name": row["name"], "code": row["code"],
                "district": row["district"], "district_name": district_name(row["district"]),
                "project_type": row["project_type"],
                "project_type_display": str(types.get(row["project_type"], row["project_type"])),
                "status": row["status"], "status_display": str(statuses.get(row["status"], row["status"])),
                "construction_unit": row["construction_unit__name"],
                "url": reverse("projects-detail", args=[row["pk"]]),
            },
        })
    return {"type": "FeatureCollection", "features": features}


# --- receiving sites ------------------------------------------------------------------------
def site_list(
    *,
    actor: Actor,
    search: str = "",
    kind: str | None = None,
    status: str | None = None,
    district: int | None = None,
    category: str | None = None,
    operator: int | None = None,
) -> QuerySet[ReceivingSite]:
    qs = _scoped(ReceivingSite.objects.all(), policy.site_visibility(actor))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if district:
        qs = qs.filter(district=district)
    if category:
        qs = qs.filter(accepted_categories__code=category)
    if operator:
        qs = qs.filter(operator_id=operator)
    return qs.select_related("operator").prefetch_related("accepted_categories")


def site_get(*, actor: Actor, pk: Any) -> ReceivingSite:
    return _get(site_list(actor=actor), pk)


def site_map_features(*, actor: Actor) -> dict:
    """Visible sites as a FeatureCollection of WGS-84 polygons; each carries its centre point
    (inside the polygon) for a marker or label."""
    kinds, statuses = dict(SiteKind.choices), dict(SiteStatus.choices)
    features = []
    for site in site_list(actor=actor).order_by("pk"):
        features.append({
            "type": "Feature",
            "id": site.pk,
            "geometry": site.boundary,
            "properties": {
                "id": site.pk, "name": site.name, "kind": site.kind,
                "kind_display": str(kinds.get(site.kind, site.kind)),
                "status": site.status, "status_display": str(statuses.get(site.status, site.status)),
                "centroid": [site.centroid_lon, site.centroid_lat],
                "district": site.district, "district_name": site.district_name,
                "operator": site.operator.name,
                "accepted_categories": [c.code for c in site.accepted_categories.all()],
                "opening_hours": site.opening_hours_display,
                "url": reverse("sites-detail", args=[site.pk]),
            },
        })
    return {"type": "FeatureCollection", "features": features}


# --- vehicles and terminals -----------------------------------------------------------------
def vehicle_list(
    *,
    actor: Actor,
    search: str = "",
    status: str | None = None,
    company: int | None = None,
    sealed: bool | None = None,
) -> QuerySet[Vehicle]:
    qs = _scoped(Vehicle.objects.all(), policy.fleet_visibility(actor))
    if search:
        qs = qs.filter(Q(plate__icontains=search) | Q(vin__icontains=search)
                       | Q(terminal__phone__icontains=search))
    if status:
        qs = qs.filter(status=status)
    if company:
        qs = qs.filter(company_id=company)
    if sealed is not None:
        qs = qs.filter(sealed_body_certified=sealed)
    return qs.select_related("company", "terminal")


def vehicle_get(*, actor: Actor, pk: Any) -> Vehicle:
    return _get(vehicle_list(actor=actor), pk)


def terminal_list(
    *,
    actor: Actor,
    search: str = "",
    company: int | None = None,
    bound: bool | None = None,
) -> QuerySet[Terminal]:
    qs = _scoped(Terminal.objects.all(), policy.fleet_visibility(actor))
    if search:
        qs = qs.filter(Q(phone__icontains=search) | Q(terminal_id__icontains=search)
                       | Q(vehicle__plate__icontains=search))
    if company:
        qs = qs.filter(company_id=company)
    if bound is not None:
        qs = qs.filter(vehicle__isnull=not bound)
    return qs.select_related("company", "vehicle")


def terminal_get(*, actor: Actor, pk: Any) -> Terminal:
    return _get(terminal_list(actor=actor), pk)


# --- drivers --------------------------------------------------------------------------------
def driver_list(
    *,
    actor: Actor,
    search: str = "",
    company: int | None = None,
    active: bool | None = None,
) -> QuerySet[Driver]:
    """Drivers the actor may see, each annotated with `personal_data_visible` (the policy's
    masking rule), which Driver.*_shown read."""
    qs = _scoped(Driver.objects.all(), policy.driver_visibility(actor))
    if search:
        # Searching by personal data would reveal it one digit at a time: names only.
        qs = qs.filter(name__icontains=search)
    if company:
        qs = qs.filter(company_id=company)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.select_related("company", "user").annotate(
        personal_data_visible=policy.driver_personal_data_visible(actor)
    )


def driver_get(*, actor: Actor, pk: Any) -> Driver:
    return _get(driver_list(actor=actor), pk)
