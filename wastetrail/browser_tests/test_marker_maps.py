"""The staff marker maps in a real browser: the stacking points a property manager runs, marked
by what they need, each popup leading to the point's page; and the open work orders for a
regulator (the two pages share frontend/src/markers.js)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import log_in
from wastetrail.complaints import services as complaint_services
from wastetrail.complaints.models import WorkOrderCategory, WorkOrderSource
from wastetrail.complaints.tests.conftest import PENGJIANG_POINT, desk  # noqa: F401 - a fixture
from wastetrail.registry.tests.conftest import categories  # noqa: F401 - a fixture
from wastetrail.stacking.tests.conftest import make_full, stacking  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_page(page, live_server, username: str, url: str, ready: str) -> None:
    log_in(page, live_server, username)
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + url)
    page.wait_for_selector(f"{ready}[data-state=ready]")


def test_a_property_manager_finds_its_full_point_on_the_map_and_opens_it(page, live_server, cast, stacking):  # noqa: F811
    make_full(cast, stacking.point)
    open_page(page, live_server, "property_manager", reverse("stacking-map"), "[data-testid=stacking-map]")
    markers = page.locator("[data-testid=stacking-map] .wo-marker[data-point-id]")
    # Its own point only: the street office's and the other manager's points are not its business.
    expect(markers).to_have_count(1)
    expect(markers.first).to_have_attribute("data-mark", "full")
    expect(page.locator("[data-testid=point-count]")).to_have_text("1")
    expect(page.locator("[data-testid=map-legend]")).to_contain_text("已满")
    expect(page.locator("path.district")).to_have_count(7)

    markers.first.click()
    popup = page.locator(f".map-popup[data-point-id='{stacking.point.pk}']")
    expect(popup).to_contain_text(stacking.point.name)
    expect(popup).to_contain_text("100 %")
    popup.locator("a.map-popup-link").click()
    page.wait_for_url(live_server.url + reverse("stacking-points-detail", args=[stacking.point.pk]))


def test_the_top_bar_leads_a_property_manager_to_its_points_and_marks_where_it_is(page, live_server, cast, stacking):  # noqa: F811
    log_in(page, live_server, "property_manager")
    page.wait_for_url(live_server.url + reverse("home"))
    bar = page.locator("nav.mainnav")
    expect(bar.locator(f'a[href="{reverse("approvals-queue")}"]')).to_have_count(0)
    expect(bar.locator(f'a[href="{reverse("approvals-list")}"]')).to_have_count(0)
    bar.get_by_role("link", name="堆放点").click()
    page.wait_for_url(live_server.url + reverse("stacking-points-list"))
    expect(bar.locator("a[aria-current=page]")).to_have_text("堆放点")
    page.get_by_test_id("heading-link").click()
    page.wait_for_selector("[data-testid=stacking-map][data-state=ready]")
    expect(page.locator(".wo-marker[data-point-id]")).to_have_count(1)
    expect(bar.locator("a[aria-current=page]")).to_have_text("堆放点")  # the map lies under the points


def test_a_regulator_sees_the_open_work_orders_on_the_map(page, live_server, desk):  # noqa: F811
    category = WorkOrderCategory.objects.get(code="illegal_dumping")
    order, _code = complaint_services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="倾倒建筑垃圾", lon=PENGJIANG_POINT[0],
        lat=PENGJIANG_POINT[1], anonymous=True, category=category)
    open_page(page, live_server, "reg_officer", reverse("complaints:map"), "[data-testid=orders-map]")
    markers = page.locator("[data-testid=orders-map] .wo-marker[data-order-id]")
    expect(markers).to_have_count(1)
    expect(page.locator("[data-testid=order-count]")).to_have_text("1")
    expect(markers.first).to_have_attribute("title", order.number)  # what staff search by
    markers.first.click()
    expect(page.locator(f".map-popup[data-order-id='{order.pk}']")).to_contain_text(order.number)
