"""The manifests API: a whole lifecycle with each party's token, 422 / 409 / 403 / 404, the
lookup by number, and constant queries for the list."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wastetrail.core.audit.models import AuditEntry
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.registry.models import ReceivingSite
from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
BASE = "/api/manifests"


def send(client, method: str, url: str, body: dict | None, auth: dict):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **auth)


def issue_body(load, now, **overrides) -> dict:
    return {"project_id": load.project.pk, "category": load.category.code, "vehicle_id": load.vehicle.pk,
            "driver_id": load.driver.pk, "site_id": load.site.pk, "estimated_m3": 18,
            "planned_departure_at": now.isoformat()} | overrides


@pytest.fixture
def api_issue(client, token_for, now):  # noqa: F811
    def make(load, **overrides) -> dict:
        response = send(client, "post", BASE, issue_body(load, now, **overrides), token_for("construction_staff"))
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def api_arrived(client, token_for, api_issue):  # noqa: F811
    """Issued, departed by the driver and arrived at the gate, through the API."""

    def make(load) -> dict:
        pk = api_issue(load)["id"]
        assert send(client, "post", f"{BASE}/{pk}/depart", None, token_for("driver")).status_code == 200
        arrived = send(client, "post", f"{BASE}/{pk}/arrive", None, token_for("site_operator"))
        assert arrived.status_code == 200, arrived.content
        return arrived.json()

    return make


def test_a_whole_lifecycle_with_a_partial_refusal_and_a_redirect(client, cast, make_ready_load, token_for,  # noqa: F811
                                                                 now, monkeypatch):
    load = make_ready_load(extra_sites=1)
    emitter, carrier = token_for("construction_staff"), token_for("transport_admin")
    driver, site = token_for("driver"), token_for("site_operator")

    issued = send(client, "post", BASE, issue_body(load, now, lon="113.0781", lat="22.5790"), emitter)
    assert issued.status_code == 201, issued.content
    body = issued.json()
    pk, number = body["id"], body["number"]
    assert body["status"] == "issued" and number.startswith("JM")
    assert body["allowed_steps"] == ["cancel", "depart", "amend"]
    assert (body["emitter_id"], body["carrier_id"], body["receiver_id"]) == (
        cast.org("construction").pk, cast.org("transport").pk, cast.org("site_operator").pk)
    assert (body["vehicle_plate"], body["driver_id"], body["site_id"]) == (load.vehicle.plate, load.driver.pk,
                                                                         load.site.pk)
    assert (body["category"], body["estimated_m3"], body["estimated_t"]) == ("excavated_soil", 18.0, 32.4)
    assert body["route"] == "滨江大道—江门大道—龙湾路" and body["disposal_method"] == "disposal"
    assert body["emission_approval_id"] == load.emission.pk
    assert body["transport_approval_number"] == load.transport.number
    assert body["disposal_approval_id"] == load.disposal.pk
    assert body["receipt"] is None and body["issued_by"] == "construction_staff"
    [signature] = body["signatures"]
    assert (signature["step"], signature["organisation_id"], signature["lon"], signature["lat"]) == (
        "emitter", cast.org("construction").pk, 113.0781, 22.579)

    amended = send(client, "patch", f"{BASE}/{pk}", {"route": "江门大道"}, carrier)
    assert amended.status_code == 200 and amended.json()["route"] == "江门大道"
    departed = send(client, "post", f"{BASE}/{pk}/depart", {"lon": 113.08, "lat": 22.58}, driver).json()
    assert departed["status"] == "departed" and departed["departed_at"]

    # The site types the number it reads off the driver's phone.
    found = client.get(f"{BASE}/by-number/{number.lower()}", **site)
    assert found.status_code == 200 and found.json()["id"] == pk
    assert send(client, "post", f"{BASE}/{pk}/arrive", None, site).json()["status"] == "arrived"
    received = send(client, "post", f"{BASE}/{pk}/receive", {
        "outcome": "partially_refused", "gross_t": "45.60", "tare_t": 15, "refused_quantity": "10.60",
        "reason": "混有生活垃圾"}, site)
    assert received.status_code == 200, received.content
    body = received.json()
    assert body["status"] == "partially_refused"
    assert body["receipt"] | {"received_at": None} == {
        "received_at": None, "quantity_unit": "t", "gross_t": 45.6, "tare_t": 15.0, "net_t": 30.6,
        "received_m3": None, "received_quantity": 30.6, "accepted_quantity": 20.0, "refused_quantity": 10.6,
        "accepted_m3": 11.11, "refusal_reason": "混有生活垃圾"}
    assert [s["step"] for s in body["signatures"]] == ["emitter", "transporter", "receiver"]

    closing = send(client, "post", f"{BASE}/{pk}/close", None, site)
    assert closing.status_code == 409 and closing.json()["code"] == "needs_new_destination"

    other_site = load.sites[1]
    # A redirect leaves at once, so it must be inside the plan's 22:00–06:00 window: tonight.
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: now + dt.timedelta(hours=2))
        redirected = send(client, "post", f"{BASE}/{pk}/redirect", {"site_id": other_site.pk}, emitter)
    assert redirected.status_code == 201, redirected.content
    child = redirected.json()
    assert (child["status"], child["parent_id"], child["parent_number"]) == ("issued", pk, number)
    assert (child["site_id"], child["estimated_t"], child["vehicle_id"]) == (other_site.pk, 10.6, load.vehicle.pk)

    closed = send(client, "post", f"{BASE}/{pk}/close", None, site)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    signatures = client.get(f"{BASE}/{pk}/signatures", **token_for("reg_officer")).json()
    assert [(s["step"], s["signed_by"]) for s in signatures] == [
        ("emitter", "construction_staff"), ("transporter", "driver"), ("receiver", "site_operator")]
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("11.11")

    listed = client.get(BASE, {"project": load.project.pk, "status": "issued"}, **emitter).json()
    assert [m["id"] for m in listed["items"]] == [child["id"]]
    assert client.get(BASE, {"vehicle": load.vehicle.pk}, **emitter).json()["count"] == 2
    assert client.get(BASE, {"vehicle": load.vehicle.pk + 999}, **emitter).json()["count"] == 0


def test_cancel_through_the_api_needs_a_reason(client, make_ready_load, token_for, api_issue):  # noqa: F811
    pk = api_issue(make_ready_load())["id"]
    auth = token_for("construction_admin")
    response = send(client, "post", f"{BASE}/{pk}/cancel", {"reason": "  "}, auth)
    assert response.status_code == 422 and list(response.json()["errors"]) == ["reason"]
    cancelled = send(client, "post", f"{BASE}/{pk}/cancel", {"reason": "装车延误"}, auth).json()
    assert (cancelled["status"], cancelled["cancellation_reason"]) == ("cancelled", "装车延误")


@pytest.mark.parametrize("receipt,field", [
    ({"outcome": "accepted", "gross_t": 15, "tare_t": 20}, "tare_t"),
    ({"outcome": "accepted", "gross_t": -3, "tare_t": 1}, "gross_t"),
    ({"outcome": "accepted", "tare_t": 15}, "gross_t"),
    ({"outcome": "accepted", "volume_m3": 0}, "volume_m3"),
    ({"outcome": "partially_refused", "volume_m3": 10, "refused_quantity": 10, "reason": "x"}, "refused_quantity"),
    ({"outcome": "refused", "volume_m3": 10}, "reason"),
    ({"outcome": "lost", "volume_m3": 10}, "outcome"),
])
def test_bad_weights_are_a_422_naming_the_field_and_change_nothing(client, make_ready_load, token_for,  # noqa: F811
                                                                    api_arrived, receipt, field):
    pk = api_arrived(make_ready_load())["id"]
    auth = token_for("site_operator")
    audit_rows = AuditEntry.objects.count()
    response = send(client, "post", f"{BASE}/{pk}/receive", receipt, auth)
    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == [field]
    assert Manifest.objects.get(pk=pk).status == ManifestStatus.ARRIVED
    assert AuditEntry.objects.count() == audit_rows


def test_unknown_ids_are_a_422_naming_the_payload_field(client, make_ready_load, token_for, now):  # noqa: F811
    load = make_ready_load()
    auth = token_for("construction_staff")
    for override, field in (({"vehicle_id": 99999}, "vehicle_id"), ({"driver_id": 99999}, "driver_id"),
                            ({"site_id": 99999}, "site_id"), ({"project_id": 99999}, "project_id"),
                            ({"category": "gold"}, "category"), ({"estimated_m3": -1}, "estimated_m3")):
        response = send(client, "post", BASE, issue_body(load, now, **override), auth)
        assert response.status_code == 422, (override, response.content)
        assert list(response.json()["errors"]) == [field]
    assert not Manifest.objects.exists()


def test_an_issuing_check_is_a_409_with_its_code(client, make_ready_load, token_for, now):  # noqa: F811
    load = make_ready_load(file_plan=False)
    response = send(client, "post", BASE, issue_body(load, now), token_for("construction_staff"))
    assert response.status_code == 409 and response.json()["code"] == "no_filed_plan"
    assert "handling plan" in response.json()["detail"]
    assert not Manifest.objects.exists()


def test_an_out_of_order_step_is_a_409_with_a_reason(client, make_ready_load, token_for, api_issue):  # noqa: F811
    load = make_ready_load()
    pk = api_issue(load)["id"]
    site, emitter = token_for("site_operator"), token_for("construction_staff")
    audit_rows = AuditEntry.objects.count()
    for step, body in (("arrive", None), ("receive", {"outcome": "accepted", "volume_m3": 5}), ("close", None)):
        response = send(client, "post", f"{BASE}/{pk}/{step}", body, site)
        assert response.status_code == 409, (step, response.content)
        assert response.json()["code"] == "wrong_state" and "Issued" in response.json()["detail"]
    redirect = send(client, "post", f"{BASE}/{pk}/redirect", {"site_id": load.site.pk}, emitter)
    assert redirect.status_code == 409 and redirect.json()["code"] == "wrong_state"
    assert Manifest.objects.get(pk=pk).status == ManifestStatus.ISSUED
    assert AuditEntry.objects.count() == audit_rows


def test_the_wrong_party_gets_403(client, make_ready_load, token_for, now, api_issue):  # noqa: F811
    load = make_ready_load()
    # A regulator sees the project but does not issue; a party that cannot see it gets a 422 on project_id.
    assert send(client, "post", BASE, issue_body(load, now), token_for("reg_officer")).status_code == 403
    refused = send(client, "post", BASE, issue_body(load, now), token_for("transport_admin"))
    assert refused.status_code == 422 and list(refused.json()["errors"]) == ["project_id"]
    pk = api_issue(load)["id"]
    for username, method, step, body in (
        ("site_operator", "post", "depart", None),
        ("construction_staff", "post", "arrive", None),
        ("driver", "post", "cancel", {"reason": "x"}),
        ("construction_staff", "patch", "", {"route": "x"}),
        ("reg_officer", "post", "depart", None),
    ):
        url = f"{BASE}/{pk}/{step}" if step else f"{BASE}/{pk}"
        response = send(client, method, url, body, token_for(username))
        assert response.status_code == 403, (username, step, response.content)
    assert Manifest.objects.get(pk=pk).status == ManifestStatus.ISSUED


@pytest.mark.parametrize("username", ["outsider", "transport_other_admin", "developer_admin"])
def test_an_outsider_gets_404(client, make_ready_load, token_for, api_issue, username):  # noqa: F811
    manifest = api_issue(make_ready_load())
    pk, number = manifest["id"], manifest["number"]
    auth = token_for(username)
    assert client.get(f"{BASE}/{pk}", **auth).status_code == 404
    assert client.get(f"{BASE}/by-number/{number}", **auth).status_code == 404
    assert client.get(f"{BASE}/{pk}/signatures", **auth).status_code == 404
    for step, body in (("depart", None), ("cancel", {"reason": "x"}), ("arrive", None)):
        assert send(client, "post", f"{BASE}/{pk}/{step}", body, auth).status_code == 404
    assert client.get(BASE, **auth).json()["count"] == 0
    assert client.get(f"{BASE}/by-number/JM00000000000000", **token_for("reg_officer")).status_code == 404


def test_without_a_token_it_is_a_401(client):
    assert client.get(BASE).status_code == 401


def test_the_list_costs_the_same_queries_for_one_manifest_or_five(client, cast, make_ready_load, token_for,  # noqa: F811
                                                                  make_truck, api_issue, api_arrived):
    auth = token_for("reg_officer")
    load = make_ready_load()
    api_issue(load)
    client.get(BASE, **auth)  # the token's first use records it; count what follows
    with CaptureQueriesContext(connection) as one:
        assert client.get(BASE, **auth).json()["count"] == 1
    for _ in range(3):
        api_issue(make_ready_load(truck=make_truck()))
    manifest = api_arrived(make_ready_load(truck=make_truck()))
    send(client, "post", f"{BASE}/{manifest['id']}/receive", {"outcome": "accepted", "volume_m3": 12},
         token_for("site_operator"))
    with CaptureQueriesContext(connection) as five:
        body = client.get(BASE, **auth).json()
    assert body["count"] == 5
    assert sum(len(m["signatures"]) for m in body["items"]) == 7
    assert len(five) == len(one)


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "accepted", "gross_t": "heavy", "tare_t": 15.4}, "gross_t"),
    ({"gross_t": 40, "tare_t": 15.4}, "outcome"),
])
def test_a_payload_that_does_not_fit_the_schema_gets_the_same_error_shape(client, make_ready_load, token_for,  # noqa: F811
                                                                          api_arrived, body, field):
    pk = api_arrived(make_ready_load())["id"]
    auth = token_for("site_operator")
    audit_rows = AuditEntry.objects.count()
    response = send(client, "post", f"{BASE}/{pk}/receive", body, auth)
    assert response.status_code == 422
    assert response.json()["detail"] == "invalid input" and list(response.json()["errors"]) == [field]
    assert Manifest.objects.get(pk=pk).status == ManifestStatus.ARRIVED and AuditEntry.objects.count() == audit_rows
