"""Routing table and category catalogue pages: only city regulator administrators; each change
one audit row; bad input a field error that changes nothing; the table's meaning per district
and category shown on the list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wastetrail.accounts.models import User
from wastetrail.complaints.models import RoutingRule, WorkOrderCategory
from wastetrail.core.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PAGES = ["complaints:routing-rules-list", "complaints:routing-rules-create", "complaints:categories-list",
         "complaints:categories-create"]


@pytest.fixture
def login(client, desk):
    def as_user(username: str):
        client.force_login(User.objects.get(username=username))
        return client

    return as_user


@pytest.mark.parametrize("username", ["reg_officer", "district_officer", "xinhui_admin", "street_officer",
                                      "hotline_client", "construction_admin"])
def test_only_city_regulator_admins_configure(login, desk, username):
    client = login(username)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    rule = RoutingRule.objects.first()
    assert client.get(reverse("complaints:routing-rules-edit", args=[rule.pk])).status_code == 403
    assert client.post(reverse("complaints:routing-rules-delete", args=[rule.pk])).status_code == 403
    assert RoutingRule.objects.filter(pk=rule.pk).exists()


def test_the_routing_list_shows_which_unit_each_district_and_category_gets(login, desk):
    page = login("reg_admin").get(reverse("complaints:routing-rules-list"))
    assert page.status_code == 200
    matrix = page.context["matrix"]
    codes = [category.code for category in matrix["categories"]]
    rows = dict(matrix["rows"])
    pengjiang = dict(zip(codes, rows["蓬江区"], strict=True))
    assert pengjiang["stacking_point_full"] == desk.cast.org("street_office")
    assert pengjiang["illegal_dumping"] == desk.cast.org("district_regulator")
    assert set(dict(zip(codes, rows["新会区"], strict=True)).values()) == {desk.xinhui_bureau}
    assert set(dict(zip(codes, rows["台山市"], strict=True)).values()) == {None}  # no rule: the dispatcher picks
    assert 'data-testid="routing-matrix"' in page.content.decode()


def test_create_edit_and_delete_a_routing_rule_each_one_audit_row(login, desk):
    client = login("reg_admin")
    before = AuditEntry.objects.count()
    response = client.post(reverse("complaints:routing-rules-create"), {
        "district": "440781", "order_type": "", "category": "", "unit": desk.cast.org("regulator").pk,
        "priority": "100", "is_active": "on"})
    rule = RoutingRule.objects.get(district=440781)
    assert response.status_code == 302 and AuditEntry.objects.count() == before + 1
    response = client.post(reverse("complaints:routing-rules-edit", args=[rule.pk]), {
        "district": "440781", "order_type": "", "category": "", "unit": desk.cast.org("housing_authority").pk,
        "priority": "50", "is_active": "on"})
    rule.refresh_from_db()
    assert response.status_code == 302 and rule.unit == desk.cast.org("housing_authority") and rule.priority == 50
    assert AuditEntry.objects.count() == before + 2
    assert client.post(reverse("complaints:routing-rules-delete", args=[rule.pk])).status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists() and AuditEntry.objects.count() == before + 3
    assert AuditEntry.objects.filter(action="workorder.routing_rule_delete").count() == 1


def test_a_rule_must_name_a_unit_that_handles_orders(login, desk):
    before = (RoutingRule.objects.count(), AuditEntry.objects.count())
    response = login("reg_admin").post(reverse("complaints:routing-rules-create"), {
        "district": "440781", "unit": desk.cast.org("transport").pk, "priority": "100", "is_active": "on"})
    assert response.status_code == 400 and 'data-testid="error-unit"' in response.content.decode()
    assert (RoutingRule.objects.count(), AuditEntry.objects.count()) == before


def test_create_and_edit_a_category(login, desk):
    client = login("reg_admin")
    values = {"code": "night_transport", "name_zh": "夜间违规运输", "name_en": "Transport at night",
              "default_type": "report", "hotline_code": "CG-JZLJ-10", "public": "on", "sort_order": "95",
              "is_active": "on"}
    assert client.post(reverse("complaints:categories-create"), values).status_code == 302
    category = WorkOrderCategory.objects.get(code="night_transport")
    assert category.public and AuditEntry.objects.filter(action="workorder.category_create").count() == 1
    edit = client.post(reverse("complaints:categories-edit", args=[category.pk]), values | {"public": ""})
    category.refresh_from_db()
    assert edit.status_code == 302 and not category.public
    assert AuditEntry.objects.filter(action="workorder.category_update").count() == 1


def test_a_duplicate_category_code_is_a_field_error(login, desk):
    count = WorkOrderCategory.objects.count()
    response = login("reg_admin").post(reverse("complaints:categories-create"), {
        "code": "illegal_dumping", "name_zh": "重复", "name_en": "Duplicate", "default_type": "report",
        "sort_order": "1", "is_active": "on"})
    assert response.status_code == 400 and 'data-testid="error-code"' in response.content.decode()
    assert WorkOrderCategory.objects.count() == count
