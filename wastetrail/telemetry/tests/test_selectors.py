"""Telemetry reads: a truck's state on the live map, changes since a cursor, tracks (periods, caps,
thinning, stops, alarms) and the terminal list's filters and order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wastetrail.telemetry import selectors
from wastetrail.telemetry.live import offline_after
from wastetrail.telemetry.models import LoadState
from wastetrail.telemetry.records import PositionFlag
from wastetrail.telemetry.selectors import TrackPoint, TruckState, truck_state
from wastetrail.telemetry.tests.test_pages_support import (  # noqa: F401 - fixtures
    categories,
    fleets,
    make_truck,
    make_vehicle,
    seed_live,
    seed_positions,
    seed_terminal_status,
)

NOW = dt.datetime(2026, 6, 12, 8, 0, tzinfo=dt.UTC)


def state(**overrides) -> str:
    values = {"online": True, "last_frame_at": NOW - dt.timedelta(seconds=20), "speed_dkmh": 0,
              "load": LoadState.UNKNOWN, "alarm": 0, "flags": 0, "carrying": False, "now": NOW} | overrides
    return truck_state(**values)


# --- states ---------------------------------------------------------------------------------
def test_a_truck_the_gateway_calls_offline_is_offline_whatever_else_it_reports():
    assert state(online=False, speed_dkmh=500, alarm=1, load=LoadState.FULL) == TruckState.OFFLINE


def test_a_truck_silent_for_longer_than_the_offline_delay_is_offline_even_if_marked_online():
    assert state(last_frame_at=NOW - offline_after()) == TruckState.STOPPED
    assert state(last_frame_at=NOW - offline_after() - dt.timedelta(seconds=1)) == TruckState.OFFLINE
    assert state(last_frame_at=None) == TruckState.OFFLINE


def test_an_alarm_or_a_flagged_position_outranks_load_and_speed():
    assert state(alarm=1 << 1, load=LoadState.FULL, speed_dkmh=500) == TruckState.ALARM
    assert state(flags=int(PositionFlag.IMPOSSIBLE_JUMP), speed_dkmh=500) == TruckState.ALARM


def test_loaded_comes_from_the_load_sensor_or_without_one_from_a_departed_manifest():
    assert state(load=LoadState.FULL) == TruckState.LOADED
    assert state(load=LoadState.HALF, speed_dkmh=500) == TruckState.LOADED
    assert state(load=LoadState.UNKNOWN, carrying=True) == TruckState.LOADED
    # A sensor that says empty is believed over the paperwork.
    assert state(load=LoadState.EMPTY, carrying=True) == TruckState.STOPPED


def test_moving_starts_at_three_km_per_hour():
    assert state(speed_dkmh=selectors.MOVING_MIN_DKMH - 1) == TruckState.STOPPED
    assert state(speed_dkmh=selectors.MOVING_MIN_DKMH) == TruckState.MOVING


def test_every_state_has_a_colour_and_an_explanation_in_the_legend():
    legend = selectors.state_legend()
    assert [entry["value"] for entry in legend] == list(TruckState.values)
    assert all(entry["colour"].startswith("#") and entry["help"] for entry in legend)
    assert len({entry["colour"] for entry in legend}) == len(legend)


def test_alarm_bits_and_flags_are_named():
    assert selectors.alarm_names(0b11) == ["Emergency (SOS)", "Over-speed"]
    assert selectors.alarm_names(1 << 31) == ["Illegal door opening"]
    assert selectors.flag_names(int(PositionFlag.ZERO | PositionFlag.FUTURE_TIME)) == [
        "Position 0, 0", "Device time in the future"]


# --- live trucks ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_live_trucks_lists_each_visible_truck_once_with_its_position_and_company(cast, fleets):  # noqa: F811
    fleet = fleets(mine=2, theirs=1)
    answer = selectors.live_trucks(actor=cast.actor("reg_officer"))
    assert answer.full
    assert [truck.id for truck in answer.trucks] == sorted(v.pk for v in fleet.mine + fleet.theirs)
    truck = answer.trucks[0]
    assert (truck.lat, truck.lon) == (22.578, 113.081)
    assert answer.companies[truck.company] == cast.org("transport").name
    assert truck.state == TruckState.STOPPED and truck.online


@pytest.mark.django_db
def test_since_a_cursor_only_trucks_with_a_new_frame_an_online_change_or_gone_silent_come_back(cast, fleets):  # noqa: F811
    fleet = fleets(mine=4, theirs=0)
    now = timezone.now()
    quiet, reporting, disconnected, silent = fleet.mine
    old = now - dt.timedelta(minutes=2)
    seed_live(quiet, last_frame_at=old)
    seed_live(reporting, last_frame_at=old)
    seed_live(disconnected, last_frame_at=old)
    seed_live(silent, last_frame_at=now - offline_after() + dt.timedelta(seconds=30))
    regulator = cast.actor("reg_officer")
    first = selectors.live_trucks(actor=regulator, now=now)
    since = selectors.parse_cursor(first.cursor)

    later = now + dt.timedelta(minutes=1)
    seed_live(reporting, last_frame_at=later, lat_e6=22_600_000)
    seed_live(disconnected, last_frame_at=old, online=False, online_changed_at=later)
    answer = selectors.live_trucks(actor=regulator, since=since, now=later)
    assert not answer.full
    by_id = {truck.id: truck for truck in answer.trucks}
    assert set(by_id) == {reporting.pk, disconnected.pk, silent.pk}
    assert by_id[reporting.pk].lat == 22.6
    assert by_id[disconnected.pk].state == TruckState.OFFLINE
    assert by_id[silent.pk].state == TruckState.OFFLINE  # no row changed: its silence did


@pytest.mark.django_db
def test_an_old_cursor_gets_a_full_answer(cast, fleets):  # noqa: F811
    fleets(mine=2, theirs=0)
    now = timezone.now()
    answer = selectors.live_trucks(actor=cast.actor("reg_officer"), since=now - dt.timedelta(hours=1), now=now)
    assert answer.full and len(answer.trucks) == 2


def test_a_cursor_goes_and_comes_back_to_the_microsecond():
    moment = dt.datetime(2026, 6, 12, 8, 0, 1, 123456, tzinfo=dt.UTC)
    assert selectors.parse_cursor(selectors.cursor_for(moment)) == moment


@pytest.mark.parametrize("bad", ["", "abc", "-5", "1.5", "9" * 20, "9" * 30])
def test_a_cursor_that_is_not_one_is_refused_by_its_field(bad):
    with pytest.raises(ValidationError) as caught:
        selectors.parse_cursor(bad)
    assert set(caught.value.error_dict) == {"since"}


@pytest.mark.django_db
def test_live_trucks_costs_one_query_for_two_trucks_and_for_thirty(cast, fleets):  # noqa: F811
    regulator = cast.actor("reg_officer")  # memberships loaded before counting
    fleets(mine=1, theirs=1)
    with CaptureQueriesContext(connection) as few:
        assert len(selectors.live_trucks(actor=regulator).trucks) == 2
    fleets(mine=14, theirs=14)
    with CaptureQueriesContext(connection) as many:
        assert len(selectors.live_trucks(actor=regulator).trucks) == 30
    assert len(few) == len(many) == 1


# --- track periods --------------------------------------------------------------------------
def test_a_period_needs_both_ends():
    with pytest.raises(ValidationError) as caught:
        selectors.track_period(None, None)
    assert set(caught.value.error_dict) == {"from", "to"}


def test_a_period_must_end_after_it_starts():
    with pytest.raises(ValidationError) as caught:
        selectors.track_period(NOW, NOW)
    assert "after its start" in caught.value.error_dict["to"][0].message


def test_a_period_is_at_most_seven_days():
    selectors.track_period(NOW, NOW + dt.timedelta(days=7))
    with pytest.raises(ValidationError) as caught:
        selectors.track_period(NOW, NOW + dt.timedelta(days=7, seconds=1))
    assert "at most 7 days" in caught.value.error_dict["to"][0].message


def test_a_time_without_a_zone_is_china_time():
    start, end = selectors.track_period(dt.datetime(2026, 6, 12, 8, 0), dt.datetime(2026, 6, 12, 9, 0))
    assert start == dt.datetime(2026, 6, 12, 0, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=1)


# --- tracks ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_track_is_the_vehicles_positions_in_the_period_oldest_first_end_excluded(cast, make_truck):  # noqa: F811
    truck, other = make_truck(), make_truck()
    start = NOW
    seed_positions(truck, start - dt.timedelta(minutes=1), 30, step=dt.timedelta(seconds=10))  # 06:59:00..07:03:50
    seed_positions(other, start, 5)
    track = selectors.vehicle_track(actor=cast.actor("reg_officer"), vehicle_id=truck.pk, start=start,
                                    end=start + dt.timedelta(minutes=2))
    times = [point.t for point in track.points]
    assert times == sorted(times)
    assert times[0] == int(start.timestamp())
    assert times[-1] == int((start + dt.timedelta(minutes=2) - dt.timedelta(seconds=10)).timestamp())
    assert track.total == len(track.points) == 12
    assert not track.downsampled
    assert track.plate == truck.plate


@pytest.mark.django_db
def test_a_long_track_is_thinned_to_the_cap_keeping_first_last_and_flagged_points(cast, make_truck):  # noqa: F811
    truck = make_truck()
    flagged_at = {37, 211, 388}
    seed_positions(truck, NOW, 400, each=lambda i: {"flags": int(PositionFlag.IMPOSSIBLE_JUMP)} if i in flagged_at
                   else {"alarm": 1 << 1} if i == 150 else {})
    track = selectors.vehicle_track(actor=cast.actor("reg_officer"), vehicle_id=truck.pk, start=NOW,
                                    end=NOW + dt.timedelta(hours=2), cap=50)
    assert track.downsampled
    assert track.total == 400 and track.flagged_total == 3
    assert len(track.points) <= 50 + 1
    assert len(track.points) >= 40
    times = [point.t for point in track.points]
    assert times[0] == int(NOW.timestamp())
    assert times[-1] == int((NOW + dt.timedelta(seconds=3990)).timestamp())
    assert sum(1 for point in track.points if point.flags) == 3  # flagged points are never thinned away
    assert any(point.alarm for point in track.points)


@pytest.mark.django_db
def test_a_terminal_flagging_every_point_cannot_defeat_the_cap(cast, make_truck):  # noqa: F811
    truck = make_truck()
    seed_positions(truck, NOW, 300, each=lambda i: {"flags": int(PositionFlag.NOT_FIXED)})
    track = selectors.vehicle_track(actor=cast.actor("reg_officer"), vehicle_id=truck.pk, start=NOW,
                                    end=NOW + dt.timedelta(hours=1), cap=50)
    assert track.downsampled and len(track.points) <= 51


@pytest.mark.django_db
def test_a_track_costs_the_same_queries_for_ten_points_and_for_thousands(cast, make_truck):  # noqa: F811
    regulator = cast.actor("reg_officer")
    short, long = make_truck(), make_truck()
    seed_positions(short, NOW, 10)
    seed_positions(long, NOW, 3000, step=dt.timedelta(seconds=2))
    counts = []
    for truck, cap in ((short, 5000), (long, 500)):
        with CaptureQueriesContext(connection) as queries:
            selectors.vehicle_track(actor=regulator, vehicle_id=truck.pk, start=NOW, end=NOW + dt.timedelta(hours=2),
                                    cap=cap)
        counts.append(len(queries))
    assert counts == [3, 3]


def _point(t: int, speed: float, *, flags: int = 0, alarm: int = 0) -> TrackPoint:
    return TrackPoint(t=t, lat=22.5, lon=113.0, speed=speed, heading=0, flags=flags, alarm=alarm)


def test_a_stop_is_three_minutes_or_more_below_walking_pace_and_ends_when_the_truck_sets_off():
    points = ([_point(t, 30) for t in range(0, 60, 10)]
              + [_point(t, 0.5) for t in range(60, 300, 10)]  # 4 minutes standing
              + [_point(t, 30) for t in range(300, 360, 10)]
              + [_point(t, 0) for t in range(360, 420, 10)])  # a minute at a light
    stops = selectors.find_stops(points)
    assert len(stops) == 1
    assert (stops[0].start, stops[0].end, stops[0].minutes) == (60, 300, 4)


def test_flagged_points_neither_make_nor_break_a_stop():
    points = [_point(t, 0) for t in range(0, 240, 10)]
    points[10] = _point(100, 80, flags=int(PositionFlag.IMPOSSIBLE_JUMP))
    assert len(selectors.find_stops(points)) == 1
    assert selectors.find_stops([_point(t, 0, flags=1) for t in range(0, 600, 10)]) == []


def test_consecutive_points_with_the_same_alarm_are_one_episode():
    points = [_point(0, 30), _point(10, 30, alarm=2), _point(20, 30, alarm=2), _point(30, 30, alarm=3),
              _point(40, 30), _point(50, 30, alarm=2)]
    episodes = selectors.find_alarm_episodes(points)
    assert [(e.start, e.end, e.alarm) for e in episodes] == [(10, 20, 2), (30, 30, 3), (50, 50, 2)]
    assert episodes[1].names == ["Emergency (SOS)", "Over-speed"]


# --- terminals ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_terminals_filter_by_connection_and_sort_by_last_frame(cast, make_truck):  # noqa: F811
    online, offline, never, no_row = (make_truck().terminal for _ in range(4))
    now = timezone.now()
    seed_terminal_status(online, online=True, connected_at=now, last_frame_at=now - dt.timedelta(minutes=1))
    seed_terminal_status(offline, online=False, connected_at=now - dt.timedelta(days=1),
                         disconnected_at=now - dt.timedelta(hours=1), last_frame_at=now - dt.timedelta(hours=1),
                         last_error="bad checksum", last_error_at=now - dt.timedelta(hours=1))
    seed_terminal_status(never, online=False)
    regulator = cast.actor("reg_officer")

    def listed(**filters) -> list[int]:
        return [t.pk for t in selectors.terminal_status_list(actor=regulator, **filters)]

    assert listed(connection="online") == [online.pk]
    assert listed(connection="offline") == [offline.pk]
    assert set(listed(connection="never")) == {never.pk, no_row.pk}
    newest_first = listed()
    assert newest_first[:2] == [online.pk, offline.pk]  # never-connected last
    assert listed(order="last_frame")[:2] == [offline.pk, online.pk]
    row = selectors.terminal_status_list(actor=regulator, connection="offline").get()
    assert (row.connection, row.last_error, row.remote_address) == ("offline", "bad checksum", "")
