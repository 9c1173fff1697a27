"""Terminal services the gateway calls: registration (every 0x8100 result), authentication, online and
offline, batched activity (last frame, counters, last error)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.registry.models import Terminal
from wastetrail.telemetry import services
from wastetrail.telemetry.models import TerminalStatus, VehicleLiveState
from wastetrail.telemetry.services import RegisterResult, TerminalActivity
from wastetrail.telemetry.tests.test_gateway_support import make_fleet, transport_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh():
    """A truck whose terminal is in the registry but neither bound nor registered yet."""
    return make_fleet(1, bound=False, auth_code=False)[0]


def register(truck, **overrides):
    values = {"phone": truck.phone, "plate": truck.plate, "plate_colour": 2} | overrides
    return services.terminal_register(**values)


# --- registration -----------------------------------------------------------------------------

def test_registration_binds_the_terminal_to_its_vehicle_and_issues_an_auth_code(fresh):
    registration = register(fresh)
    assert registration.result == RegisterResult.OK
    terminal = Terminal.objects.get(pk=fresh.terminal.pk)
    assert terminal.vehicle_id == fresh.vehicle.pk
    assert registration.auth_code and terminal.auth_code == registration.auth_code
    entry = AuditEntry.objects.get(action="terminal.register")
    assert entry.actor_label == "gateway" and entry.data["bound"] is True


def test_registering_again_for_its_own_vehicle_gives_the_same_code_and_changes_nothing(fresh):
    first = register(fresh)
    again = register(fresh)
    assert (again.result, again.auth_code) == (RegisterResult.OK, first.auth_code)
    assert AuditEntry.objects.filter(action="terminal.register").count() == 1


def test_the_phone_is_matched_without_bcd_padding(fresh):
    assert register(fresh, phone="0" + fresh.phone).result == RegisterResult.OK


def test_plate_colour_zero_names_the_vehicle_by_vin(fresh):
    registration = register(fresh, plate=fresh.vehicle.vin.lower() + "\x00", plate_colour=0)
    assert registration.result == RegisterResult.OK


def test_an_unknown_terminal_gets_result_4():
    assert services.terminal_register(phone="13999999999", plate="粤J99999", plate_colour=2).result == \
        RegisterResult.TERMINAL_UNKNOWN


def test_an_unknown_vehicle_gets_result_2_and_is_recorded_as_the_terminals_last_error(fresh):
    registration = register(fresh, plate="粤J99999")
    assert registration.result == RegisterResult.VEHICLE_UNKNOWN
    assert Terminal.objects.get(pk=fresh.terminal.pk).auth_code is None
    status = TerminalStatus.objects.get(pk=fresh.terminal.pk)
    assert status.last_error.startswith("registration refused") and status.last_error_at is not None


def test_another_companys_vehicle_is_not_in_the_database_for_this_terminal(fresh):
    other = make_fleet(1, bound=False, auth_code=False, company=transport_company("02"))[0]
    assert register(fresh, plate=other.plate).result == RegisterResult.VEHICLE_UNKNOWN


def test_a_terminal_bound_to_another_vehicle_gets_result_3():
    truck, spare = make_fleet(2, bound=False, auth_code=False)
    assert register(truck).result == RegisterResult.OK
    assert register(truck, plate=spare.plate).result == RegisterResult.TERMINAL_TAKEN
    assert Terminal.objects.get(pk=truck.terminal.pk).vehicle_id == truck.vehicle.pk


def test_a_vehicle_carrying_another_terminal_gets_result_1():
    truck, other = make_fleet(2, bound=False, auth_code=False)
    assert register(truck).result == RegisterResult.OK
    assert register(other, plate=truck.plate).result == RegisterResult.VEHICLE_TAKEN
    assert Terminal.objects.get(pk=other.terminal.pk).vehicle_id is None


# --- authentication, online and offline -------------------------------------------------------

def test_authentication_marks_terminal_and_vehicle_online():
    truck = make_fleet(1)[0]
    session = services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code,
                                             remote_address="10.0.0.9:5000", gateway_id="gw-1")
    assert session is not None and session.vehicle_id == truck.vehicle.pk
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.online, status.remote_address, status.gateway_id) == (True, "10.0.0.9:5000", "gw-1")
    assert status.connected_at == session.connected_at
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).online is True


def test_a_2013_authentication_keeps_the_imei_a_2019_one_gave():
    truck = make_fleet(1)[0]
    services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code, imei="861234567890123",
                                   software_version="V2.1")
    services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code)  # no identity in 2013
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.imei, status.software_version) == ("861234567890123", "V2.1")


@pytest.mark.parametrize("code", ["WRONG", ""])
def test_a_wrong_auth_code_fails_and_is_recorded(code):
    truck = make_fleet(1)[0]
    assert services.terminal_authenticate(phone=truck.phone, auth_code=code) is None
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.online, status.last_error) == (False, "auth failed: wrong authentication code")
    assert not VehicleLiveState.objects.filter(pk=truck.vehicle.pk).exists()


def test_a_terminal_without_a_vehicle_cannot_authenticate():
    truck = make_fleet(1, bound=False)[0]
    assert services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code) is None
    assert "not bound" in TerminalStatus.objects.get(pk=truck.terminal.pk).last_error


def test_an_unknown_phone_cannot_authenticate():
    assert services.terminal_authenticate(phone="13999999999", auth_code="X") is None


def test_disconnect_marks_terminal_and_vehicle_offline():
    truck = make_fleet(1)[0]
    session = services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code)
    services.terminals_disconnect(sessions=[session], error="idle timeout")
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.online, status.last_error) == (False, "idle timeout") and status.disconnected_at
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).online is False


def test_an_older_sessions_disconnect_leaves_the_newer_session_online():
    truck = make_fleet(1)[0]
    old = services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code,
                                         at=timezone.now() - dt.timedelta(seconds=5))
    services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code)
    services.terminals_disconnect(sessions=[old])
    assert TerminalStatus.objects.get(pk=truck.terminal.pk).online is True
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).online is True


# --- batched activity ----------------------------------------------------------------------------

def test_activity_adds_counters_moves_last_frame_forward_only_and_keeps_the_last_error():
    truck = make_fleet(1)[0]
    services.terminal_authenticate(phone=truck.phone, auth_code=truck.auth_code)
    later = timezone.now() + dt.timedelta(seconds=30)
    services.terminal_activity_record(activity={truck.terminal.pk: TerminalActivity(
        vehicle_id=truck.vehicle.pk, last_frame_at=later, reports=3, bad_checksum=2, bad_frames=1,
        last_error="bad checksum", last_error_at=later)})
    services.terminal_activity_record(activity={truck.terminal.pk: TerminalActivity(
        vehicle_id=truck.vehicle.pk, last_frame_at=later - dt.timedelta(seconds=20), reports=1)})
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.reports, status.bad_checksum, status.bad_frames) == (4, 2, 1)
    assert (status.last_frame_at, status.last_error, status.last_error_at) == (later, "bad checksum", later)
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).last_frame_at == later


def test_activity_creates_the_status_row_of_a_terminal_never_seen():
    truck = make_fleet(1)[0]
    services.terminal_activity_record(activity={truck.terminal.pk: TerminalActivity(bad_frames=1)})
    assert TerminalStatus.objects.get(pk=truck.terminal.pk).bad_frames == 1


def test_errors_before_authentication_are_recorded_by_phone_and_unknown_phones_ignored():
    truck = make_fleet(1)[0]
    at = timezone.now()
    services.terminal_errors_record(errors={
        "0" + truck.phone: TerminalActivity(bad_checksum=1, last_error="bad checksum", last_error_at=at),
        "13999999999": TerminalActivity(bad_checksum=5, last_error="bad checksum", last_error_at=at),
    })
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert (status.bad_checksum, status.last_error) == (1, "bad checksum")
    assert TerminalStatus.objects.count() == 1
