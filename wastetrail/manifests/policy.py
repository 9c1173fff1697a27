"""Who may see and act on manifests.

Visibility: regulators (a district bureau: manifests whose project, stacking point or receiving
site lies in its districts); the housing authority the loads of property managers' stacking
points (source collection); the emitting unit's, the transport unit's and the receiving unit's administrators and
staff; a driver sees the manifests he is assigned to. Nobody else.

Acting: the emitting unit's staff issue, cancel and redirect; the transport unit's staff or the
assigned driver depart; the receiving unit's staff arrive, receive and close.

Revision requests (manifests.revisions): a party's staff ask; every *other* party's organisation
decides once, by someone other than the person who asked; the asking organisation withdraws.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.manifests.models import Manifest, ManifestRevisionRequest, ManifestSource, SignatureStep

STAFF_ROLES = (Role.ADMIN, Role.STAFF)


def staff_org_ids(actor: Actor) -> frozenset[int]:
    return frozenset(m.organisation_id for m in actor.memberships if m.role in STAFF_ROLES)


def regulator_scope(actor: Actor, *district_paths: str) -> Q | None:
    """What a regulator sees of rows located by ``district_paths``: None for a city-wide
    regulator (everything), the rows in its districts for a district bureau, nothing otherwise."""
    nothing = Q(pk__in=[])
    if not actor.is_regulator:
        return nothing
    districts = actor.regulator_districts
    if districts is None:
        return None
    for district_path in district_paths:
        nothing |= Q(**{f"{district_path}__in": districts})
    return nothing


def manifest_visibility(actor: Actor) -> Q | None:
    """None: no restriction."""
    # A collection's manifest has no project: it is located by its stacking point through the
    # collection's manifest trail (stacking.CollectionManifest), which also holds a manifest
    # issued before a cancellation and a redirect of the refused load.
    conditions = regulator_scope(actor, "project__district", "site__district",
                                 "collection_entry__collection__point__district")
    if conditions is None:
        return None
    if actor.org_ids_of(OrganisationKind.HOUSING_AUTHORITY):
        # It supervises property managers (stacking.policy): their collections' loads, read-only.
        conditions |= Q(source=ManifestSource.COLLECTION, emitter__kind=OrganisationKind.PROPERTY_MANAGER)
    orgs = staff_org_ids(actor)
    if orgs:
        conditions |= Q(emitter_id__in=orgs) | Q(carrier_id__in=orgs) | Q(receiver_id__in=orgs)
    if actor.user.is_authenticated:
        conditions |= Q(driver__user_id=actor.user.pk)
    return conditions


def site_records_visibility(actor: Actor) -> Q | None:
    """Receiving sites whose intake (reconciliation, ledgers) the actor sees; None: all. Site
    records are public, but what came in from whom is not: regulators (a district bureau: sites
    in its districts) and the operator's administrators and staff."""
    conditions = regulator_scope(actor, "district")
    if conditions is None:
        return None
    operators = staff_org_ids(actor)
    if operators:
        conditions |= Q(operator_id__in=operators)
    return conditions


def can_download_ledger(actor: Actor, organisation_id: int) -> bool:
    """A ledger is its organisation's record and the regulator's."""
    return actor.is_regulator or actor.is_staff_of(organisation_id)


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


# --- revision requests (the services check the request's state) -----------------------------
def party_organisations(manifest: Manifest) -> dict[str, int]:
    return {SignatureStep.EMITTER: manifest.emitter_id, SignatureStep.TRANSPORTER: manifest.carrier_id,
            SignatureStep.RECEIVER: manifest.receiver_id}


def steps_of(manifest: Manifest, organisation_id: int) -> tuple[str, ...]:
    return tuple(step for step, org in party_organisations(manifest).items() if org == organisation_id)


def acting_parties(actor: Actor, manifest: Manifest) -> dict[int, str]:
    """The party organisations the actor may ask for (staff or admin) → their first step."""
    parties: dict[int, str] = {}
    for step, org in party_organisations(manifest).items():
        if actor.is_staff_of(org) and org not in parties:
            parties[org] = step
    return parties


def requesting_party(actor: Actor, manifest: Manifest, party: str | None = None) -> tuple[str, int]:
    """The step and organisation the actor asks for. Drivers and regulators never ask."""
    parties = party_organisations(manifest)
    if party:
        if party not in parties:
            raise ValidationError({"party": _("Choose emitter, transporter or receiver.")})
        actor.require(actor.is_staff_of(parties[party]))
        return party, parties[party]
    mine = acting_parties(actor, manifest)
    actor.require(bool(mine))
    if len(mine) > 1:
        raise ValidationError({"party": _("You act for several parties of this manifest: say for which one "
                                          "you ask.")})
    [(org, step)] = mine.items()
    return step, org


def required_approvers(manifest: Manifest, requesting_organisation_id: int) -> dict[int, str]:
    """Organisation → the step it decides as: every party other than the requester's, once each."""
    approvers: dict[int, str] = {}
    for step, org in party_organisations(manifest).items():
        if org != requesting_organisation_id and org not in approvers:
            approvers[org] = step
    return approvers


def undecided_approvers(revision: ManifestRevisionRequest) -> dict[int, str]:
    """Who still has to decide (uses the prefetched decisions when there are)."""
    decided = {decision.organisation_id for decision in revision.decisions.all()}
    return {org: step for org, step in required_approvers(revision.manifest, revision.requested_organisation_id)
            .items() if org not in decided}


def is_revision_approver(actor: Actor, revision: ManifestRevisionRequest) -> bool:
    """Staff of an organisation that decides on the request (whether or not it has decided)."""
    return any(actor.is_staff_of(org)
               for org in required_approvers(revision.manifest, revision.requested_organisation_id))


def is_revision_requester(actor: Actor, revision: ManifestRevisionRequest) -> bool:
    """The person who asked. He never decides on his own request, not even for another party
    organisation he also works for: that would be one person approving himself."""
    return actor.user.is_authenticated and actor.user.pk == revision.requested_by_id


def deciding_party(actor: Actor, revision: ManifestRevisionRequest) -> tuple[int, str] | None:
    """The organisation (and its step) for which the actor would decide now, if any."""
    for org, step in undecided_approvers(revision).items():
        if actor.is_staff_of(org):
            return org, step
    return None


def can_decide_revision(actor: Actor, revision: ManifestRevisionRequest) -> bool:
    return not is_revision_requester(actor, revision) and deciding_party(actor, revision) is not None


def can_withdraw_revision(actor: Actor, revision: ManifestRevisionRequest) -> bool:
    return actor.is_staff_of(revision.requested_organisation_id)
