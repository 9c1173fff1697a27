"""Receiving sites: the boundary checked with shapely, derived centre and district, capacity,
opening hours, who writes (the operator) and who sees (everybody logged in)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.registry import selectors, services
from wastetrail.registry.geometry import parse_site_boundary
from wastetrail.registry.models import ReceivingSite
from wastetrail.registry.tests.conftest import square
from wastetrail.testing import CAST_USERS

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int]:
    return ReceivingSite.objects.count(), AuditEntry.objects.count()


def test_centre_area_and_district_are_derived(make_site):
    site = make_site(at=(113.0781, 22.5790))
    assert site.district == 440703
    assert (site.centroid_lon_e6, site.centroid_lat_e6) == (113078100, 22579000)
    # 0.004° × 0.004° at 22.58° N ≈ 411 m × 445 m.
    assert 170_000 < site.area_m2 < 190_000
    assert sorted(c.code for c in site.accepted_categories.all()) == ["construction_waste", "excavated_soil"]


def test_the_boundary_is_stored_counter_clockwise_as_rfc_7946_asks():
    clockwise = square(113.0781, 22.5790)
    clockwise["coordinates"][0].reverse()
    stored = parse_site_boundary(clockwise).geojson
    ring = stored["coordinates"][0]
    signed_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))
    assert signed_area > 0


def test_a_feature_or_json_text_is_accepted():
    feature = {"type": "Feature", "properties": {}, "geometry": square(113.0781, 22.5790)}
    assert parse_site_boundary(json.dumps(feature)).district == 440703


def test_an_l_shaped_site_gets_a_centre_inside_it():
    # An L whose centroid would fall in the notch.
    ring = [[113.070, 22.570], [113.090, 22.570], [113.090, 22.572], [113.072, 22.572],
            [113.072, 22.590], [113.070, 22.590], [113.070, 22.570]]
    parsed = parse_site_boundary({"type": "Polygon", "coordinates": [ring]})
    from shapely.geometry import Point

    assert parsed.geometry.covers(Point(parsed.anchor_lon_e6 / 1e6, parsed.anchor_lat_e6 / 1e6))


@pytest.mark.parametrize(("boundary", "fragment"), [
    ("not json", "not valid GeoJSON"),
    ({"type": "Point", "coordinates": [113.07, 22.57]}, "must be a GeoJSON Polygon"),
    ({"type": "Polygon", "coordinates": [[[113.07, 22.57], [113.08]]]}, "malformed"),
    ({"type": "Polygon", "coordinates": [[[113.07, 22.57], [113.08, 22.58], [113.08, 22.57],
                                          [113.07, 22.58], [113.07, 22.57]]]}, "must not cross itself"),
    (square(113.2644, 23.1291), "outside Jiangmen"),
    (square(113.0781, 22.5790, half_side_deg=0.00002), "at least 100 m²"),
    (square(112.8, 22.3, half_side_deg=0.05), "km²"),
    (square(22.5790, 113.0781), "swapped"),
    ('{"type": "Polygon", "coordinates": [[[NaN, 22.57], [113.08, 22.57], [113.08, 22.58], [NaN, 22.57]]]}',
     "not a number"),
])
def test_bad_boundaries_are_field_errors_and_change_nothing(make_site, boundary, fragment):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_site(boundary=boundary)
    message = caught.value.message_dict["boundary"][0]
    assert fragment in message
    assert counts() == before


def test_a_site_straddling_the_city_boundary_is_accepted_for_the_district_holding_most_of_it(make_site):
    # At 22.70° N Pengjiang's eastern edge (the city's, towards Foshan) lies near 113.114° E: the first
    # square is two-thirds inside, the second entirely outside.
    site = make_site(boundary=square(113.112, 22.70, half_side_deg=0.003))
    assert site.district == 440703
    with pytest.raises(ValidationError):
        make_site(boundary=square(113.125, 22.70, half_side_deg=0.003))


def test_used_capacity_cannot_exceed_capacity(make_site):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_site(capacity_m3=Decimal("100"), used_capacity_m3=Decimal("101"))
    assert "used_capacity_m3" in caught.value.message_dict
    assert counts() == before


def test_opening_hours_come_in_pairs_and_may_run_overnight(make_site):
    with pytest.raises(ValidationError) as caught:
        make_site(opens_at=dt.time(20, 0))
    assert "closes_at" in caught.value.message_dict
    site = make_site(opens_at=dt.time(20, 0), closes_at=dt.time(6, 0))
    assert site.is_open_at(dt.time(23, 30)) and site.is_open_at(dt.time(5, 59))
    assert not site.is_open_at(dt.time(12, 0))
    assert "20:00–06:00" in site.opening_hours_display


def test_a_weighbridge_name_needs_a_weighbridge(make_site):
    with pytest.raises(ValidationError) as caught:
        make_site(has_weighbridge=False, weighbridge_name="1号地磅")
    assert "weighbridge_name" in caught.value.message_dict
    assert make_site(has_weighbridge=True, weighbridge_name="1号地磅").weighbridge_display == "1号地磅"


def test_an_unknown_category_is_a_field_error(make_site):
    with pytest.raises(ValidationError) as caught:
        make_site(accepted_categories=["household_waste"])
    assert "accepted_categories" in caught.value.message_dict


def test_the_operator_must_operate_sites(cast, make_site):
    with pytest.raises(ValidationError) as caught:
        make_site(operator=cast.org("transport"))
    assert "operator" in caught.value.message_dict


def test_creation_and_update_write_one_audit_row_each(cast, make_site):
    before = AuditEntry.objects.count()
    site = make_site(actor=cast.actor("site_operator"))
    assert AuditEntry.objects.count() == before + 1
    services.site_update(actor=cast.actor("site_operator"), site=site, used_capacity_m3=Decimal("1200.5"),
                         accepted_categories=["slurry"])
    entry = AuditEntry.objects.order_by("-seq").first()
    assert AuditEntry.objects.count() == before + 2
    assert entry.action == "site.update"
    assert entry.data["used_capacity_m3"] == ["0.00", "1200.5"]
    assert entry.data["accepted_categories"] == [["construction_waste", "excavated_soil"], ["slurry"]]


def test_redrawing_the_boundary_moves_centre_and_district(cast, make_site):
    site = make_site()
    services.site_update(actor=cast.actor("reg_admin"), site=site, boundary=square(113.02, 22.50))
    site.refresh_from_db()
    assert site.district == 440705 and site.centroid_lon_e6 == 113020000


@pytest.mark.parametrize("username", ["transport_admin", "construction_admin", "reg_officer", "district_officer"])
def test_only_operators_and_the_regulator_admin_write_sites(cast, make_site, username):
    with pytest.raises(PermissionDenied):
        make_site(actor=cast.actor(username))
    site = make_site()
    with pytest.raises(PermissionDenied):
        services.site_update(actor=cast.actor(username), site=site, name="改名")


@pytest.mark.parametrize("username", sorted(CAST_USERS))
def test_sites_are_public_to_every_logged_in_user(cast, make_site, username):
    near, far = make_site(at=(113.0781, 22.5790)), make_site(at=(112.80, 22.30))
    assert set(selectors.site_list(actor=cast.actor(username))) == {near, far}
    assert selectors.site_get(actor=cast.actor(username), pk=far.pk) == far


def test_sites_filter_by_category_kind_and_district(cast, make_site):
    soil = make_site()
    recycling = make_site(kind="recycling", accepted_categories=["demolition_waste"], at=(112.80, 22.30))
    actor = cast.actor("driver")
    assert list(selectors.site_list(actor=actor, category="demolition_waste")) == [recycling]
    assert list(selectors.site_list(actor=actor, kind="disposal")) == [soil]
    assert list(selectors.site_list(actor=actor, district=440703)) == [soil]


def test_the_map_layer_has_polygons_with_their_centres(cast, make_site):
    site = make_site()
    (feature,) = selectors.site_map_features(actor=cast.actor("driver"))["features"]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["centroid"] == [113.0781, 22.579]
    assert feature["properties"]["kind"] == "disposal"
    assert sorted(feature["properties"]["accepted_categories"]) == ["construction_waste", "excavated_soil"]
    assert feature["id"] == site.pk
