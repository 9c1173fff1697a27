"""The stacking pages: lists, detail with history, the step forms, and that another property
manager gets 404/403 on every page of a point it does not run."""

from __future__ import annotations

import pytest

from wastetrail.accounts.models import User
from wastetrail.manifests.models import ManifestSource
from wastetrail.stacking.models import CollectionRequest, CollectionStatus, PointStatus, StackingPoint
from wastetrail.stacking.tests.conftest import make_full

pytestmark = pytest.mark.django_db


def login(client, cast, username):
    client.force_login(User.objects.get(username=username))
    return client


def test_home_links_for_each_role(client, cast):
    for username, link in (("property_manager", "/stacking/points/"), ("street_officer", "/stacking/areas/"),
                           ("housing_officer", "/stacking/points/"), ("reg_officer", "/stacking/points/"),
                           ("transport_admin", "/stacking/collections/")):
        body = login(client, cast, username).get("/").content.decode()
        assert f'href="{link}"' in body, username


def test_lists_and_detail_render(client, cast, stacking):
    login(client, cast, "property_manager")
    listing = client.get("/stacking/points/").content.decode()
    assert stacking.point.code in listing and stacking.other_point.code not in listing
    detail = client.get(f"/stacking/points/{stacking.point.pk}/")
    assert detail.status_code == 200 and "stacking.point_create" in detail.content.decode()
    assert client.get("/stacking/areas/").status_code == 200
    assert client.get(f"/stacking/areas/{stacking.area.pk}/").status_code == 200
    assert client.get("/stacking/points/new/").status_code == 200
    assert client.get(f"/stacking/points/{stacking.point.pk}/edit/").status_code == 200
    assert client.get("/stacking/collections/").status_code == 200


def test_another_manager_gets_nothing(client, cast, stacking):
    login(client, cast, "other_pm")
    pk = stacking.point.pk
    for url in (f"/stacking/points/{pk}/", f"/stacking/points/{pk}/edit/", f"/stacking/points/{pk}/status/",
                f"/stacking/points/{pk}/fill/", f"/stacking/points/{pk}/collect/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/stacking/points/{pk}/fill/", {"fill_percent": 100}).status_code == 404
    stacking.point.refresh_from_db()
    assert stacking.point.fill_percent == 0
    # The housing authority reads, but its step pages are refused.
    login(client, cast, "housing_officer")
    assert client.get(f"/stacking/points/{pk}/").status_code == 200
    assert client.get(f"/stacking/points/{pk}/fill/").status_code == 403


def test_create_point_and_steps_through_the_pages(client, cast, stacking, carrier_approval, decoration_site,
                                                  make_driver):
    login(client, cast, "property_manager")
    created = client.post("/stacking/points/new/", {
        "area": stacking.area.pk, "name": "页面点", "lon": "113.082", "lat": "22.602", "address": "3栋",
        "container_type": "bag_cage", "capacity_m3": "4", "opens_at": "08:00", "closes_at": "20:00",
        "open_days": "1234567"})
    assert created.status_code == 302, created.content.decode()[:2000]
    point = StackingPoint.objects.get(name="页面点")
    bad = client.post(f"/stacking/points/{point.pk}/status/", {"status": "closed", "reason": ""})
    assert bad.status_code == 400
    assert client.post(f"/stacking/points/{point.pk}/fill/", {"fill_percent": "100"}).status_code == 302
    point.refresh_from_db()
    assert point.status == PointStatus.FULL
    assert client.post(f"/stacking/points/{point.pk}/collect/",
                       {"carrier": cast.org("transport").pk}).status_code == 302
    collection = CollectionRequest.objects.get(point=point)
    login(client, cast, "transport_admin")
    assert "accept" in client.get("/stacking/collections/").content.decode()
    assert client.post(f"/stacking/collections/{collection.pk}/accept/").status_code == 302
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.ACCEPTED
    _approval, truck = carrier_approval
    driver = make_driver(user=cast.user("driver"))
    login(client, cast, "property_manager")
    page = client.get(f"/stacking/collections/{collection.pk}/manifest/")
    assert page.status_code == 200
    issued = client.post(f"/stacking/collections/{collection.pk}/manifest/",
                         {"vehicle": truck.pk, "driver": driver.pk, "site": decoration_site.pk})
    assert issued.status_code == 302, issued.content.decode()[:3000]
    collection.refresh_from_db()
    assert collection.manifest.source == ManifestSource.COLLECTION
    assert collection.manifest.number in client.get(f"/stacking/points/{point.pk}/").content.decode()


def test_point_detail_history_shows_fill_reports(client, cast, stacking):
    make_full(cast, stacking.point)
    body = login(client, cast, "reg_officer").get(f"/stacking/points/{stacking.point.pk}/").content.decode()
    assert "stacking.fill_report" in body
