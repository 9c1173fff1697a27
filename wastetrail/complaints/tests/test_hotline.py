"""The 12345 hotline interface: push (idempotent, mapped codes, batch), the result feed and who
may use them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings

from wastetrail.accounts import services as account_services
from wastetrail.complaints import hotline, services
from wastetrail.complaints.models import WorkOrder, WorkOrderSource, WorkOrderStatus
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT
from wastetrail.core.audit.models import AuditEntry

PUSH = "/api/hotline/work-orders"
RESULTS = "/api/hotline/results"


@pytest.fixture
def auth(desk):
    def make(username: str) -> dict:
        _, secret = account_services.api_token_create(actor=desk.actor(username), name="12345")
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    return make


@pytest.fixture(autouse=True)
def no_settle(settings):
    settings.HOTLINE_FEED_SETTLE_SECONDS = 0


def push(client, body, headers):
    return client.post(PUSH, json.dumps(body), content_type="application/json", **headers)


ORDER = {"external_id": "JM2026110200017", "category_code": "CG-JZLJ-01", "order_type": "举报",
         "district": "蓬江区", "address": "白沙大道西100号旁", "received_at": "2026-11-02T09:30:00+08:00",
         "description": "有泥头车在河堤倾倒建筑垃圾", "complainant_name": "赵六", "complainant_phone": "13600136000"}


def test_a_push_is_stored_once_and_mapped(client, desk, auth):
    token = auth("hotline_client")
    first = push(client, ORDER, token)
    assert first.status_code == 201, first.content
    order = WorkOrder.objects.get(external_id=ORDER["external_id"])
    assert (order.source, order.category.code, order.order_type, order.district, order.status) == (
        "hotline", "illegal_dumping", "report", 440703, "classified")
    assert order.received_at == dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.UTC)
    audits = AuditEntry.objects.count()
    again = push(client, {**ORDER, "description": "改过的内容"}, token)
    assert again.status_code == 200 and again.json()["number"] == order.number
    assert WorkOrder.objects.count() == 1 and AuditEntry.objects.count() == audits
    assert WorkOrder.objects.get(pk=order.pk).description == ORDER["description"]


@pytest.mark.parametrize("district", ["440705", "新会区", "新会", "Xinhui"])
def test_districts_by_name_or_adcode(client, desk, auth, district):
    response = push(client, {**ORDER, "district": district}, auth("hotline_client"))
    assert response.status_code == 201 and WorkOrder.objects.get().district == 440705


def test_a_position_sets_the_district(client, desk, auth):
    body = {**ORDER, "district": "", "lon": PENGJIANG_POINT[0], "lat": PENGJIANG_POINT[1]}
    assert push(client, body, auth("hotline_client")).status_code == 201
    assert WorkOrder.objects.get().lon_e6 == 113_081_500


def test_unmappable_pushes_name_every_field_and_store_nothing(client, desk, auth):
    body = {**ORDER, "category_code": "XX-99", "order_type": "表扬", "district": "广州", "received_at": None}
    refused = push(client, body, auth("hotline_client"))
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"category_code", "order_type", "district"}
    phone = push(client, {**ORDER, "complainant_phone": "abc"}, auth("hotline_client"))
    assert phone.status_code == 422 and "complainant_phone" in phone.json()["errors"]
    future = push(client, {**ORDER, "received_at": "2099-01-01T00:00:00+08:00"}, auth("hotline_client"))
    assert future.status_code == 422 and "received_at" in future.json()["errors"]
    assert WorkOrder.objects.count() == 0


def test_only_the_hotline_uses_the_interface(client, desk, auth):
    assert push(client, ORDER, auth("reg_officer")).status_code == 403
    assert push(client, ORDER, auth("construction_admin")).status_code == 403
    assert client.get(RESULTS, **auth("reg_officer")).status_code == 403
    assert push(client, ORDER, {}).status_code == 401
    # A session (a page's cookie) is not the interface: a token is.
    client.force_login(desk.cast.user("hotline_client"))
    assert push(client, ORDER, {}).status_code == 401
    assert WorkOrder.objects.count() == 0


def test_a_batch_stores_the_good_and_reports_the_bad(client, desk, auth):
    token = auth("hotline_client")
    push(client, ORDER, token)
    body = {"orders": [ORDER, {**ORDER, "external_id": "JM2", "district": "火星"}, {**ORDER, "external_id": "JM3"}]}
    response = client.post(f"{PUSH}/batch", json.dumps(body), content_type="application/json", **token)
    assert response.status_code == 200, response.content
    assert [item["outcome"] for item in response.json()] == ["existing", "invalid", "created"]
    assert "district" in response.json()[1]["errors"]
    assert sorted(WorkOrder.objects.values_list("external_id", flat=True)) == ["JM2026110200017", "JM3"]


def _handle(desk, order, answer="已清理"):
    officer, handler = desk.actor("reg_officer"), desk.actor("district_officer")
    services.workorder_dispatch(actor=officer, order=order)
    services.workorder_accept(actor=handler, order=order)
    services.workorder_handle(actor=handler, order=order, note="现场处理")
    return services.workorder_answer(actor=handler, order=order, answer=answer)


def test_the_result_feed_pages_by_cursor_and_shows_only_hotline_orders(client, desk, auth):
    token = auth("hotline_client")
    for n in range(3):
        push(client, {**ORDER, "external_id": f"JM{n}"}, token)
    services.workorder_receive(actor=None, source=WorkOrderSource.PUBLIC, description="公众", lon=PENGJIANG_POINT[0],
                               lat=PENGJIANG_POINT[1], anonymous=True)
    first = client.get(f"{RESULTS}?limit=2", **token).json()
    assert [item["external_id"] for item in first["items"]] == ["JM0", "JM1"] and first["has_more"] is True
    rest = client.get(f"{RESULTS}?since={first['next']}&limit=2", **token).json()
    assert [item["external_id"] for item in rest["items"]] == ["JM2"] and rest["has_more"] is False
    nothing = client.get(f"{RESULTS}?since={rest['next']}", **token).json()
    assert nothing == {"items": [], "next": rest["next"], "has_more": False}
    # An answer moves the order past the cursor, with what the hotline needs to reply.
    _handle(desk, WorkOrder.objects.get(external_id="JM1"), answer="已责令清理并立案")
    changed = client.get(f"{RESULTS}?since={rest['next']}", **token).json()["items"]
    assert len(changed) == 1 and changed[0]["external_id"] == "JM1"
    assert (changed[0]["status"], changed[0]["answer"]) == ("answered", "已责令清理并立案")
    assert changed[0]["answered_at"] and changed[0]["unit_name"] == desk.cast.org("district_regulator").name
    # The same cursor again gives the same answer: a lost response is simply asked for again.
    again = client.get(f"{RESULTS}?since={rest['next']}", **token).json()["items"]
    assert [item["number"] for item in again] == [changed[0]["number"]]


def test_the_feed_holds_back_changes_that_may_not_be_committed_yet(desk):
    actor = desk.actor("hotline_client")
    order, _ = hotline.receive(actor=actor, record={**ORDER})
    with override_settings(HOTLINE_FEED_SETTLE_SECONDS=5):
        assert hotline.results(actor=actor, now=order.updated_at + dt.timedelta(seconds=1)).items == []
        assert hotline.results(actor=actor, now=order.updated_at + dt.timedelta(seconds=6)).items == [order]


def test_a_bad_cursor_or_limit_is_a_422(client, desk, auth):
    token = auth("hotline_client")
    assert client.get(f"{RESULTS}?since=garbage", **token).status_code == 422
    assert client.get(f"{RESULTS}?limit=0", **token).status_code == 422
    assert client.get(f"{RESULTS}?limit=501", **token).status_code == 422


def test_a_rating_closing_the_order_reaches_the_feed(client, desk, auth):
    token = auth("hotline_client")
    push(client, ORDER, token)
    order = _handle(desk, WorkOrder.objects.get())
    cursor = client.get(RESULTS, **token).json()["next"]
    services.workorder_rate(actor=desk.actor("reg_officer"), order=order, satisfaction=3)
    item = client.get(f"{RESULTS}?since={cursor}", **token).json()["items"][0]
    assert (item["status"], item["satisfaction"]) == (WorkOrderStatus.CLOSED, 3) and item["closed_at"]


def test_the_hotline_sees_only_hotline_orders_in_the_staff_api(client, desk, auth):
    token = auth("hotline_client")
    push(client, ORDER, token)
    public, _code = services.workorder_receive(actor=None, source=WorkOrderSource.PUBLIC, description="公众",
                                               lon=PENGJIANG_POINT[0], lat=PENGJIANG_POINT[1],
                                               complainant_name="张三", complainant_phone="13800138000")
    listed = client.get("/api/workorders", **token).json()
    assert [item["external_id"] for item in listed["items"]] == [ORDER["external_id"]]
    assert client.get(f"/api/workorders/{public.pk}", **token).status_code == 404
    own = WorkOrder.objects.get(external_id=ORDER["external_id"])
    # Its own order's caller is the hotline's to see; it may not take the dispatch centre's steps.
    assert client.get(f"/api/workorders/{own.pk}", **token).json()["complainant"]["name"] == "赵六"
    refused = client.post(f"/api/workorders/{own.pk}/dispatch", "{}", content_type="application/json", **token)
    assert refused.status_code == 403
