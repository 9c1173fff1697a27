"""The plans API: drafts, nested quantities and streams, filing, discarding, version history;
422 / 403 / 404 / 409; constant queries for the list."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.plans.models import HandlingPlan, PlanStatus

pytestmark = pytest.mark.django_db


def send(client, method: str, url: str, body: dict | None, auth: dict):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **auth)


def draft_body(cast, project, site, **overrides) -> dict:
    return {
        "project_id": project.pk, "contact_name": "吴施工", "contact_phone": "13807500001",
        "reduction_measures": "分类", "pollution_control_measures": "喷淋", "reuse_rate_target": 55,
        "quantities": [{"category": "excavated_soil", "quantity_m3": 1000}],
        "streams": [{"category": "excavated_soil", "quantity_m3": 800, "carrier_id": cast.org("transport").pk,
                     "site_id": site.pk, "daily_start": "22:00", "daily_end": "06:00",
                     "valid_from": "2026-03-01", "valid_to": "2026-12-31", "route": "江门大道"}],
    } | overrides


def test_create_patch_file_and_revise_through_the_api(client, cast, project, site, token_for):
    auth = token_for("construction_staff")
    created = send(client, "post", "/api/plans", draft_body(cast, project, site), auth)
    assert created.status_code == 201, created.content
    plan = created.json()
    assert (plan["version"], plan["status"]) == (1, "draft")
    assert plan["quantities"][0]["quantity_t"] == 1800.0
    assert plan["receiving_sites"] == [{"id": site.pk, "name": site.name}]

    patched = send(client, "patch", f"/api/plans/{plan['id']}",
                   {"other_matters": "夜间运输", "quantities": [{"category": "excavated_soil", "quantity_t": 3600}]},
                   auth)
    assert patched.status_code == 200, patched.content
    assert patched.json()["quantities"][0]["quantity_m3"] == 2000.0 and len(patched.json()["streams"]) == 1

    filed = send(client, "post", f"/api/plans/{plan['id']}/file", None, auth)
    assert filed.status_code == 200 and filed.json()["status"] == "filed"
    assert filed.json()["construction_unit_uscc"] == cast.org("construction").uscc

    revision = send(client, "post", "/api/plans", {"project_id": project.pk}, auth)
    assert revision.status_code == 201 and revision.json()["version"] == 2
    assert revision.json()["streams"] == filed.json()["streams"]
    assert send(client, "post", f"/api/plans/{revision.json()['id']}/file", None, auth).status_code == 200

    history = client.get(f"/api/plans/projects/{project.pk}/plans", **auth).json()
    assert history["filed_version"] == 2
    assert [(v["version"], v["status"]) for v in history["versions"]] == [(2, "filed"), (1, "superseded")]


def test_discarding_a_draft_is_a_204(client, cast, project, site, token_for):
    auth = token_for("construction_admin")
    plan = send(client, "post", "/api/plans", draft_body(cast, project, site), auth).json()
    assert client.delete(f"/api/plans/{plan['id']}", **auth).status_code == 204
    assert not HandlingPlan.objects.exists()


def test_filing_problems_are_a_422_naming_the_fields(client, cast, project, site, token_for):
    auth = token_for("construction_admin")
    plan = send(client, "post", "/api/plans", draft_body(cast, project, site, contact_name="",
                                                         quantities=[]), auth).json()
    response = send(client, "post", f"/api/plans/{plan['id']}/file", None, auth)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"contact_name", "quantities", "streams"}
    assert HandlingPlan.objects.get(pk=plan["id"]).status == PlanStatus.DRAFT


def test_bad_input_is_a_422_and_writes_nothing(client, cast, project, site, token_for):
    auth = token_for("construction_admin")
    body = draft_body(cast, project, site)
    body["streams"][0]["site_id"] = 999999
    audit_rows = AuditEntry.objects.count()
    response = send(client, "post", "/api/plans", body, auth)
    assert response.status_code == 422 and "no such receiving site" in response.json()["errors"]["streams"][0]
    response = send(client, "post", "/api/plans", draft_body(cast, project, site, reuse_rate_target=101), auth)
    assert response.status_code == 422
    assert not HandlingPlan.objects.exists() and AuditEntry.objects.count() == audit_rows


def test_out_of_order_actions_are_a_409(client, cast, filed_plan, project, token_for):
    plan = filed_plan()
    auth = token_for("construction_admin")
    for response in (send(client, "patch", f"/api/plans/{plan.pk}", {"other_matters": "x"}, auth),
                     send(client, "post", f"/api/plans/{plan.pk}/file", None, auth),
                     client.delete(f"/api/plans/{plan.pk}", **auth)):
        assert response.status_code == 409 and response.json()["code"] == "plan_not_draft"
    send(client, "post", "/api/plans", {"project_id": project.pk}, auth)
    second = send(client, "post", "/api/plans", {"project_id": project.pk}, auth)
    assert second.status_code == 409 and second.json()["code"] == "draft_exists"


def test_a_reader_gets_403_and_an_outsider_404(client, cast, make_draft, project, token_for):
    plan = make_draft()
    officer = token_for("reg_officer")
    assert client.get(f"/api/plans/{plan.pk}", **officer).status_code == 200
    assert send(client, "patch", f"/api/plans/{plan.pk}", {"other_matters": "x"}, officer).status_code == 403
    assert send(client, "post", f"/api/plans/{plan.pk}/file", None, officer).status_code == 403
    assert send(client, "post", "/api/plans", {"project_id": project.pk}, token_for("reg_admin")).status_code == 403
    for username in ("outsider", "transport_admin"):
        auth = token_for(username)
        assert client.get(f"/api/plans/{plan.pk}", **auth).status_code == 404
        assert client.get(f"/api/plans/projects/{project.pk}/plans", **auth).status_code == 404
        assert send(client, "post", f"/api/plans/{plan.pk}/file", None, auth).status_code == 404
        assert send(client, "post", "/api/plans", {"project_id": project.pk}, auth).status_code == 404
        assert client.get("/api/plans", **auth).json()["count"] == 0
    assert HandlingPlan.objects.get(pk=plan.pk).is_draft


def test_the_list_costs_the_same_queries_for_one_plan_or_many(client, cast, make_project, make_site,
                                                               plan_parts, stream_row, token_for):
    from wastetrail.plans import services

    auth = token_for("reg_officer")

    def add_plans(count: int) -> None:
        for _ in range(count):
            project, site = make_project(), make_site()
            plan = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project,
                                              **plan_parts(streams=[stream_row(site=site)]))
            services.plan_file(actor=cast.actor("construction_admin"), plan=plan)

    add_plans(1)
    client.get("/api/plans", **auth)  # the token's first use records it; count what follows
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/plans", **auth).json()["count"] == 1
    add_plans(4)
    with CaptureQueriesContext(connection) as five:
        assert client.get("/api/plans", **auth).json()["count"] == 5
    assert len(five) == len(one)
