"""The map page in a real browser: the districts drawn from the bundled GeoJSON with no tile
server, the registry's projects and sites on top, and a tile server when one is configured."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import SCREENSHOTS_DIR, log_in, solid_png, wait_for_map
from wastetrail.browser_tests.sample import build_sample_registry
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.registry import services
from wastetrail.testing import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADCODES = {str(code) for code in DISTRICT_NAMES}


def open_map(page, live_server, username: str = "reg_admin") -> None:
    log_in(page, live_server, username)
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + reverse("map"))
    wait_for_map(page)


def test_map_draws_the_seven_districts_with_their_chinese_names_without_a_tile_server(page, live_server):
    build_cast()
    open_map(page, live_server)
    districts = page.locator("[data-testid=map] path.district")
    expect(districts).to_have_count(7)
    assert set(districts.evaluate_all("paths => paths.map(p => p.dataset.adcode)")) == ADCODES
    labels = page.locator(".district-label").all_inner_texts()
    assert {label.strip() for label in labels} == {names[0] for names in DISTRICT_NAMES.values()}
    assert page.evaluate("window.wastetrailMap.counts") == {"districts": 7, "projects": 0, "sites": 0}
    # Offline: no tile layer at all (the page fixture also fails on any request off the server).
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    expect(page.locator("[data-testid=map-legend]")).to_be_visible()


def test_map_shows_projects_and_sites_and_saves_the_readme_screenshot(page, live_server):
    cast = build_cast()
    sample = build_sample_registry(cast)
    open_map(page, live_server)
    expect(page.locator("path.district")).to_have_count(7)
    expect(page.locator("path.project")).to_have_count(len(sample.projects))
    expect(page.locator("path.site")).to_have_count(len(sample.sites))
    # At city zoom a site's outline is a speck, so each also gets a marker at its centre.
    expect(page.locator(".site-marker")).to_have_count(len(sample.sites))
    assert page.evaluate("window.wastetrailMap.counts") == {
        "districts": 7, "projects": len(sample.projects), "sites": len(sample.sites),
    }
    # The README's picture: taken before any click, so no popup or pan changes the view.
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(SCREENSHOTS_DIR / "map.png"))

    first = sample.projects[0]
    page.locator(f"path.project[data-project-id='{first.pk}']").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(first.name)
    expect(popup.locator("a").first).to_have_attribute("href", reverse("projects-detail", args=[first.pk]))
    page.locator(".leaflet-popup-close-button").click()
    expect(popup).to_have_count(0)


def test_map_only_shows_the_projects_a_construction_unit_may_see(page, live_server):
    cast = build_cast()
    sample = build_sample_registry(cast)
    competitor = services.project_create(
        actor=cast.actor("reg_admin"), name="宏达厂区改造", code="4407052026-X1", project_type="renovation",
        construction_unit=cast.org("construction_other"), lon="113.0200", lat="22.5000",
        planned_start=dt.date(2026, 5, 1),
    )
    open_map(page, live_server, "construction_admin")
    expect(page.locator("path.project")).to_have_count(len(sample.projects))
    expect(page.locator(f"path.project[data-project-id='{competitor.pk}']")).to_have_count(0)


def test_map_draws_the_configured_tile_server_under_the_districts(page, live_server, settings):
    settings.MAP_TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "Example tiles"
    tile = solid_png()
    page.allowed_foreign_hosts.add("tiles.example.test")
    page.route("https://tiles.example.test/**", lambda route: route.fulfill(body=tile, content_type="image/png"))
    build_cast()
    open_map(page, live_server)
    expect(page.locator("path.district")).to_have_count(7)
    expect(page.locator("img.leaflet-tile-loaded").first).to_be_visible()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Example tiles")
    # The tiles can be switched off in the layer control, leaving the districts.
    page.locator(".leaflet-control-layers-overlays label").first.click()
    expect(page.locator("img.leaflet-tile")).to_have_count(0)
    expect(page.locator("path.district")).to_have_count(7)


def test_names_typed_by_companies_are_shown_as_text_never_run_as_markup(page, live_server):
    cast = build_cast()
    hostile = '<img src=x onerror="window.__injected=1">恶意项目'
    services.project_create(
        actor=cast.actor("construction_admin"), name=hostile, code="XSS-1", project_type="new_build",
        construction_unit=cast.org("construction"), lon="113.0781", lat="22.5790",
        planned_start=dt.date(2026, 3, 1),
    )
    open_map(page, live_server)
    page.locator("path.project").first.hover()
    tooltip = page.locator(".leaflet-tooltip:not(.district-label)")
    expect(tooltip).to_contain_text("<img src=x")
    page.locator("path.project").first.click()
    expect(page.locator(".map-popup-title")).to_contain_text("恶意项目")
    assert page.evaluate("window.__injected") is None
    assert page.locator(".leaflet-tooltip img, .map-popup img").count() == 0
