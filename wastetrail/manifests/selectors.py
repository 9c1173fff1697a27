"""Reads of manifests, scoped by the acting user (see manifests.policy)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_trail_for
from wastetrail.core.errors import NotFound
from wastetrail.manifests import policy
from wastetrail.manifests.models import VEHICLE_BUSY_STATUSES, Manifest
from wastetrail.registry.models import Vehicle


def manifest_list(
    *,
    actor: Actor,
    status: str | None = None,
    project: int | None = None,
    site: int | None = None,
    overdue: bool | None = None,
    search: str = "",
) -> QuerySet[Manifest]:
    visibility = policy.manifest_visibility(actor)
    qs = Manifest.objects.all() if visibility is None else Manifest.objects.filter(visibility)
    if status:
        qs = qs.filter(status=status)
    if project:
        qs = qs.filter(project_id=project)
    if site:
        qs = qs.filter(site_id=site)
    if overdue is not None:
        qs = qs.filter(is_overdue=overdue)
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(vehicle__plate__icontains=search))
    return qs.select_related(
        "emitter", "project", "category", "carrier", "vehicle", "driver", "receiver", "site",
        "emission_approval", "transport_approval", "disposal_approval", "issued_by", "parent",
    ).prefetch_related("signatures")


def manifest_get(*, actor: Actor, pk: Any) -> Manifest:
    try:
        return manifest_list(actor=actor).get(pk=pk)
    except (Manifest.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def manifest_by_number(*, actor: Actor, number: str) -> Manifest:
    """What the receiving site finds when it scans or types a number."""
    try:
        return manifest_list(actor=actor).get(number=(number or "").strip().upper())
    except Manifest.DoesNotExist:
        raise NotFound from None


def open_manifest_for(vehicle: Vehicle | int) -> Manifest | None:
    """The vehicle's open manifest, if any (unscoped: for other services)."""
    return Manifest.objects.filter(vehicle_id=getattr(vehicle, "pk", vehicle),
                                   status__in=VEHICLE_BUSY_STATUSES).first()


def manifest_history(*, manifest: Manifest) -> QuerySet[AuditEntry]:
    """The manifest's audit rows, oldest first. ``manifest`` comes from manifest_get (scoped)."""
    return audit_trail_for(manifest).order_by("seq")


def driver_manifests(*, actor: Actor, recent: int = 10) -> tuple[list[Manifest], list[Manifest]]:
    """What the driver's phone shows: his open manifests, then his latest finished ones."""
    if not actor.user.is_authenticated:
        return [], []
    mine = manifest_list(actor=actor).filter(driver__user_id=actor.user.pk)
    open_ones = list(mine.filter(status__in=VEHICLE_BUSY_STATUSES).order_by("planned_departure_at", "id"))
    finished = list(mine.exclude(status__in=VEHICLE_BUSY_STATUSES)[:recent])
    return open_ones, finished


def manifest_with_signatories(*, actor: Actor, pk: Any) -> Manifest:
    """manifest_get with each signature's user and organisation (for documents)."""
    try:
        return (manifest_list(actor=actor)
                .prefetch_related("signatures__organisation", "signatures__signed_by").get(pk=pk))
    except (Manifest.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def visible_redirects(*, actor: Actor, manifest: Manifest) -> list[Manifest]:
    """The manifests that carried this one's refused load on, as far as the actor may see them:
    a redirect to another operator's site is that operator's business, not the first site's."""
    return list(manifest_list(actor=actor).filter(parent_id=manifest.pk).prefetch_related(None)
                .order_by("issued_at", "id"))
