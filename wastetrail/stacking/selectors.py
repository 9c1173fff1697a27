"""Reads of areas, stacking points and collections, scoped by the actor (stacking.policy), and
the public reads (no actor) that the resident-facing pages and the public API use.

Lists select their related rows up front: a page costs the same few queries for 5 points or 500.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.stacking import policy
from wastetrail.stacking.models import (
    OPEN_COLLECTION_STATUSES,
    CollectionManifest,
    CollectionRequest,
    FillReport,
    PointStatus,
    ResidentialArea,
    StackingPoint,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARTH_RADIUS_M = 6_371_008.8


def _scoped(qs: QuerySet, visibility: Q | None) -> QuerySet:
    return qs if visibility is None else qs.filter(visibility)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- areas ----------------------------------------------------------------------------------
def area_list(*, actor: Actor, district: Any = None, search: str = "") -> QuerySet[ResidentialArea]:
    qs = _scoped(ResidentialArea.objects.all(), policy.area_visibility(actor))
    if _int_or_none(district):
        qs = qs.filter(district=_int_or_none(district))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search))
    return qs.select_related("property_manager", "street_office")


def area_get(*, actor: Actor, pk: Any) -> ResidentialArea:
    try:
        return area_list(actor=actor).get(pk=pk)
    except (ResidentialArea.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def areas_for_new_point(*, actor: Actor) -> QuerySet[ResidentialArea]:
    """The areas in which the actor may set a point (Art. 15: the responsible organisation)."""
    orgs = [m.organisation_id for m in actor.memberships if m.role in policy.STAFF_ROLES]
    return (ResidentialArea.objects.filter(Q(property_manager_id__in=orgs)
                                           | Q(property_manager__isnull=True, street_office_id__in=orgs))
            .order_by("name"))


# --- points ---------------------------------------------------------------------------------
def point_list(
    *,
    actor: Actor,
    district: Any = None,
    status: str | None = None,
    manager: Any = None,
    area: Any = None,
    search: str = "",
) -> QuerySet[StackingPoint]:
    qs = _scoped(StackingPoint.objects.all(), policy.point_visibility(actor))
    if _int_or_none(district):
        qs = qs.filter(district=_int_or_none(district))
    if status:
        qs = qs.filter(status=status)
    if _int_or_none(manager):
        qs = qs.filter(manager_id=_int_or_none(manager))
    if _int_or_none(area):
        qs = qs.filter(area_id=_int_or_none(area))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search) | Q(address__icontains=search))
    return qs.select_related("area", "manager")


def points_on_map(*, actor: Actor, limit: int, **filters: Any) -> tuple[list[StackingPoint], bool]:
    """The points the actor sees (point_list's filters), fullest first, each with
    ``collection_open`` (a truck has been asked for, in a collection the actor may see: a carrier
    learns nothing of another carrier's job); at most `limit`, and whether there were more.
    One query however many points there are."""
    open_collection = _scoped(
        CollectionRequest.objects.filter(point=OuterRef("pk"), status__in=OPEN_COLLECTION_STATUSES),
        policy.collection_visibility(actor))
    rows = list(point_list(actor=actor, **filters).annotate(collection_open=Exists(open_collection))
                .order_by("-fill_percent", "name", "pk")[:limit + 1])
    return rows[:limit], len(rows) > limit


def point_get(*, actor: Actor, pk: Any) -> StackingPoint:
    try:
        return point_list(actor=actor).get(pk=pk)
    except (StackingPoint.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


@dataclass
class PointHistory:
    point: StackingPoint
    fill_reports: list[FillReport]
    collections: list[CollectionRequest]
    audit: list[AuditEntry]
    open_collection: CollectionRequest | None


HISTORY_LIMIT = 50


def point_history(*, actor: Actor, pk: Any) -> PointHistory:
    """The point, its latest fill reports and collections (each with every manifest it travelled
    under, ``manifests``), and the audit rows of the point and of its collections (newest first).

    Who sees the point only as a carrier asked to collect (stacking.policy.point_oversight does
    not cover it) gets its own collections and their rows: not other carriers' business, the
    residents' reports or the point's own trail."""
    point = point_get(actor=actor, pk=pk)
    oversees = _scoped(StackingPoint.objects.filter(pk=point.pk), policy.point_oversight(actor)).exists()
    collections_qs = point.collections.all() if oversees else _scoped(
        point.collections.all(), policy.collection_visibility(actor))
    collections = list(collections_qs.select_related("carrier", "manifest", "requested_by").prefetch_related(
        Prefetch("manifest_trail", queryset=CollectionManifest.objects.select_related("manifest")))[:HISTORY_LIMIT])
    for collection in collections:
        collection.manifests = [entry.manifest for entry in collection.manifest_trail.all()]
    reports = list(point.fill_reports.select_related("reported_by")[:HISTORY_LIMIT]) if oversees else []
    of_collections = Q(object_type="stacking.collectionrequest", object_id__in=[str(c.pk) for c in collections])
    audit = list(AuditEntry.objects.filter(
        (Q(object_type="stacking.stackingpoint", object_id=str(point.pk)) | of_collections) if oversees
        else of_collections).order_by("-seq")[:HISTORY_LIMIT])
    open_collection = next((c for c in collections if c.status in OPEN_COLLECTION_STATUSES), None)
    return PointHistory(point=point, fill_reports=reports, collections=collections, audit=audit,
                        open_collection=open_collection)


# --- collections ----------------------------------------------------------------------------
def collection_list(*, actor: Actor, status: str | None = None, point: Any = None,
                    carrier: Any = None, open_only: bool = False) -> QuerySet[CollectionRequest]:
    qs = _scoped(CollectionRequest.objects.all(), policy.collection_visibility(actor))
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.filter(status__in=OPEN_COLLECTION_STATUSES)
    if _int_or_none(point):
        qs = qs.filter(point_id=_int_or_none(point))
    if _int_or_none(carrier):
        qs = qs.filter(carrier_id=_int_or_none(carrier))
    return qs.select_related("point", "point__manager", "carrier", "manifest", "requested_by")


def collection_get(*, actor: Actor, pk: Any) -> CollectionRequest:
    try:
        return collection_list(actor=actor).get(pk=pk)
    except (CollectionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


# --- public reads (no actor: no personal data leaves) ----------------------------------------
def public_points(*, district: int | None = None, open_only: bool = False) -> QuerySet[StackingPoint]:
    """Every point residents may use (closed ones left out when ``open_only``); no manager
    details beyond the point's own public contact phone."""
    qs = StackingPoint.objects.exclude(status=PointStatus.CLOSED) if open_only else StackingPoint.objects.all()
    if district:
        qs = qs.filter(district=district)
    return qs.select_related("area").order_by("district", "name")


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def nearest_points(lon: float, lat: float, limit: int = 10, open_only: bool = True,
                   district: int | None = None) -> list[tuple[StackingPoint, float]]:
    """The ``limit`` nearest points to (lon, lat) with their distance in metres, nearest first.
    ``open_only``: only points taking waste (status OPEN; a full or closed one is no use).
    ``district``: only that district's points, chosen before ranking (so ``limit`` of them).
    Distances in Python: Jiangmen has a few thousand points at most, read as three columns."""
    qs = StackingPoint.objects.filter(status=PointStatus.OPEN) if open_only else StackingPoint.objects.all()
    if district is not None:
        qs = qs.filter(district=district)
    limit = max(1, min(int(limit), 100))
    ranked = sorted(((pk, haversine_m(lon, lat, lon_e6 / 1_000_000, lat_e6 / 1_000_000))
                     for pk, lon_e6, lat_e6 in qs.values_list("pk", "lon_e6", "lat_e6")),
                    key=lambda item: item[1])[:limit]
    points = StackingPoint.objects.select_related("area").in_bulk([pk for pk, _ in ranked])
    return [(points[pk], distance) for pk, distance in ranked]


def point_is_open_now(point: StackingPoint, at: dt.datetime | None = None) -> bool:
    """Whether residents can drop waste now: status OPEN, an open day and within the hours, in
    Asia/Shanghai. Hours past midnight (opens 18:00, closes 02:00) count to the opening day."""
    if point.status != PointStatus.OPEN:
        return False
    local = (at or timezone.now()).astimezone(SHANGHAI)
    now_t, weekday = local.time(), local.isoweekday()
    if point.opens_at < point.closes_at:
        return str(weekday) in point.open_days and point.opens_at <= now_t < point.closes_at
    if now_t >= point.opens_at:
        return str(weekday) in point.open_days
    yesterday = 7 if weekday == 1 else weekday - 1
    return now_t < point.closes_at and str(yesterday) in point.open_days
