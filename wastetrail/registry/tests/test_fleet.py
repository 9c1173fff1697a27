"""Vehicles and terminals: validation at the door, binding rules, company scoping."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.registry import selectors, services
from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.registry.tests.conftest import make_vin

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int]:
    return Vehicle.objects.count(), Terminal.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def make_terminal(cast):
    serial = iter(range(1, 10_000))

    def make(*, actor=None, company=None, **overrides):
        n = next(serial)
        fields = {"company": company or cast.org("transport"), "phone": f"1440000{n:04d}",
                  "terminal_id": f"T{n:06d}", "manufacturer_id": "70111", "terminal_model": "JT-808G"} | overrides
        return services.terminal_create(actor=actor or cast.actor("reg_admin"), **fields)

    return make


# --- vehicles -------------------------------------------------------------------------------
def test_a_transport_admin_registers_a_truck_with_one_audit_row(cast, make_vehicle):
    before = AuditEntry.objects.count()
    vehicle = make_vehicle(actor=cast.actor("transport_admin"), plate=" 粤j·66688 ")
    assert vehicle.plate == "粤J66688"
    entry = AuditEntry.objects.get(seq=before + 1)
    assert (entry.action, entry.data["plate"]) == ("vehicle.create", "粤J66688")
    assert AuditEntry.objects.count() == before + 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"plate": "粤J1234"}, "plate"),
    ({"plate": "粤JI2345"}, "plate"),
    ({"vin": "1M8GDM9A1KP042788"}, "vin"),
    ({"plate": "粤JD12345", "plate_colour": 2}, "plate_colour"),
    ({"capacity_m3": None, "capacity_t": None}, "capacity_m3"),
    ({"sealed_body_certified": True, "sealed_body_certificate_no": ""}, "sealed_body_certificate_no"),
    ({"capacity_t": Decimal("500")}, "capacity_t"),
])
def test_bad_vehicle_input_is_a_field_error_and_changes_nothing(make_vehicle, overrides, field):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_vehicle(**overrides)
    assert field in caught.value.message_dict
    assert counts() == before


def test_a_plate_is_registered_once(make_vehicle):
    make_vehicle(plate="粤J88888")
    with pytest.raises(ValidationError) as caught:
        make_vehicle(plate="粤J88888")
    assert "plate" in caught.value.message_dict


def test_a_new_energy_truck_has_a_green_plate(make_vehicle):
    assert make_vehicle(plate="粤J12345D", plate_colour=5).plate_colour == 5


@pytest.mark.parametrize("username", ["transport_other_admin", "driver", "construction_admin", "reg_officer"])
def test_others_cannot_register_or_edit_the_companys_trucks(cast, make_vehicle, username):
    with pytest.raises(PermissionDenied):
        make_vehicle(actor=cast.actor(username))
    vehicle = make_vehicle()
    with pytest.raises(PermissionDenied):
        services.vehicle_update(actor=cast.actor(username), vehicle=vehicle, status="retired")


def test_an_update_records_old_and_new(cast, make_vehicle):
    vehicle = make_vehicle()
    services.vehicle_update(actor=cast.actor("transport_admin"), vehicle=vehicle, status="suspended")
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.data) == ("vehicle.update", {"status": ["active", "suspended"]})


@pytest.fixture
def fleets(cast, make_vehicle):
    ours = make_vehicle()
    theirs = make_vehicle(company=cast.org("transport_other"))
    return ours, theirs


def test_a_transport_company_sees_only_its_trucks(cast, fleets):
    ours, theirs = fleets
    assert set(selectors.vehicle_list(actor=cast.actor("transport_admin"))) == {ours}
    assert set(selectors.vehicle_list(actor=cast.actor("driver"))) == {ours}
    assert set(selectors.vehicle_list(actor=cast.actor("transport_other_admin"))) == {theirs}
    with pytest.raises(NotFound):
        selectors.vehicle_get(actor=cast.actor("transport_other_admin"), pk=ours.pk)


@pytest.mark.parametrize("username", ["reg_admin", "reg_officer", "district_officer"])
def test_regulators_see_every_truck(cast, fleets, username):
    assert set(selectors.vehicle_list(actor=cast.actor(username))) == set(fleets)


@pytest.mark.parametrize("username", ["construction_admin", "outsider", "site_operator", "developer_admin"])
def test_other_parties_see_no_trucks(cast, fleets, username):
    assert not selectors.vehicle_list(actor=cast.actor(username)).exists()


# --- terminals ------------------------------------------------------------------------------
def test_a_terminal_is_stored_by_its_canonical_phone_and_shown_on_its_vehicle(cast, make_vehicle, make_terminal):
    vehicle = make_vehicle()
    terminal = make_terminal(actor=cast.actor("transport_admin"), phone="013912345678", vehicle=vehicle,
                             terminal_id="a1b2c3d")
    assert (terminal.phone, terminal.terminal_id) == ("13912345678", "A1B2C3D")
    shown = selectors.vehicle_get(actor=cast.actor("transport_admin"), pk=vehicle.pk)
    assert (shown.terminal_phone, shown.terminal_identifier) == ("13912345678", "A1B2C3D")


def test_a_terminal_phone_is_unique_however_it_is_padded(make_terminal):
    make_terminal(phone="13912345678")
    with pytest.raises(ValidationError) as caught:
        make_terminal(phone="00000000013912345678")
    assert "phone" in caught.value.message_dict


@pytest.mark.parametrize(("overrides", "field"), [
    ({"phone": "1391234567"}, "phone"),
    ({"phone": "1064912345678", "protocol": "2013"}, "phone"),
    ({"terminal_id": "T12345678", "protocol": "2013"}, "terminal_id"),
    ({"manufacturer_id": "123456", "protocol": "2013"}, "manufacturer_id"),
])
def test_bad_terminal_input_is_a_field_error(make_terminal, overrides, field):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_terminal(**overrides)
    assert field in caught.value.message_dict
    assert counts() == before


def test_a_terminal_fits_only_a_truck_of_its_own_company(cast, fleets, make_terminal):
    with pytest.raises(ValidationError) as caught:
        make_terminal(vehicle=fleets[1])
    assert "vehicle" in caught.value.message_dict


def test_a_truck_carries_one_terminal(cast, fleets, make_terminal):
    first = make_terminal(vehicle=fleets[0])
    second = make_terminal()
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.terminal_bind(actor=cast.actor("transport_admin"), terminal=second, vehicle=fleets[0])
    assert first.phone in caught.value.message_dict["vehicle"][0]
    assert AuditEntry.objects.count() == before


def test_binding_and_unbinding_write_one_row_each(cast, fleets, make_terminal):
    terminal = make_terminal()
    actor = cast.actor("transport_admin")
    before = AuditEntry.objects.count()
    services.terminal_bind(actor=actor, terminal=terminal, vehicle=fleets[0])
    services.terminal_bind(actor=actor, terminal=terminal, vehicle=None)
    actions = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq").values_list("action", flat=True))
    assert actions == ["terminal.bind", "terminal.unbind"]
    terminal.refresh_from_db()
    assert terminal.vehicle is None


def test_a_truck_with_a_terminal_cannot_change_company(cast, fleets, make_terminal):
    make_terminal(vehicle=fleets[0])
    with pytest.raises(ValidationError) as caught:
        services.vehicle_update(actor=cast.actor("reg_admin"), vehicle=fleets[0], company=cast.org("transport_other"))
    assert "company" in caught.value.message_dict


def test_terminals_are_scoped_like_trucks(cast, make_terminal):
    ours = make_terminal()
    theirs = make_terminal(company=cast.org("transport_other"))
    assert set(selectors.terminal_list(actor=cast.actor("transport_admin"))) == {ours}
    assert set(selectors.terminal_list(actor=cast.actor("reg_officer"))) == {ours, theirs}
    with pytest.raises(NotFound):
        selectors.terminal_get(actor=cast.actor("transport_admin"), pk=theirs.pk)
    with pytest.raises(PermissionDenied):
        services.terminal_update(actor=cast.actor("transport_admin"), terminal=theirs, terminal_model="X")


def test_make_vin_builds_valid_vins():
    from wastetrail.registry.validators import is_valid_vin

    assert all(is_valid_vin(make_vin(n)) for n in range(1, 50))
