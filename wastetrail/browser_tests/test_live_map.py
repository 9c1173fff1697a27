"""The live map and a vehicle's track in a real browser: trucks appear coloured by state over the
offline district base, follow a change of live state on the next refresh, open a popup with
their plate; a track draws its line and its doubtful points apart."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import log_in
from wastetrail.registry.models import Vehicle
from wastetrail.registry.tests.conftest import make_vin
from wastetrail.telemetry.records import PositionFlag
from wastetrail.telemetry.tests.test_pages_support import seed_live, seed_positions
from wastetrail.testing import build_cast

SHOTS = os.environ.get("WASTETRAIL_SHOTS")  # a directory: save pictures of the pages (for a look)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Places in Pengjiang, Jianghai and Xinhui (WGS-84 micro-degrees), apart enough to click each.
PLACES = [(22_610_000, 113_090_000), (22_540_000, 113_160_000), (22_450_000, 113_030_000)]


def trucks(company, count: int) -> list[Vehicle]:
    return [Vehicle.objects.create(plate=f"粤J8{n:04d}", vin=make_vin(800 + n), company=company,
                                   capacity_m3=Decimal("20")) for n in range(count)]


def open_live_map(page, live_server, username: str = "reg_admin") -> None:
    log_in(page, live_server, username)
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + reverse("live-map"))
    page.wait_for_selector("[data-testid=live-map][data-state=ready]")


def test_trucks_appear_by_state_follow_a_change_and_show_their_plate(page, live_server):
    cast = build_cast()
    moving, offline, flagged = trucks(cast.org("transport"), 3)
    seed_live(moving, lat_e6=PLACES[0][0], lon_e6=PLACES[0][1], speed_dkmh=400)
    seed_live(offline, lat_e6=PLACES[1][0], lon_e6=PLACES[1][1], online=False)
    seed_live(flagged, lat_e6=PLACES[2][0], lon_e6=PLACES[2][1], flags=int(PositionFlag.IMPOSSIBLE_JUMP))
    open_live_map(page, live_server)

    markers = page.locator("[data-testid=live-map] path.truck")
    expect(markers).to_have_count(3)
    states = {int(pk): state for pk, state in markers.evaluate_all(
        "paths => paths.map(p => [p.dataset.vehicleId, p.dataset.truckState])")}
    assert states == {moving.pk: "moving", offline.pk: "offline", flagged.pk: "alarm"}
    expect(page.locator("[data-testid=map-legend] [data-legend=offline]")).to_contain_text("(1)")
    # The base is the bundled districts: nothing fetched from a tile server (the fixture checks).
    expect(page.locator("path.district")).to_have_count(7)

    # The offline truck connects and drives off: the next refresh recolours and moves its marker.
    refreshes = int(page.locator("[data-testid=live-map]").get_attribute("data-refreshes"))
    before = page.locator(f"path.truck[data-vehicle-id='{offline.pk}']").get_attribute("d")
    seed_live(offline, lat_e6=PLACES[1][0] + 20_000, lon_e6=PLACES[1][1], speed_dkmh=350, online=True)
    expect(page.locator(f"path.truck[data-vehicle-id='{offline.pk}']")).to_have_attribute(
        "data-truck-state", "moving", timeout=20_000)
    assert int(page.locator("[data-testid=live-map]").get_attribute("data-refreshes")) > refreshes
    assert page.locator(f"path.truck[data-vehicle-id='{offline.pk}']").get_attribute("d") != before

    if SHOTS:
        page.screenshot(path=f"{SHOTS}/live.png")
    page.locator(f"path.truck[data-vehicle-id='{moving.pk}']").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator("[data-testid=popup-plate]")).to_have_text(moving.plate)
    expect(popup).to_contain_text(cast.org("transport").name)
    expect(popup.locator("[data-testid=popup-track]")).to_have_attribute(
        "href", reverse("vehicle-track", args=[moving.pk]))


def test_a_transport_company_sees_only_its_own_trucks(page, live_server):
    cast = build_cast()
    [mine] = trucks(cast.org("transport"), 1)
    [theirs] = [Vehicle.objects.create(plate="粤J90001", vin=make_vin(901), company=cast.org("transport_other"),
                                       capacity_m3=Decimal("20"))]
    seed_live(mine, lat_e6=PLACES[0][0], lon_e6=PLACES[0][1])
    seed_live(theirs, lat_e6=PLACES[1][0], lon_e6=PLACES[1][1])
    open_live_map(page, live_server, "transport_admin")
    expect(page.locator("path.truck")).to_have_count(1)
    expect(page.locator(f"path.truck[data-vehicle-id='{mine.pk}']")).to_have_count(1)


def test_the_track_page_draws_the_line_its_ends_and_the_doubtful_points_apart(page, live_server):
    cast = build_cast()
    [truck] = trucks(cast.org("transport"), 1)
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    seed_positions(truck, start, 90, step=dt.timedelta(seconds=30),
                   each=lambda i: {"flags": int(PositionFlag.IMPOSSIBLE_JUMP), "lat_e6": 22_700_000}
                   if i in (20, 21) else {})
    log_in(page, live_server, "reg_admin")
    page.wait_for_url(live_server.url + reverse("home"))
    local = timezone.localtime(start)
    period = f"from={local:%Y-%m-%dT%H:%M}&to={local + dt.timedelta(hours=1):%Y-%m-%dT%H:%M}"
    page.goto(live_server.url + reverse("vehicle-track", args=[truck.pk]) + "?" + period)
    page.wait_for_selector("[data-testid=track-map][data-state=ready]")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/track.png", full_page=True)
    line = page.locator("path.track-line")
    expect(line).to_have_count(1)
    expect(line).to_have_attribute("data-points", "88")
    expect(page.locator("path.track-flagged")).to_have_count(2)
    expect(page.locator(".track-start")).to_have_count(1)
    expect(page.locator(".track-finish")).to_have_count(1)
    expect(page.locator("[data-testid=track-summary]")).to_contain_text("90")
