"""Reads of revision requests, scoped like the manifests they belong to (manifests.policy):
regulators and the three parties see them; only the parties decide (manifests.revisions)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound
from wastetrail.manifests import policy
from wastetrail.manifests.models import (
    Manifest,
    ManifestRevisionDecision,
    ManifestRevisionRequest,
    RevisionStatus,
)
from wastetrail.registry.models import Driver


def _with_details(qs: QuerySet[ManifestRevisionRequest]) -> QuerySet[ManifestRevisionRequest]:
    """Everything the pages and the API show, in a constant number of queries."""
    return qs.select_related(
        "manifest", "manifest__emitter", "manifest__carrier", "manifest__receiver", "requested_organisation",
        "requested_by",
    ).prefetch_related("decisions__organisation", "decisions__decided_by")


def _waiting_for(actor: Actor) -> Q:
    """Pending requests on which one of the actor's organisations (staff or admin) still has to
    decide and the actor may (policy.can_decide_revision): a party of the manifest, not the
    requesting organisation, without a decision yet, and not asked by the actor himself."""
    condition = Q(pk__in=[])
    for org in policy.staff_org_ids(actor):
        is_party = Q(manifest__emitter_id=org) | Q(manifest__carrier_id=org) | Q(manifest__receiver_id=org)
        decided = Exists(ManifestRevisionDecision.objects.filter(request=OuterRef("pk"), organisation_id=org))
        condition |= is_party & ~Q(requested_organisation_id=org) & ~decided
    if actor.user.is_authenticated:
        condition &= ~Q(requested_by_id=actor.user.pk)
    return Q(status=RevisionStatus.PENDING) & condition


def revision_list(*, actor: Actor, waiting: bool = False, status: str | None = None,
                  manifest: int | None = None) -> QuerySet[ManifestRevisionRequest]:
    """The requests on manifests the actor may see, newest first; ``waiting``: only those on which
    the actor's organisation has to decide."""
    visibility = policy.manifest_visibility(actor)
    qs = ManifestRevisionRequest.objects.all()
    if visibility is not None:
        qs = qs.filter(manifest__in=Manifest.objects.filter(visibility))
    if waiting:
        qs = qs.filter(_waiting_for(actor))
    if status:
        qs = qs.filter(status=status)
    if manifest:
        qs = qs.filter(manifest_id=manifest)
    return _with_details(qs)


def revisions_of(*, manifest: Manifest) -> QuerySet[ManifestRevisionRequest]:
    """A manifest's requests, newest first. ``manifest`` comes from manifest_get (scoped)."""
    return _with_details(manifest.revision_requests.all())


def revisions_waiting_for(*, actor: Actor) -> QuerySet[ManifestRevisionRequest]:
    return revision_list(actor=actor, waiting=True)


def revision_get(*, manifest: Manifest, pk: Any) -> ManifestRevisionRequest:
    """One request of a manifest (from manifest_get, so already scoped)."""
    try:
        return revisions_of(manifest=manifest).get(pk=pk)
    except (ManifestRevisionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def driver_names(revisions: list[ManifestRevisionRequest]) -> dict[int, str]:
    """Names of the drivers the requests mention (one query), to show them instead of ids."""
    ids = {value for revision in revisions for values in (revision.changes, revision.previous)
           for field, value in values.items() if field == "driver" and value is not None}
    return dict(Driver.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
