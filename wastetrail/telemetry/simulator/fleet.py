"""The demo fleet as the simulator needs it, read once from the database (read-only).

Trucks are the vehicles with a terminal; each shuttles between (project, receiving site) pairs
taken from its own manifests, else from its company's, else the project it is given and that
project's nearest site. Only pairs on one piece of land are kept (no truck crosses the sea).
After `load_fleet` returns, nothing touches the database again.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from shapely.geometry import shape

from wastetrail.telemetry.simulator.geo import METRES_PER_DEGREE_LAT, Land, distance_m
from wastetrail.telemetry.simulator.motion import Place
from wastetrail.telemetry.simulator.terminal import TerminalIdentity

PROJECT_RADIUS_M = 60.0  # trucks wait somewhere around the project's point
MAX_PAIRS = 4


class FleetError(Exception):
    """The database holds nothing to simulate."""


@dataclass
class FleetTruck:
    identity: TerminalIdentity
    vehicle_id: int
    plate: str
    company_id: int
    pairs: list[tuple[Place, Place]]


@dataclass
class Fleet:
    trucks: list[FleetTruck]
    projects: list[Place]
    sites: list[Place]

    @property
    def places(self) -> list[Place]:
        return self.projects + self.sites


def site_radius_m(boundary: dict, lat: float) -> float:
    """About a third of the side of the site's area: a spot on its tipping ground, inside the boundary."""
    try:
        area_deg2 = shape(boundary).area
    except (ValueError, TypeError, AttributeError, KeyError):
        return 50.0
    area_m2 = area_deg2 * METRES_PER_DEGREE_LAT ** 2 * math.cos(math.radians(lat))
    return max(20.0, math.sqrt(area_m2) / 3)


def load_fleet(*, land: Land, seed: int = 0) -> Fleet:
    """Every vehicle with a terminal (ordered by vehicle id) with its pairs; FleetError if none."""
    from wastetrail.manifests.models import Manifest
    from wastetrail.registry.models import Project, ProjectStatus, ReceivingSite, SiteStatus, Terminal

    terminals = list(Terminal.objects.filter(vehicle__isnull=False).select_related("vehicle").order_by("vehicle_id"))
    if not terminals:
        raise FleetError("no vehicle has a terminal: load the demo first (`wastetrail demo`)")
    projects = {
        row["id"]: Place("project", row["id"], row["name"], (row["lon_e6"] / 1e6, row["lat_e6"] / 1e6),
                         PROJECT_RADIUS_M)
        for row in Project.objects.exclude(status=ProjectStatus.COMPLETED).values("id", "name", "lon_e6", "lat_e6")
    }
    sites = {}
    for row in ReceivingSite.objects.exclude(status=SiteStatus.CLOSED).values(
            "id", "name", "centroid_lon_e6", "centroid_lat_e6", "boundary"):
        lat = row["centroid_lat_e6"] / 1e6
        sites[row["id"]] = Place("site", row["id"], row["name"], (row["centroid_lon_e6"] / 1e6, lat),
                                 site_radius_m(row["boundary"], lat))
    if not projects or not sites:
        raise FleetError("the database has no open project or receiving site to drive between")
    manifest_pairs = list(Manifest.objects.values_list("vehicle_id", "vehicle__company_id", "project_id", "site_id")
                          .distinct())
    trucks = [
        FleetTruck(
            identity=TerminalIdentity(
                phone=terminal.phone, protocol=terminal.protocol, terminal_id=terminal.terminal_id,
                manufacturer_id=terminal.manufacturer_id, model=terminal.terminal_model,
                plate=terminal.vehicle.plate, plate_colour=terminal.vehicle.plate_colour,
                auth_code=terminal.auth_code or None, vehicle_id=terminal.vehicle_id,
            ),
            vehicle_id=terminal.vehicle_id, plate=terminal.vehicle.plate, company_id=terminal.vehicle.company_id,
            pairs=[],
        )
        for terminal in terminals
    ]
    assign_pairs(trucks, projects, sites, manifest_pairs, land=land, rng=random.Random(seed))
    return Fleet(trucks, list(projects.values()), list(sites.values()))


def assign_pairs(trucks: list[FleetTruck], projects: dict[int, Place], sites: dict[int, Place],
                 manifest_pairs: list[tuple[int, int, int, int]], *, land: Land, rng: random.Random) -> None:
    """Give each truck up to MAX_PAIRS drivable (project, site) pairs: its manifests', else its
    company's, else a project (round robin) and its nearest site on the same land."""
    component = {("project", key): land.component(place.point) for key, place in projects.items()}
    component.update({("site", key): land.component(place.point) for key, place in sites.items()})

    def drivable(project_id: int, site_id: int) -> bool:
        if project_id not in projects or site_id not in sites:
            return False
        here = component[("project", project_id)]
        return here is not None and here == component[("site", site_id)]

    by_vehicle: dict[int, list[tuple[int, int]]] = defaultdict(list)
    by_company: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for vehicle_id, company_id, project_id, site_id in manifest_pairs:
        if drivable(project_id, site_id):
            for index in (by_vehicle[vehicle_id], by_company[company_id]):
                if (project_id, site_id) not in index:
                    index.append((project_id, site_id))
    reachable_projects = sorted(key for key in projects if component[("project", key)] is not None
                                and any(drivable(key, site) for site in sites))
    if not reachable_projects:
        raise FleetError("no open project has an open receiving site on the same land")
    next_project = 0
    for truck in trucks:
        chosen = by_vehicle.get(truck.vehicle_id) or by_company.get(truck.company_id)
        if chosen:
            chosen = rng.sample(chosen, min(MAX_PAIRS, len(chosen)))
        else:
            project_id = reachable_projects[next_project % len(reachable_projects)]
            next_project += 1
            nearest = min((site for site in sites if drivable(project_id, site)),
                          key=lambda site: distance_m(projects[project_id].point, sites[site].point))
            chosen = [(project_id, nearest)]
        truck.pairs = [(projects[project_id], sites[site_id]) for project_id, site_id in chosen]
