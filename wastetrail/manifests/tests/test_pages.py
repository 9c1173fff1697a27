"""The manifest pages: each party's part of one load through the browser's HTTP (Django's client),
refusals shown on the form with nothing changed, the driver's phone page, the gate's lookup and
constant query counts on the list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.manifests.qr import manifest_qr_payload, number_from_scan

pytestmark = pytest.mark.django_db
ALL_DAY = (dt.time.min, dt.time.max)


def _login(client, cast, username):
    client.force_login(cast.user(username))
    return client


def _local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _issue_data(load, now, **overrides):
    return {"project": load.project.pk, "category": load.category.pk, "vehicle": load.vehicle.pk,
            "driver": load.driver.pk, "site": load.site.pk, "estimated_m3": "18",
            "planned_departure_at": _local_input(now)} | overrides


# --- issuing ---------------------------------------------------------------------------------
def test_the_construction_unit_issues_a_manifest_from_the_page(client, cast, make_ready_load, now):
    load = make_ready_load()
    _login(client, cast, "construction_staff")
    page = client.get(reverse("manifests-create"))
    assert page.status_code == 200
    assert load.vehicle.plate in page.content.decode()

    response = client.post(reverse("manifests-create"), _issue_data(load, now))

    manifest = Manifest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("manifests-detail", args=[manifest.pk])
    assert manifest.status == ManifestStatus.ISSUED and manifest.estimated_m3 == Decimal("18")
    assert manifest.signatures.get().signed_by == cast.user("construction_staff")


def test_a_refused_issue_shows_the_reason_and_writes_nothing(client, cast, make_ready_load, now):
    load = make_ready_load(file_plan=False)
    _login(client, cast, "construction_staff")
    audit_rows = AuditEntry.objects.count()

    response = client.post(reverse("manifests-create"), _issue_data(load, now))

    assert response.status_code == 400
    assert "no filed handling plan" in response.content.decode()
    assert not Manifest.objects.exists() and AuditEntry.objects.count() == audit_rows


def test_bad_quantity_lands_on_its_field(client, cast, make_ready_load, now):
    load = make_ready_load()
    _login(client, cast, "construction_staff")

    response = client.post(reverse("manifests-create"), _issue_data(load, now, estimated_m3="-3"))

    assert response.status_code == 400
    assert 'data-testid="error-estimated_m3"' in response.content.decode()
    assert not Manifest.objects.exists()


@pytest.mark.parametrize("username", ["transport_admin", "site_operator", "driver", "reg_officer"])
def test_only_a_construction_unit_may_open_the_issue_page(client, cast, username):
    _login(client, cast, username)
    assert client.get(reverse("manifests-create")).status_code == 403


# --- one load, party by party ----------------------------------------------------------------
def test_one_load_through_the_pages(client, cast, make_ready_load, issue):
    load = make_ready_load(extra_sites=1, window=ALL_DAY)  # the redirect leaves at the real time
    manifest = issue(load)
    detail = reverse("manifests-detail", args=[manifest.pk])

    # The driver departs from his phone page, giving his position.
    _login(client, cast, "driver")
    phone = client.get(reverse("manifests-driver")).content.decode()
    assert manifest.number in phone and reverse("manifests-qr", args=[manifest.pk]) in phone
    assert 'data-testid="depart"' in phone
    response = client.post(reverse("manifests-step", args=[manifest.pk, "depart"]),
                           {"next": "driver", "lon": "113.081901", "lat": "22.578700"})
    assert response["Location"] == reverse("manifests-driver")
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.DEPARTED
    transporter = manifest.signatures.get(step="transporter")
    assert (transporter.lon_e6, transporter.lat_e6) == (113_081_901, 22_578_700)
    assert 'data-testid="en-route"' in client.get(reverse("manifests-driver")).content.decode()

    # The receiving site finds it by the scanned QR code, records arrival and weighs.
    _login(client, cast, "site_operator")
    scanned = manifest_qr_payload(manifest.number, "http://testserver/")
    found = client.get(reverse("manifests-find"), {"number": scanned})
    assert found.status_code == 302 and found["Location"] == detail
    assert 'data-testid="step-arrive"' in client.get(detail).content.decode()
    client.post(reverse("manifests-step", args=[manifest.pk, "arrive"]))
    response = client.post(reverse("manifests-step", args=[manifest.pk, "receive"]), {
        "outcome": "partially_refused", "gross_t": "49.5", "tare_t": "18.5", "refused_quantity": "6",
        "reason": "混有生活垃圾"})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.PARTIALLY_REFUSED
    assert (manifest.net_t, manifest.accepted_quantity, manifest.refused_quantity) == (
        Decimal("31.00"), Decimal("25.00"), Decimal("6.00"))

    # Closing waits for the refused part's new destination.
    client.post(reverse("manifests-step", args=[manifest.pk, "close"]), follow=True)
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.PARTIALLY_REFUSED

    # The construction unit sends the refused part on; then the site closes.
    _login(client, cast, "construction_staff")
    response = client.post(reverse("manifests-step", args=[manifest.pk, "redirect"]), {"site": load.sites[1].pk})
    child = Manifest.objects.get(parent=manifest)
    assert response["Location"] == reverse("manifests-detail", args=[child.pk])
    _login(client, cast, "site_operator")
    client.post(reverse("manifests-step", args=[manifest.pk, "close"]))
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.CLOSED

    page = client.get(detail).content.decode()
    assert child.number in page and "混有生活垃圾" in page


def test_each_party_is_offered_only_its_own_steps(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    detail = reverse("manifests-detail", args=[manifest.pk])
    offered = {}
    for username in ("construction_staff", "transport_admin", "driver", "site_operator", "reg_officer"):
        page = _login(client, cast, username).get(detail).content.decode()
        offered[username] = {step for step in ("depart", "arrive", "receive", "close", "cancel", "amend", "redirect")
                             if f'data-testid="step-{step}"' in page}
    assert offered == {"construction_staff": {"cancel"}, "transport_admin": {"depart", "amend"},
                       "driver": {"depart"}, "site_operator": set(), "reg_officer": set()}


def test_a_party_cannot_take_another_partys_step(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "site_operator")
    assert client.post(reverse("manifests-step", args=[manifest.pk, "depart"])).status_code == 403
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.ISSUED


def test_a_step_out_of_order_is_refused_with_its_reason(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "site_operator")
    response = client.post(reverse("manifests-step", args=[manifest.pk, "arrive"]), follow=True)
    assert "Only a departed manifest can arrive" in response.content.decode()
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.ISSUED and manifest.arrived_at is None


def test_a_bad_weighing_lands_on_its_field_and_changes_nothing(client, cast, make_ready_load, arrived):
    manifest = arrived(make_ready_load())
    _login(client, cast, "site_operator")
    response = client.post(reverse("manifests-step", args=[manifest.pk, "receive"]), {
        "outcome": "partially_refused", "gross_t": "40", "tare_t": "18", "refused_quantity": "22", "reason": "x"})
    assert response.status_code == 400
    assert 'data-testid="error-refused_quantity"' in response.content.decode()
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.ARRIVED and manifest.received_quantity is None
    assert not manifest.signatures.filter(step="receiver").exists()


def test_cancelling_needs_a_reason(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "construction_staff")
    url = reverse("manifests-step", args=[manifest.pk, "cancel"])
    assert client.post(url, {"reason": ""}).status_code == 400
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.ISSUED
    client.post(url, {"reason": "暴雨停工"})
    manifest.refresh_from_db()
    assert manifest.status == ManifestStatus.CANCELLED and manifest.cancellation_reason == "暴雨停工"


def test_the_carrier_changes_the_driver_before_departure(client, cast, make_ready_load, make_driver, issue):
    manifest = issue(make_ready_load())
    other = make_driver()
    _login(client, cast, "transport_admin")
    response = client.post(reverse("manifests-step", args=[manifest.pk, "amend"]),
                           {"driver": other.pk, "route": manifest.route})
    assert response.status_code == 302
    manifest.refresh_from_db()
    assert manifest.driver == other


def test_unknown_steps_and_invisible_manifests_are_not_found(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "outsider")
    assert client.get(reverse("manifests-detail", args=[manifest.pk])).status_code == 404
    assert client.post(reverse("manifests-step", args=[manifest.pk, "cancel"]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("manifests-qr", args=[manifest.pk])).status_code == 404
    assert client.get(f"/manifests/{manifest.pk}/explode/").status_code == 404


# --- the gate and the QR code ----------------------------------------------------------------
def test_the_gate_finds_a_typed_number_in_any_case(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "site_operator")
    response = client.get(reverse("manifests-find"), {"number": f"  {manifest.number.lower()} "})
    assert response["Location"] == reverse("manifests-detail", args=[manifest.pk])


def test_the_gate_says_when_nothing_matches(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "transport_other_admin")  # not a party: the number must not leak
    response = client.get(reverse("manifests-find"), {"number": manifest.number})
    assert response.status_code == 404
    assert "No manifest" in response.content.decode()
    assert _login(client, cast, "site_operator").get(reverse("manifests-find"), {"number": ""}).status_code == 400


def test_the_qr_code_opens_the_manifest(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    _login(client, cast, "site_operator")
    svg = client.get(reverse("manifests-qr", args=[manifest.pk]))
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")
    payload = manifest_qr_payload(manifest.number, "https://wastetrail.example/")
    assert payload == f"https://wastetrail.example/manifests/n/{manifest.number}/"
    assert number_from_scan(payload) == manifest.number
    response = client.get(payload.removeprefix("https://wastetrail.example"))
    assert response["Location"] == reverse("manifests-detail", args=[manifest.pk])


def test_the_driver_page_without_a_trip(client, cast):
    page = _login(client, cast, "driver").get(reverse("manifests-driver")).content.decode()
    assert 'data-testid="no-trip"' in page


# --- the list --------------------------------------------------------------------------------
def test_the_list_shows_each_party_only_its_manifests(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    for username, sees in (("construction_staff", True), ("transport_admin", True), ("site_operator", True),
                           ("driver", True), ("reg_officer", True), ("outsider", False),
                           ("transport_other_admin", False)):
        page = _login(client, cast, username).get(reverse("manifests-list")).content.decode()
        assert (manifest.number in page) is sees, username


def test_the_list_filters_by_status_and_number(client, cast, make_ready_load, issue):
    first = issue(make_ready_load())
    second = issue(make_ready_load())
    services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=second, reason="停工")
    _login(client, cast, "reg_officer")
    page = client.get(reverse("manifests-list"), {"status": "cancelled"}).content.decode()
    assert second.number in page and first.number not in page
    page = client.get(reverse("manifests-list"), {"q": first.number[-6:]}).content.decode()
    assert first.number in page


def test_a_projects_page_links_to_its_manifests_only(client, cast, make_ready_load, issue):
    mine, other = issue(make_ready_load()), issue(make_ready_load())
    _login(client, cast, "reg_officer")
    project_page = client.get(reverse("projects-detail", args=[mine.project_id])).content.decode()
    link = f'{reverse("manifests-list")}?project={mine.project_id}'
    assert link in project_page
    page = client.get(link).content.decode()
    assert mine.number in page and other.number not in page
    site_page = client.get(reverse("sites-detail", args=[mine.site_id])).content.decode()
    assert f'{reverse("manifests-list")}?site={mine.site_id}' in site_page


def test_the_list_runs_a_constant_number_of_queries(client, cast, make_ready_load, issue):
    _login(client, cast, "reg_officer")
    issue(make_ready_load())
    client.get(reverse("manifests-list"))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("manifests-list"))
    for _ in range(4):
        issue(make_ready_load())
    with CaptureQueriesContext(connection) as five:
        client.get(reverse("manifests-list"))
    assert len(five) == len(one)


def test_the_detail_page_runs_a_constant_number_of_queries(client, cast, make_ready_load, arrived):
    load = make_ready_load()
    manifest = arrived(load)
    _login(client, cast, "site_operator")
    url = reverse("manifests-detail", args=[manifest.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest, outcome="accepted",
                              gross_t="40", tare_t="18")
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    # One more signature and one more history row must not cost more queries.
    assert len(after) == len(before)


def test_a_redirect_to_another_operators_site_is_not_shown_to_the_first_site(client, cast, make_ready_load,
                                                                            now, arrived):
    load = make_ready_load(extra_sites=1)
    refused = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                        outcome="refused", gross_t="40", tare_t="18", reason="含危险废物")
    child = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=refused,
                                       site=load.sites[1], now=now + dt.timedelta(hours=2))
    # Hand the second site to another operator (the issuing rules are not what this is about).
    other = cast.org("construction_other")
    Manifest.objects.filter(pk=child.pk).update(receiver=other)
    detail = reverse("manifests-detail", args=[refused.pk])
    assert child.number not in _login(client, cast, "site_operator").get(detail).content.decode()
    assert child.number in _login(client, cast, "reg_officer").get(detail).content.decode()
    assert child.number in _login(client, cast, "construction_staff").get(detail).content.decode()
