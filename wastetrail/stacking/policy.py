"""Who may see and do what with residential areas, stacking points and collections.

Art. 15 of the Jiangmen measures decides who runs a point: the area's property manager, or,
where the area has none, its street office / town government. So:

- creating a point in an area: administrators and staff of ``area.responsible_id`` only;
- running a point (edit, status, fill reports, collection requests, the collection's manifest):
  administrators and staff of ``point.manager`` only — another property manager sees nothing of
  it and can do nothing to it;
- registering an area: the street office for its own district (``Organisation.district``), or a
  regulator (a district bureau within its districts); editing an area and setting its property
  manager: its street office or a regulator in jurisdiction;
- seeing: regulators (city-wide: everything; a district bureau: its districts), the housing
  authority every property manager's points and areas (read-only: it supervises them), a street
  office the points in its areas, a transport company the collections addressed to it (and their
  points, but not the point's other collections, residents' reports or history), every member of
  the managing organisation its own points.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.stacking.models import CollectionRequest

STAFF_ROLES = (Role.ADMIN, Role.STAFF)
NOTHING = Q(pk__in=[])


def _regulator_q(actor: Actor, district_path: str) -> Q | None:
    """None: a city-wide regulator (no restriction); else the rows in its districts (or none)."""
    if not actor.is_regulator:
        return NOTHING
    districts = actor.regulator_districts
    if districts is None:
        return None
    return Q(**{f"{district_path}__in": districts})


def is_housing_authority(actor: Actor) -> bool:
    return bool(actor.org_ids_of(OrganisationKind.HOUSING_AUTHORITY))


def area_visibility(actor: Actor) -> Q | None:
    conditions = _regulator_q(actor, "district")
    if conditions is None:
        return None
    if is_housing_authority(actor):
        conditions |= Q(property_manager__isnull=False)
    if actor.organisation_ids:
        conditions |= Q(street_office_id__in=actor.organisation_ids) | Q(
            property_manager_id__in=actor.organisation_ids)
    return conditions


def point_oversight(actor: Actor) -> Q | None:
    """The points whose whole history the actor sees: regulators in jurisdiction, the housing
    authority (property managers' points), the managing organisation and the area's street office."""
    conditions = _regulator_q(actor, "district")
    if conditions is None:
        return None
    if is_housing_authority(actor):
        conditions |= Q(manager__kind=OrganisationKind.PROPERTY_MANAGER)
    orgs = actor.organisation_ids
    if orgs:
        conditions |= Q(manager_id__in=orgs) | Q(area__street_office_id__in=orgs)
    return conditions


def point_visibility(actor: Actor) -> Q | None:
    """The oversight above, and for a transport company the points it was asked to collect from
    (the point itself and its own collections only: see selectors.point_history)."""
    conditions = point_oversight(actor)
    if conditions is None:
        return None
    carriers = actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY, roles=STAFF_ROLES)
    if carriers:
        conditions |= Q(Exists(CollectionRequest.objects.filter(point=OuterRef("pk"), carrier_id__in=carriers)))
    return conditions


def collection_visibility(actor: Actor) -> Q | None:
    """Collections of the points the actor sees, and those addressed to its transport company."""
    conditions = _regulator_q(actor, "point__district")
    if conditions is None:
        return None
    if is_housing_authority(actor):
        conditions |= Q(point__manager__kind=OrganisationKind.PROPERTY_MANAGER)
    orgs = actor.organisation_ids
    if orgs:
        conditions |= (Q(point__manager_id__in=orgs) | Q(point__area__street_office_id__in=orgs)
                       | Q(carrier_id__in=actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY,
                                                           roles=STAFF_ROLES)))
    return conditions


# --- acting ---------------------------------------------------------------------------------
def _regulator_staff_for(actor: Actor, district: int | None) -> bool:
    if not actor.org_ids_of(OrganisationKind.REGULATOR, roles=STAFF_ROLES):
        return False
    districts = actor.regulator_districts
    return districts is None or district in districts


def street_offices_acting(actor: Actor) -> list:
    return [m.organisation for m in actor.memberships
            if m.organisation.kind == OrganisationKind.STREET_OFFICE and m.role in STAFF_ROLES]


def can_register_areas(actor: Actor) -> bool:
    """The area pages offer "register": regulator or street office staff."""
    return bool(actor.org_ids_of(OrganisationKind.REGULATOR, OrganisationKind.STREET_OFFICE, roles=STAFF_ROLES))


def can_register_area(actor: Actor, *, street_office_id: int, street_office_district: int | None,
                      district: int) -> bool:
    """A street office registers areas in its own district; a regulator in its jurisdiction."""
    if _regulator_staff_for(actor, district):
        return True
    return actor.is_staff_of(street_office_id) and street_office_district == district


def can_edit_area(actor: Actor, area) -> bool:
    return actor.is_staff_of(area.street_office_id) or _regulator_staff_for(actor, area.district)


def can_create_point_in(actor: Actor, area) -> bool:
    """Art. 15: the area's property manager, else its street office."""
    return actor.is_staff_of(area.responsible_id)


def can_create_points(actor: Actor) -> bool:
    return bool(actor.org_ids_of(OrganisationKind.PROPERTY_MANAGER, OrganisationKind.STREET_OFFICE,
                                 roles=STAFF_ROLES))


def can_run_point(actor: Actor, point) -> bool:
    return actor.is_staff_of(point.manager_id)


def can_accept_collection(actor: Actor, collection) -> bool:
    return actor.is_staff_of(collection.carrier_id)


def can_cancel_collection(actor: Actor, collection) -> bool:
    """The point's manager withdraws its request, or the transport company declines it."""
    return actor.is_staff_of(collection.point.manager_id) or actor.is_staff_of(collection.carrier_id)
