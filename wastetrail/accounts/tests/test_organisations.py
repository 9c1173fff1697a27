"""Organisations: who may register and edit them, who sees which, and field-level errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.accounts import selectors, services
from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.testing import make_uscc

pytestmark = pytest.mark.django_db

NEW_COMPANY = {
    "name": "江门市鹤山通达运输有限公司",
    "kind": OrganisationKind.TRANSPORT_COMPANY,
    "uscc": make_uscc(123456, district=440784),
    "district": 440784,
    "contact_phone": "13902220000",
}


def test_regulator_admin_registers_a_company_with_one_audit_row(cast):
    before = AuditEntry.objects.count()
    organisation = services.organisation_create(actor=cast.actor("reg_admin"), **NEW_COMPANY)
    assert organisation.pk and organisation.kind == "transport_company"
    entry = AuditEntry.objects.get(seq=before + 1)
    assert (entry.action, entry.object_id) == ("organisation.create", str(organisation.pk))
    assert entry.data["uscc"] == NEW_COMPANY["uscc"]
    assert AuditEntry.objects.count() == before + 1


@pytest.mark.parametrize("username", ["reg_officer", "transport_admin", "outsider", "driver"])
def test_only_the_regulator_admin_registers_parties(cast, username):
    with pytest.raises(PermissionDenied):
        services.organisation_create(actor=cast.actor(username), **NEW_COMPANY)
    assert not Organisation.objects.filter(name=NEW_COMPANY["name"]).exists()


def test_a_wrong_check_character_is_a_field_error_and_changes_nothing(cast):
    bad = NEW_COMPANY | {"uscc": NEW_COMPANY["uscc"][:17] + ("0" if NEW_COMPANY["uscc"][17] != "0" else "1")}
    before = (Organisation.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError) as caught:
        services.organisation_create(actor=cast.actor("reg_admin"), **bad)
    assert "uscc" in caught.value.message_dict
    assert (Organisation.objects.count(), AuditEntry.objects.count()) == before


def test_a_duplicate_code_is_refused(cast):
    duplicate = NEW_COMPANY | {"uscc": cast.org("transport").uscc}
    with pytest.raises(ValidationError) as caught:
        services.organisation_create(actor=cast.actor("reg_admin"), **duplicate)
    assert "uscc" in caught.value.message_dict


def test_a_company_sees_only_itself(cast):
    visible = set(selectors.organisation_list(actor=cast.actor("transport_admin")))
    assert visible == {cast.org("transport")}
    with pytest.raises(NotFound):
        selectors.organisation_get(actor=cast.actor("transport_admin"), pk=cast.org("transport_other").pk)


def test_regulators_see_every_party(cast):
    assert selectors.organisation_list(actor=cast.actor("district_officer")).count() == len(cast.organisations)


def test_the_housing_authority_sees_the_property_managers_it_supervises(cast):
    visible = set(selectors.organisation_list(actor=cast.actor("housing_officer")))
    assert visible == {cast.org("housing_authority"), cast.org("property_manager")}


def test_a_company_admin_edits_contact_details_but_not_its_code_or_kind(cast):
    actor = cast.actor("transport_admin")
    organisation = cast.org("transport")
    services.organisation_update(actor=actor, organisation=organisation, contact_name="新联系人")
    organisation.refresh_from_db()
    assert organisation.contact_name == "新联系人"
    with pytest.raises(ValidationError) as caught:
        services.organisation_update(actor=actor, organisation=organisation, kind=OrganisationKind.REGULATOR)
    assert "kind" in caught.value.message_dict
    organisation.refresh_from_db()
    assert organisation.kind == OrganisationKind.TRANSPORT_COMPANY


def test_staff_cannot_edit_their_organisation(cast):
    with pytest.raises(PermissionDenied):
        services.organisation_update(
            actor=cast.actor("construction_staff"), organisation=cast.org("construction"), name="x"
        )


def test_an_update_that_changes_nothing_writes_no_audit_row(cast):
    organisation = cast.org("transport")
    before = AuditEntry.objects.count()
    services.organisation_update(actor=cast.actor("reg_admin"), organisation=organisation, name=organisation.name)
    assert AuditEntry.objects.count() == before


def test_drivers_belong_only_to_transport_companies(cast):
    with pytest.raises(ValidationError) as caught:
        services.user_create(
            actor=cast.actor("reg_admin"), username="new_driver", password="Long-enough-pass-1",
            organisation=cast.org("construction"), role="driver",
        )
    assert "role" in caught.value.message_dict


def test_a_weak_password_is_a_field_error(cast):
    with pytest.raises(ValidationError) as caught:
        services.user_create(
            actor=cast.actor("transport_admin"), username="new_staff", password="12345678",
            organisation=cast.org("transport"), role="staff",
        )
    assert "password" in caught.value.message_dict


def test_company_admin_adds_a_colleague_but_not_to_another_company(cast):
    user = services.user_create(
        actor=cast.actor("transport_admin"), username="new_staff", password="Long-enough-pass-1",
        organisation=cast.org("transport"), role="staff",
    )
    assert user.memberships.get().organisation == cast.org("transport")
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=cast.actor("transport_admin"), username="spy", password="Long-enough-pass-1",
            organisation=cast.org("transport_other"), role="staff",
        )


def test_bootstrap_creates_the_regulator_and_its_admin_once(db):
    from django.core.management import CommandError, call_command

    call_command("bootstrap", "--name", "江门市城市管理和综合执法局", "--uscc", make_uscc(1, government=True),
                 "--admin", "first_admin", "--password", "Long-enough-pass-1")
    admin = selectors.user_by_username("first_admin")
    from wastetrail.accounts.policy import actor_for

    assert actor_for(admin).is_regulator_admin
    with pytest.raises(CommandError, match="already has a regulator"):
        call_command("bootstrap", "--name", "x", "--uscc", make_uscc(2, government=True),
                     "--admin", "second", "--password", "Long-enough-pass-1")


def test_bootstrap_with_a_bad_code_changes_nothing(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="uscc"):
        call_command("bootstrap", "--name", "x", "--uscc", "123", "--admin", "a",
                     "--password", "Long-enough-pass-1")
    assert not Organisation.objects.exists()
    assert not AuditEntry.objects.exists()
