"""The map of open work orders: the page, and its JSON scoped by what the actor may see, open
orders with a position only, filtered, marked by deadline, in a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wastetrail.accounts.models import User
from wastetrail.complaints import services
from wastetrail.complaints.models import WorkOrder, WorkOrderSource
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, XINHUI_POINT

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, desk):
    def as_user(username: str):
        client.force_login(User.objects.get(username=username))
        return client

    return as_user


def report(desk, point=PENGJIANG_POINT, category="illegal_dumping", **extra) -> WorkOrder:
    values = dict(actor=None, source=WorkOrderSource.PUBLIC, description="倾倒建筑垃圾", lon=point[0], lat=point[1],
                  anonymous=True, category=desk.category(category))
    values.update(extra)
    order, _code = services.workorder_receive(**values)
    return order


def data(client, **params) -> dict:
    response = client.get(reverse("complaints:map-data"), params)
    assert response.status_code == 200
    return response.json()


def numbers(payload: dict) -> set[str]:
    return {order["number"] for order in payload["orders"]}


def test_the_map_page_carries_its_config_and_the_filters(login, desk):
    page = login("reg_officer").get(reverse("complaints:map"), {"district": "440703"})
    assert page.status_code == 200 and 'id="workorders-config"' in page.content.decode()
    assert page.context["map_config"]["dataUrl"].endswith("?district=440703")
    assert page.context["map_config"]["districtsUrl"] == reverse("map-layer", args=["districts"])
    assert login("construction_admin").get(reverse("complaints:map")).status_code == 403


def test_map_data_is_scoped_by_what_the_actor_sees(login, desk):
    pengjiang, xinhui = report(desk), report(desk, point=XINHUI_POINT)
    assert numbers(data(login("reg_officer"))) == {pengjiang.number, xinhui.number}
    assert numbers(data(login("xinhui_officer"))) == {xinhui.number}
    assert numbers(data(login("district_officer"))) == {pengjiang.number}
    assert numbers(data(login("street_officer"))) == set()
    assert numbers(data(login("construction_admin"))) == set()


def test_only_open_orders_with_a_position_and_the_filters_apply(login, desk):
    open_one = report(desk)
    report(desk, category="site_dust")
    services.workorder_receive(actor=desk.actor("reg_officer"), source=WorkOrderSource.STAFF, description="电话",
                               district=440703)  # no position: not on the map
    closed = report(desk)
    WorkOrder.objects.filter(pk=closed.pk).update(status="closed", unit=desk.cast.org("district_regulator"))
    client = login("reg_officer")
    assert len(data(client)["orders"]) == 2
    assert numbers(data(client, category=desk.category("illegal_dumping").pk)) == {open_one.number}
    assert numbers(data(client, order_type="complaint")) == {o.number for o in WorkOrder.objects.filter(
        category__code="site_dust")}
    assert numbers(data(client, district="440705")) == set()


def test_markers_say_overdue_and_warned_before_status(login, desk):
    overdue, warned, plain = report(desk), report(desk), report(desk)
    WorkOrder.objects.filter(pk=overdue.pk).update(overdue_at=timezone.now(), warned_at=timezone.now())
    WorkOrder.objects.filter(pk=warned.pk).update(warned_at=timezone.now())
    payload = data(login("reg_officer"))
    marks = {order["number"]: order["mark"] for order in payload["orders"]}
    assert marks == {overdue.number: "overdue", warned.number: "warned", plain.number: "classified"}
    assert payload["orders"][0]["number"] == overdue.number  # the most urgent first
    first = payload["orders"][0]
    assert first["url"] == reverse("complaints:detail", args=[overdue.pk])
    assert abs(first["lon"] - PENGJIANG_POINT[0]) < 1e-6 and first["category"]


def test_map_data_costs_the_same_queries_for_few_and_many_orders(login, desk):
    client = login("district_officer")
    report(desk)
    data(client)  # warm up the session
    with CaptureQueriesContext(connection) as few:
        data(client)
    for _ in range(12):
        report(desk, category="site_dust")
    with CaptureQueriesContext(connection) as many:
        assert len(data(client)["orders"]) == 13
    assert len(many) == len(few)


def test_map_data_is_capped(login, desk, monkeypatch):
    from wastetrail.complaints import map_views

    monkeypatch.setattr(map_views, "MAP_LIMIT", 2)
    for _ in range(3):
        report(desk)
    payload = data(login("reg_officer"))
    assert len(payload["orders"]) == 2 and payload["truncated"] is True


def test_map_data_asks_anonymous_callers_to_log_in(client):
    assert client.get(reverse("complaints:map-data")).status_code == 401
