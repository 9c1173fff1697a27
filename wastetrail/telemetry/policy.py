"""Who may see which trucks on the live map, their tracks, and the terminals' connection status.

- Regulators see every truck, district bureaus included: trucks cross districts all the time and
  the registry already shows a district bureau the whole fleet (registry.policy.fleet_visibility).
- A transport company's administrators and staff see their own fleet and terminals. Drivers do
  not: a driver's login is for his trips, not for following his colleagues.
- A construction unit's or a receiving site operator's administrators and staff see the trucks
  that carry one of its open manifests right now (the truck has departed and the load is not yet
  received), and only on the map: a track only from the manifest's departure, no terminal lists.
- Nobody else sees anything, the public included.

Visibility is written as Q objects on VehicleLiveState / Vehicle / Terminal so that selectors
filter in SQL; `vehicle_path` says how the queried model reaches the vehicle.
"""

from __future__ import annotations

from django.db.models import Q

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.manifests.models import ManifestStatus

NOTHING = Q(pk__in=[])
STAFF_ROLES = (Role.ADMIN, Role.STAFF)
# A manifest whose load is on the truck: departed, not yet received (received, refused or closed
# manifests are done; an issued one has not left the project).
OPEN_MANIFEST_STATUSES = (ManifestStatus.DEPARTED, ManifestStatus.ARRIVED)
# The name under which selectors join a vehicle's open manifest (a FilteredRelation).
OPEN_MANIFEST = "open_manifest"


def _path(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def fleet_companies(actor: Actor) -> frozenset[int]:
    """Transport companies whose whole fleet the actor follows."""
    return actor.org_ids_of(OrganisationKind.TRANSPORT_COMPANY, roles=STAFF_ROLES)


def manifest_parties(actor: Actor) -> tuple[frozenset[int], frozenset[int]]:
    """(construction units, site operators) whose open manifests' trucks the actor sees."""
    return (actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=STAFF_ROLES),
            actor.org_ids_of(OrganisationKind.SITE_OPERATOR, roles=STAFF_ROLES))


def sees_every_truck(actor: Actor) -> bool:
    return actor.is_regulator


def live_visibility(actor: Actor, *, vehicle_path: str = "vehicle", manifest_path: str = OPEN_MANIFEST) -> Q | None:
    """Trucks on the live map. None: every truck. ``manifest_path`` names the queried model's join to
    the vehicle's open manifest (at most one: the manifests' one-open-manifest-per-vehicle index)."""
    if sees_every_truck(actor):
        return None
    conditions = NOTHING
    companies = fleet_companies(actor)
    if companies:
        conditions |= Q(**{_path(vehicle_path, "company_id__in"): companies})
    emitters, receivers = manifest_parties(actor)
    if emitters:
        conditions |= Q(**{f"{manifest_path}__emitter_id__in": emitters})
    if receivers:
        conditions |= Q(**{f"{manifest_path}__receiver_id__in": receivers})
    return conditions


def track_from_manifest_only(actor: Actor, company_id: int) -> bool:
    """Whether the actor sees the vehicle's track only since its open manifest departed (it sees the
    truck because of the load, not because it runs the fleet)."""
    return not sees_every_truck(actor) and company_id not in fleet_companies(actor)


def terminal_visibility(actor: Actor, *, company_path: str = "company_id") -> Q | None:
    """Terminals and their connection status: regulators all, a transport company's staff its own."""
    if sees_every_truck(actor):
        return None
    companies = fleet_companies(actor)
    return Q(**{f"{company_path}__in": companies}) if companies else NOTHING


def can_see_terminals(actor: Actor) -> bool:
    return sees_every_truck(actor) or bool(fleet_companies(actor))


def can_see_live_map(actor: Actor) -> bool:
    """Whether the live map is worth offering (the page itself filters per truck)."""
    emitters, receivers = manifest_parties(actor)
    return can_see_terminals(actor) or bool(emitters or receivers)
