"""Live state: the online rule pages use, and the gateway's online/offline upserts."""

from __future__ import annotations

import datetime as dt

import pytest

from wastetrail.registry.models import Vehicle
from wastetrail.telemetry import live
from wastetrail.telemetry.models import VehicleLiveState
from wastetrail.telemetry.store import write_positions
from wastetrail.telemetry.tests.test_store_support import forget_caches, make_vehicles, now, position

NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
SILENCE = dt.timedelta(seconds=300)


@pytest.fixture(autouse=True)
def clean():
    forget_caches()
    yield
    forget_caches()


@pytest.mark.parametrize(("online", "silent_for", "expected"), [
    (True, dt.timedelta(seconds=0), True),
    (True, SILENCE, True),
    (True, SILENCE + dt.timedelta(seconds=1), False),  # the connection died without a goodbye
    (False, dt.timedelta(seconds=0), False),  # disconnected, however recent the last frame
])
def test_a_vehicle_is_online_while_connected_and_heard_from_recently(online, silent_for, expected):
    assert live.is_online(online=online, last_frame_at=NOW - silent_for, now=NOW, silence=SILENCE) is expected


def test_a_vehicle_never_heard_from_is_offline():
    assert live.is_online(online=True, last_frame_at=None, now=NOW, silence=SILENCE) is False


def test_the_silence_comes_from_the_setting(settings):
    settings.VEHICLE_OFFLINE_AFTER = 60
    assert live.is_online(online=True, last_frame_at=NOW - dt.timedelta(seconds=59), now=NOW)
    assert not live.is_online(online=True, last_frame_at=NOW - dt.timedelta(seconds=61), now=NOW)


@pytest.mark.django_db
def test_the_query_form_agrees_with_the_rule():
    fresh, stale, gone, never = make_vehicles(4)
    VehicleLiveState.objects.create(vehicle=fresh, online=True, last_frame_at=NOW - dt.timedelta(seconds=10))
    VehicleLiveState.objects.create(vehicle=stale, online=True, last_frame_at=NOW - dt.timedelta(hours=1))
    VehicleLiveState.objects.create(vehicle=gone, online=False, last_frame_at=NOW - dt.timedelta(seconds=10))
    states = VehicleLiveState.objects.filter(live.online_q(now=NOW, silence=SILENCE))
    assert list(states.values_list("vehicle_id", flat=True)) == [fresh.id]
    vehicles = Vehicle.objects.filter(pk__in=[fresh.id, stale.id, gone.id, never.id]).annotate(
        is_online=live.online_expression(now=NOW, prefix="live_state__", silence=SILENCE)).order_by("pk")
    assert [v.is_online for v in vehicles] == [True, False, False, False]
    for state in VehicleLiveState.objects.all():
        assert live.is_online(online=state.online, last_frame_at=state.last_frame_at, now=NOW,
                              silence=SILENCE) is (state.vehicle_id == fresh.id)


@pytest.mark.django_db
def test_authentication_puts_a_vehicle_online_and_counts_as_a_frame():
    truck, = make_vehicles(1)
    assert live.vehicle_online(vehicle_id=truck.id, at=NOW) is True
    state = VehicleLiveState.objects.get(vehicle=truck)
    assert (state.online, state.online_changed_at, state.last_frame_at) == (True, NOW, NOW)
    assert state.device_time is None


@pytest.mark.django_db
def test_going_online_keeps_the_position_and_a_later_last_frame():
    truck, = make_vehicles(1)
    t = now() - dt.timedelta(minutes=1)
    write_positions([position(truck.id, t)])
    received = VehicleLiveState.objects.get(vehicle=truck).last_frame_at
    live.vehicle_online(vehicle_id=truck.id, at=received - dt.timedelta(seconds=5))
    state = VehicleLiveState.objects.get(vehicle=truck)
    assert (state.online, state.device_time, state.lat_e6, state.last_frame_at) == (True, t, position(0, t).lat_e6,
                                                                                    received)


@pytest.mark.django_db
def test_a_disconnect_of_the_current_session_puts_the_vehicle_offline():
    truck, = make_vehicles(1)
    live.vehicle_online(vehicle_id=truck.id, at=NOW)
    assert live.vehicle_offline(vehicle_id=truck.id, at=NOW + dt.timedelta(minutes=5), connected_at=NOW) is True
    state = VehicleLiveState.objects.get(vehicle=truck)
    assert (state.online, state.online_changed_at, state.last_frame_at) == (False, NOW + dt.timedelta(minutes=5), NOW)


@pytest.mark.django_db
def test_a_late_disconnect_of_an_old_session_leaves_the_reconnected_vehicle_online():
    truck, = make_vehicles(1)
    live.vehicle_online(vehicle_id=truck.id, at=NOW)
    live.vehicle_online(vehicle_id=truck.id, at=NOW + dt.timedelta(seconds=30))  # reconnected (another gateway)
    assert live.vehicle_offline(vehicle_id=truck.id, at=NOW + dt.timedelta(seconds=40), connected_at=NOW) is False
    assert VehicleLiveState.objects.get(vehicle=truck).online is True


@pytest.mark.django_db
def test_events_older_than_the_last_change_change_nothing():
    truck, = make_vehicles(1)
    live.vehicle_offline(vehicle_id=truck.id, at=NOW)
    assert live.vehicle_online(vehicle_id=truck.id, at=NOW - dt.timedelta(seconds=1)) is False
    assert VehicleLiveState.objects.get(vehicle=truck).online is False


@pytest.mark.django_db
def test_an_unknown_vehicle_changes_nothing():
    assert live.vehicle_online(vehicle_id=987654, at=NOW) is False
    assert live.vehicle_offline(vehicle_id=987654, at=NOW) is False
    assert not VehicleLiveState.objects.exists()
