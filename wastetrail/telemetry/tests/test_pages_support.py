"""Helpers shared by the live map, track and terminal tests (no tests here): live states and
positions written directly (the gateway's and the store's own tests cover how they get there), a
fleet per transport company, and a truck carrying an open manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from wastetrail.manifests import services as manifest_services
from wastetrail.manifests.models import Manifest
from wastetrail.manifests.tests.conftest import (  # noqa: F401 - fixtures
    categories,
    driver_with_login,
    issue,
    make_driver,
    make_project,
    make_ready_load,
    make_site,
    make_truck,
    make_vehicle,
    now,
)
from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.telemetry.models import LoadState, Position, TerminalStatus, VehicleLiveState

JIANGMEN = (22_578_000, 113_081_000)  # lat_e6, lon_e6 in Pengjiang


def seed_live(vehicle: Vehicle, *, online: bool = True, last_frame_at: dt.datetime | None = None,
              lat_e6: int = JIANGMEN[0], lon_e6: int = JIANGMEN[1], speed_dkmh: int = 0,
              load: str = LoadState.UNKNOWN, alarm: int = 0, flags: int = 0, **fields) -> VehicleLiveState:
    """The vehicle's live state as the store and the gateway would leave it (replacing any)."""
    moment = last_frame_at or timezone.now()
    values = {"device_time": moment, "received_at": moment, "lat_e6": lat_e6, "lon_e6": lon_e6, "altitude_m": 10,
              "speed_dkmh": speed_dkmh, "heading": 90, "alarm": alarm, "status": 3, "acc_on": True, "load": load,
              "flags": flags, "online": online, "online_changed_at": moment - dt.timedelta(hours=1),
              "last_frame_at": moment} | fields
    live, _ = VehicleLiveState.objects.update_or_create(vehicle=vehicle, defaults=values)
    return live


def seed_positions(vehicle: Vehicle, start: dt.datetime, count: int, *, step: dt.timedelta = dt.timedelta(seconds=10),
                   each: Callable[[int], dict] | None = None) -> list[Position]:
    """``count`` positions every ``step`` from ``start``, heading north-east at 36 km/h; ``each(i)`` may
    change any field of the i-th."""
    rows = []
    for i in range(count):
        values = {"vehicle_id": vehicle.pk, "device_time": start + i * step, "received_at": start + i * step,
                  "lat_e6": JIANGMEN[0] + i * 70, "lon_e6": JIANGMEN[1] + i * 70, "altitude_m": 10,
                  "speed_dkmh": 360, "heading": 45, "alarm": 0, "status": 3, "extras": {}, "flags": 0}
        if each:
            values |= each(i)
        rows.append(Position(**values))
    return Position.objects.bulk_create(rows)


def seed_terminal_status(terminal: Terminal, **fields) -> TerminalStatus:
    status, _ = TerminalStatus.objects.update_or_create(terminal=terminal, defaults=fields)
    return status


@dataclass
class Fleets:
    mine: list[Vehicle]  # the "transport" company's (transport_admin)
    theirs: list[Vehicle]  # the "transport_other" company's (transport_other_admin)


@pytest.fixture
def fleets(cast, make_truck) -> Callable[..., Fleets]:  # noqa: F811
    """Trucks with terminals for both transport companies, each with a live state."""

    def make(mine: int = 2, theirs: int = 2) -> Fleets:
        built = Fleets(mine=[make_truck() for _ in range(mine)],
                       theirs=[make_truck(company=cast.org("transport_other")) for _ in range(theirs)])
        for vehicle in built.mine + built.theirs:
            seed_live(vehicle)
        return built

    return make


@pytest.fixture
def departed(cast, make_ready_load, issue, now) -> Callable[..., Manifest]:  # noqa: F811
    """A truck (with a live state) carrying an open manifest: issued by the construction unit to the
    site operator's site, departed."""

    def make() -> Manifest:
        load = make_ready_load()
        seed_live(load.vehicle)
        manifest = issue(load)
        return manifest_services.manifest_depart(actor=cast.actor("driver"), manifest=manifest,
                                                 now=now + dt.timedelta(minutes=10))

    return make
