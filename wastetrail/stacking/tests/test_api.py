"""The stacking API: the whole flow, 422/403/404/409, the public endpoint, constant queries."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.stacking import services
from wastetrail.stacking.models import StackingPoint
from wastetrail.stacking.tests.conftest import point_kwargs

pytestmark = pytest.mark.django_db
BASE = "/api/stacking"


def post(client, url: str, body: dict | None, auth: dict, method: str = "post"):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **auth)


def test_point_flow_through_the_api(client, cast, stacking, token_for, carrier_approval):
    pm = token_for("property_manager")
    created = post(client, f"{BASE}/points", {
        "area_id": stacking.area.pk, "name": "2号堆放点", "lon": "113.081", "lat": "22.601", "address": "2栋旁",
        "container_type": "container", "capacity_m3": "6", "opens_at": "07:00", "closes_at": "21:00",
        "open_days": "1,2,3,4,5,6"}, pm)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["code"].startswith("DP440703") and body["open_days"] == "123456"
    pk = body["id"]
    assert post(client, f"{BASE}/points/{pk}", {"name": "二号点"}, pm, "patch").json()["name"] == "二号点"
    report = post(client, f"{BASE}/points/{pk}/fill-reports", {"fill_percent": 100}, pm)
    assert report.status_code == 201
    collection = post(client, f"{BASE}/points/{pk}/collections", {"carrier_id": cast.org("transport").pk}, pm)
    assert collection.status_code == 201, collection.content
    cid = collection.json()["id"]
    again = post(client, f"{BASE}/points/{pk}/collections", {"carrier_id": cast.org("transport").pk}, pm)
    assert again.status_code == 409 and again.json()["code"] == "collection_open"
    carrier = token_for("transport_admin")
    assert [c["id"] for c in client.get(f"{BASE}/collections", **carrier).json()["items"]] == [cid]
    assert post(client, f"{BASE}/collections/{cid}/accept", None, carrier).json()["status"] == "accepted"
    history = client.get(f"{BASE}/points/{pk}/history", **token_for("housing_officer")).json()
    assert [c["id"] for c in history["collections"]] == [cid]
    assert "stacking.collection_accept" in {e["action"] for e in history["audit"]}
    cancelled = post(client, f"{BASE}/collections/{cid}/cancel", {"reason": "改期"}, pm)
    assert cancelled.json()["status"] == "cancelled"
    closed = post(client, f"{BASE}/points/{pk}/status", {"status": "closed", "reason": "施工"}, pm)
    assert closed.json()["status"] == "closed"


def test_api_errors_name_the_payload_fields_and_change_nothing(client, cast, stacking, token_for, carrier_approval):
    pm, housing = token_for("property_manager"), token_for("housing_officer")
    before = (StackingPoint.objects.count(), AuditEntry.objects.count())
    outside = post(client, f"{BASE}/points", {
        "area_id": stacking.area.pk, "name": "x", "lon": "116.4", "lat": "39.9", "address": "北京",
        "container_type": "container", "capacity_m3": "6", "opens_at": "07:00", "closes_at": "21:00"}, pm)
    assert outside.status_code == 422 and "location" in outside.json()["errors"]
    foreign = post(client, f"{BASE}/points", {
        "area_id": stacking.other_area.pk, "name": "x", "lon": "113.03", "lat": "22.46", "address": "新会",
        "container_type": "container", "capacity_m3": "6", "opens_at": "07:00", "closes_at": "21:00"}, pm)
    assert foreign.status_code == 422 and "area_id" in foreign.json()["errors"]  # not even visible
    assert client.get(f"{BASE}/points/{stacking.other_point.pk}", **pm).status_code == 404
    assert post(client, f"{BASE}/points/{stacking.other_point.pk}/fill-reports", {"fill_percent": 1},
                pm).status_code == 404
    assert post(client, f"{BASE}/points/{stacking.point.pk}/status", {"status": "full"}, housing).status_code == 403
    bad = post(client, f"{BASE}/points/{stacking.point.pk}/fill-reports", {"fill_percent": 150}, pm)
    assert bad.status_code == 422 and "fill_percent" in bad.json()["errors"]
    not_full = post(client, f"{BASE}/points/{stacking.point.pk}/collections",
                    {"carrier_id": cast.org("transport").pk}, pm)
    assert not_full.status_code == 409 and not_full.json()["code"] == "not_full_enough"
    assert (StackingPoint.objects.count(), AuditEntry.objects.count()) == before


def test_area_api(client, cast, stacking, token_for):
    street = token_for("street_officer")
    created = post(client, f"{BASE}/areas", {"name": "新区", "street_office_id": cast.org("street_office").pk,
                                             "lon": "113.085", "lat": "22.605", "address": "新区路"}, street)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    patched = post(client, f"{BASE}/areas/{pk}", {"property_manager_id": cast.org("property_manager").pk},
                   street, "patch")
    assert patched.json()["property_manager_id"] == cast.org("property_manager").pk
    refused = post(client, f"{BASE}/areas", {"name": "越权", "street_office_id": cast.org("street_office").pk,
                                             "lon": "113.085", "lat": "22.605", "address": "x"},
                   token_for("property_manager"))
    assert refused.status_code == 403


def test_public_points_need_no_login_and_give_no_personal_data(client, cast, stacking):
    response = client.get(f"{BASE}/public/points", {"lon": "113.08", "lat": "22.60"})
    assert response.status_code == 200
    body = response.json()
    assert [p["code"] for p in body][:2] == [stacking.point.code, stacking.bare_point.code]
    assert body[0]["distance_m"] < 5 and "manager_id" not in body[0] and "manager_name" not in body[0]
    in_xinhui = client.get(f"{BASE}/public/points", {"district": 440705}).json()
    assert [p["code"] for p in in_xinhui] == [stacking.other_point.code]
    assert client.get(f"{BASE}/public/points", {"lon": "113"}).status_code == 422
    assert client.get(f"{BASE}/points").status_code == 401


def test_lists_cost_the_same_queries_for_few_or_many(client, cast, stacking, token_for, carrier_approval):
    auth = token_for("reg_officer")
    client.get(f"{BASE}/points", **auth)  # warm-up: the token's first use updates it
    counts = {}
    for label in ("few", "many"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{BASE}/points", **auth).status_code == 200
            assert client.get(f"{BASE}/collections", **auth).status_code == 200
            assert client.get(f"{BASE}/areas", **auth).status_code == 200
            assert client.get(f"{BASE}/public/points", {"lon": 113.08, "lat": 22.6}).status_code == 200
        counts[label] = len(queries)
        pm = cast.actor("property_manager")
        for n in range(5):
            point = services.point_create(actor=pm, **point_kwargs(stacking.area, name=f"批量{n}",
                                                                   opens_at=dt.time(6, 0)))
            services.fill_report_create(actor=pm, point=point, fill_percent=100)
            services.collection_request_create(actor=pm, point=point, carrier=cast.org("transport"))
    assert counts["many"] == counts["few"]
