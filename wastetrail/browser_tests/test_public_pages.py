"""The public pages on a phone (390×844, touch, Chinese): a resident lets the browser share its
location and gets the nearest stacking points on the map and in the list; reports dumping with a
photo and a tap on the map, reads the tracking number and code, follows the report, and rates the
answer once the staff have given it. No page scrolls sideways at phone width."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import TIMEOUT_MS
from wastetrail.complaints.models import Satisfaction, WorkOrder, WorkOrderStatus
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, desk  # noqa: F401 - a fixture
from wastetrail.complaints.tests.test_public_support import (  # noqa: F401 - fixtures
    answer_by_staff,
    categories,
    jpeg_bytes,
    stacking,
)
from wastetrail.testing import build_cast

SHOTS = os.environ.get("WASTETRAIL_SHOTS")  # a directory: save pictures of the pages (for a look)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Standing a few metres from the 三巷 stacking point in Pengjiang (stacking fixture).
HERE = {"longitude": 113.0702, "latitude": 22.5803}


@pytest.fixture
def cast(transactional_db):
    return build_cast()


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized, touch, Chinese-locale page that has granted geolocation; script errors and
    requests to any other server fail the test (offline intranet, no tiles configured)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="zh-CN", timezone_id="Asia/Shanghai", geolocation=HERE,
                                  permissions=["geolocation"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors, foreign = [], []
    own = urlsplit(live_server.url).netloc
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: urlsplit(request.url).scheme in ("http", "https")
            and urlsplit(request.url).netloc != own and foreign.append(request.url))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"
    assert not foreign, f"the page fetched from outside the server: {foreign[:5]}"


def assert_fits_the_phone(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"


def test_a_resident_finds_the_nearest_open_points_from_the_phones_location(phone, live_server, stacking):  # noqa: F811
    phone.goto(live_server.url + reverse("public:points"))
    assert phone.locator("html").get_attribute("lang") == "zh-hans"
    assert_fits_the_phone(phone)
    phone.get_by_test_id("locate").click()
    phone.wait_for_url("**lon=*")
    expect(phone.locator("[data-testid=map][data-state=ready]")).to_have_count(1)
    cards = phone.get_by_test_id("point")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text("三巷堆放点")
    distances = [int(value) for value in cards.evaluate_all("nodes => nodes.map(n => n.dataset.distance)")]
    assert distances == sorted(distances) and distances[0] < 100
    expect(phone.locator("[data-testid=map] path.stacking-point")).to_have_count(3)
    expect(phone.locator("[data-testid=map] path.district")).to_have_count(7)
    assert_fits_the_phone(phone)
    if SHOTS:
        phone.screenshot(path=f"{SHOTS}/public-points.png", full_page=True)

    # Report the nearest one full from its card.
    cards.first.get_by_test_id("report-point").click()
    phone.locator("input[name=problem][value=full]").check()
    phone.get_by_test_id("fill-submit").click()
    expect(phone.get_by_test_id("fill-done")).to_be_visible()


def test_report_follow_and_rate_on_a_phone(phone, live_server, desk, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    phone.goto(live_server.url + reverse("public:report"))
    assert phone.locator("html").get_attribute("lang") == "zh-hans"
    expect(phone.get_by_text("偷倒乱倒建筑垃圾")).to_be_visible()  # categories in Chinese
    assert_fits_the_phone(phone)

    phone.get_by_text("偷倒乱倒建筑垃圾").click()
    map_box = phone.locator("[data-testid=map][data-state=ready]")
    expect(map_box).to_have_count(1)
    phone.get_by_test_id("locate").click()  # the phone's position, then a tap a little way off
    expect(map_box).to_have_attribute("data-picked", "113.070200,22.580300")
    map_box.scroll_into_view_if_needed()
    box = map_box.bounding_box()  # in the viewport, where the finger is
    phone.touchscreen.tap(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2)
    expect(map_box).not_to_have_attribute("data-picked", "113.070200,22.580300")
    picked = map_box.get_attribute("data-picked")
    lon, lat = (float(value) for value in picked.split(","))
    assert abs(lon - HERE["longitude"]) < 0.01 and abs(lat - HERE["latitude"]) < 0.01

    phone.fill("textarea[name=description]", "河边空地有人倾倒装修垃圾，约十袋")
    phone.fill("input[name=address]", "白沙大道西路口")
    phone.set_input_files("input[name=photos]", files=[
        {"name": "dump.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(320, 240)}])
    phone.fill("input[name=complainant_name]", "王小明")
    phone.fill("input[name=complainant_phone]", "13912345678")
    if SHOTS:
        phone.screenshot(path=f"{SHOTS}/public-report.png", full_page=True)
    phone.get_by_test_id("report-submit").click()

    phone.wait_for_url("**" + reverse("public:report-done"))
    number = phone.get_by_test_id("tracking-number").inner_text().strip()
    code = phone.get_by_test_id("tracking-code").inner_text().strip()
    assert code not in phone.url
    if SHOTS:
        phone.screenshot(path=f"{SHOTS}/public-received.png", full_page=True)
    assert_fits_the_phone(phone)
    order = WorkOrder.objects.get(number=number)
    assert order.photos.count() == 1 and (order.lon, order.lat) == (lon, lat)

    # Follow it from the tracking page, in a fresh session (as a resident days later).
    phone.context.clear_cookies()
    phone.goto(live_server.url + reverse("public:track"))
    phone.fill("input[name=number]", number)
    phone.fill("input[name=code]", code)
    phone.get_by_test_id("track-submit").click()
    expect(phone.locator("h1")).to_contain_text(number)
    expect(phone.get_by_test_id("history")).to_be_visible()
    assert "王小明" not in phone.content() and "13912345678" not in phone.content()
    expect(phone.get_by_test_id("rate-form")).to_have_count(0)

    answer_by_staff(desk, order, answer="已联系街道清理，现场已恢复")
    phone.reload()
    expect(phone.get_by_test_id("order-answer")).to_contain_text("已联系街道清理")
    if SHOTS:
        phone.screenshot(path=f"{SHOTS}/public-order.png", full_page=True)
    assert_fits_the_phone(phone)
    phone.locator(f"input[name=satisfaction][value='{Satisfaction.SATISFIED.value}']").check()
    phone.fill("textarea[name=comment]", "处理很快")
    phone.get_by_test_id("rate-submit").click()
    expect(phone.get_by_test_id("order-rated")).to_be_visible()
    order.refresh_from_db()
    assert order.satisfaction == Satisfaction.SATISFIED and order.status == WorkOrderStatus.CLOSED


def test_a_refused_location_leaves_a_clear_way_on(browser, live_server, stacking):  # noqa: F811
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("public:points"))
        page.get_by_test_id("locate").click()
        expect(page.get_by_test_id("locate-status")).not_to_be_empty()
        expect(page.get_by_test_id("locate-status")).not_to_contain_text("…")  # not still waiting
        assert "lon=" not in page.url
        # The district list works without the location.
        page.select_option("select[name=district]", "440705")
        page.locator("[data-testid=point-search] button[type=submit]").click()
        expect(page.get_by_test_id("point")).to_have_count(1)
        expect(page.get_by_test_id("point")).to_contain_text("名都堆放点")
        assert_fits_the_phone(page)
    finally:
        context.close()
