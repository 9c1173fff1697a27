"""Following a report with its number and code: the public history and answer, never the
complainant's details or staff notes; wrong codes lock the client and the number out for a
while; rating only after the number + code check in the same session."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from wastetrail.complaints import services
from wastetrail.complaints.models import Satisfaction, WorkOrder, WorkOrderSource, WorkOrderStatus
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT
from wastetrail.complaints.tests.test_public_support import NAME, PHONE, answer_by_staff

TRACK = reverse("public:track")


@pytest.fixture
def report(desk):
    """A named public report (order, code)."""
    return services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="河边有人倾倒建筑垃圾", lon=PENGJIANG_POINT[0],
        lat=PENGJIANG_POINT[1], complainant_name=NAME, complainant_phone=PHONE, address="白沙大道西",
        category=desk.category("illegal_dumping"))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def follow(client, number, code, **extra):
    return client.post(TRACK, {"number": number, "code": code}, **extra)


def test_number_and_code_open_the_public_view_of_the_order(client, desk, report):
    order, code = report
    response = follow(client, order.number.lower(), code)  # typed in lower case: still found
    assert response.status_code == 302 and response["Location"] == reverse("public:track-order", args=[order.number])
    page = client.get(response["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert order.number in text and "Received" in text and "河边有人倾倒建筑垃圾" in text
    assert code not in text


def test_the_public_view_shows_the_answer_but_never_the_complainant_or_staff_notes(client, desk, report):
    order, code = report
    answer_by_staff(desk, order)
    follow(client, order.number, code)
    text = client.get(reverse("public:track-order", args=[order.number])).content.decode()
    assert "已责令清理，现场已恢复" in text  # the answer
    assert "Answer due by" in text and "Dispatched" in text
    assert NAME not in text and PHONE not in text and PHONE[-4:] not in text
    assert "内部备注" not in text and "Classified" not in text  # handling note and staff-only steps


def test_a_wrong_code_finds_nothing_and_opens_nothing(client, desk, report):
    order, code = report
    response = follow(client, order.number, wrong(code))
    assert response.status_code == 404
    assert "No work order matches this tracking number and code." in response.content.decode()
    assert client.get(reverse("public:track-order", args=[order.number]))["Location"] == TRACK


def test_repeated_wrong_codes_lock_the_client_out_even_with_the_right_code(client, desk, report, settings):
    settings.PUBLIC_TRACK_FAILURES_PER_HOUR = 3
    order, code = report
    for _ in range(3):
        assert follow(client, order.number, wrong(code)).status_code == 404
    response = follow(client, order.number, code)
    assert response.status_code == 429
    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("public:track-order", args=[order.number])).status_code == 302


def test_guessing_one_number_from_many_addresses_locks_the_number(desk, report, settings):
    settings.PUBLIC_TRACK_FAILURES_PER_HOUR = 3
    order, code = report
    for n in range(3):
        assert follow(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), order.number, wrong(code)).status_code == 404
    assert follow(Client(REMOTE_ADDR="10.0.0.99"), order.number, code).status_code == 429


def test_guessing_many_numbers_from_one_address_locks_the_address(client, desk, report, settings):
    settings.PUBLIC_TRACK_FAILURES_PER_HOUR = 3
    order, code = report
    for n in range(3):
        assert follow(client, f"WO2026010100{n:03d}", "123456").status_code == 404
    assert follow(client, order.number, code).status_code == 429
    assert follow(Client(REMOTE_ADDR="10.9.9.9"), order.number, code).status_code == 302


def test_rating_needs_the_code_checked_in_this_session(client, desk, report):
    order, code = report
    answer_by_staff(desk, order)
    rate = reverse("public:track-rate", args=[order.number])
    response = client.post(rate, {"satisfaction": Satisfaction.SATISFIED})
    assert response.status_code == 302 and response["Location"] == TRACK
    order.refresh_from_db()
    assert order.satisfaction is None and order.status == WorkOrderStatus.ANSWERED

    follow(client, order.number, code)
    response = client.post(rate, {"satisfaction": Satisfaction.SATISFIED, "comment": "处理及时"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.satisfaction == Satisfaction.SATISFIED and order.status == WorkOrderStatus.CLOSED
    assert "You rated the answer" in client.get(response["Location"]).content.decode()


def test_dissatisfied_needs_a_comment_and_then_reopens_the_order(client, desk, report):
    order, code = report
    answer_by_staff(desk, order)
    follow(client, order.number, code)
    rate = reverse("public:track-rate", args=[order.number])
    response = client.post(rate, {"satisfaction": Satisfaction.DISSATISFIED})
    assert response.status_code == 400
    assert "Tell us what is still wrong" in response.content.decode()
    assert WorkOrder.objects.get(pk=order.pk).satisfaction is None
    assert client.post(rate, {"satisfaction": Satisfaction.DISSATISFIED, "comment": "垃圾还在"}).status_code == 302
    assert WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.DISPATCHED  # reopened


def test_an_order_not_yet_answered_offers_no_rating_and_refuses_one(client, desk, report):
    order, code = report
    follow(client, order.number, code)
    page = client.get(reverse("public:track-order", args=[order.number]))
    assert page.context["can_rate"] is False and "rate-form" not in page.content.decode()
    response = client.post(reverse("public:track-rate", args=[order.number]), {"satisfaction": 3})
    assert response.status_code == 409
    assert WorkOrder.objects.get(pk=order.pk).satisfaction is None


def test_the_verified_session_is_for_that_order_only(client, desk, report):
    order, code = report
    other, _other_code = services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="另一宗", lon=PENGJIANG_POINT[0],
        lat=PENGJIANG_POINT[1], anonymous=True)
    follow(client, order.number, code)
    assert client.get(reverse("public:track-order", args=[other.number]))["Location"] == TRACK
