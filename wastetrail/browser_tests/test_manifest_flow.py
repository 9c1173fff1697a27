"""One whole load through the pages, in a real browser and in Chinese, each party logged in as
itself: the construction unit files its handling plan and applies for its emission approval,
the carrier and the receiving site apply for theirs, the regulator approves all three, the
construction unit issues the manifest, the driver departs from his phone (with his position),
the receiving site finds the load by its number, weighs it and refuses part of it, the
construction unit sends the refused part to another site, the first site closes the manifest and
downloads its ledger.

The registry (project, sites, truck, driver) is set up through the services: its pages have their
own browser tests. What is checked here is the paper trail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from wastetrail.browser_tests.conftest import log_in
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.plans.models import HandlingPlan, PlanStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
GATE = (113.0781, 22.5790)


def _as(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, username)
    page.wait_for_url(live_server.url + reverse("home"))


def _go(page, live_server, name: str, *args) -> None:
    page.goto(live_server.url + reverse(name, args=args))


def _transport_window() -> tuple[str, str]:
    """A daily window around the test's real time (crossing midnight is allowed)."""
    now = timezone.localtime()
    return (now - dt.timedelta(hours=1)).strftime("%H:%M"), (now + dt.timedelta(hours=2)).strftime("%H:%M")


def _file_plan(page, live_server, project, sites, carrier, category) -> None:
    _go(page, live_server, "plans-create")
    page.select_option("#id_project", str(project.pk))
    page.click("[data-testid=save]")
    page.click("[data-testid=edit]")
    page.fill("#id_contact_name", "吴施工")
    page.fill("#id_contact_phone", "13807500001")
    page.fill("#id_reduction_measures", "土方就地平衡，分类堆放，回填利用。")
    page.fill("#id_pollution_control_measures", "围挡、喷淋、车辆冲洗。")
    page.fill("#id_reuse_rate_target", "60")
    page.select_option("#id_quantities-0-category", category.code)
    page.fill("#id_quantities-0-quantity_m3", "10000")
    start, end = _transport_window()
    today = timezone.localdate()
    for row, site in enumerate(sites):
        prefix = f"#id_streams-{row}-"
        page.select_option(prefix + "category", category.code)
        page.fill(prefix + "quantity_m3", "4000")
        page.select_option(prefix + "carrier", str(carrier.pk))
        page.select_option(prefix + "site", str(site.pk))
        page.fill(prefix + "daily_start", start)
        page.fill(prefix + "daily_end", end)
        page.fill(prefix + "valid_from", f"{today - dt.timedelta(days=1):%Y-%m-%d}")
        page.fill(prefix + "valid_to", f"{today + dt.timedelta(days=90):%Y-%m-%d}")
        page.fill(prefix + "route", "滨江大道—江门大道—龙湾路")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=streams]")).to_contain_text(sites[1].name)
    page.click("[data-testid=file]")
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("已备案")


def _apply(page, live_server, kind: str, *, project=None, site=None) -> None:
    _go(page, live_server, "approvals-create")
    page.select_option("#id_kind", kind)
    if project is not None:
        page.select_option("#id_project", str(project.pk))
    if site is not None:
        page.select_option("#id_site", str(site.pk))
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=review-deadline]")).to_be_visible()


def _approve(page, live_server, approval: Approval, category, *, vehicles=(), sites=()) -> None:
    _go(page, live_server, "approvals-detail", approval.pk)
    page.click("[data-testid=decide-start_review]")
    page.click("[data-testid=decide-approve]")
    page.check(f"input[name=categories][value='{category.pk}']")
    for vehicle in vehicles:
        page.check(f"input[name=vehicles][value='{vehicle.pk}']")
    if sites:
        page.select_option("#id_sites", [str(site.pk) for site in sites])
    today = timezone.localdate()
    page.fill("#id_valid_from", f"{today - dt.timedelta(days=1):%Y-%m-%d}")
    page.fill("#id_valid_to", f"{today + dt.timedelta(days=180):%Y-%m-%d}")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=scope]")).to_be_visible()


