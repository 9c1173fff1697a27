"""The revision requests' API: a request, the others' approvals and the applied change with each
party's token; 422 / 409 / 403 / 404 that change nothing; the inbox; constant queries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest, ManifestRevisionRequest
from wastetrail.registry.models import ReceivingSite
from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def send(client, method: str, url: str, body: dict | None, auth: dict):
    if method == "get":
        return client.get(url, **auth)
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **auth)


def rows() -> tuple[int, int]:
    return ManifestRevisionRequest.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def received(cast, now, arrived):
    def make(load) -> Manifest:
        return services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="accepted", gross_t="30", tare_t="12",
                                         now=now + dt.timedelta(hours=2))

    return make


def test_the_site_revises_its_receipt_and_the_others_approve(client, cast, make_ready_load, received,
                                                             token_for):  # noqa: F811
    load = make_ready_load()
    manifest = received(load)
    site, emitter, carrier = (token_for("site_operator"), token_for("construction_staff"),
                              token_for("transport_admin"))
    base = f"/api/manifests/{manifest.pk}/revisions"

    created = send(client, "post", base, {
        "reason": "地磅读数录入错误",
        "changes": {"receipt": {"outcome": "partially_refused", "gross_t": "30", "tare_t": "12",
                                "refused_quantity": "3.6", "refusal_reason": "混有生活垃圾"}}}, site)
    assert created.status_code == 201, created.content
    body = created.json()
    rid = body["id"]
    assert body["status"] == "pending" and body["requested_step"] == "receiver"
    assert body["requested_organisation_id"] == cast.org("site_operator").pk
    assert body["requested_by"] == "site_operator" and body["manifest_number"] == manifest.number
    assert body["changes"]["outcome"] == "partially_refused" and body["previous"]["outcome"] == "accepted"
    assert body["changes"]["accepted_m3"] == "8.00" and body["previous"]["accepted_m3"] == "10.00"
    assert [org["id"] for org in body["waiting_for"]] == [cast.org("construction").pk, cast.org("transport").pk]
    assert body["decisions"] == []

    inbox = send(client, "get", "/api/revisions?waiting=true", None, carrier).json()
    assert [item["id"] for item in inbox["items"]] == [rid]
    assert send(client, "get", "/api/revisions?waiting=true", None, site).json()["items"] == []

    first = send(client, "post", f"{base}/{rid}/approve", {"comment": "同意"}, emitter)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "pending" and len(first.json()["waiting_for"]) == 1
    last = send(client, "post", f"{base}/{rid}/approve", {}, carrier)
    assert last.status_code == 200, last.content
    body = last.json()
    assert body["status"] == "approved" and body["waiting_for"] == []
    assert [(d["step"], d["verdict"], d["decided_by"]) for d in body["decisions"]] == [
        ("emitter", "approve", "construction_staff"), ("transporter", "approve", "transport_admin")]
    assert body["decisions"][0]["comment"] == "同意"

    detail = send(client, "get", f"/api/manifests/{manifest.pk}", None, emitter).json()
    assert detail["status"] == "partially_refused"
    assert detail["receipt"]["refused_quantity"] == 3.6 and detail["receipt"]["accepted_m3"] == 8.0
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("8.00")
    listed = send(client, "get", base, None, token_for("reg_officer"))
    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [rid]
    one = send(client, "get", f"{base}/{rid}", None, emitter)
    assert one.status_code == 200 and one.json()["status"] == "approved"


def test_refusal_and_cancellation_through_the_api(client, cast, make_ready_load, issue, token_for):  # noqa: F811
    manifest = issue(make_ready_load())
    emitter, carrier = token_for("construction_staff"), token_for("transport_admin")
    base = f"/api/manifests/{manifest.pk}/revisions"
    rid = send(client, "post", base, {"reason": "地址写错", "changes": {"emitter_address": "新地址"}},
               emitter).json()["id"]

    no_comment = send(client, "post", f"{base}/{rid}/refuse", {}, carrier)
    assert no_comment.status_code == 422 and "comment" in no_comment.json()["errors"]
    refused = send(client, "post", f"{base}/{rid}/refuse", {"comment": "地址无误"}, carrier)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert refused.json()["decisions"][0]["comment"] == "地址无误"
    assert Manifest.objects.get(pk=manifest.pk).emitter_address != "新地址"

    again = send(client, "post", f"{base}/{rid}/cancel", None, emitter)
    assert again.status_code == 409 and again.json()["code"] == "revision_not_pending"

    rid = send(client, "post", base, {"reason": "地址写错", "changes": {"emitter_address": "新地址"}},
               emitter).json()["id"]
    assert send(client, "post", f"{base}/{rid}/cancel", None, carrier).status_code == 403
    cancelled = send(client, "post", f"{base}/{rid}/cancel", None, emitter)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize("user,body,status,key", [
    ("construction_staff", {"reason": "x", "changes": {"status": "closed"}}, 422, "status"),
    ("construction_staff", {"reason": "", "changes": {"estimated_m3": "20"}}, 422, "reason"),
    ("construction_staff", {"reason": "x", "changes": {"estimated_m3": "-3"}}, 422, "estimated_m3"),
    ("construction_staff", {"reason": "x", "changes": {}}, 422, "changes"),
    ("transport_admin", {"reason": "x", "changes": {"route": "新路"}}, 409, "field_not_locked"),
    ("driver", {"reason": "x", "changes": {"estimated_m3": "20"}}, 403, None),
    ("reg_officer", {"reason": "x", "changes": {"estimated_m3": "20"}}, 403, None),
    ("outsider", {"reason": "x", "changes": {"estimated_m3": "20"}}, 404, None),
])
def test_refused_requests_say_why_and_write_nothing(client, make_ready_load, issue, token_for,  # noqa: F811
                                                    user, body, status, key):
    manifest = issue(make_ready_load())
    auth = token_for(user)
    before = rows()
    response = send(client, "post", f"/api/manifests/{manifest.pk}/revisions", body, auth)
    assert response.status_code == status, response.content
    if status == 422:
        assert key in response.json()["errors"]
    if status == 409:
        assert response.json()["code"] == key
    assert rows() == before


@pytest.mark.parametrize("changes,field", [
    ({"receipt": {"outcome": "refused", "gross_t": "30", "tare_t": "12", "refusal_reason": 5}}, "refusal_reason"),
    ({"receipt": {"outcome": "refused", "gross_t": "30", "tare_t": "12", "refusal_reason": ["超标"]}},
     "refusal_reason"),
])
def test_a_receipt_reason_that_is_not_text_is_a_422_that_changes_nothing(client, make_ready_load, received,
                                                                        token_for, changes, field):  # noqa: F811
    manifest = received(make_ready_load())
    auth = token_for("site_operator")
    before = rows()
    response = send(client, "post", f"/api/manifests/{manifest.pk}/revisions", {"reason": "x", "changes": changes},
                    auth)
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == {field: ["Give this as text."]}
    assert rows() == before
    stored = Manifest.objects.get(pk=manifest.pk)
    assert (stored.status, stored.refused_quantity, stored.refusal_reason) == ("accepted", Decimal("0.00"), "")


def test_text_fields_of_other_parties_that_are_not_text_are_a_422(client, make_ready_load, received,
                                                                  token_for):  # noqa: F811
    manifest = received(make_ready_load())
    auth = token_for("construction_staff")
    before = rows()
    for changes, field in (({"route": 7}, "route"), ({"emitter_address": {"a": 1}}, "emitter_address")):
        response = send(client, "post", f"/api/manifests/{manifest.pk}/revisions",
                        {"reason": "x", "changes": changes}, auth)
        assert response.status_code == 422 and field in response.json()["errors"], response.content
    assert rows() == before


def test_a_second_pending_request_is_a_conflict(client, make_ready_load, issue, token_for):  # noqa: F811
    manifest = issue(make_ready_load())
    auth = token_for("construction_staff")
    url = f"/api/manifests/{manifest.pk}/revisions"
    assert send(client, "post", url, {"reason": "x", "changes": {"emitter_address": "甲"}}, auth).status_code == 201
    before = rows()
    second = send(client, "post", url, {"reason": "y", "changes": {"disposal_method": "backfill"}}, auth)
    assert second.status_code == 409 and second.json()["code"] == "revision_pending"
    assert rows() == before


def test_deciding_errors(client, make_ready_load, issue, token_for):  # noqa: F811
    manifest = issue(make_ready_load())
    emitter, carrier = token_for("construction_staff"), token_for("transport_admin")
    base = f"/api/manifests/{manifest.pk}/revisions"
    rid = send(client, "post", base, {"reason": "x", "changes": {"emitter_address": "甲"}}, emitter).json()["id"]
    assert send(client, "post", f"{base}/{rid}/approve", {}, emitter).status_code == 403
    assert send(client, "post", f"{base}/{rid}/approve", {}, token_for("reg_officer")).status_code == 403
    assert send(client, "post", f"{base}/{rid}/approve", {}, token_for("outsider")).status_code == 404
    assert send(client, "post", f"{base}/{rid + 1}/approve", {}, carrier).status_code == 404
    assert send(client, "post", f"{base}/{rid}/approve", {}, carrier).status_code == 200
    twice = send(client, "post", f"{base}/{rid}/approve", {}, carrier)
    assert twice.status_code == 409 and twice.json()["code"] == "already_decided"
    # a request is only reachable under its own manifest
    other = issue(make_ready_load())
    assert send(client, "get", f"/api/manifests/{other.pk}/revisions/{rid}", None, emitter).status_code == 404


def test_the_inbox_runs_a_constant_number_of_queries(client, cast, make_ready_load, issue, token_for):  # noqa: F811
    auth = token_for("transport_admin")

    def ask_on_new_manifest():
        manifest = issue(make_ready_load())
        response = send(client, "post", f"/api/manifests/{manifest.pk}/revisions",
                        {"reason": "x", "changes": {"emitter_address": "甲"}}, token_for("construction_staff"))
        assert response.status_code == 201

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = send(client, "get", "/api/revisions?waiting=true", None, auth)
        assert response.status_code == 200
        return len(queries)

    ask_on_new_manifest()
    count()  # the token's first use is recorded once: not part of the list's cost
    one = count()
    # each ready load has its own truck, so the manifests do not wait for one another
    for _ in range(3):
        ask_on_new_manifest()
    assert send(client, "get", "/api/revisions?waiting=true", None, auth).json()["count"] == 4
    assert count() == one


def test_the_driver_and_the_regulator_read_the_requests_of_a_load(client, make_ready_load, issue,
                                                                   token_for):  # noqa: F811
    manifest = issue(make_ready_load())
    url = f"/api/manifests/{manifest.pk}/revisions"
    assert send(client, "get", url, None, token_for("driver")).json() == []
    send(client, "post", url, {"reason": "x", "changes": {"emitter_address": "甲"}}, token_for("construction_staff"))
    for user in ("driver", "reg_officer"):
        listed = send(client, "get", url, None, token_for(user))
        assert listed.status_code == 200 and [r["changes"] for r in listed.json()] == [{"emitter_address": "甲"}]
    assert send(client, "get", url, None, token_for("outsider")).status_code == 404
