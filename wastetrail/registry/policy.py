"""Who may see and change projects, sites, vehicles, terminals and drivers.

Visibility is written as Q objects so that selectors filter in SQL (one query for a list);
write rules are plain predicates that services and pages call. Both live here, together, so a
rule is changed in one place.
"""

from __future__ import annotations

from django.db.models import BooleanField, Case, Q, Value, When
from django.db.models.expressions import Expression

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.registry.models import Driver, Project, ReceivingSite

NOTHING = Q(pk__in=[])
STAFF_ROLES = (Role.ADMIN, Role.STAFF)


def _any_of(conditions: list[Q]) -> Q:
    if not conditions:
        return NOTHING
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


# --- projects -------------------------------------------------------------------------------
def project_visibility(actor: Actor) -> Q | None:
    """None: no restriction. A city-wide regulator sees every project, a district regulator
    those in its district; a construction unit its own; a developer those it owns."""
    conditions: list[Q] = []
    if actor.is_regulator:
        districts = actor.regulator_districts
        if districts is None:
            return None
        conditions.append(Q(district__in=districts))
    units = actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT)
    if units:
        conditions.append(Q(construction_unit_id__in=units))
    developers = actor.org_ids_of(OrganisationKind.DEVELOPER)
    if developers:
        conditions.append(Q(owner_id__in=developers))
    return _any_of(conditions)


def can_act_for_construction_unit(actor: Actor, organisation_id: int | None) -> bool:
    if organisation_id is None:
        return False
    return actor.is_regulator_admin or actor.is_staff_of(organisation_id)


def can_create_project(actor: Actor) -> bool:
    return actor.is_regulator_admin or bool(
        actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=STAFF_ROLES)
    )


def can_edit_project(actor: Actor, project: Project) -> bool:
    return can_act_for_construction_unit(actor, project.construction_unit_id)


# --- receiving sites ------------------------------------------------------------------------
def site_visibility(actor: Actor) -> Q | None:
    """Receiving sites are public information (where waste may go): every logged-in user sees
    all of them, district regulators included. Anonymous users see none."""
    return None if actor.user.is_authenticated else NOTHING


def can_act_for_site_operator(actor: Actor, organisation_id: int | None) -> bool:
    if organisation_id is None:
        return False
    return actor.is_regulator_admin or actor.is_staff_of(organisation_id)


def can_create_site(actor: Actor) -> bool:
    return actor.is_regulator_admin or bool(
        actor.org_ids_of(OrganisationKind.SITE_OPERATOR, roles=STAFF_ROLES)
    )


def can_edit_site(actor: Actor, site: ReceivingSite) -> bool:
    return can_act_for_site_operator(actor, site.operator_id)


# --- the fleet: vehicles, terminals, drivers ------------------------------------------------
def fleet_visibility(actor: Actor) -> Q | None:
    """Vehicles and terminals: regulators see all; a transport company's members (drivers
    included: they pick the truck they drive) see their company's; nobody else any."""
    if actor.is_regulator:
        return None
    companies = actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY)
    return Q(company_id__in=companies) if companies else NOTHING


def driver_visibility(actor: Actor) -> Q | None:
    """Drivers: as the fleet. Personal data is masked separately (see below)."""
    return fleet_visibility(actor)


def can_manage_fleet_of(actor: Actor, company_id: int | None) -> bool:
    if company_id is None:
        return False
    return actor.is_regulator_admin or actor.is_staff_of(company_id)


def can_manage_a_fleet(actor: Actor) -> bool:
    return actor.is_regulator_admin or bool(
        actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY, roles=STAFF_ROLES)
    )


# --- drivers' personal data -----------------------------------------------------------------
def can_see_driver_personal_data(actor: Actor, driver: Driver) -> bool:
    """Full ID number, phone and licence number: regulators, the admins and staff of the
    driver's company, and the driver themself. Everyone else sees them masked."""
    if actor.is_regulator:
        return True
    if actor.is_staff_of(driver.company_id):
        return True
    return driver.user_id is not None and driver.user_id == actor.user.pk


def driver_personal_data_visible(actor: Actor) -> Expression:
    """The same rule as can_see_driver_personal_data, as an SQL expression for annotate()."""
    if actor.is_regulator:
        return Value(True, output_field=BooleanField())
    conditions: list[Q] = []
    companies = actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY, roles=STAFF_ROLES)
    if companies:
        conditions.append(Q(company_id__in=companies))
    if actor.user.pk is not None:
        conditions.append(Q(user_id=actor.user.pk))
    if not conditions:
        return Value(False, output_field=BooleanField())
    return Case(When(_any_of(conditions), then=Value(True)), default=Value(False),
                output_field=BooleanField())