def test_one_load_from_plan_to_closed_manifest_and_ledger(page, live_server, cast, categories, make_project,
                                                          make_site, make_truck, make_driver):
    soil = categories["excavated_soil"]
    project = make_project()
    first_site, second_site = make_site(), make_site()
    truck = make_truck()
    make_driver(user=cast.user("driver"))
    carrier = cast.org("transport")

    # The construction unit files its plan and applies for emission; the others apply too.
    _as(page, live_server, "construction_admin")
    _file_plan(page, live_server, project, [first_site, second_site], carrier, soil)
    _apply(page, live_server, ApprovalKind.EMISSION, project=project)
    _as(page, live_server, "transport_admin")
    _apply(page, live_server, ApprovalKind.TRANSPORT)
    _as(page, live_server, "site_operator")
    _apply(page, live_server, ApprovalKind.DISPOSAL, site=first_site)
    _apply(page, live_server, ApprovalKind.DISPOSAL, site=second_site)

    # The regulator grants them from the queue.
    _as(page, live_server, "reg_officer")
    _go(page, live_server, "approvals-queue")
    expect(page.locator("[data-testid=queue] tbody tr")).to_have_count(4)
    by_kind = {kind: list(Approval.objects.filter(kind=kind).order_by("pk")) for kind in ApprovalKind.values}
    _approve(page, live_server, by_kind[ApprovalKind.EMISSION][0], soil, sites=[first_site, second_site])
    _approve(page, live_server, by_kind[ApprovalKind.TRANSPORT][0], soil, vehicles=[truck])
    for approval in by_kind[ApprovalKind.DISPOSAL]:
        _approve(page, live_server, approval, soil)
    assert set(Approval.objects.values_list("status", flat=True)) == {ApprovalStatus.APPROVED}
    assert HandlingPlan.objects.get(project=project).status == PlanStatus.FILED

    # The construction unit issues the manifest for one truck load.
    _as(page, live_server, "construction_staff")
    _go(page, live_server, "manifests-list")
    page.click("[data-testid=create]")
    page.select_option("#id_project", str(project.pk))
    page.select_option("#id_category", str(soil.pk))
    page.select_option("#id_vehicle", str(truck.pk))
    page.select_option("#id_driver", index=1)
    page.select_option("#id_site", str(first_site.pk))
    page.fill("#id_estimated_m3", "18")
    page.click("[data-testid=save]")
    manifest = Manifest.objects.get()
    expect(page.locator("h1")).to_have_text(manifest.number)
    expect(page.locator("[data-testid=signatures] tbody tr")).to_have_count(1)

    # The driver departs from his phone, which shares its position.
    page.context.clear_cookies()
    log_in(page, live_server, "driver")
    page.wait_for_url(live_server.url + reverse("home"))
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"longitude": 113.0819, "latitude": 22.5787})
    _go(page, live_server, "manifests-driver")
    trip = page.locator("[data-testid=trip]")
    expect(trip).to_contain_text(manifest.number)
    expect(trip.locator("img[data-testid=qr]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    expect(trip.locator("input[name=lon]")).to_have_value("113.081900")
    trip.locator("[data-testid=depart]").click()
    expect(page.locator("[data-testid=en-route]")).to_be_visible()
    transporter = manifest.signatures.get(step="transporter")
    assert (transporter.lon_e6, transporter.lat_e6) == (113_081_900, 22_578_700)

    # The receiving site scans the number at the gate, records arrival, weighs, refuses part.
    _as(page, live_server, "site_operator")
    _go(page, live_server, "manifests-find")
    page.fill("#id_number", live_server.url + reverse("manifests-by-number", args=[manifest.number]))
    page.click("[data-testid=find]")
    expect(page.locator("h1")).to_have_text(manifest.number)
    page.click("[data-testid=step-arrive]")
    page.click("[data-testid=step-receive]")
    page.check("input[name=outcome][value=partially_refused]")
    page.fill("#id_gross_t", "49.5")
    page.fill("#id_tare_t", "18.5")
    page.fill("#id_refused_quantity", "40")  # more than the 31 t received: refused on the field
    page.fill("#id_reason", "混有生活垃圾")
    page.click("[data-testid=confirm]")
    expect(page.locator("[data-testid=error-refused_quantity]")).to_be_visible()
    page.fill("#id_refused_quantity", "6")
    page.click("[data-testid=confirm]")
    expect(page.locator("[data-testid=receipt] [data-testid=refused]")).to_contain_text("6.00")
    expect(page.locator("[data-testid=receipt] [data-testid=accepted]")).to_contain_text("25.00")
    # Closing must wait for the refused part's new destination.
    page.click("[data-testid=step-close]")
    expect(page.locator(".messages .error")).to_be_visible()

    # The construction unit sends the refused six tonnes to its second site.
    _as(page, live_server, "construction_staff")
    _go(page, live_server, "manifests-detail", manifest.pk)
    page.click("[data-testid=step-redirect]")
    page.select_option("#id_site", str(second_site.pk))
    page.click("[data-testid=confirm]")
    redirect = Manifest.objects.get(parent=manifest)
    expect(page.locator("h1")).to_have_text(redirect.number)

    # The first site closes the manifest and downloads its ledger.
    _as(page, live_server, "site_operator")
    _go(page, live_server, "manifests-detail", manifest.pk)
    page.click("[data-testid=step-close]")
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.CLOSED
    assert (manifest.accepted_quantity, manifest.refused_quantity) == (Decimal("25.00"), Decimal("6.00"))
    expect(page.locator("[data-testid=redirects]")).to_contain_text(redirect.number)

    _download_site_ledger(page, live_server, first_site, manifest)


def _download_site_ledger(page, live_server, site, manifest) -> None:
    _go(page, live_server, "ledgers")
    with page.expect_download() as csv_download:
        page.click(f"[data-testid=ledger-site-{site.pk}-csv]")
    text = open(csv_download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert any(manifest.number in row for row in rows)
    with page.expect_download() as xlsx_download:
        page.click(f"[data-testid=ledger-site-{site.pk}-xlsx]")
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    with open(xlsx_download.value.path(), "rb") as workbook:
        assert workbook.read(2) == b"PK"  # a zip: the xlsx container
