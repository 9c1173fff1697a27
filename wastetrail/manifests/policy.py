"""Who may see and act on manifests.

Visibility: regulators (a district bureau: manifests whose project or receiving site lies in its
districts); the emitting unit's, the transport unit's and the receiving unit's administrators and
staff; a driver sees the manifests he is assigned to. Nobody else.

Acting: the emitting unit's staff issue, cancel and redirect; the transport unit's staff or the
assigned driver depart; the receiving unit's staff arrive, receive and close.
"""

from __future__ import annotations

from django.db.models import Q

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.manifests.models import Manifest

STAFF_ROLES = (Role.ADMIN, Role.STAFF)


def staff_org_ids(actor: Actor) -> frozenset[int]:
    return frozenset(m.organisation_id for m in actor.memberships if m.role in STAFF_ROLES)


def manifest_visibility(actor: Actor) -> Q | None:
    """None: no restriction."""
    conditions = Q(pk__in=[])
    if actor.is_regulator:
        districts = actor.regulator_districts
        if districts is None:
            return None
        conditions |= Q(project__district__in=districts) | Q(site__district__in=districts)
    orgs = staff_org_ids(actor)
    if orgs:
        conditions |= Q(emitter_id__in=orgs) | Q(carrier_id__in=orgs) | Q(receiver_id__in=orgs)
    if actor.user.is_authenticated:
        conditions |= Q(driver__user_id=actor.user.pk)
    return conditions


def can_issue_for(actor: Actor, construction_unit_id: int) -> bool:
    return actor.is_staff_of(construction_unit_id)


def can_depart(actor: Actor, manifest: Manifest) -> bool:
    return actor.is_staff_of(manifest.carrier_id) or (
        actor.user.is_authenticated and manifest.driver.user_id == actor.user.pk)


def can_receive(actor: Actor, manifest: Manifest) -> bool:
    return actor.is_staff_of(manifest.receiver_id)


def can_amend(actor: Actor, manifest: Manifest) -> bool:
    return actor.is_staff_of(manifest.carrier_id)


def can_take_step(actor: Actor, manifest: Manifest, step: str) -> bool:
    """Whether the actor is the party of this step (the state is checked by the service)."""
    if step in ("cancel", "redirect"):
        return can_issue_for(actor, manifest.emitter_id)
    if step == "depart":
        return can_depart(actor, manifest)
    if step in ("arrive", "receive", "close"):
        return can_receive(actor, manifest)
    if step == "amend":
        return can_amend(actor, manifest)
    return False


def can_issue(actor: Actor) -> bool:
    """Staff of some construction unit: the issue page is offered."""
    return bool(actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=STAFF_ROLES))
