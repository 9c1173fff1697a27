"""The map page and its GeoJSON layer endpoints, without a browser (fast; not marked `browser`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from shapely.geometry import Point

from wastetrail.browser_tests.sample import build_sample_registry
from wastetrail.core.districts import DISTRICT_NAMES, districts
from wastetrail.registry import services

LAYERS = ("districts", "projects", "sites")


def layer_url(name: str) -> str:
    return reverse("map-layer", args=[name])


@pytest.fixture
def as_user(client, cast):
    def log_in(username: str):
        client.force_login(cast.user(username))
        return client

    return log_in


@pytest.mark.django_db
@pytest.mark.parametrize("name", LAYERS)
def test_layers_refuse_anonymous_requests_with_401_not_a_login_redirect(client, name):
    response = client.get(layer_url(name))
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_map_page_sends_anonymous_users_to_the_login_form(client):
    response = client.get(reverse("map"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_districts_layer_has_the_seven_districts_with_chinese_names_and_labels_inside(as_user):
    response = as_user("driver").get(layer_url("districts"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    features = response.json()["features"]
    assert len(features) == 7
    by_code = {feature["properties"]["adcode"]: feature for feature in features}
    assert set(by_code) == set(DISTRICT_NAMES)
    for district in districts():
        properties = by_code[district.adcode]["properties"]
        assert properties["name"] == DISTRICT_NAMES[district.adcode][0]
        assert properties["name_en"] == DISTRICT_NAMES[district.adcode][1]
        assert district.geometry.covers(Point(properties["label_point"])), district.name


def test_districts_layer_is_cacheable_privately_and_revalidates_with_its_etag(as_user):
    client = as_user("reg_officer")
    first = client.get(layer_url("districts"))
    cache_control = {part.strip() for part in first["Cache-Control"].split(",")}
    assert {"private", "max-age=86400"} <= cache_control
    assert first["ETag"]
    again = client.get(layer_url("districts"), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_unknown_layer_is_not_found(as_user):
    assert as_user("reg_admin").get(layer_url("roads")).status_code == 404


def test_projects_layer_gives_a_construction_unit_only_its_own_projects(as_user, cast):
    sample = build_sample_registry(cast)
    competitor = services.project_create(
        actor=cast.actor("reg_admin"), name="宏达厂区改造", code="4407052026-X1", project_type="renovation",
        construction_unit=cast.org("construction_other"), lon="113.0200", lat="22.5000",
        planned_start=dt.date(2026, 5, 1),
    )
    own_ids = {project.pk for project in sample.projects}

    def project_ids(username: str) -> set[int]:
        response = as_user(username).get(layer_url("projects"))
        assert response.status_code == 200
        assert "no-cache" in response["Cache-Control"]
        return {feature["properties"]["id"] for feature in response.json()["features"]}

    assert project_ids("construction_admin") == own_ids
    assert project_ids("outsider") == {competitor.pk}
    assert project_ids("reg_admin") == own_ids | {competitor.pk}
    assert project_ids("transport_admin") == set()


def test_projects_layer_features_are_wgs84_points_with_a_link_to_the_project(as_user, cast):
    project = build_sample_registry(cast).projects[0]
    features = as_user("reg_officer").get(layer_url("projects")).json()["features"]
    feature = next(f for f in features if f["properties"]["id"] == project.pk)
    assert feature["geometry"] == {"type": "Point", "coordinates": [project.lon, project.lat]}
    assert feature["properties"]["url"] == reverse("projects-detail", args=[project.pk])


def test_sites_layer_shows_every_site_as_a_polygon_with_its_kind(as_user, cast):
    sample = build_sample_registry(cast)
    features = as_user("transport_admin").get(layer_url("sites")).json()["features"]
    assert {f["properties"]["id"]: f["properties"]["kind"] for f in features} == {
        site.pk: site.kind for site in sample.sites
    }
    assert {f["geometry"]["type"] for f in features} == {"Polygon"}


def map_config(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="map-config" type="application/json">') + len(
        '<script id="map-config" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def test_map_page_configures_no_tiles_by_default_and_the_three_layer_urls(as_user):
    response = as_user("reg_officer").get(reverse("map"))
    assert response.status_code == 200
    config = map_config(response)
    assert config["tiles"]["url"] == ""
    assert config["layers"] == {name: layer_url(name) for name in LAYERS}
    assert {entry["value"] for entry in config["siteKinds"]} == {"disposal", "recycling", "transfer", "backfill"}


def test_map_page_passes_the_configured_tile_server_to_the_map(as_user, settings):
    settings.MAP_TILE_URL = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "市测绘院"
    config = map_config(as_user("reg_officer").get(reverse("map")))
    assert config["tiles"] == {"url": "https://tiles.example.gov.cn/{z}/{x}/{y}.png", "attribution": "市测绘院"}
