"""Browser fixtures: Debian's Chromium, driven by Playwright's sync API, against `live_server`.

Playwright downloads its own browsers, which this project cannot do (no network but the package
registries), so it launches the Chromium that `apt-get install chromium` provides. CI installs it
(.ci/run); a developer without it gets these tests skipped, CI gets them failed.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from wastetrail.permits.tests.conftest import make_truck  # noqa: F401 - fixtures for the flows
from wastetrail.registry.tests.conftest import (  # noqa: F401
    categories,
    make_driver,
    make_project,
    make_site,
    make_vehicle,
)
from wastetrail.testing import CAST_PASSWORD, reload_rulebook_defaults

CHROMIUM = Path(os.environ.get("WASTETRAIL_CHROMIUM", "/usr/bin/chromium"))
# The background-networking switches stop Chromium's own calls home, which fail offline and fill
# the log with refused connections.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BUILD_DIR = settings.BASE_DIR / "static" / "build"
SCREENSHOTS_DIR = settings.PROJECT_DIR / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install it with `apt-get install chromium fonts-wqy-microhei`"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the browser tests)")
    pytest.skip(message)


def _require_front_end_build() -> None:
    if not (BUILD_DIR / "map.js").exists() or not (BUILD_DIR / "app.js").exists():
        pytest.fail(f"the front-end bundles are missing from {BUILD_DIR}: run `make setup` "
                    "(or `npm ci && node frontend/build.mjs`)")


@pytest.fixture
def browser(monkeypatch) -> Iterator:
    """One Chromium per test. Playwright's sync API runs an asyncio loop in this thread, which
    Django's ORM takes for async code; allow it for the test only (the live server runs in its
    own thread and is unaffected).

    While that loop runs, Django keeps this thread's database connections apart from the ones
    opened before it started, so close them before Playwright stops: otherwise a PostgreSQL
    session stays open and the test database cannot be dropped at the end.
    """
    _require_chromium()
    _require_front_end_build()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            connections.close_all()
            chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh page in a Chinese-locale browser (the product's default language). Uncaught
    script errors fail the test, and so does any request that leaves the live server: the
    pages must work on an offline intranet."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    script_errors: list[str] = []
    foreign_requests: list[str] = []
    # A test that fakes an outside server (a tile server, say) adds its host here.
    page.allowed_foreign_hosts = {urlsplit(live_server.url).netloc}

    def check_request(request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc not in page.allowed_foreign_hosts:
            foreign_requests.append(request.url)

    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("request", check_request)
    yield page
    context.close()
    assert not script_errors, f"script errors on the page: {script_errors}"
    assert not foreign_requests, f"the page fetched from outside the server: {foreign_requests[:5]}"


def log_in(page, live_server, username: str, password: str = CAST_PASSWORD) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login]")


def wait_for_map(page) -> None:
    """The map script sets data-state once every layer has been fetched and drawn."""
    page.wait_for_selector("[data-testid=map][data-state=ready]")


def solid_png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (229, 222, 206)) -> bytes:
    """A one-colour PNG (a stand-in map tile), written without an imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


@pytest.fixture(autouse=True)
def chinese_interface(settings):
    """Browser tests see the platform as its users do: in Simplified Chinese (the default)."""
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture(autouse=True)
def rulebook(transactional_db):
    """The rulebook a fresh database has: an earlier transactional test may have emptied it."""
    reload_rulebook_defaults()
