"""The public report form: a report with a map position and photos gets a tracking number and a
code shown once; every refusal says why and stores nothing (no order, no photo row, no file)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from wastetrail.complaints.models import WorkOrder, WorkOrderPhoto, WorkOrderSource, tracking_code_hash
from wastetrail.complaints.public.views import RECEIPT_SESSION_KEY
from wastetrail.complaints.tests.test_public_support import (  # noqa: F401 - fixtures
    NAME,
    PHONE,
    categories,
    files_under,
    jpeg_bytes,
    media,
    outbox,
    photo,
    report_data,
    stacking,
)
from wastetrail.core.ratelimit import keyed_hash

REPORT = reverse("public:report")


@pytest.fixture
def category(desk):
    return desk.category("illegal_dumping")


def post_report(client, category, files=(), **overrides):
    data = report_data(category=str(category.pk), **overrides)
    if files:
        data["photos"] = list(files)
    return client.post(REPORT, data)


def test_the_form_needs_no_login_and_offers_the_public_categories_only(client, desk):
    response = client.get(REPORT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Illegal dumping of construction waste" in page
    assert "Help with clearing construction waste" not in page  # not a public category
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page
    assert "no-store" in response["Cache-Control"]


def test_a_report_shows_number_and_code_once_and_texts_them(client, desk, category, media, outbox,  # noqa: F811
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_report(client, category, files=[photo(), photo("second.png", jpeg_bytes(80, 60))])
    assert response.status_code == 302 and response["Location"] == reverse("public:report-done")
    order = WorkOrder.objects.get()
    assert order.source == WorkOrderSource.PUBLIC and order.district == 440703
    assert order.complainant_phone == PHONE and order.photos.count() == 2
    assert order.client_key == keyed_hash("client", "127.0.0.1")  # a keyed hash, never the address
    assert len(files_under(media)) == 2

    done = client.get(response["Location"])
    assert "no-store" in done["Cache-Control"]
    number = done.context["receipt"]["number"]
    code = done.context["receipt"]["code"]
    assert number == order.number and order.tracking_code_hash == tracking_code_hash(number, code)
    page = done.content.decode()
    assert number in page and code in page and "text message" in page
    assert code not in response["Location"]
    assert [message.phone for message in outbox] == [PHONE] and code in outbox[0].text
    # Shown once: the session value is gone, a reload shows no code.
    assert RECEIPT_SESSION_KEY not in client.session
    again = client.get(reverse("public:report-done"))
    assert code not in again.content.decode() and again.context["receipt"] is None


def test_an_anonymous_report_needs_no_name_and_sends_no_text(client, desk, category, media, outbox,  # noqa: F811
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_report(client, category, anonymous="on", complainant_name="", complainant_phone="")
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.anonymous and not order.complainant_name and not order.complainant_phone
    assert outbox == []
    assert "no text message" in client.get(response["Location"]).content.decode()


def test_coming_from_a_stacking_point_fills_in_the_point_and_its_place(client, desk, stacking, media):  # noqa: F811
    point = stacking.point
    form = client.get(REPORT, {"point": point.pk}).context["form"]
    assert form.initial["stacking_point"] == point.pk
    assert (float(form.initial["lon"]), float(form.initial["lat"])) == (point.lon, point.lat)
    response = client.post(REPORT, report_data(category=str(desk.category("stacking_point_dirty").pk),
                                               stacking_point=str(point.pk), lon=form.initial["lon"],
                                               lat=form.initial["lat"]))
    assert response.status_code == 302
    assert WorkOrder.objects.get().stacking_point == point


TEXT_AS_JPEG = b"this is not a photo, only text with a .jpg name\n" * 20


@pytest.mark.parametrize(("case", "overrides", "files", "field", "message"), [
    ("oversized photo", {}, lambda: [photo("huge.jpg", b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024))],
     "photos", "Photo 1 is larger than 8 MB."),
    ("text renamed .jpg", {}, lambda: [photo("note.jpg", TEXT_AS_JPEG)], "photos",
     "Photo 1 is not a JPEG, PNG or WebP photo."),
    ("truncated JPEG", {}, lambda: [photo("cut.jpg", jpeg_bytes(400, 300)[:600])], "photos",
     "Photo 1 is damaged and cannot be opened."),
    ("seven photos", {}, lambda: [photo(f"p{n}.jpg") for n in range(7)], "photos", "Attach at most 6 photos."),
    ("no location", {"lon": "", "lat": ""}, list, "lon", "Mark the place on the map"),
    ("outside Jiangmen", {"lon": "116.397", "lat": "39.909"}, list, "lon", "The place is outside Jiangmen"),
    ("no mobile", {"complainant_phone": ""}, list, "complainant_phone", "11-digit mobile number"),
    ("no description", {"description": ""}, list, "description", "This field is required."),
])
def test_a_refused_report_says_why_and_stores_nothing(client, desk, category, media, outbox,  # noqa: F811
                                                      case, overrides, files, field, message):
    response = post_report(client, category, files=files(), **overrides)
    assert response.status_code == 400, case
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors, (case, response.context["form"].errors)
    assert message.split(":")[0] in response.content.decode().replace("&#x27;", "'")
    assert not WorkOrder.objects.exists() and not WorkOrderPhoto.objects.exists()
    assert files_under(media) == [] and outbox == []
    assert RECEIPT_SESSION_KEY not in client.session


def test_flooding_beyond_the_hourly_quota_is_refused_with_a_clear_message(client, desk, category, media, settings):  # noqa: F811
    settings.PUBLIC_REPORTS_PER_HOUR = 2
    for _ in range(2):
        assert post_report(client, category, files=[photo()]).status_code == 302
    response = post_report(client, category, files=[photo()])
    assert response.status_code == 429
    assert "Too many reports from this connection" in response.content.decode()
    assert WorkOrder.objects.count() == 2 and WorkOrderPhoto.objects.count() == 2 and len(files_under(media)) == 2
    # Another connection is not affected.
    assert post_report(Client(REMOTE_ADDR="10.1.2.3"), category).status_code == 302


def test_posting_the_form_over_and_over_is_refused_before_anything_is_read(client, desk, category, media, settings):  # noqa: F811
    settings.PUBLIC_REPORT_POSTS_PER_HOUR = 3
    for _ in range(3):
        assert post_report(client, category, lon="", lat="").status_code == 400
    response = post_report(client, category)  # valid, but the connection has used its attempts
    assert response.status_code == 429 and "Too many reports" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_a_request_over_the_size_limit_is_refused_unread(client, desk, category, media, settings):  # noqa: F811
    settings.PUBLIC_REPORT_MAX_BYTES = 20_000
    response = post_report(client, category, files=[photo("big.jpg", jpeg_bytes(1200, 900) + b"\0" * 30_000)])
    assert response.status_code == 413
    assert "The report is too large" in response.content.decode()
    assert not WorkOrder.objects.exists() and files_under(media) == []


def test_the_form_refuses_a_post_without_the_csrf_token(desk, category, media):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    response = client.post(REPORT, report_data(category=str(category.pk)))
    assert response.status_code == 403
    assert not WorkOrder.objects.exists()


def test_the_confirmation_never_shows_the_complainant(client, desk, category, media):  # noqa: F811
    response = post_report(client, category)
    page = client.get(response["Location"]).content.decode()
    assert NAME not in page and PHONE not in page
