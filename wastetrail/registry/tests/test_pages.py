"""The registry pages: forms with field-level errors, scoped lists and details, masking,
and list pages whose query count does not grow with the rows."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wastetrail.core.audit.models import AuditEntry
from wastetrail.registry.models import Project, ReceivingSite, Vehicle
from wastetrail.registry.tests.conftest import id_number, make_vin, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, cast):
    def as_user(username: str):
        client.force_login(cast.user(username))
        return client

    return as_user


def vehicle_form(cast, **overrides) -> dict:
    return {
        "plate": "粤J61234", "plate_colour": "2", "vin": make_vin(61), "company": str(cast.org("transport").pk),
        "capacity_m3": "18", "capacity_t": "30", "sealed_body_certified": "on",
        "sealed_body_certificate_no": "JM-2026-001", "status": "active",
    } | overrides


def test_a_bad_plate_shows_on_the_plate_field_then_the_fixed_truck_is_listed(login, cast):
    client = login("transport_admin")
    page = client.get(reverse("vehicles-create"))
    assert page.status_code == 200 and 'id="id_plate"' in page.content.decode()
    refused = client.post(reverse("vehicles-create"), vehicle_form(cast, plate="粤JI2345"))
    html = refused.content.decode()
    assert refused.status_code == 400
    assert 'data-testid="error-plate"' in html and "I or O" in html
    assert not Vehicle.objects.exists()
    saved = client.post(reverse("vehicles-create"), vehicle_form(cast, plate="粤j 61234"))
    vehicle = Vehicle.objects.get()
    assert saved.status_code == 302 and saved.url == reverse("vehicles-detail", args=[vehicle.pk])
    assert vehicle.plate == "粤J61234"
    assert "粤J61234" in client.get(reverse("vehicles-list")).content.decode()


def test_the_vehicle_form_offers_only_the_actors_company_and_preselects_it(login, cast):
    html = login("transport_admin").get(reverse("vehicles-create")).content.decode()
    assert cast.org("transport").name in html and cast.org("transport_other").name not in html
    assert f'<option value="{cast.org("transport").pk}" selected>' in html


def test_choosing_another_company_is_refused_by_the_form(login, cast):
    response = login("transport_admin").post(
        reverse("vehicles-create"), vehicle_form(cast, company=str(cast.org("transport_other").pk)))
    assert response.status_code == 400 and 'data-testid="error-company"' in response.content.decode()
    assert not Vehicle.objects.exists()


def project_form(cast, **overrides) -> dict:
    return {
        "name": "滨江新城", "code": "P-2026-001", "project_type": "new_build", "status": "planned",
        "construction_unit": str(cast.org("construction").pk), "owner": "", "address": "蓬江区",
        "lon": "113.0781", "lat": "22.5790", "planned_start": "2026-03-01", "planned_end": "2027-06-30",
        "estimate_excavated_soil": "1000", "estimate_slurry": "",
    } | overrides


def test_a_project_is_registered_through_the_page_with_its_estimates(login, cast, categories):
    client = login("construction_staff")
    page = client.get(reverse("projects-create")).content.decode()
    assert 'id="id_lon"' in page and 'id="id_estimate_excavated_soil"' in page
    response = client.post(reverse("projects-create"), project_form(cast))
    project = Project.objects.get()
    assert response.status_code == 302
    assert project.district == 440703
    assert [(e.category.code, str(e.quantity_t)) for e in project.estimates.all()] == [("excavated_soil", "1800.00")]
    detail = client.get(reverse("projects-detail", args=[project.pk])).content.decode()
    assert "1800.00" in detail and "蓬江区" in detail


def test_a_point_outside_jiangmen_shows_on_the_longitude_field(login, cast, categories):
    response = login("construction_admin").post(reverse("projects-create"),
                                                project_form(cast, lon="113.2644", lat="23.1291"))
    html = response.content.decode()
    assert response.status_code == 400 and 'data-testid="error-lon"' in html and "outside Jiangmen" in html
    assert not Project.objects.exists()


def test_editing_a_project_keeps_one_audit_row_per_save(login, cast, make_project):
    project = make_project()
    client = login("construction_admin")
    form = client.get(reverse("projects-edit", args=[project.pk])).content.decode()
    assert 'value="113.078100"' in form
    before = AuditEntry.objects.count()
    data = project_form(cast, name="滨江新城（二期）", code=project.code)
    response = client.post(reverse("projects-edit", args=[project.pk]), data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "滨江新城（二期）"
    assert AuditEntry.objects.count() == before + 1


def test_an_outsider_gets_404_for_a_project_page_and_403_for_creating(login, cast, make_project):
    project = make_project()
    client = login("outsider")
    assert client.get(reverse("projects-detail", args=[project.pk])).status_code == 404
    assert client.get(reverse("projects-edit", args=[project.pk])).status_code == 404
    assert login("transport_admin").get(reverse("projects-create")).status_code == 403


def test_a_site_is_registered_with_a_geojson_boundary(login, cast, categories):
    client = login("site_operator")
    form = {
        "name": "鹤山市消纳场", "kind": "disposal", "status": "open", "operator": str(cast.org("site_operator").pk),
        "address": "鹤山市", "boundary": json.dumps(square(112.7776, 22.6643)),
        "accepted_categories": [str(categories["excavated_soil"].pk)], "capacity_m3": "300000",
        "used_capacity_m3": "0", "opens_at": "", "closes_at": "", "hours_note": "", "weighbridge_name": "",
        "licence_number": "",
    }
    bad = client.post(reverse("sites-create"), form | {"boundary": json.dumps(square(113.2644, 23.1291))})
    assert bad.status_code == 400 and 'data-testid="error-boundary"' in bad.content.decode()
    assert client.post(reverse("sites-create"), form).status_code == 302
    site = ReceivingSite.objects.get()
    assert site.district == 440784
    edit = client.get(reverse("sites-edit", args=[site.pk])).content.decode()
    assert "&quot;Polygon&quot;" in edit


def test_saving_an_unchanged_site_form_writes_no_audit_row(login, cast, make_site):
    site = make_site()
    client = login("site_operator")
    page = client.get(reverse("sites-edit", args=[site.pk]))
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    before = AuditEntry.objects.count()
    assert client.post(reverse("sites-edit", args=[site.pk]), data).status_code == 302
    assert AuditEntry.objects.count() == before


def test_driver_pages_mask_for_colleagues_and_show_in_full_to_the_company(login, cast, make_driver):
    driver = make_driver(id_number=id_number(9), phone="13922229999")
    masked = login("driver").get(reverse("drivers-list")).content.decode()
    assert "139****9999" in masked and "13922229999" not in masked and id_number(9) not in masked
    full = login("transport_admin").get(reverse("drivers-detail", args=[driver.pk])).content.decode()
    assert "13922229999" in full and id_number(9) in full


def test_the_vehicle_page_shows_its_terminal(login, cast, make_vehicle):
    from wastetrail.registry import services

    vehicle = make_vehicle()
    services.terminal_create(actor=cast.actor("reg_admin"), company=cast.org("transport"), phone="13800138000",
                             terminal_id="JM00001", vehicle=vehicle)
    html = login("transport_admin").get(reverse("vehicles-detail", args=[vehicle.pk])).content.decode()
    assert "13800138000" in html and "JM00001" in html
    assert reverse("vehicle-track", args=[vehicle.pk]) in html  # where its positions are drawn


@pytest.mark.parametrize("name", ["projects", "sites", "vehicles", "terminals", "drivers"])
def test_list_pages_run_a_constant_number_of_queries(login, cast, make_project, make_site, make_vehicle,
                                                     make_driver, name):
    from wastetrail.registry import services

    client = login("reg_admin")

    def add_rows(n: int) -> None:
        for _ in range(n):
            make_project(owner=cast.org("developer"), estimates=[{"category": "slurry", "quantity_m3": 5}])
            make_site()
            vehicle = make_vehicle()
            services.terminal_create(actor=cast.actor("reg_admin"), company=cast.org("transport"),
                                     phone=f"1450000{vehicle.pk:04d}", terminal_id=f"T{vehicle.pk}", vehicle=vehicle)
            make_driver(user=None)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(f"{name}-list")).status_code == 200
        return len(captured)

    add_rows(1)
    few = queries()
    add_rows(4)
    assert queries() == few


def test_a_construction_unit_edits_a_project_whose_owner_it_does_not_act_for(login, cast, make_project):
    """The regulator set the developer; the builder's edit form keeps it, and saving keeps it."""
    project = make_project(owner=cast.org("developer"))
    client = login("construction_admin")
    data = project_form(cast, name="滨江新城（三期）", code=project.code, owner=cast.org("developer").pk)
    response = client.post(reverse("projects-edit", args=[project.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    project.refresh_from_db()
    assert project.name == "滨江新城（三期）" and project.owner == cast.org("developer")
