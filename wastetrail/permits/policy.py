"""Who may see, apply for and decide approvals.

Visibility:
- a city-wide regulator sees every approval;
- a district regulator sees those whose project or receiving site lies in its district, or whose
  holder is registered there (transport approvals have neither project nor site);
- every member of the holder sees the holder's approvals (drivers carry their company's);
- nobody else sees any.

Applying is for the holder's administrators and staff. Deciding (review, approve, reject,
suspend, reinstate, revoke) is for regulator administrators and staff, within what they see.
"""

from __future__ import annotations

from django.db.models import Q

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.permits.models import HOLDER_KIND, Approval

NOTHING = Q(pk__in=[])
STAFF_ROLES = (Role.ADMIN, Role.STAFF)


def approval_visibility(actor: Actor) -> Q | None:
    """None: no restriction."""
    conditions = Q(pk__in=[])
    if actor.is_regulator:
        districts = actor.regulator_districts
        if districts is None:
            return None
        conditions |= (Q(project__district__in=districts) | Q(site__district__in=districts)
                       | Q(holder__district__in=districts))
    if actor.organisation_ids:
        conditions |= Q(holder_id__in=actor.organisation_ids)
    return conditions


def _in_jurisdiction(actor: Actor, approval: Approval) -> bool:
    districts = actor.regulator_districts
    if districts is None:
        return True
    located = [approval.holder.district]
    if approval.project_id:
        located.append(approval.project.district)
    if approval.site_id:
        located.append(approval.site.district)
    return any(d in districts for d in located if d is not None)


def is_reviewer(actor: Actor) -> bool:
    return bool(actor.org_ids_of(OrganisationKind.REGULATOR, roles=STAFF_ROLES))


def can_decide(actor: Actor, approval: Approval) -> bool:
    return is_reviewer(actor) and _in_jurisdiction(actor, approval)


def holder_kinds_of(actor: Actor) -> list[str]:
    """The approval kinds the actor can apply for."""
    return [kind for kind, org_kind in HOLDER_KIND.items()
            if actor.org_ids_of(org_kind, roles=STAFF_ROLES)]


def can_apply(actor: Actor) -> bool:
    return bool(holder_kinds_of(actor))


def can_apply_for(actor: Actor, holder_id: int | None) -> bool:
    return holder_id is not None and actor.is_staff_of(holder_id)


def can_attach(actor: Actor, approval: Approval) -> bool:
    return can_apply_for(actor, approval.holder_id) or can_decide(actor, approval)
