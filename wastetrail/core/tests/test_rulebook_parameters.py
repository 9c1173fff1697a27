"""Rulebook parameters (the reconciliation's outflow tolerance): seeded by a migration, read by
code, changed only by a city-wide regulator administrator with one audit row; a value that is not
a number or lies outside the bounds is refused with a clear message and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import NoReverseMatch, reverse

from wastetrail.accounts.models import Membership, Role
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook import selectors, services
from wastetrail.core.rulebook.models import RulebookParameter
from wastetrail.core.rulebook.selectors import PLAN_OUTFLOW_TOLERANCE_PERCENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def tolerance() -> RulebookParameter:
    return RulebookParameter.objects.get(code=PLAN_OUTFLOW_TOLERANCE_PERCENT)


def state() -> tuple:
    return list(RulebookParameter.objects.order_by("pk").values()), AuditEntry.objects.count()


def test_the_migration_seeds_the_tolerance_as_a_city_policy_value(tolerance):
    assert (tolerance.value, tolerance.unit, tolerance.min_value, tolerance.max_value) == (
        Decimal("10.00"), "%", Decimal("0.00"), Decimal("100.00"))
    assert "City policy value, no national or provincial source" in tolerance.basis
    assert selectors.parameter_value(PLAN_OUTFLOW_TOLERANCE_PERCENT) == Decimal("10.00")


def test_a_missing_parameter_is_a_configuration_error():
    with pytest.raises(DomainError) as caught:
        selectors.parameter_value("no_such_parameter")
    assert caught.value.code == "rulebook_parameter_missing"


def test_the_city_regulator_administrator_changes_it_with_one_audit_row(cast, tolerance):
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, value="12.5",
                              basis="市政策：2027年起收紧")
    tolerance.refresh_from_db()
    assert (tolerance.value, tolerance.basis) == (Decimal("12.50"), "市政策：2027年起收紧")
    [row] = AuditEntry.objects.filter(seq__gt=before)
    assert row.action == "rulebook.parameter.update" and row.object_id == str(tolerance.pk)
    assert row.data["value"] == ["10.00", "12.50"]


@pytest.mark.parametrize("value", ["0", "100", Decimal("0.00"), 100])
def test_the_bounds_are_allowed(cast, tolerance, value):
    services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, value=value)
    tolerance.refresh_from_db()
    assert tolerance.value == Decimal(str(value))


def test_an_unchanged_value_writes_no_audit_row(cast, tolerance):
    before = state()
    services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, value="10")
    assert state() == before


@pytest.mark.parametrize("username", ["reg_officer", "district_officer", "construction_admin", "outsider"])
def test_nobody_else_changes_it(cast, tolerance, username):
    before = state()
    with pytest.raises(PermissionDenied):
        services.parameter_update(actor=cast.actor(username), parameter=tolerance, value="20")
    assert state() == before


def test_a_district_bureau_administrator_does_not_change_it(cast, tolerance):
    """Only a city-wide regulator's administrator edits the rulebook."""
    Membership.objects.filter(user=cast.user("district_officer")).update(role=Role.ADMIN)
    before = state()
    with pytest.raises(PermissionDenied):
        services.parameter_update(actor=cast.actor("district_officer"), parameter=tolerance, value="20")
    assert state() == before


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "Enter a value from 0.00 to 100.00 %."),
    ("100.01", "Enter a value from 0.00 to 100.00 %."),
    (Decimal("-0.01"), "Enter a value from 0.00 to 100.00 %."),
    ("abc", "Enter a number."),
    ("NaN", "Enter a number."),
    ("Infinity", "Enter a number."),
    ("", "Enter a number."),
    (None, "Enter a number."),
    (True, "Enter a number."),
    ("10.005", "Ensure that there are no more than 2 decimal places."),
])
def test_bad_values_are_refused_and_change_nothing(cast, tolerance, value, message):
    before = state()
    with pytest.raises(ValidationError) as caught:
        services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, value=value)
    assert caught.value.message_dict["value"] == [message]
    assert state() == before


@pytest.mark.parametrize(("field", "value"), [("code", "other_code"), ("unit", "m³"),
                                               ("min_value", Decimal("-5")), ("max_value", Decimal("500"))])
def test_the_code_unit_and_bounds_are_fixed(cast, tolerance, field, value):
    before = state()
    with pytest.raises(ValidationError) as caught:
        services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, value="200", **{field: value})
    assert field in caught.value.message_dict
    assert state() == before


def test_unknown_fields_are_refused(cast, tolerance):
    with pytest.raises(ValidationError) as caught:
        services.parameter_update(actor=cast.actor("reg_admin"), parameter=tolerance, colour="red")
    assert caught.value.message_dict == {"colour": ["Unknown field."]}


# --- pages ----------------------------------------------------------------------------------
@pytest.fixture
def as_user(client, cast):
    def login(username: str):
        client.force_login(cast.user(username))
        return client

    return login


@pytest.mark.parametrize("username", ["reg_admin", "reg_officer", "driver"])
def test_the_overview_shows_the_parameter_and_edit_link_only_to_the_administrator(as_user, username, tolerance):
    page = as_user(username).get(reverse("rulebook")).content.decode()
    row = page.split(f'data-testid="parameter-{tolerance.code}"', 1)[1].split("</tr>", 1)[0]
    assert "10.00 %" in row and "City policy value" in row
    assert ('data-testid="edit-parameter"' in row) is (username == "reg_admin")


def test_list_and_detail_pages_render_and_there_is_no_create_page(as_user, tolerance):
    client = as_user("reg_officer")
    assert "10.00 %" in client.get(reverse("rulebook-parameters-list")).content.decode()
    page = client.get(reverse("rulebook-parameters-detail", args=[tolerance.pk])).content.decode()
    assert "0.00 – 100.00 %" in page and 'data-testid="edit"' not in page
    assert client.get(reverse("rulebook-parameters-edit", args=[tolerance.pk])).status_code == 403
    with pytest.raises(NoReverseMatch):
        reverse("rulebook-parameters-create")


def form_data(tolerance, **overrides) -> dict:
    return {"name_zh": tolerance.name_zh, "name_en": tolerance.name_en, "value": "10",
            "basis": tolerance.basis} | overrides


def test_the_administrator_edits_it_through_the_form(as_user, tolerance):
    client = as_user("reg_admin")
    response = client.post(reverse("rulebook-parameters-edit", args=[tolerance.pk]), form_data(tolerance, value="15"))
    assert response.status_code == 302
    tolerance.refresh_from_db()
    assert tolerance.value == Decimal("15.00")
    assert AuditEntry.objects.filter(action="rulebook.parameter.update").count() == 1


@pytest.mark.parametrize(("value", "message"), [("-3", "Enter a value from 0.00 to 100.00 %."),
                                                ("150", "Enter a value from 0.00 to 100.00 %."),
                                                ("ten", "Enter a number.")])
def test_a_bad_value_in_the_form_lands_on_the_field_and_changes_nothing(as_user, tolerance, value, message):
    client = as_user("reg_admin")
    before = state()
    response = client.post(reverse("rulebook-parameters-edit", args=[tolerance.pk]), form_data(tolerance, value=value))
    assert response.status_code == 400
    assert response.context["form"].errors == {"value": [message]}
    assert state() == before


def test_others_cannot_post_the_form(as_user, tolerance):
    before = state()
    response = as_user("reg_officer").post(reverse("rulebook-parameters-edit", args=[tolerance.pk]),
                                           form_data(tolerance, value="50"))
    assert response.status_code == 403
    assert state() == before
