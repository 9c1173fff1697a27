"""Registering a muck truck through the vehicle pages, in a real browser: a mistyped plate is
refused with a message on the plate field, the corrected one is saved and listed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import log_in
from wastetrail.registry.validators import vin_check_character
from wastetrail.testing import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def valid_vin() -> str:
    body = "LGAX3B1200P000321"
    return body[:8] + vin_check_character(body) + body[9:]


def test_transport_company_fixes_a_refused_plate_and_sees_the_vehicle_listed(page, live_server):
    cast = build_cast()
    log_in(page, live_server, "transport_admin")
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + reverse("vehicles-list"))
    page.click("[data-testid=create]")
    expect(page).to_have_url(live_server.url + reverse("vehicles-create"))

    # "O" is never used on plates (it reads as 0): a typical typing mistake.
    page.fill("#id_plate", "粤J1O345")
    page.fill("#id_vin", valid_vin())
    page.select_option("#id_company", label=cast.org("transport").name)
    page.fill("#id_capacity_m3", "20")
    page.fill("#id_capacity_t", "31")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=error-plate]")).to_be_visible()
    expect(page).to_have_url(live_server.url + reverse("vehicles-create"))
    # The other fields kept what was typed; only the plate needs fixing.
    expect(page.locator("#id_vin")).to_have_value(valid_vin())

    page.fill("#id_plate", "粤J10345")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=error-plate]")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text("粤J10345")
    page.goto(live_server.url + reverse("vehicles-list"))
    expect(page.locator("[data-testid=list]")).to_contain_text("粤J10345")
    expect(page.locator("[data-testid=list]")).to_contain_text(cast.org("transport").name)
