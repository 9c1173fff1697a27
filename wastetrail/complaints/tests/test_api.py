"""The staff and public work-order API: every step's happy path and refusal (422/409/404/403),
the complainant only through the policy, constant queries for the list."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from wastetrail.accounts import services as account_services
from wastetrail.complaints import services
from wastetrail.complaints.models import WorkOrder, WorkOrderSource, WorkOrderStatus
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, XINHUI
from wastetrail.core.audit.models import AuditEntry

BASE = "/api/workorders"
PUBLIC = "/api/public/workorders"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def auth(desk):
    def make(username: str) -> dict:
        _, secret = account_services.api_token_create(actor=desk.actor(username), name="test client")
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    return make


def post(client, url: str, body: dict | None, headers: dict):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def photo(name: str = "p.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def public_order(**extra):
    values = dict(actor=None, source=WorkOrderSource.PUBLIC, description="河边有人倾倒装修垃圾",
                  lon=PENGJIANG_POINT[0], lat=PENGJIANG_POINT[1], complainant_name="张三丰",
                  complainant_phone="13800138000")
    values.update(extra)
    return services.workorder_receive(**values)


def test_the_whole_lifecycle_through_the_staff_api(client, desk, auth):
    officer, handler, admin = auth("reg_officer"), auth("district_officer"), auth("reg_admin")
    created = post(client, BASE, {"source": "staff", "description": "工地夜间施工，泥头车进出", "district": 440703,
                                  "complainant_name": "李四", "complainant_phone": "13900139000"}, officer)
    assert created.status_code == 201, created.content
    body = created.json()
    pk, code = body["order"]["id"], body["tracking_code"]
    assert body["order"]["status"] == "received" and len(code) == 6
    assert body["order"]["complainant"] == {"anonymous": False, "name": "李四", "phone": "13900139000",
                                            "masked": False}
    classified = post(client, f"{BASE}/{pk}/classify", {"category": "site_out_of_hours"}, officer).json()
    assert (classified["status"], classified["order_type"]) == ("classified", "complaint")
    dispatched = post(client, f"{BASE}/{pk}/dispatch", {}, officer).json()
    assert dispatched["status"] == "dispatched" and dispatched["unit_name"] == desk.cast.org("district_regulator").name
    assert post(client, f"{BASE}/{pk}/accept", None, handler).json()["status"] == "accepted"
    extension = post(client, f"{BASE}/{pk}/extensions", {"working_days": 3, "reason": "需联合执法"}, handler)
    assert extension.status_code == 201 and extension.json()["status"] == "pending"
    decided = post(client, f"{BASE}/{pk}/extensions/{extension.json()['id']}/decision", {"approve": True}, admin)
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    handled = client.post(f"{BASE}/{pk}/handle", {"note": "已现场制止", "photos": [photo()]}, **handler)
    assert handled.status_code == 200, handled.content
    assert handled.json()["status"] == "handled" and len(handled.json()["photos"]) == 1
    answered = post(client, f"{BASE}/{pk}/answer", {"answer": "已责令停止夜间施工"}, handler).json()
    assert answered["status"] == "answered" and answered["answer"] == "已责令停止夜间施工"
    rated = post(client, f"{BASE}/{pk}/rating", {"satisfaction": 3}, officer).json()
    assert rated["status"] == "closed" and rated["satisfaction"] == 3
    reopened = post(client, f"{BASE}/{pk}/reopen", {"reason": "群众再次反映"}, officer).json()
    assert reopened["status"] == "dispatched" and reopened["reopen_count"] == 1
    detail = client.get(f"{BASE}/{pk}", **officer).json()
    assert [event["kind"] for event in detail["history"]][:3] == ["received", "classified", "dispatched"]
    assert detail["extensions"][0]["new_due"] is not None


def test_return_close_links_and_case_request(client, desk, auth):
    officer, handler = auth("reg_officer"), auth("district_officer")
    order, _code = public_order(category=desk.category("illegal_dumping"))
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order)
    returned = post(client, f"{BASE}/{order.pk}/return", {"reason": "属新会区管辖"}, handler)
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    dispatched = post(client, f"{BASE}/{order.pk}/dispatch", {"unit_id": desk.cast.org("street_office").pk},
                      officer).json()
    assert dispatched["unit_id"] == desk.cast.org("street_office").pk
    street = auth("street_officer")
    assert post(client, f"{BASE}/{order.pk}/accept", None, street).json()["status"] == "accepted"
    client.post(f"{BASE}/{order.pk}/handle", {"note": "已清理"}, **street)
    post(client, f"{BASE}/{order.pk}/answer", {"answer": "已清理完毕"}, street)
    refused = post(client, f"{BASE}/{order.pk}/close", {"note": ""}, officer)
    assert refused.status_code == 422 and "note" in refused.json()["errors"]
    assert post(client, f"{BASE}/{order.pk}/close", {"note": "回访无人接听"}, officer).json()["status"] == "closed"
    linked = post(client, f"{BASE}/{order.pk}/links", {"project_id": 999999}, officer)
    assert linked.status_code == 422 and "project_id" in linked.json()["errors"]
    case = post(client, f"{BASE}/{order.pk}/case-request", {"note": "倾倒建筑垃圾，有照片"}, officer)
    assert case.status_code == 200 and case.json()["case_requested_at"]
    again = post(client, f"{BASE}/{order.pk}/case-request", {"note": "再次"}, officer)
    assert again.status_code == 409 and again.json()["code"] == "case_requested"


def test_refusals_have_their_shapes_and_change_nothing(client, desk, auth):
    officer, handler, admin, street = auth("reg_officer"), auth("district_officer"), auth("reg_admin"), auth(
        "street_officer")
    order, _code = public_order()
    before = AuditEntry.objects.count()
    wrong_step = post(client, f"{BASE}/{order.pk}/dispatch", {}, officer)  # not classified
    assert wrong_step.status_code == 409 and wrong_step.json()["code"] == "cannot_dispatch"
    bad_category = post(client, f"{BASE}/{order.pk}/classify", {"category": "nonsense"}, officer)
    assert bad_category.status_code == 422 and "category" in bad_category.json()["errors"]
    bad_type = post(client, f"{BASE}/{order.pk}/classify", {"category": "other", "order_type": "x"}, officer)
    assert bad_type.status_code == 422
    not_handler = post(client, f"{BASE}/{order.pk}/classify", {"category": "other"}, street)
    assert not_handler.status_code == 404  # a street office sees only what is dispatched to it
    services.workorder_classify(actor=desk.actor("reg_officer"), order=order, order_type="",
                                category=desk.category("illegal_dumping"))
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order)
    before = AuditEntry.objects.count()
    forbidden = post(client, f"{BASE}/{order.pk}/answer", {"answer": "x"}, officer)
    assert forbidden.status_code == 403
    empty = post(client, f"{BASE}/{order.pk}/return", {"reason": " "}, handler)
    assert empty.status_code == 422 and "reason" in empty.json()["errors"]
    days = post(client, f"{BASE}/{order.pk}/extensions", {"working_days": 99, "reason": "久"}, handler)
    assert days.status_code == 422 and "working_days" in days.json()["errors"]
    missing = post(client, f"{BASE}/{order.pk}/extensions/9999/decision", {"approve": True}, admin)
    assert missing.status_code == 404
    assert AuditEntry.objects.count() == before
    assert WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.DISPATCHED
    assert client.get(f"{BASE}/{order.pk}").status_code == 401


def test_a_xinhui_officer_neither_reads_a_pengjiang_order_nor_sees_its_complainant(client, desk, auth):
    order, _code = public_order()
    xinhui = auth("xinhui_officer")
    assert client.get(f"{BASE}/{order.pk}", **xinhui).status_code == 404
    assert post(client, f"{BASE}/{order.pk}/classify", {"category": "other"}, xinhui).status_code == 404
    listed = client.get(BASE, **xinhui).json()
    assert listed["count"] == 0 and "张三丰" not in json.dumps(listed) and "13800138000" not in json.dumps(listed)
    # The city's officer and the Pengjiang bureau see it in full; the list never shows the complainant.
    full = client.get(f"{BASE}/{order.pk}", **auth("district_officer")).json()
    assert full["complainant"]["name"] == "张三丰" and full["complainant"]["masked"] is False
    listed = client.get(BASE, **auth("reg_officer")).content.decode()
    assert "张三丰" not in listed and "13800138000" not in listed


def test_a_unit_that_does_not_handle_the_order_sees_the_complainant_masked(client, desk, auth):
    order, _code = public_order(category=desk.category("stacking_point_full"))
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order)  # → the street office
    services.workorder_return(actor=desk.actor("street_officer"), order=order, reason="不属本街道")
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, unit=desk.cast.org("property_manager"))
    # The street office no longer handles it; the hotline sees hotline orders only.
    assert client.get(f"{BASE}/{order.pk}", **auth("street_officer")).status_code == 404
    seen = client.get(f"{BASE}/{order.pk}", **auth("property_manager")).json()["complainant"]
    assert seen == {"anonymous": False, "name": "张三丰", "phone": "13800138000", "masked": False}


def test_the_list_filters_and_reads_in_constant_queries(client, desk, auth):
    officer = auth("reg_officer")
    for _ in range(2):
        public_order()
    client.get(BASE, **officer)  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert client.get(BASE, **officer).json()["count"] == 2
    for _ in range(5):
        public_order(category=desk.category("illegal_dumping"))
    with CaptureQueriesContext(connection) as many:
        assert client.get(BASE, **officer).json()["count"] == 7
    assert len(many) == len(few)
    assert client.get(f"{BASE}?category=illegal_dumping", **officer).json()["count"] == 5
    assert client.get(f"{BASE}?status=classified", **officer).json()["count"] == 5
    assert client.get(f"{BASE}?district={XINHUI}", **officer).json()["count"] == 0
    number = WorkOrder.objects.first().number
    assert client.get(f"{BASE}?q={number}", **officer).json()["items"][0]["number"] == number


def test_staff_create_refuses_bad_input_and_a_repeated_hotline_number(client, desk, auth):
    officer = auth("reg_officer")
    missing = post(client, BASE, {"description": "x"}, officer)
    assert missing.status_code == 422 and "district" in missing.json()["errors"]
    phone = post(client, BASE, {"description": "x", "district": 440703, "complainant_phone": "12ab"}, officer)
    assert phone.status_code == 422 and "complainant_phone" in phone.json()["errors"]
    assert post(client, BASE, {"description": "x", "district": 440703}, auth("construction_admin")).status_code == 403
    hotline = {"source": "hotline", "external_id": "GD12345-1", "description": "倾倒", "district": 440703}
    assert post(client, BASE, hotline, officer).status_code == 201
    again = post(client, BASE, hotline, officer)
    assert again.status_code == 409 and again.json()["code"] == "already_received"
    assert WorkOrder.objects.count() == 1


# --- public -----------------------------------------------------------------------------------
def test_the_public_submits_with_photos_tracks_and_rates(client, desk):
    form = {"description": "路边堆放大量装修垃圾", "lon": "113.0815", "lat": "22.5790", "category": "illegal_dumping",
            "complainant_name": "王五", "complainant_phone": "13700137000", "photos": [photo("a.jpg"), photo("b.jpg")]}
    submitted = client.post(PUBLIC, form)
    assert submitted.status_code == 201, submitted.content
    number, code = submitted.json()["number"], submitted.json()["tracking_code"]
    order = WorkOrder.objects.get(number=number)
    assert order.photos.count() == 2 and order.client_key and order.source == "public"
    tracked = post(client, f"{PUBLIC}/track", {"number": number, "code": code}, {})
    assert tracked.status_code == 200 and tracked.json()["status"] == "classified"
    assert "王五" not in tracked.content.decode() and "13700137000" not in tracked.content.decode()
    assert post(client, f"{PUBLIC}/track", {"number": number, "code": "000000" if code != "000000" else "111111"},
                {}).status_code == 404
    early = post(client, f"{PUBLIC}/rate", {"number": number, "code": code, "satisfaction": 3}, {})
    assert early.status_code == 409 and early.json()["code"] == "cannot_rate"
    officer, handler = desk.actor("reg_officer"), desk.actor("district_officer")
    services.workorder_dispatch(actor=officer, order=order)
    services.workorder_accept(actor=handler, order=order)
    services.workorder_handle(actor=handler, order=order, note="已清理")
    services.workorder_answer(actor=handler, order=order, answer="已清理完毕")
    vague = post(client, f"{PUBLIC}/rate", {"number": number, "code": code, "satisfaction": 1}, {})
    assert vague.status_code == 422 and "comment" in vague.json()["errors"]
    rated = post(client, f"{PUBLIC}/rate", {"number": number, "code": code, "satisfaction": 2}, {})
    assert rated.status_code == 200 and rated.json()["status"] == "closed"
    assert [event["kind"] for event in rated.json()["history"]][-2:] == ["rated", "closed"]


def test_public_submission_refusals(client, desk):
    outside = client.post(PUBLIC, {"description": "x", "lon": "116.4", "lat": "39.9", "anonymous": "true"})
    assert outside.status_code == 422 and "lon" in outside.json()["errors"]
    no_phone = client.post(PUBLIC, {"description": "x", "lon": "113.0815", "lat": "22.5790"})
    assert no_phone.status_code == 422 and "complainant_phone" in no_phone.json()["errors"]
    staff_only = client.post(PUBLIC, {"description": "x", "lon": "113.0815", "lat": "22.5790", "anonymous": "true",
                                      "category": "help_request"})
    assert staff_only.status_code == 422 and "category" in staff_only.json()["errors"]
    not_a_photo = client.post(PUBLIC, {"description": "x", "lon": "113.0815", "lat": "22.5790", "anonymous": "true",
                                       "photos": [SimpleUploadedFile("x.jpg", b"not an image")]})
    assert not_a_photo.status_code == 422
    assert WorkOrder.objects.count() == 0
    assert client.get(f"{PUBLIC}/categories").json()[0]["code"] == "illegal_dumping"


def test_public_submissions_are_limited_per_connection(client, desk, settings):
    settings.PUBLIC_REPORTS_PER_HOUR = 1
    form = {"description": "x", "lon": "113.0815", "lat": "22.5790", "anonymous": "true"}
    assert client.post(PUBLIC, form).status_code == 201
    refused = client.post(PUBLIC, form)
    assert refused.status_code == 409 and refused.json()["code"] == "rate_limited"


def test_guessing_tracking_codes_is_limited_per_number_as_on_the_pages(client, desk, settings):
    settings.PUBLIC_TRACK_FAILURES_PER_HOUR = 3
    order, code = public_order()
    for n, guess in enumerate(("000001", "000002", "000003")):
        # From three addresses: the limit on the number holds whoever asks.
        response = post(client, f"{PUBLIC}/track", {"number": order.number, "code": guess},
                        {"REMOTE_ADDR": f"203.0.113.{n + 1}"})
        assert response.status_code == 404
    blocked = post(client, f"{PUBLIC}/track", {"number": order.number, "code": code}, {"REMOTE_ADDR": "203.0.113.9"})
    assert blocked.status_code == 409 and blocked.json()["code"] == "rate_limited"


def test_a_right_code_does_not_use_up_the_allowance(client, desk, settings):
    settings.PUBLIC_TRACK_FAILURES_PER_HOUR = 2
    order, code = public_order()
    for _ in range(5):
        assert post(client, f"{PUBLIC}/track", {"number": order.number, "code": code}, {}).status_code == 200


def test_public_submit_counts_every_post_like_the_form(client, desk, settings):
    settings.PUBLIC_REPORT_POSTS_PER_HOUR = 2
    for _ in range(2):
        client.post(f"{PUBLIC}", {"description": "", "lon": "113.08", "lat": "22.58"})
    refused = client.post(f"{PUBLIC}", {"description": "偷倒", "lon": "113.0815", "lat": "22.579", "anonymous": True})
    assert refused.status_code == 409 and refused.json()["code"] == "rate_limited"
    assert WorkOrder.objects.count() == 0


def test_queues_and_statistics(client, desk, auth):
    order, _code = public_order(category=desk.category("illegal_dumping"))
    public_order()
    officer, handler = auth("reg_officer"), auth("district_officer")
    desk_queue = client.get(f"{BASE}/queue/dispatch", **officer).json()
    assert desk_queue["queue"] == "dispatch" and len(desk_queue["rows"]) == 2
    assert "张三丰" not in json.dumps(desk_queue)
    post(client, f"{BASE}/{order.pk}/dispatch", {}, officer)
    mine = client.get(f"{BASE}/queue/mine", **handler).json()["rows"]
    assert [row["number"] for row in mine] == [order.number] and mine[0]["working_days_left"] > 0
    assert client.get(f"{BASE}/queue/nonsense", **officer).status_code == 422
    assert client.get(f"{BASE}/queue/mine", **auth("xinhui_officer")).json()["rows"] == []
    stats = client.get(f"{BASE}/stats?months=2", **officer).json()
    assert len(stats["months"]) == 2 and stats["total"]["dispatched"] == 1
    assert stats["units"][0]["unit_name"] == desk.cast.org("district_regulator").name
    assert client.get(f"{BASE}/stats", **auth("xinhui_officer")).json()["total"]["dispatched"] == 0
