"""Organisation pages: list scoped to the viewer, create/edit through the same service."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wastetrail.accounts.models import Organisation
from wastetrail.core.audit.models import AuditEntry
from wastetrail.testing import make_uscc

pytestmark = pytest.mark.django_db


def test_the_list_shows_only_what_the_viewer_may_see(client, cast):
    client.force_login(cast.user("transport_admin"))
    page = client.get(reverse("organisations-list")).content.decode()
    assert cast.org("transport").name in page
    assert cast.org("transport_other").name not in page
    response = client.get(reverse("organisations-detail", args=[cast.org("transport_other").pk]))
    assert response.status_code == 404


def test_create_with_a_bad_code_shows_the_error_on_the_field(client, cast):
    client.force_login(cast.user("reg_admin"))
    before = (Organisation.objects.count(), AuditEntry.objects.count())
    response = client.post(reverse("organisations-create"), {
        "name": "恩平市安达运输有限公司", "kind": "transport_company", "uscc": "91440300708461136U",
        "district": "440785", "is_active": "on",
    })
    assert response.status_code == 400
    assert "uscc" in response.context["form"].errors
    assert (Organisation.objects.count(), AuditEntry.objects.count()) == before


def test_create_then_edit(client, cast):
    client.force_login(cast.user("reg_admin"))
    response = client.post(reverse("organisations-create"), {
        "name": "恩平市安达运输有限公司", "kind": "transport_company", "uscc": make_uscc(4242, district=440785),
        "district": "440785", "is_active": "on",
    })
    created = Organisation.objects.get(name="恩平市安达运输有限公司")
    assert response.status_code == 302 and response.url == reverse("organisations-detail", args=[created.pk])
    response = client.post(reverse("organisations-edit", args=[created.pk]), {
        "name": created.name, "kind": created.kind, "uscc": created.uscc, "district": "440785",
        "address": "恩平市恩城街道", "is_active": "on",
    })
    created.refresh_from_db()
    assert created.address == "恩平市恩城街道"


def test_non_admins_cannot_open_the_create_form(client, cast):
    client.force_login(cast.user("reg_officer"))
    assert client.get(reverse("organisations-create")).status_code == 403


def test_the_list_runs_a_constant_number_of_queries(client, cast):
    client.force_login(cast.user("reg_admin"))
    url = reverse("organisations-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(20):
        Organisation.objects.create(name=f"运输公司{n}", kind="transport_company", uscc=make_uscc(9000 + n))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_admin_adds_a_member_through_the_page(client, cast):
    client.force_login(cast.user("transport_admin"))
    url = reverse("organisation-member-add", args=[cast.org("transport").pk])
    response = client.post(url, {"username": "new_driver", "role": "driver", "password": "short"})
    assert response.status_code == 400 and "password" in response.context["form"].errors
    response = client.post(url, {"username": "new_driver", "role": "driver", "password": "Long-enough-pass-1"})
    assert response.status_code == 302
    assert cast.org("transport").memberships.filter(user__username="new_driver").exists()
    other = reverse("organisation-member-add", args=[cast.org("transport_other").pk])
    assert client.get(other).status_code == 404


def test_a_company_admin_cannot_turn_its_company_into_a_regulator_through_the_page(client, cast):
    """The form shows kind/code/district/active disabled, and the service compares any change
    with the stored row, so a crafted POST changes nothing either."""
    organisation = cast.org("construction")
    client.force_login(cast.user("construction_admin"))
    url = reverse("organisations-edit", args=[organisation.pk])
    assert client.get(url).context["form"].fields["kind"].disabled
    client.post(url, {"name": organisation.name, "kind": "regulator", "uscc": organisation.uscc,
                      "district": "", "is_active": "on", "contact_name": "新联系人"})
    organisation.refresh_from_db()
    assert organisation.kind == "construction_unit"
    assert organisation.district == 440703


def test_the_service_refuses_restricted_changes_even_on_an_already_modified_instance(cast):
    from django.core.exceptions import ValidationError

    from wastetrail.accounts import services

    organisation = cast.org("construction")
    organisation.kind = "regulator"  # as a form would have set it while validating
    with pytest.raises(ValidationError) as caught:
        services.organisation_update(actor=cast.actor("construction_admin"), organisation=organisation,
                                     kind="regulator")
    assert "kind" in caught.value.message_dict


def test_a_district_bureau_admin_cannot_widen_its_own_jurisdiction(cast):
    from django.core.exceptions import PermissionDenied, ValidationError

    from wastetrail.accounts import services
    from wastetrail.accounts.models import Membership

    Membership.objects.filter(user=cast.user("district_officer")).update(role="admin")
    actor = cast.actor("district_officer")
    assert not actor.is_regulator_admin
    with pytest.raises(ValidationError) as caught:
        services.organisation_update(actor=actor, organisation=cast.org("district_regulator"), district=None)
    assert "district" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        services.user_create(actor=actor, username="x_admin", password="Long-enough-pass-1",
                             organisation=cast.org("regulator"), role="admin")
