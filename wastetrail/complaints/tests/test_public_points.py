"""The public finder and the pages around it: points nearest first (or by district and search
words) rendered without JavaScript, a resident's full/dirty report throttled per client, the
public district layer, the guide, Chinese by default, and the client key and limiter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from wastetrail.complaints.public.views import point_card
from wastetrail.complaints.tests.test_public_support import categories, stacking  # noqa: F401 - fixtures
from wastetrail.core.ratelimit import Limit, RateLimitCounter, client_key, keyed_hash
from wastetrail.stacking.models import FillReport, FillSource
from wastetrail.stacking.services import fill_report_create

POINTS = reverse("public:points")
NEAR_BARE_POINT = {"lon": "113.071", "lat": "22.581"}


def names(response) -> list[str]:
    return [card["name"] for card in response.context["cards"]]


def test_points_come_nearest_first_with_their_distance_and_state(client, stacking):  # noqa: F811
    response = client.get(POINTS, NEAR_BARE_POINT)
    assert response.status_code == 200
    assert names(response) == ["三巷堆放点", "1号堆放点", "名都堆放点"]
    distances = [card["distance_m"] for card in response.context["cards"]]
    assert distances == sorted(distances) and distances[0] < 200
    page = response.content.decode()
    assert 'data-testid="distance"' in page and "Opening hours" in page and "07:00–20:00, every day" in page
    assert "Fenced stacking area, 10 m³" in page and "Report it full or dirty" in page


def test_full_points_are_left_out_unless_asked_for(client, cast, stacking):  # noqa: F811
    fill_report_create(actor=cast.actor("street_officer"), point=stacking.bare_point, fill_percent=100)
    assert "三巷堆放点" not in names(client.get(POINTS, NEAR_BARE_POINT))
    response = client.get(POINTS, {**NEAR_BARE_POINT, "everything": "on"})
    card = response.context["cards"][0]
    assert card["name"] == "三巷堆放点" and card["status_label"] == "Full" and card["fill_percent"] == 100
    assert card["open_now"] is False


def test_a_district_or_words_find_points_without_a_location(client, stacking):  # noqa: F811
    assert names(client.get(POINTS, {"district": "440705"})) == ["名都堆放点"]
    assert names(client.get(POINTS, {"q": "碧桂"})) == ["1号堆放点"]  # the residential area's name
    assert names(client.get(POINTS, {"q": "三巷"})) == ["三巷堆放点"]  # the point's name and address
    response = client.get(POINTS, {"q": "没有这个地方"})
    assert names(response) == [] and 'data-testid="no-points"' in response.content.decode()
    assert "matched against the names and addresses" in response.content.decode()  # no geocoder, said so


def test_a_location_outside_jiangmen_still_lists_points_and_says_so(client, stacking):  # noqa: F811
    response = client.get(POINTS, {"lon": "116.397", "lat": "39.909"})
    assert response.context["outside"] is True and len(names(response)) == 3


def test_open_now_follows_the_hours_in_shanghai_time(stacking):  # noqa: F811
    monday = timezone.make_aware(dt.datetime(2026, 11, 30, 10, 0))
    assert point_card(stacking.point, None, monday)["open_now"] is True
    assert point_card(stacking.point, None, monday.replace(hour=21))["open_now"] is False


def test_a_resident_reports_a_point_full_once_and_is_throttled(client, stacking, settings):  # noqa: F811
    url = reverse("public:point-report", args=[stacking.point.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"problem": "full"})
    assert response.status_code == 200 and response.context["done"] is True
    report = FillReport.objects.get()
    assert report.source == FillSource.PUBLIC and report.fill_percent == 100
    assert report.client_key == keyed_hash("client", "127.0.0.1")
    again = client.post(url, {"problem": "dirty"})
    assert again.status_code == 409 and "a moment ago" in again.content.decode()
    settings.PUBLIC_FILL_REPORTS_PER_HOUR = 2
    flood = client.post(reverse("public:point-report", args=[stacking.bare_point.pk]), {"problem": "dirty"})
    assert flood.status_code == 429 and "Too many reports" in flood.content.decode()
    assert FillReport.objects.count() == 1


def test_a_dirty_report_keeps_the_fill_level_and_a_bad_choice_is_refused(client, stacking):  # noqa: F811
    url = reverse("public:point-report", args=[stacking.point.pk])
    assert client.post(url, {"problem": "burning"}).status_code == 400
    assert not FillReport.objects.exists()
    client.post(url, {"problem": "dirty", "note": "袋子堆在外面"})
    report = FillReport.objects.get()
    assert report.is_dirty and report.fill_percent == 0 and report.note == "袋子堆在外面"


def test_the_district_layer_is_public_and_cacheable(client):
    response = client.get(reverse("public:districts"))
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    assert len(response.json()["features"]) == 7 and "public" in response["Cache-Control"]


def test_the_guide_cites_article_15_and_names_what_stays_out(client):
    text = client.get(reverse("public:guide")).content.decode()
    assert "Art. 15" in text
    for words in ("bagged or boxed", "Broken tiles", "Plaster", "Wood offcuts", "Household waste",
                  "Hazardous waste", "fluorescent tubes", "batteries", "Bulky furniture", "Liquids"):
        assert words in text, words


@pytest.mark.parametrize("name", ["public:landing", "public:points", "public:guide", "public:report", "public:track"])
def test_public_pages_need_no_login_and_show_no_staff_navigation(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="viewport"' in text and reverse("set_language") in text
    assert reverse("map") not in text and reverse("accounts:logout") not in text


def test_the_pages_are_chinese_by_default(db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    from wastetrail.complaints.models import WorkOrderCategory

    WorkOrderCategory.objects.filter(code="illegal_dumping").update(public=True)
    text = Client().get(reverse("public:report")).content.decode()
    assert '<html lang="zh-hans">' in text and "偷倒乱倒建筑垃圾" in text
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("public:report")).content.decode()
    assert '<html lang="en">' in english and "Illegal dumping of construction waste" in english


# --- core.ratelimit ---------------------------------------------------------------------------
def test_the_client_key_ignores_forwarded_headers_unless_proxies_are_trusted(settings):
    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_key(spoofed) == keyed_hash("client", "10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 1
    # One trusted proxy: the client is the hop it appended (the last), not what the client wrote.
    assert client_key(spoofed) == keyed_hash("client", "203.0.113.9")
    assert client_key(factory.get("/", REMOTE_ADDR="10.0.0.1")) == keyed_hash("client", "10.0.0.1")
    assert "10.0.0.1" not in client_key(spoofed) and len(client_key(spoofed)) == 64


def test_the_limiter_counts_per_key_in_fixed_windows(db):
    limit = Limit("test", 2, 3600)
    start = timezone.make_aware(dt.datetime(2026, 11, 30, 10, 0))
    assert [limit.hit("a", start), limit.hit("a", start + dt.timedelta(minutes=5))] == [1, 2]
    assert limit.exceeded("a", start + dt.timedelta(minutes=59)) and not limit.exceeded("b", start)
    assert not limit.exceeded("a", start + dt.timedelta(hours=1))  # a new window
    assert limit.retry_at(start + dt.timedelta(minutes=30)) == start + dt.timedelta(hours=1)
    limit.hit("a", start + dt.timedelta(days=3))  # a new window clears windows days old
    assert RateLimitCounter.objects.count() == 1


def test_the_language_switch_works_without_an_account(db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client = Client()
    assert '<html lang="zh-hans">' in client.get(reverse("public:landing")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("public:landing")})
    assert response.status_code == 302 and response["Location"] == reverse("public:landing")
    assert '<html lang="en">' in client.get(reverse("public:landing")).content.decode()
