"""Who may see and do what. Every selector and service asks here; templates only display.

An ``Actor`` is the acting user with their memberships loaded once per request. Rules are
expressed by organisation kind and role, never by user name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, Role, User


@dataclass(frozen=True)
class Actor:
    user: User
    memberships: tuple[Membership, ...]

    @cached_property
    def organisation_ids(self) -> frozenset[int]:
        return frozenset(m.organisation_id for m in self.memberships)

    def organisations_of(self, *kinds: str) -> list[Organisation]:
        return [m.organisation for m in self.memberships if m.organisation.kind in kinds]

    def org_ids_of(self, *kinds: str, roles: tuple[str, ...] | None = None) -> frozenset[int]:
        return frozenset(
            m.organisation_id for m in self.memberships
            if m.organisation.kind in kinds and (roles is None or m.role in roles)
        )

    def role_in(self, organisation_id: int) -> str | None:
        for membership in self.memberships:
            if membership.organisation_id == organisation_id:
                return membership.role
        return None

    # --- regulators -------------------------------------------------------------------------
    @property
    def is_regulator(self) -> bool:
        return bool(self.org_ids_of(OrganisationKind.REGULATOR))

    @property
    def is_regulator_admin(self) -> bool:
        """An administrator of a city-wide regulator. A district bureau's administrator only
        manages its own bureau's people: it must not widen its own jurisdiction."""
        return any(
            m.role == Role.ADMIN and m.organisation.kind == OrganisationKind.REGULATOR
            and m.organisation.district is None
            for m in self.memberships
        )

    @cached_property
    def regulator_districts(self) -> frozenset[int] | None:
        """Districts this regulator covers; None means the whole city (or not a regulator)."""
        districts: set[int] = set()
        for org in self.organisations_of(OrganisationKind.REGULATOR):
            if org.district is None:
                return None
            districts.add(org.district)
        return frozenset(districts)

    # --- generic organisation administration ------------------------------------------------
    def is_admin_of(self, organisation_id: int) -> bool:
        return self.role_in(organisation_id) == Role.ADMIN

    def is_staff_of(self, organisation_id: int) -> bool:
        """Admins and staff act for the organisation; drivers only for themselves."""
        return self.role_in(organisation_id) in (Role.ADMIN, Role.STAFF)

    def require(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied(_("You are not allowed to do this."))


def actor_for(user: User) -> Actor:
    """Load (once per user object) the memberships that decide what the user may do."""
    cached = getattr(user, "_wastetrail_actor", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        actor = Actor(user=user, memberships=())
    else:
        memberships = tuple(
            Membership.objects.filter(user=user, organisation__is_active=True)
            .select_related("organisation")
        )
        actor = Actor(user=user, memberships=memberships)
    user._wastetrail_actor = actor
    return actor


# --- organisation rules ---------------------------------------------------------------------
def can_manage_organisations(actor: Actor) -> bool:
    """Registering parties is the regulator administrators' job."""
    return actor.is_regulator_admin


def can_edit_organisation(actor: Actor, organisation: Organisation) -> bool:
    return actor.is_regulator_admin or actor.is_admin_of(organisation.pk)


def can_edit_rulebook(actor: Actor) -> bool:
    return actor.is_regulator_admin


def can_read_audit(actor: Actor) -> bool:
    return actor.is_regulator
