"""The registry API: create, list, get and patch; 401/403/404/422; masking; constant queries."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.registry.models import Project, Vehicle
from wastetrail.registry.tests.conftest import id_number, make_vin, square

pytestmark = pytest.mark.django_db


def post(client, url: str, body: dict, auth: dict):
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def patch(client, url: str, body: dict, auth: dict):
    return client.patch(url, json.dumps(body), content_type="application/json", **auth)


# --- projects -------------------------------------------------------------------------------
def project_body(cast, **overrides) -> dict:
    return {
        "name": "江门滨江新城综合体", "code": "4407032026030001", "project_type": "new_build",
        "construction_unit_id": cast.org("construction").pk, "lon": 113.0781, "lat": 22.579,
        "planned_start": "2026-03-01", "planned_end": "2027-06-30",
        "estimates": [{"category": "excavated_soil", "quantity_m3": 12000}],
    } | overrides


def test_create_list_get_and_patch_a_project(client, cast, categories, token_for):
    auth = token_for("construction_admin")
    created = post(client, "/api/registry/projects", project_body(cast), auth)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["district"] == 440703 and body["district_name"] == "蓬江区"
    assert body["estimates"] == [{"category": "excavated_soil", "category_name": body["estimates"][0]["category_name"],
                                  "quantity_m3": 12000.0, "quantity_t": 21600.0}]
    listed = client.get("/api/registry/projects", **auth).json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]
    assert client.get(f"/api/registry/projects/{body['id']}", **auth).json()["code"] == "4407032026030001"
    patched = patch(client, f"/api/registry/projects/{body['id']}",
                    {"lon": 113.02, "lat": 22.5, "status": "under_construction"}, auth)
    assert patched.status_code == 200
    assert (patched.json()["district"], patched.json()["status"]) == (440705, "under_construction")


def test_a_location_outside_jiangmen_is_a_422_naming_the_field(client, cast, categories, token_for):
    auth = token_for("construction_admin")
    audit_rows = AuditEntry.objects.count()
    response = post(client, "/api/registry/projects", project_body(cast, lon=113.2644, lat=23.1291), auth)
    assert response.status_code == 422
    assert "outside Jiangmen" in response.json()["errors"]["location"][0]
    assert not Project.objects.exists() and AuditEntry.objects.count() == audit_rows


def test_errors_name_the_payload_fields(client, cast, categories, token_for):
    response = post(client, "/api/registry/projects", project_body(cast, owner_id=999999), token_for("reg_admin"))
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["owner_id"]


def test_another_companys_project_is_a_404_and_writing_for_it_a_403(client, cast, make_project, token_for):
    project = make_project()
    auth = token_for("outsider")
    assert client.get(f"/api/registry/projects/{project.pk}", **auth).status_code == 404
    assert patch(client, f"/api/registry/projects/{project.pk}", {"name": "x"}, auth).status_code == 404
    assert client.get("/api/registry/projects", **auth).json()["count"] == 0
    response = post(client, "/api/registry/projects", project_body(cast), auth)
    assert response.status_code == 403
    assert not Project.objects.filter(code="4407032026030001").exists()


def test_the_developer_reads_but_does_not_write(client, cast, make_project, token_for):
    project = make_project(owner=cast.org("developer"))
    auth = token_for("developer_admin")
    assert client.get(f"/api/registry/projects/{project.pk}", **auth).status_code == 200
    assert patch(client, f"/api/registry/projects/{project.pk}", {"name": "x"}, auth).status_code == 403


def test_requests_without_credentials_get_401(client, cast):
    assert client.get("/api/registry/projects").status_code == 401


# --- sites ----------------------------------------------------------------------------------
def test_create_and_patch_a_site(client, cast, categories, token_for):
    auth = token_for("site_operator")
    body = {"name": "江海区建筑废弃物消纳场", "kind": "disposal", "operator_id": cast.org("site_operator").pk,
            "boundary": square(113.1236, 22.5462), "capacity_m3": 800000,
            "accepted_categories": ["excavated_soil", "slurry"], "opens_at": "20:00", "closes_at": "06:00",
            "has_weighbridge": True, "weighbridge_name": "1号地磅"}
    created = post(client, "/api/registry/sites", body, auth)
    assert created.status_code == 201, created.content
    site = created.json()
    assert site["district"] == 440704 and site["accepted_categories"] == ["excavated_soil", "slurry"]
    assert site["centroid_lon"] == pytest.approx(113.1236) and site["boundary"]["type"] == "Polygon"
    bad = patch(client, f"/api/registry/sites/{site['id']}", {"used_capacity_m3": 900000}, auth)
    assert bad.status_code == 422 and "used_capacity_m3" in bad.json()["errors"]
    ok = patch(client, f"/api/registry/sites/{site['id']}", {"status": "stopped_accepting"}, auth)
    assert ok.json()["status"] == "stopped_accepting"
    # Public information: a driver sees it, and sees it on the map layer too.
    driver = token_for("driver")
    assert client.get(f"/api/registry/sites/{site['id']}", **driver).status_code == 200
    layer = client.get("/api/registry/map/sites", **driver).json()
    assert [f["id"] for f in layer["features"]] == [site["id"]]


def test_a_transport_company_cannot_register_a_site(client, cast, categories, token_for):
    body = {"name": "x", "kind": "transfer", "operator_id": cast.org("site_operator").pk,
            "boundary": square(113.1236, 22.5462), "capacity_m3": 1}
    assert post(client, "/api/registry/sites", body, token_for("transport_admin")).status_code == 403


# --- vehicles and terminals -----------------------------------------------------------------
def test_create_a_vehicle_and_fit_a_terminal(client, cast, token_for):
    auth = token_for("transport_admin")
    vehicle = post(client, "/api/registry/vehicles", {
        "plate": "粤J61234", "vin": make_vin(42), "company_id": cast.org("transport").pk,
        "capacity_m3": 18, "capacity_t": 30, "sealed_body_certified": True,
        "sealed_body_certificate_no": "JM-2026-001"}, auth)
    assert vehicle.status_code == 201, vehicle.content
    vehicle_id = vehicle.json()["id"]
    assert vehicle.json()["terminal_phone"] == ""
    terminal = post(client, "/api/registry/terminals", {
        "company_id": cast.org("transport").pk, "phone": "013800138000", "terminal_id": "JM00001"}, auth)
    assert terminal.status_code == 201, terminal.content
    bound = patch(client, f"/api/registry/terminals/{terminal.json()['id']}", {"vehicle_id": vehicle_id}, auth)
    assert bound.json()["vehicle_plate"] == "粤J61234" and bound.json()["registered"] is False
    assert "auth_code" not in bound.json()
    shown = client.get(f"/api/registry/vehicles/{vehicle_id}", **auth).json()
    assert (shown["terminal_phone"], shown["terminal_id"]) == ("13800138000", "JM00001")
    assert AuditEntry.objects.filter(action="terminal.bind").count() == 1


def test_a_bad_plate_is_a_422_on_plate(client, cast, token_for):
    response = post(client, "/api/registry/vehicles", {
        "plate": "粤J1234", "vin": make_vin(1), "company_id": cast.org("transport").pk, "capacity_t": 30},
        token_for("transport_admin"))
    assert response.status_code == 422
    assert "7 characters" in response.json()["errors"]["plate"][0]
    assert not Vehicle.objects.exists()


def test_vehicles_of_another_company_are_404_and_registering_for_it_403(client, cast, make_vehicle, token_for):
    theirs = make_vehicle(company=cast.org("transport_other"))
    auth = token_for("transport_admin")
    assert client.get(f"/api/registry/vehicles/{theirs.pk}", **auth).status_code == 404
    assert client.get("/api/registry/vehicles", **auth).json()["count"] == 0
    response = post(client, "/api/registry/vehicles", {
        "plate": "粤J61234", "vin": make_vin(3), "company_id": cast.org("transport_other").pk, "capacity_t": 30}, auth)
    assert response.status_code == 403


def test_a_terminal_cannot_be_bound_to_another_companys_truck(client, cast, make_vehicle, token_for):
    theirs = make_vehicle(company=cast.org("transport_other"))
    response = post(client, "/api/registry/terminals", {
        "company_id": cast.org("transport").pk, "phone": "13800138000", "terminal_id": "JM00001",
        "vehicle_id": theirs.pk}, token_for("transport_admin"))
    assert response.status_code == 422 and "vehicle_id" in response.json()["errors"]


# --- drivers --------------------------------------------------------------------------------
def test_drivers_come_back_masked_unless_the_caller_may_see_them(client, cast, token_for):
    body = {"company_id": cast.org("transport").pk, "name": "黄国华", "id_number": id_number(5),
            "phone": "13922225555", "licence_class": "A2"}
    created = post(client, "/api/registry/drivers", body, token_for("transport_admin"))
    assert created.status_code == 201, created.content
    assert created.json()["id_number"] == id_number(5) and created.json()["personal_data_masked"] is False
    seen_by_colleague = client.get(f"/api/registry/drivers/{created.json()['id']}", **token_for("driver")).json()
    assert seen_by_colleague["phone"] == "139****5555"
    assert seen_by_colleague["id_number"] == id_number(5)[:4] + "*" * 10 + id_number(5)[-4:]
    assert seen_by_colleague["personal_data_masked"] is True
    assert client.get(f"/api/registry/drivers/{created.json()['id']}", **token_for("outsider")).status_code == 404


def test_a_bad_id_number_is_a_422(client, cast, token_for):
    body = {"company_id": cast.org("transport").pk, "name": "黄国华", "id_number": "440703198501010036",
            "phone": "13922225555"}
    response = post(client, "/api/registry/drivers", body, token_for("transport_admin"))
    assert response.status_code == 422 and "id_number" in response.json()["errors"]


def test_every_registry_operation_is_in_the_openapi_document(client, cast):
    client.force_login(cast.user("reg_admin"))
    paths = client.get("/api/openapi.json").json()["paths"]
    for noun in ("projects", "sites", "vehicles", "terminals", "drivers"):
        assert set(paths[f"/api/registry/{noun}"]) == {"get", "post"}
        assert set(paths[f"/api/registry/{noun}/{{pk}}"]) == {"get", "patch"}
    assert "/api/registry/map/projects" in paths and "/api/registry/map/sites" in paths


# --- query counts ---------------------------------------------------------------------------
def count_queries(client, url: str, auth: dict) -> int:
    client.get(url, **auth)  # the first use of a token records it; measure the steady state
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **auth)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/api/registry/projects", "/api/registry/sites", "/api/registry/vehicles",
                                 "/api/registry/terminals", "/api/registry/drivers"])
def test_list_queries_do_not_grow_with_the_rows(client, cast, token_for, make_project, make_site,
                                                make_vehicle, make_driver, url):
    auth = token_for("reg_admin")

    def add_rows(n: int) -> None:
        from wastetrail.registry import services

        for _ in range(n):
            make_project(owner=cast.org("developer"), estimates=[{"category": "slurry", "quantity_m3": 5},
                                                                {"category": "excavated_soil", "quantity_m3": 5}])
            make_site()
            vehicle = make_vehicle()
            services.terminal_create(actor=cast.actor("reg_admin"), company=cast.org("transport"),
                                     phone=f"1450000{vehicle.pk:04d}", terminal_id=f"T{vehicle.pk}", vehicle=vehicle)
            make_driver(user=None)

    add_rows(1)
    few = count_queries(client, url, auth)
    add_rows(4)
    assert count_queries(client, url, auth) == few


def test_errors_never_name_organisations_or_people_the_caller_cannot_see(client, cast, categories, token_for):
    """Ids are guessable; a refusal must not turn them into a directory of other companies."""
    auth = token_for("construction_admin")
    for other in ("transport_other", "developer"):
        response = post(client, "/api/registry/projects",
                        project_body(cast, owner_id=cast.org(other).pk), auth)
        assert response.status_code == 422
        assert cast.org(other).name not in response.content.decode()
    body = {"company_id": cast.org("transport").pk, "name": "黄国华", "id_number": id_number(6),
            "phone": "13922226666", "user_id": cast.user("outsider").pk}
    response = post(client, "/api/registry/drivers", body, token_for("transport_admin"))
    assert response.status_code == 422
    assert cast.user("outsider").display_name not in response.content.decode()
    assert cast.org("construction_other").name not in response.content.decode()


def test_an_absurd_estimate_is_a_field_error_not_a_server_error(client, cast, categories, token_for):
    auth = token_for("construction_admin")
    body = project_body(cast, estimates=[{"category": "slurry", "quantity_m3": "1e30"}])
    response = post(client, "/api/registry/projects", body, auth)
    assert response.status_code == 422
    assert "estimates" in response.json()["errors"]
