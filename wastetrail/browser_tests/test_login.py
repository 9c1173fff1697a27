"""Logging in through the login form, in a real browser."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import log_in
from wastetrail.testing import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_with_the_right_password_lands_on_the_home_page(page, live_server):
    build_cast()
    log_in(page, live_server, "reg_admin")
    expect(page).to_have_url(live_server.url + reverse("home"))
    expect(page.locator("h1")).to_contain_text("陈管理")
    expect(page.locator("[data-testid=home-section]").first).to_be_visible()


def test_login_with_a_wrong_password_stays_on_the_form_with_an_error(page, live_server):
    build_cast()
    log_in(page, live_server, "reg_admin", password="not-the-password")
    expect(page.locator("[data-testid=login-errors]")).to_be_visible()
    expect(page).to_have_url(live_server.url + reverse("accounts:login"))
    # Still anonymous: the map (login required) sends us back to the form.
    page.goto(live_server.url + reverse("map"))
    expect(page.locator("#id_username")).to_be_visible()
