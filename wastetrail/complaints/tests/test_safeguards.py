"""Safeguards found in review: what a sender calls a photo never decides how it is served; a
supervisor does not approve their own unit's extension; a round's pending request dies with it;
the deadline marks reach the unit; the SMS log keeps no code; IPv6 clients count per /64."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import Image

from wastetrail.complaints import services
from wastetrail.complaints.models import ExtensionStatus, WorkOrderPhoto, WorkOrderSource
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, local
from wastetrail.core import sms
from wastetrail.core.errors import DomainError
from wastetrail.core.ratelimit import client_key


def png_named(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buffer, "PNG")
    # A PNG that also carries a script after its end: browsers that sniff would run it as a page.
    return SimpleUploadedFile(name, buffer.getvalue() + b"<script>alert(1)</script>", content_type="text/html")


def dispatched(desk, **extra):
    order, _code = services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="偷倒", lon=PENGJIANG_POINT[0], lat=PENGJIANG_POINT[1],
        anonymous=True, category=desk.category("illegal_dumping"), now=local(2026, 11, 2), **extra)
    return services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=local(2026, 11, 2))


def test_a_photo_is_stored_and_served_as_the_image_it_decoded_as(desk, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = dispatched(desk, photos=[png_named("x.html")])
    photo = WorkOrderPhoto.objects.get(order=order)
    assert photo.file.name.endswith(".png") and "x.html" not in photo.file.name
    client.force_login(desk.cast.user("district_officer"))
    response = client.get(f"/workorders/{order.pk}/photos/{photo.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]


def test_a_supervisor_does_not_decide_an_extension_of_their_own_unit(desk):
    order = dispatched(desk)
    # Pengjiang's bureau handles the order and is also the district's regulator: its own
    # administrator must not approve what its staff asked for.
    admin = desk.cast.user("reg_admin")
    from wastetrail.accounts.models import Membership, Role

    Membership.objects.create(user=admin, organisation=order.unit, role=Role.ADMIN)
    extension = services.workorder_request_extension(actor=desk.actor("district_officer"), order=order,
                                                     working_days=3, reason="联合执法", now=local(2026, 11, 3))
    with pytest.raises(DomainError) as caught:
        services.workorder_decide_extension(actor=desk.actor("reg_admin"), extension=extension, approve=True)
    assert caught.value.code == "own_extension"
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING


def test_a_return_withdraws_the_units_pending_extension(desk):
    order = dispatched(desk)
    handler = desk.actor("district_officer")
    extension = services.workorder_request_extension(actor=handler, order=order, working_days=3, reason="核查",
                                                     now=local(2026, 11, 2))
    services.workorder_return(actor=handler, order=order, reason="属街道职责", now=local(2026, 11, 3))
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.REJECTED and extension.decision_note


def test_deadline_marks_are_texted_to_the_unit(desk, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "memory"
    sms.outbox.clear()
    unit = desk.cast.org("district_regulator")
    order = dispatched(desk)
    with django_capture_on_commit_callbacks(execute=True):
        services.workorders_mark_deadlines(now=local(2026, 11, 20))  # due Monday 23 November
    with django_capture_on_commit_callbacks(execute=True):
        services.workorders_mark_deadlines(now=local(2026, 11, 24))
    texts = [m.text for m in sms.outbox if m.phone == unit.contact_phone]
    assert len(texts) == 2 and all(order.number in text for text in texts) and "overdue" in texts[1]


def test_the_sms_log_keeps_neither_the_text_nor_the_number(caplog):
    with caplog.at_level(logging.INFO, logger="wastetrail.sms"):
        sms.LogBackend().send("13800138000", "Tracking number WO1, code 123456.")
    assert "123456" not in caplog.text and "13800138000" not in caplog.text


@pytest.mark.parametrize(("first", "second", "same"), [
    ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one subscriber's /64
    ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
    ("::ffff:203.0.113.5", "203.0.113.5", True),
    ("203.0.113.5", "203.0.113.6", False),
])
def test_clients_are_counted_per_address_and_ipv6_per_64(first, second, same):
    factory = RequestFactory()
    keys = [client_key(factory.get("/", REMOTE_ADDR=address)) for address in (first, second)]
    assert (keys[0] == keys[1]) is same
