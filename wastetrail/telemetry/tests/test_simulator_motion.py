"""Trips on roads-free geometry: routes on Jiangmen's land, truck kinematics, dwells, stops, sensors,
signal losses, the report schedule, the simulated clock and what a report carries. No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import random
from types import SimpleNamespace

import pytest

from wastetrail.telemetry.jt808 import decode_location, location_bytes, profiles
from wastetrail.telemetry.simulator import motion
from wastetrail.telemetry.simulator.clock import SimClock
from wastetrail.telemetry.simulator.geo import distance_m, jiangmen
from wastetrail.telemetry.simulator.motion import DumpRecord, Phase, Place, TripPlan, Truck, TruckState, trips
from wastetrail.telemetry.simulator.reports import ITEM_COVER_LIFT, ITEM_DUMP, location_for
from wastetrail.telemetry.simulator.route import NoRoute, plan_route
from wastetrail.telemetry.simulator.runner import dump_spot_picker, illegal_trip_plan
from wastetrail.telemetry.simulator.sources import TruckSource
from wastetrail.telemetry.simulator.terminal import ClientConfig

T0 = 1_800_000_000.0
LAND = jiangmen()


def mainland_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    west, south, east, north = LAND.components[0].bounds
    points = []
    while len(points) < count:
        point = (rng.uniform(west, east), rng.uniform(south, north))
        if LAND.component(point) == 0:
            points.append(point)
    return points


def test_routes_stay_on_jiangmens_land_and_are_longer_than_the_crow_flies():
    rng = random.Random(1)
    points = mainland_points(rng, 40)
    for a, b in zip(points[::2], points[1::2], strict=True):
        route = plan_route(rng, a, b, LAND)
        assert route.start == a and route.end == b
        samples = [route.at(s)[0] for s in range(0, int(route.length), 200)]
        assert LAND.contains_all(samples)
        assert 1.0 < route.length / distance_m(a, b) <= 1.45


def test_no_route_between_the_mainland_and_an_island():
    rng = random.Random(2)
    island = LAND.components[1].representative_point()
    with pytest.raises(NoRoute):
        plan_route(rng, mainland_points(rng, 1)[0], (island.x, island.y), LAND)


def one_day(seed: int, *, illegal=frozenset(), signal_loss: float = 0.0, hours: float = 8.0):
    """A truck shuttling between a project and a site ~15 km apart, sampled every second."""
    rng = random.Random(seed)
    project_point, site_point = (113.02, 22.62), (113.13, 22.54)
    project = Place("project", 1, "project", project_point, 60)
    site = Place("site", 2, "site", site_point, 80)
    plan = TripPlan([(project, site)], illegal_trips=frozenset(illegal), signal_loss_chance=signal_loss)
    activities = trips(rng, plan, router=lambda a, b: plan_route(rng, a, b, LAND),
                       dump_spot=dump_spot_picker(rng, LAND, [project, site]), warm_start=False)
    truck = Truck(activities, time=T0, rng=rng)
    states = [truck.state()] + [truck.advance_to(T0 + s) for s in range(1, int(hours * 3600))]
    return truck, states, project, site


def runs(states: list[TruckState], key) -> list[tuple[object, list[TruckState]]]:
    return [(value, list(group)) for value, group in itertools.groupby(states, key)]


def test_speeds_stay_within_limits_with_plausible_acceleration_and_braking():
    for seed in range(3):
        _, states, _, _ = one_day(seed)
        assert max(s.speed_kmh for s in states) <= 60.0 + 1e-6
        for before, after in itertools.pairwise(states):
            change = (after.speed_kmh - before.speed_kmh) / 3.6  # m/s in one second
            assert -motion.BRAKE_MAX - 1e-9 <= change <= motion.ACCEL_EMPTY + 1e-9
        for phase, group in runs(states, lambda s: s.phase):
            if phase in (Phase.DRIVING_LOADED, Phase.DRIVING_EMPTY) and len(group) > 600:
                assert max(s.speed_kmh for s in group) >= motion.CRUISE_KMH[0]  # a drive reaches cruising speed
            if phase in (Phase.LOADING, Phase.UNLOADING):
                assert all(s.speed_kmh == 0 for s in group)


def test_every_position_of_a_day_of_trips_is_inside_jiangmen():
    _, states, _, _ = one_day(5)
    assert LAND.contains_all([s.point for s in states[::10]])


def test_loading_and_unloading_dwells_last_as_long_as_they_should_and_set_the_load_bits():
    _, states, project, site = one_day(7, hours=10)
    phases = runs(states, lambda s: s.phase)
    loadings = [len(group) for phase, group in phases[1:-1] if phase == Phase.LOADING]
    unloadings = [len(group) for phase, group in phases[1:-1] if phase == Phase.UNLOADING]
    assert loadings and unloadings
    assert all(10 * 60 <= n <= 25 * 60 for n in loadings)
    assert all(5 * 60 <= n <= 15 * 60 for n in unloadings)
    for phase, group in phases:
        if phase == Phase.DRIVING_LOADED:
            assert all(s.loaded for s in group)
        if phase == Phase.DRIVING_EMPTY:
            assert not any(s.loaded for s in group)
        if phase == Phase.UNLOADING:
            assert distance_m(group[0].point, site.point) <= site.radius_m + 1
            assert not any(s.lift_outside or s.cover_outside for s in group)  # a site is a permitted area
        if phase == Phase.LOADING:
            assert distance_m(group[0].point, project.point) <= project.radius_m + 1


def test_drives_have_traffic_stops_of_thirty_seconds_to_two_minutes():
    _, states, _, _ = one_day(11)
    stops = []
    for phase, group in runs(states, lambda s: s.phase):
        if phase not in (Phase.DRIVING_LOADED, Phase.DRIVING_EMPTY):
            continue
        standing = runs(group, lambda s: s.speed_kmh == 0)
        # Standing still strictly inside a drive (not its first or last moment) is a traffic stop.
        stops += [len(run) for still, run in standing[1:-1] if still]
    assert len(stops) >= 5
    assert all(30 <= n <= 121 for n in stops)  # held 30-120 s: the samples at both ends included


def test_an_illegal_dump_happens_away_from_sites_and_projects_with_the_body_lifted_and_is_recorded():
    truck, states, project, site = one_day(3, illegal={0}, hours=4)
    dumps = [s for s in states if s.phase == Phase.ILLEGAL_DUMP]
    assert dumps
    where = dumps[0].point
    assert distance_m(where, site.point) > 1_000 and distance_m(where, project.point) > 1_000
    lifted = [s for s in states if s.lift_outside]
    assert lifted and all(s.phase == Phase.ILLEGAL_DUMP and s.speed_kmh == 0 for s in lifted)
    assert all(s.cover_outside for s in lifted)
    after = states[states.index(lifted[-1]) + 1]
    assert not after.loaded and not after.lift_outside
    [record] = [r for r in truck.dump_records if r.abnormal]
    assert (record.start, record.end) == (lifted[0].time, lifted[-1].time + 1)
    [event] = [e for e in truck.events if e.kind == "illegal_dump"]
    assert (event.lift_start, event.lift_end, event.point) == (record.start, record.end, where)
    # The trip after the dump is empty and goes back to the project; later trips unload at the site.
    assert any(e.kind == "unloading" and e.site == site for e in truck.events)


def test_a_signal_loss_lasts_one_to_five_minutes_inside_a_drive():
    truck, states, _, _ = one_day(21, signal_loss=1.0, hours=6)
    assert truck.signal_losses
    for start, end in truck.signal_losses:
        assert 60 <= end - start <= 300
    without = [s for s in states if not s.signal]
    assert without and all(truck.signal_at(s.time) is False for s in without)


def test_illegal_dumps_are_spread_one_per_truck_before_any_truck_gets_a_second():
    plan = illegal_trip_plan(random.Random(0), trucks=4, dumps=6)
    assert sum(len(trip_numbers) for trip_numbers in plan.values()) == 6
    assert len(plan) == 4 and sorted(len(t) for t in plan.values()) == [1, 1, 2, 2]
    assert all(min(trip_numbers) == 0 for trip_numbers in plan.values())


def test_reports_follow_the_interval_are_shorter_during_alarms_and_immediate_on_a_sensor_change():
    _, states, _, _ = one_day(3, illegal={0}, hours=1)
    config = ClientConfig(interval=20, idle_interval=300, alarm_interval=5)

    def source(change: float) -> TruckSource:
        return TruckSource(SimpleNamespace(next_change_after=lambda moment: change))

    driving = next(s for s in states if s.phase == Phase.DRIVING_LOADED)
    lifted = next(s for s in states if s.lift_outside)
    engine_off = dataclasses.replace(driving, acc=False)
    assert source(math.inf).next_report(T0, driving, config) == T0 + 20
    assert source(math.inf).next_report(T0, lifted, config) == T0 + 5
    assert source(math.inf).next_report(T0, engine_off, config) == T0 + 300
    assert source(T0 + 7).next_report(T0, driving, config) == T0 + 7  # ACC, lift, cover or load switched
    assert source(T0).next_report(T0, driving, config) == T0 + 1  # never two reports in one second


def test_a_report_carries_status_bits_items_and_the_muck_truck_dump_record():
    state = TruckState(time=T0, point=(113.081234, 22.578765), speed_kmh=36.4, heading=271, altitude_m=15,
                       acc=True, loaded=True, cover_outside=True, lift_outside=True, odometer_m=123_456.0,
                       phase=Phase.ILLEGAL_DUMP, signal=True)
    record = DumpRecord(abnormal=True, start=T0 - 120, end=T0)
    location = decode_location(location_bytes(location_for(state, record)))
    assert location.acc_on and location.fixed and location.load == 3
    assert (location.lat_e6, location.lon_e6, location.speed_dkmh, location.heading) == (22_578_765, 113_081_234,
                                                                                         364, 271)
    assert location.time_utc == dt.datetime.fromtimestamp(T0, tz=dt.UTC)
    extras = location.extras(profiles.for_model("ZT-808G"))
    assert extras["odometer_km"] == pytest.approx(123.4)
    assert extras["cover_open"] and extras["body_lifted"]
    assert extras["dump"]["abnormal"] is True
    assert extras["dump"]["start_utc"] == dt.datetime.fromtimestamp(T0 - 120, tz=dt.UTC).isoformat()
    assert extras["dump"]["end_utc"] == dt.datetime.fromtimestamp(T0, tz=dt.UTC).isoformat()
    quiet_state = dataclasses.replace(state, cover_outside=False, lift_outside=False, loaded=False)
    quiet = decode_location(location_bytes(location_for(quiet_state)))
    assert quiet.load == 0 and ITEM_DUMP not in quiet.items and quiet.items[ITEM_COVER_LIFT] == b"\0\0\0\0"


def test_the_compressed_clock_catches_up_with_real_time_and_never_runs_ahead():
    real = [0.0]
    clock = SimClock(speed=10, horizon_s=100, wall=lambda: 5_000.0, monotonic=lambda: real[0])
    assert clock.start == 5_000 - 9 * 100
    samples = []
    for elapsed in (0, 10, 50, 100, 150, 1000):
        real[0] = elapsed
        samples.append(clock.now())
        assert clock.now() <= 5_000 + elapsed  # never in the future
    assert samples[1] - samples[0] == 100  # ten times faster...
    assert samples[3] == 5_100 and samples[4] == 5_150  # ...until it meets the real clock, then real speed
    real[0] = 0
    assert clock.delay_until(clock.start + 500) == pytest.approx(50)
    assert clock.delay_until(5_120) == pytest.approx(120)
    with pytest.raises(ValueError):
        SimClock(speed=0)
