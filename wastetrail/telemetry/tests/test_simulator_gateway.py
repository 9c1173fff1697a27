"""The simulator and the load generator against the real gateway and database: the demo's trucks
register, report and are stored; the load generator survives a gateway restart and every report
it saw acknowledged is stored exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from django.db.models import Count

from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.registry.models import Terminal
from wastetrail.telemetry import store
from wastetrail.telemetry.gateway import Gateway, InProcessHandoff
from wastetrail.telemetry.models import Position
from wastetrail.telemetry.records import PositionSource
from wastetrail.telemetry.simulator.fleet import load_fleet
from wastetrail.telemetry.simulator.geo import jiangmen
from wastetrail.telemetry.simulator.loadgen import LoadOptions, load_async
from wastetrail.telemetry.simulator.runner import SimulationOptions, simulate
from wastetrail.telemetry.simulator.terminal import ClientConfig, TerminalIdentity
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    config,
    fresh_store_caches,
    in_db,
    make_fleet,
    rulebook_after_module,
    run,
    running_gateway,
)
from wastetrail.testing import reload_rulebook_defaults

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_small_demo_fleet_registers_reports_and_its_positions_are_stored():
    from wastetrail.scenario.build import build_scenario

    if not WasteCategory.objects.exists():  # an earlier transactional test's flush took the rulebook
        reload_rulebook_defaults()
    build_scenario(seed=3, loads=False)
    fleet = load_fleet(land=jiangmen(), seed=0)
    assert not any(truck.identity.auth_code for truck in fleet.trucks[:4])  # the demo's terminals never registered

    vehicles = [truck.vehicle_id for truck in fleet.trucks[:4]]

    def reporting() -> int:
        return Position.objects.filter(vehicle_id__in=vehicles).values("vehicle_id").distinct().count()

    async def scenario():
        async with running_gateway() as gateway:
            stop = asyncio.Event()
            options = SimulationOptions(port=gateway.port, terminals=4, speed=20, seed=1, summary_every_s=60,
                                        client=ClientConfig(interval=2, ack_timeout_s=3.0, reconnect_min_s=0.2,
                                                            reconnect_max_s=1.0), grace_s=10)
            running = asyncio.create_task(simulate(options, fleet, land=jiangmen(), stop=stop,
                                                   report=lambda line: None))
            # A few seconds of reports from every truck (registration may need a retry on a busy machine).
            while await in_db(reporting) < len(vehicles):
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)
            stop.set()
            return await running

    result = run(scenario())
    stored = dict(Position.objects.filter(vehicle_id__in=vehicles).values_list("vehicle_id")
                  .annotate(n=Count("device_time")))
    # Every truck's positions are stored (a truck waiting at a project with its engine off reports rarely).
    assert sorted(stored) == sorted(vehicles) and sum(stored.values()) > 2 * len(vehicles)
    assert sum(stored.values()) == result.stats.acked == result.stats.sent  # every acknowledged report, once
    assert result.stats.registered == 4
    codes = dict(Terminal.objects.filter(vehicle_id__in=vehicles).values_list("vehicle_id", "auth_code"))
    assert all(codes.values())
    assert {truck.vehicle_id: truck.identity.auth_code for truck in fleet.trucks[:4]} == codes
    # Positions are in Jiangmen and their device times never run ahead of the receive times.
    for position in Position.objects.filter(vehicle_id__in=vehicles):
        assert jiangmen().contains((position.lon_e6 / 1e6, position.lat_e6 / 1e6))
        assert position.device_time <= position.received_at
        assert position.source in (PositionSource.LIVE, PositionSource.BLIND_AREA)


def test_the_load_generator_survives_a_gateway_restart_and_every_acknowledged_report_is_stored_once():
    trucks = make_fleet(3)
    identities = [TerminalIdentity(phone=t.phone, protocol="2013", plate=t.plate, auth_code=t.auth_code,
                                   vehicle_id=t.vehicle.pk) for t in trucks]
    reports = 1000  # with a window of 2: long enough to be cut in the middle

    async def scenario():
        first = Gateway(config(), InProcessHandoff(store))
        await first.start()
        port = first.port
        options = LoadOptions(port=port, reports=reports, window=2, ack_timeout_s=2.0, reconnect_min_s=0.05,
                              reconnect_max_s=0.5, deadline_s=60)
        load = asyncio.create_task(load_async(options, identities))
        while await in_db(Position.objects.count) < 100:
            await asyncio.sleep(0.05)
        await first.stop()  # the gateway goes away mid-load...
        await asyncio.sleep(0.3)
        second = Gateway(config(port=port), InProcessHandoff(store))
        await second.start()  # ...and comes back on the same port
        try:
            return await load
        finally:
            await second.stop()

    result = run(scenario())
    assert result.complete and result.connects >= 2 * len(trucks)
    for truck, identity in zip(trucks, identities, strict=True):
        stored = list(Position.objects.filter(vehicle=truck.vehicle).order_by("device_time")
                      .values_list("device_time", flat=True))
        assert stored == result.acked_device_times(identity.phone)  # all of them, each once
        assert stored[0] == dt.datetime.fromtimestamp(result.start_time, tz=dt.UTC)
    assert result.acked == len(trucks) * reports
