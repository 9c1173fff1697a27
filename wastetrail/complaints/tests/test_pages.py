"""The work-order detail page and its step forms, the staff intake, photos and extension
decisions: each step's happy path through the page, and what a wrong role, a wrong state or
bad input gets (403/404, a message, a field error) with nothing changed."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from wastetrail.accounts.models import User
from wastetrail.complaints import policy, services
from wastetrail.complaints.models import (
    EventKind,
    ExtensionRequest,
    ExtensionStatus,
    WorkOrder,
    WorkOrderSource,
    WorkOrderStatus,
)
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT
from wastetrail.core.audit.models import AuditEntry
from wastetrail.registry.models import Vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def login(client, desk):
    def as_user(username: str):
        client.force_login(User.objects.get(username=username))
        return client

    return as_user


def photo(name: str = "现场.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def public_order(desk, **extra) -> WorkOrder:
    values = dict(actor=None, source=WorkOrderSource.PUBLIC, description="河边有人倾倒装修垃圾",
                  lon=PENGJIANG_POINT[0], lat=PENGJIANG_POINT[1], complainant_name="张三丰",
                  complainant_phone="13800138000", category=desk.category("illegal_dumping"))
    values.update(extra)
    order, _code = services.workorder_receive(**values)
    return order


def dispatched_order(desk, **extra) -> WorkOrder:
    order = public_order(desk, **extra)
    return services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order)


def accepted_order(desk) -> WorkOrder:
    order = dispatched_order(desk)
    return services.workorder_accept(actor=desk.actor("district_officer"), order=order)


def answered_order(desk) -> WorkOrder:
    handler = desk.actor("district_officer")
    order = services.workorder_handle(actor=handler, order=accepted_order(desk), note="已清理")
    return services.workorder_answer(actor=handler, order=order, answer="已清理完毕")


def step(client, order, name, data=None, **kwargs):
    return client.post(reverse("complaints:step", args=[order.pk, name]), data or {}, **kwargs)


def fresh(order) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


def offered(response) -> set[str]:
    return {s["name"] for s in response.context["steps"]}


# --- the detail page ----------------------------------------------------------------------------
def test_detail_shows_the_order_its_deadline_history_and_the_handling_staffs_view_of_the_complainant(login, desk):
    order = dispatched_order(desk)
    page = login("district_officer").get(reverse("complaints:detail", args=[order.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert order.number in body and "河边有人倾倒装修垃圾" in body
    assert "张三丰" in body and "13800138000" in body
    assert page.context["deadline"]["due"] == order.due_date and page.context["deadline"]["working_days_left"] > 0
    assert [event.kind for event in page.context["history"]] == [EventKind.RECEIVED, EventKind.CLASSIFIED,
                                                             EventKind.DISPATCHED]
    assert 'data-event="dispatched"' in body and desk.cast.org("district_regulator").name in body
    assert offered(page) >= {"accept", "return", "request_extension", "link", "request_case"}
    assert not offered(page) & {"classify", "dispatch", "rate", "close"}  # the dispatch centre's steps


def test_steps_offered_depend_on_role_and_state(login, desk):
    order = public_order(desk)  # received with a category: classified
    dispatcher = login("reg_officer").get(reverse("complaints:detail", args=[order.pk]))
    assert {"classify", "dispatch"} <= offered(dispatcher) and "accept" not in offered(dispatcher)
    # The dispatch form is pre-filled with the routing table's unit.
    dispatch = next(s for s in dispatcher.context["steps"] if s["name"] == "dispatch")
    assert dispatch["form"].initial["unit"] == desk.cast.org("district_regulator").pk


def test_a_xinhui_officer_gets_404_on_a_pengjiang_order(login, desk):
    order = dispatched_order(desk)
    client = login("xinhui_officer")
    assert client.get(reverse("complaints:detail", args=[order.pk])).status_code == 404
    assert step(client, order, "accept").status_code == 404
    assert fresh(order).status == WorkOrderStatus.DISPATCHED


def test_the_hotline_sees_its_own_orders_complainant(login, desk):
    order, _code = services.workorder_receive(
        actor=desk.actor("hotline_client"), source=WorkOrderSource.HOTLINE, external_id="JM-1",
        description="工地夜间施工", district=440703, complainant_name="李四", complainant_phone="13900139000")
    page = login("hotline_client").get(reverse("complaints:detail", args=[order.pk]))
    assert page.status_code == 200 and "李四" in page.content.decode() and "13900139000" in page.content.decode()
    public = public_order(desk)
    assert login("hotline_client").get(reverse("complaints:detail", args=[public.pk])).status_code == 404


def test_the_page_shows_the_complainant_only_as_the_policy_gives_it(login, desk, monkeypatch):
    order = dispatched_order(desk)
    monkeypatch.setattr(policy, "can_see_complainant", lambda actor, order: False)
    body = login("district_officer").get(reverse("complaints:detail", args=[order.pk])).content.decode()
    assert "张三丰" not in body and "13800138000" not in body
    assert "张**" in body and "138****8000" in body


def test_an_anonymous_complainant_stays_anonymous(login, desk):
    order = dispatched_order(desk, anonymous=True)
    page = login("district_officer").get(reverse("complaints:detail", args=[order.pk]))
    assert page.context["complainant"]["anonymous"] and "13800138000" not in page.content.decode()


# --- dispatch centre steps ----------------------------------------------------------------------
def test_classify_on_the_page(login, desk):
    order = public_order(desk, category=None)
    client = login("reg_officer")
    response = step(client, order, "classify", {"order_type": "complaint",
                                                "category": desk.category("truck_spillage").pk, "title": "撒漏"})
    assert response.status_code == 302 and response.url == reverse("complaints:detail", args=[order.pk])
    order = fresh(order)
    assert order.status == WorkOrderStatus.CLASSIFIED and order.order_type == "complaint" and order.title == "撒漏"


def test_classify_without_a_category_is_a_field_error_and_changes_nothing(login, desk):
    order = public_order(desk, category=None)
    before = AuditEntry.objects.count()
    response = step(login("reg_officer"), order, "classify", {"order_type": "complaint"})
    assert response.status_code == 400 and "data-testid=\"error-category\"" in response.content.decode()
    assert fresh(order).status == WorkOrderStatus.RECEIVED and AuditEntry.objects.count() == before


def test_dispatch_by_the_routing_table_or_to_a_chosen_unit(login, desk):
    client = login("reg_officer")
    routed = public_order(desk)
    assert step(client, routed, "dispatch", {"unit": ""}).status_code == 302
    assert fresh(routed).unit == desk.cast.org("district_regulator")
    chosen = public_order(desk)
    assert step(client, chosen, "dispatch", {"unit": desk.cast.org("street_office").pk}).status_code == 302
    assert fresh(chosen).unit == desk.cast.org("street_office") and fresh(chosen).status == WorkOrderStatus.DISPATCHED


def test_dispatch_in_the_wrong_state_is_a_message_and_changes_nothing(login, desk):
    order = public_order(desk, category=None)  # not classified
    before = AuditEntry.objects.count()
    client = login("reg_officer")
    response = step(client, order, "dispatch", {"unit": ""}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("cannot be dispatched now" in m for m in messages)
    assert fresh(order).status == WorkOrderStatus.RECEIVED and AuditEntry.objects.count() == before


def test_a_handler_may_not_dispatch(login, desk):
    order = dispatched_order(desk)
    services.workorder_return(actor=desk.actor("district_officer"), order=order, reason="不属本单位")
    # The street office is no dispatcher, and does not even see the order.
    assert step(login("street_officer"), order, "dispatch", {"unit": ""}).status_code == 404
    assert fresh(order).status == WorkOrderStatus.RETURNED


def test_rate_close_and_reopen_by_the_dispatch_centre(login, desk):
    client = login("reg_officer")
    rated = answered_order(desk)
    assert step(client, rated, "rate", {"satisfaction": "3", "comment": "满意"}).status_code == 302
    assert fresh(rated).status == WorkOrderStatus.CLOSED and fresh(rated).satisfaction == 3
    assert step(client, rated, "reopen", {"reason": "回访不满意"}).status_code == 302
    assert fresh(rated).status == WorkOrderStatus.DISPATCHED and fresh(rated).reopen_count == 1
    closed = answered_order(desk)
    assert step(client, closed, "close", {"note": "三次回访未接通"}).status_code == 302
    assert fresh(closed).status == WorkOrderStatus.CLOSED


def test_dissatisfied_rating_without_a_comment_is_a_field_error(login, desk):
    order = answered_order(desk)
    response = step(login("reg_officer"), order, "rate", {"satisfaction": "1", "comment": ""})
    assert response.status_code == 400 and "data-testid=\"error-comment\"" in response.content.decode()
    assert fresh(order).status == WorkOrderStatus.ANSWERED and fresh(order).rated_at is None


def test_a_handler_may_not_rate_or_close(login, desk):
    order = answered_order(desk)
    order.unit = desk.cast.org("street_office")
    WorkOrder.objects.filter(pk=order.pk).update(unit=order.unit)
    client = login("street_officer")
    assert step(client, order, "close", {"note": "x"}).status_code == 403
    assert step(client, order, "rate", {"satisfaction": "3"}).status_code == 403
    assert fresh(order).status == WorkOrderStatus.ANSWERED


# --- the unit's steps ------------------------------------------------------------------------------
def test_sign_for_handle_with_photos_and_answer(login, desk):
    order = dispatched_order(desk)
    client = login("district_officer")
    assert step(client, order, "accept").status_code == 302
    assert fresh(order).status == WorkOrderStatus.ACCEPTED
    response = step(client, order, "handle", {"note": "现场已清理", "photos": [photo("a.png"), photo("b.png")]})
    assert response.status_code == 302
    assert fresh(order).status == WorkOrderStatus.HANDLED
    assert fresh(order).photos.filter(by_complainant=False).count() == 2
    assert step(client, order, "answer", {"answer": "已清理完毕，感谢监督"}).status_code == 302
    assert fresh(order).status == WorkOrderStatus.ANSWERED
    page = client.get(reverse("complaints:detail", args=[order.pk]))
    assert len(page.context["unit_photos"]) == 2


def test_a_photo_that_is_not_an_image_is_a_field_error_and_changes_nothing(login, desk):
    order = accepted_order(desk)
    fake = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = step(login("district_officer"), order, "handle", {"note": "已处理", "photos": [fake]})
    assert response.status_code == 400 and "data-testid=\"error-photos\"" in response.content.decode()
    assert fresh(order).status == WorkOrderStatus.ACCEPTED and not fresh(order).photos.exists()


def test_a_dispatcher_who_is_not_the_unit_may_not_sign_for(login, desk):
    order = dispatched_order(desk)
    assert step(login("reg_officer"), order, "accept").status_code == 403
    assert fresh(order).status == WorkOrderStatus.DISPATCHED


def test_answer_before_handling_is_a_message_and_changes_nothing(login, desk):
    order = dispatched_order(desk)
    response = step(login("district_officer"), order, "answer", {"answer": "已处理"}, follow=True)
    assert any("cannot be answered now" in str(m) for m in response.context["messages"])
    assert fresh(order).status == WorkOrderStatus.DISPATCHED and fresh(order).answer == ""


def test_return_shows_its_deadline_and_needs_a_reason(login, desk):
    order = dispatched_order(desk)
    client = login("district_officer")
    page = client.get(reverse("complaints:detail", args=[order.pk]))
    assert page.context["deadline"]["return_due"] == order.return_due and 'data-testid="return-due"' in \
        page.content.decode()
    bad = step(client, order, "return", {"reason": "  "})
    assert bad.status_code == 400 and "data-testid=\"error-reason\"" in bad.content.decode()
    assert fresh(order).status == WorkOrderStatus.DISPATCHED
    assert step(client, order, "return", {"reason": "属新会区管辖"}).status_code == 302
    assert fresh(order).status == WorkOrderStatus.RETURNED


def test_request_an_extension_then_a_supervisor_decides_on_the_detail_page(login, desk):
    order = dispatched_order(desk)
    client = login("district_officer")
    too_many = step(client, order, "request_extension", {"working_days": "99", "reason": "需联合执法"})
    assert too_many.status_code == 400 and "data-testid=\"error-working_days\"" in too_many.content.decode()
    assert not ExtensionRequest.objects.exists()
    assert step(client, order, "request_extension", {"working_days": "5", "reason": "需联合执法"}).status_code == 302
    extension = ExtensionRequest.objects.get()
    # A second request while one waits is not offered.
    assert "request_extension" not in offered(client.get(reverse("complaints:detail", args=[order.pk])))
    # Staff are not supervisors.
    staff = login("reg_officer")
    decide = reverse("complaints:extension-decide", args=[extension.pk])
    assert staff.post(decide, {"approve": "yes"}).status_code == 403
    admin = login("reg_admin")
    refused = admin.post(decide, {"approve": "no", "note": ""})
    assert refused.status_code == 400 and "data-testid=\"error-note\"" in refused.content.decode()
    assert ExtensionRequest.objects.get().status == ExtensionStatus.PENDING
    before = fresh(order).due_date
    assert admin.post(decide, {"approve": "yes"}).status_code == 302
    assert ExtensionRequest.objects.get().status == ExtensionStatus.APPROVED
    assert fresh(order).due_date > before and fresh(order).extended_days == 5


def test_the_extensions_page_lists_pending_requests_in_the_supervisors_jurisdiction(login, desk):
    order = dispatched_order(desk)
    services.workorder_request_extension(actor=desk.actor("district_officer"), order=order, working_days=3,
                                         reason="需协调")
    extension = ExtensionRequest.objects.get()
    page = login("reg_admin").get(reverse("complaints:extensions"))
    assert page.status_code == 200 and order.number in page.content.decode()
    assert login("xinhui_admin").get(reverse("complaints:extensions")).context["rows"] == []
    assert login("district_officer").get(reverse("complaints:extensions")).status_code == 403
    rejected = login("reg_admin").post(reverse("complaints:extension-decide", args=[extension.pk]),
                                       {"approve": "no", "note": "可在期限内完成", "next": "extensions"})
    assert rejected.status_code == 302 and rejected.url == reverse("complaints:extensions")
    assert ExtensionRequest.objects.get().status == ExtensionStatus.REJECTED
    again = login("reg_admin").post(reverse("complaints:extension-decide", args=[extension.pk]),
                                    {"approve": "yes", "next": "extensions"}, follow=True)
    assert any("already been decided" in str(m) for m in again.context["messages"])
    assert ExtensionRequest.objects.get().status == ExtensionStatus.REJECTED


# --- links and cases -------------------------------------------------------------------------------
def test_link_a_vehicle_by_plate_and_request_a_case(login, desk):
    vehicle = Vehicle.objects.create(plate="粤J12345", vin="LZZ1CLVB0JD123456", company=desk.cast.org("transport"),
                                     capacity_m3=12, capacity_t=20)
    order = dispatched_order(desk)
    client = login("district_officer")
    unknown = step(client, order, "link", {"plate": "粤J00000"})
    assert unknown.status_code == 400 and "data-testid=\"error-plate\"" in unknown.content.decode()
    assert fresh(order).vehicle_id is None
    assert step(client, order, "link", {"plate": "粤j 12345"}).status_code == 302
    assert fresh(order).vehicle == vehicle
    page = client.get(reverse("complaints:detail", args=[order.pk]))
    assert reverse("vehicles-detail", args=[vehicle.pk]) in page.content.decode()
    assert step(client, order, "request_case", {"note": "车辆撒漏，有照片"}).status_code == 302
    assert fresh(order).case_requested_at is not None
    twice = step(client, order, "request_case", {"note": "again"}, follow=True)
    assert any("already been requested" in str(m) for m in twice.context["messages"])


# --- photos ------------------------------------------------------------------------------------------
def test_photos_are_served_only_to_those_who_see_the_order(login, desk):
    order = dispatched_order(desk, photos=[photo()])
    picture = order.photos.get()
    url = reverse("complaints:photo", args=[order.pk, picture.pk])
    response = login("district_officer").get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert login("xinhui_officer").get(url).status_code == 404


# --- staff intake ------------------------------------------------------------------------------------
def test_staff_record_an_order_received_by_phone(login, desk):
    client = login("district_officer")
    assert client.get(reverse("complaints:new")).status_code == 200
    response = client.post(reverse("complaints:new"), {
        "source": "staff", "description": "电话反映工地夜间运土", "district": "440703", "address": "建设路1号",
        "complainant_name": "王五", "complainant_phone": "13700137000", "category": desk.category("site_dust").pk})
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response.url == reverse("complaints:detail", args=[order.pk])
    assert order.source == WorkOrderSource.STAFF and order.status == WorkOrderStatus.CLASSIFIED
    assert order.received_by == desk.cast.user("district_officer") and order.complainant_name == "王五"


def test_intake_by_position_on_the_map_derives_the_district(login, desk):
    response = login("reg_officer").post(reverse("complaints:new"), {
        "source": "staff", "description": "来访反映", "lon": "113.034000", "lat": "22.459000", "anonymous": "on"})
    assert response.status_code == 302
    assert WorkOrder.objects.get().district == 440705


def test_intake_needs_a_district_or_position_and_a_hotline_number(login, desk):
    client, new = login("reg_officer"), reverse("complaints:new")
    response = client.post(new, {"source": "staff", "description": "来电"})
    assert response.status_code == 400 and "data-testid=\"error-district\"" in response.content.decode()
    response = client.post(new, {"source": "hotline", "description": "来电", "district": "440703"})
    assert response.status_code == 400 and "data-testid=\"error-external_id\"" in response.content.decode()
    assert not WorkOrder.objects.exists()
    assert client.post(new, {"source": "hotline", "description": "12345转办", "district": "440703",
                             "external_id": "JM-9"}).status_code == 302
    assert WorkOrder.objects.get().external_id == "JM-9"


def test_who_may_record_orders(login, desk):
    assert login("construction_admin").get(reverse("complaints:new")).status_code == 403
    hotline = login("hotline_client")
    form = hotline.get(reverse("complaints:new")).context["form"]
    assert [value for value, _label in form.fields["source"].choices] == ["hotline"]
    response = hotline.post(reverse("complaints:new"), {"source": "staff", "description": "x", "district": "440703"})
    assert response.status_code == 400 and not WorkOrder.objects.exists()


def test_a_unit_recording_an_order_it_will_not_handle_lands_on_its_queue(login, desk):
    client = login("street_officer")
    response = client.post(reverse("complaints:new"), {
        "source": "staff", "description": "居民来访反映堆放点满溢", "district": "440703", "anonymous": "on"},
        follow=True)
    order = WorkOrder.objects.get()
    assert response.redirect_chain[-1][0] == reverse("complaints:queue") and response.status_code == 200
    assert order.number in response.content.decode()  # the message names it
