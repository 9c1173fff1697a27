"""Drivers: validated personal data, stored in full, shown masked to whoever does not need it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.registry import selectors, services
from wastetrail.registry.models import Driver
from wastetrail.registry.policy import can_see_driver_personal_data
from wastetrail.registry.tests.conftest import id_number
from wastetrail.testing import CAST_USERS

pytestmark = pytest.mark.django_db

ID = id_number(7)
PHONE = "13922220007"


@pytest.fixture
def driver(cast, make_driver) -> Driver:
    return make_driver(name="刘德明", id_number=ID, phone=PHONE, licence_number=ID, user=cast.user("driver"))


@pytest.fixture
def colleague(make_driver) -> Driver:
    return make_driver(name="陈志强")


def shown(cast, username: str, driver: Driver) -> Driver:
    return selectors.driver_get(actor=cast.actor(username), pk=driver.pk)


@pytest.mark.parametrize("username", ["transport_admin", "reg_admin", "reg_officer", "district_officer"])
def test_the_company_and_the_regulators_see_full_personal_data(cast, driver, username):
    seen = shown(cast, username, driver)
    assert (seen.id_number_shown, seen.phone_shown, seen.licence_number_shown) == (ID, PHONE, ID)


def test_a_driver_sees_their_own_data_in_full(cast, driver):
    assert shown(cast, "driver", driver).id_number_shown == ID


def test_a_driver_sees_colleagues_masked(cast, driver, colleague):
    seen = shown(cast, "driver", colleague)
    assert seen.name == "陈志强"                     # the name stays visible
    assert seen.id_number_shown == colleague.id_number[:4] + "*" * 10 + colleague.id_number[-4:]
    assert seen.phone_shown == colleague.phone[:3] + "****" + colleague.phone[-4:]
    assert seen.licence_number_shown != colleague.licence_number


def test_without_the_policy_annotation_data_stays_masked(driver):
    fresh = Driver.objects.get(pk=driver.pk)
    assert fresh.id_number_shown != ID and fresh.phone_shown != PHONE


@pytest.mark.parametrize("username", sorted(CAST_USERS))
def test_the_sql_rule_and_the_python_rule_agree_for_every_role(cast, driver, colleague, username):
    actor = cast.actor(username)
    for row in selectors.driver_list(actor=actor):
        assert row.shows_personal_data == can_see_driver_personal_data(actor, row), (username, row.name)


@pytest.mark.parametrize("username", ["outsider", "construction_admin", "site_operator", "hotline_client",
                                      "transport_other_admin"])
def test_the_python_rule_masks_for_everyone_else(cast, driver, username):
    assert not can_see_driver_personal_data(cast.actor(username), driver)


def test_other_companies_do_not_see_the_driver_at_all(cast, driver):
    assert not selectors.driver_list(actor=cast.actor("transport_other_admin")).exists()
    with pytest.raises(NotFound):
        shown(cast, "transport_other_admin", driver)
    with pytest.raises(NotFound):
        shown(cast, "outsider", driver)


def test_searching_by_personal_data_finds_nothing(cast, driver):
    assert not selectors.driver_list(actor=cast.actor("driver"), search=PHONE[-4:]).exists()
    assert list(selectors.driver_list(actor=cast.actor("driver"), search="德明")) == [driver]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"id_number": "440703198501010036"}, "id_number"),   # wrong check character
    ({"phone": "0750123456"}, "phone"),
    ({"name": ""}, "name"),
])
def test_bad_driver_input_is_a_field_error_and_changes_nothing(make_driver, overrides, field):
    before = (Driver.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError) as caught:
        make_driver(**overrides)
    assert field in caught.value.message_dict
    assert (Driver.objects.count(), AuditEntry.objects.count()) == before


def test_a_lower_case_x_check_character_is_accepted(make_driver):
    from wastetrail.core.validators import id_check_character

    for n in range(1000):
        first17 = f"44070319900101{n:03d}"
        if id_check_character(first17) == "X":
            break
    assert make_driver(id_number=first17 + "x").id_number == first17 + "X"


def test_a_company_registers_a_person_once(make_driver):
    make_driver(id_number=ID)
    with pytest.raises(ValidationError) as caught:
        make_driver(id_number=ID)
    assert "id_number" in caught.value.message_dict


def test_the_linked_account_must_belong_to_the_company(cast, make_driver):
    with pytest.raises(ValidationError) as caught:
        make_driver(user=cast.user("transport_other_admin"))
    assert "user" in caught.value.message_dict


def test_the_audit_row_holds_personal_data_masked(cast, driver):
    entry = AuditEntry.objects.get(action="driver.create")
    assert entry.data["id_number"] == ID[:4] + "*" * 10 + ID[-4:]
    assert PHONE not in str(entry.data) and ID not in str(entry.data)
    services.driver_update(actor=cast.actor("transport_admin"), driver=driver, phone="13800001111")
    update = AuditEntry.objects.get(action="driver.update")
    assert update.data == {"phone": ["139****0007", "138****1111"]}


@pytest.mark.parametrize("username", ["driver", "transport_other_admin", "reg_officer", "construction_admin"])
def test_only_the_company_and_the_regulator_admin_write_drivers(cast, driver, make_driver, username):
    with pytest.raises(PermissionDenied):
        make_driver(actor=cast.actor(username))
    with pytest.raises(PermissionDenied):
        services.driver_update(actor=cast.actor(username), driver=driver, name="改")
