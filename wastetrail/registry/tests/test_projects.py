"""Projects: district from location, estimates in both units, who writes and who sees what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.registry import selectors, services
from wastetrail.registry.models import Project, ProjectCategoryEstimate
from wastetrail.registry.services import estimates_in_both_units
from wastetrail.registry.tests.conftest import GUANGZHOU, PENGJIANG, XINHUI

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int]:
    return Project.objects.count(), ProjectCategoryEstimate.objects.count(), AuditEntry.objects.count()


def test_the_district_is_derived_from_the_location(make_project):
    assert make_project(at=PENGJIANG).district == 440703
    assert make_project(at=XINHUI).district == 440705


def test_the_location_is_stored_in_micro_degrees(make_project):
    project = make_project(at=(Decimal("113.0781234"), Decimal("22.5790005")))
    assert (project.lon_e6, project.lat_e6) == (113078123, 22579001)
    assert project.lon == pytest.approx(113.078123)


def test_a_location_outside_jiangmen_is_refused_and_nothing_is_written(cast, make_project):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_project(at=GUANGZHOU, estimates=[{"category": "slurry", "quantity_m3": 10}])
    assert "outside Jiangmen" in caught.value.message_dict["location"][0]
    assert counts() == before


def test_swapped_coordinates_are_explained(make_project):
    with pytest.raises(ValidationError) as caught:
        make_project(at=(Decimal("22.5790"), Decimal("113.0781")))
    assert "swapped" in caught.value.message_dict["location"][0]


def test_moving_a_project_moves_its_district(cast, make_project):
    project = make_project(at=PENGJIANG)
    services.project_update(actor=cast.actor("construction_admin"), project=project, lon=XINHUI[0], lat=XINHUI[1])
    project.refresh_from_db()
    assert project.district == 440705
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.data["district"] == [440703, 440705]


def test_one_quantity_gives_the_other_by_the_category_density(make_project, categories):
    project = make_project(estimates=[
        {"category": "excavated_soil", "quantity_m3": "1000"},         # density 1.80
        {"category": categories["slurry"], "quantity_t": Decimal("260")},  # density 1.30
        {"category": "demolition_waste", "quantity_m3": 10, "quantity_t": 99},
    ])
    got = {e.category.code: (e.quantity_m3, e.quantity_t) for e in project.estimates.select_related("category")}
    assert got == {
        "excavated_soil": (Decimal("1000.00"), Decimal("1800.00")),
        "slurry": (Decimal("200.00"), Decimal("260.00")),
        "demolition_waste": (Decimal("10.00"), Decimal("99.00")),
    }


quantities = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
densities = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2.5"), places=2)


@given(quantities, densities)
def test_a_conversion_agrees_with_the_density_to_the_cent(quantity, density):
    category = WasteCategory(pk=1, code="c", name_zh="c", name_en="c", density_t_per_m3=density)
    ((m3, t),) = estimates_in_both_units([{"category": category, "quantity_m3": quantity}]).values()
    assert m3 == quantity and abs(t - m3 * density) <= Decimal("0.005")
    ((m3, t),) = estimates_in_both_units([{"category": category, "quantity_t": quantity}]).values()
    assert t == quantity and abs(m3 * density - t) <= Decimal("0.005") * density


@pytest.mark.parametrize(("estimates", "fragment"), [
    ([{"category": "asbestos", "quantity_m3": 1}], "Unknown waste category"),
    ([{"category": "slurry", "quantity_m3": 1}, {"category": "slurry", "quantity_t": 2}], "twice"),
    ([{"category": "slurry", "quantity_m3": -1}], "negative"),
    ([{"category": "slurry", "quantity_m3": "lots"}], "not a number"),
])
def test_bad_estimates_are_field_errors_and_change_nothing(make_project, estimates, fragment):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_project(estimates=estimates)
    assert fragment in caught.value.message_dict["estimates"][0]
    assert counts() == before


def test_an_update_replaces_the_estimates_and_records_the_change(cast, make_project):
    project = make_project(estimates=[{"category": "slurry", "quantity_m3": 100},
                                      {"category": "excavated_soil", "quantity_m3": 50}])
    before = AuditEntry.objects.count()
    services.project_update(actor=cast.actor("construction_staff"), project=project,
                            estimates=[{"category": "slurry", "quantity_m3": 120}])
    assert list(project.estimates.values_list("category__code", "quantity_m3")) == [("slurry", Decimal("120.00"))]
    entry = AuditEntry.objects.get(seq=before + 1)
    assert entry.action == "project.update"
    assert entry.data["estimates"][1] == {"slurry": ["120.00", "156.00"]}
    assert AuditEntry.objects.count() == before + 1


def test_a_retired_category_cannot_be_estimated_anew(make_project, categories):
    categories["decoration_waste"].is_active = False
    categories["decoration_waste"].save()
    with pytest.raises(ValidationError) as caught:
        make_project(estimates=[{"category": "decoration_waste", "quantity_m3": 1}])
    assert "no longer in use" in caught.value.message_dict["estimates"][0]


def test_the_end_cannot_precede_the_start(make_project):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        make_project(planned_start=dt.date(2026, 5, 1), planned_end=dt.date(2026, 4, 30))
    assert "planned_end" in caught.value.message_dict
    assert counts() == before


def test_a_duplicate_project_code_is_a_field_error(make_project):
    first = make_project()
    with pytest.raises(ValidationError) as caught:
        make_project(code=first.code)
    assert "code" in caught.value.message_dict


def test_the_construction_unit_must_be_one(cast, make_project):
    with pytest.raises(ValidationError) as caught:
        make_project(construction_unit=cast.org("transport"))
    assert "construction_unit" in caught.value.message_dict


def test_creation_writes_exactly_one_audit_row(cast, make_project):
    before = AuditEntry.objects.count()
    project = make_project(actor=cast.actor("construction_admin"),
                           estimates=[{"category": "slurry", "quantity_m3": 10}])
    entry = AuditEntry.objects.get()
    assert AuditEntry.objects.count() == before + 1
    assert (entry.action, entry.object_id) == ("project.create", str(project.pk))
    assert entry.actor.username == "construction_admin"
    assert entry.organisation_id == cast.org("construction").pk
    assert entry.data["district"] == 440703 and entry.data["estimates"] == {"slurry": ["10.00", "13.00"]}


def test_an_update_that_changes_nothing_writes_nothing(cast, make_project):
    project = make_project()
    before = AuditEntry.objects.count()
    services.project_update(actor=cast.actor("construction_admin"), project=project, name=project.name,
                            lon=project.lon_decimal, lat=project.lat_decimal)
    assert AuditEntry.objects.count() == before


def test_unknown_fields_are_refused(cast, make_project):
    with pytest.raises(ValidationError) as caught:
        services.project_update(actor=cast.actor("reg_admin"), project=make_project(), district=440781)
    assert "district" in caught.value.message_dict


# --- who writes -----------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["construction_admin", "construction_staff", "reg_admin"])
def test_the_construction_unit_and_the_regulator_admin_register_projects(make_project, username, cast):
    assert make_project(actor=cast.actor(username)).construction_unit == cast.org("construction")


@pytest.mark.parametrize("username", ["reg_officer", "developer_admin", "transport_admin", "outsider", "driver"])
def test_others_cannot_register_a_project_for_the_construction_unit(make_project, cast, username):
    before = counts()
    with pytest.raises(PermissionDenied):
        make_project(actor=cast.actor(username))
    assert counts() == before


def test_an_outsider_cannot_edit_anothers_project(cast, make_project):
    project = make_project()
    with pytest.raises(PermissionDenied):
        services.project_update(actor=cast.actor("outsider"), project=project, name="抢来的项目")
    project.refresh_from_db()
    assert project.name != "抢来的项目"


def test_a_construction_unit_cannot_hand_its_project_to_another(cast, make_project):
    project = make_project()
    with pytest.raises(PermissionDenied):
        services.project_update(actor=cast.actor("construction_admin"), project=project,
                                construction_unit=cast.org("construction_other"))


def test_only_the_regulator_picks_an_owner_it_does_not_act_for(cast, make_project):
    with pytest.raises(ValidationError) as caught:
        make_project(actor=cast.actor("construction_admin"), owner=cast.org("developer"))
    assert "owner" in caught.value.message_dict
    assert make_project(actor=cast.actor("reg_admin"), owner=cast.org("developer")).owner == cast.org("developer")


# --- who sees -------------------------------------------------------------------------------
@pytest.fixture
def two_projects(cast, make_project):
    ours = make_project(at=PENGJIANG, owner=cast.org("developer"))
    theirs = make_project(at=XINHUI, construction_unit=cast.org("construction_other"))
    return ours, theirs


def visible(cast, username: str) -> set:
    return set(selectors.project_list(actor=cast.actor(username)))


def test_a_construction_unit_sees_only_its_projects(cast, two_projects):
    ours, theirs = two_projects
    assert visible(cast, "construction_admin") == {ours}
    assert visible(cast, "construction_staff") == {ours}
    assert visible(cast, "outsider") == {theirs}


def test_an_outsider_gets_not_found_for_anothers_project(cast, two_projects):
    with pytest.raises(NotFound):
        selectors.project_get(actor=cast.actor("outsider"), pk=two_projects[0].pk)


def test_the_owner_sees_the_projects_it_owns(cast, two_projects):
    assert visible(cast, "developer_admin") == {two_projects[0]}


def test_city_wide_regulators_see_every_project(cast, two_projects):
    assert visible(cast, "reg_admin") == visible(cast, "reg_officer") == set(two_projects)


def test_a_district_regulator_sees_only_its_district(cast, two_projects):
    ours, theirs = two_projects
    assert visible(cast, "district_officer") == {ours}
    with pytest.raises(NotFound):
        selectors.project_get(actor=cast.actor("district_officer"), pk=theirs.pk)


@pytest.mark.parametrize("username", ["transport_admin", "driver", "site_operator", "hotline_client"])
def test_parties_without_a_stake_see_no_projects(cast, two_projects, username):
    assert visible(cast, username) == set()


def test_a_bad_primary_key_is_not_found(cast):
    with pytest.raises(NotFound):
        selectors.project_get(actor=cast.actor("reg_admin"), pk="abc")


def test_the_map_layer_carries_what_the_map_needs(cast, two_projects):
    collection = selectors.project_map_features(actor=cast.actor("construction_admin"))
    assert collection["type"] == "FeatureCollection"
    (feature,) = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [113.0781, 22.579]}
    assert feature["properties"]["district"] == 440703
    assert feature["properties"]["district_name"] == "蓬江区"
    assert feature["properties"]["project_type"] == "new_build"
    assert feature["properties"]["url"] == f"/projects/{two_projects[0].pk}/"


def test_an_owner_of_the_wrong_kind_is_named_as_such(cast, make_project):
    with pytest.raises(ValidationError) as caught:
        make_project(owner=cast.org("transport"))
    assert "is not a developer" in caught.value.message_dict["owner"][0]


def test_a_failing_update_rolls_back_the_fields_it_had_already_applied(cast, make_project):
    project = make_project(estimates=[{"category": "slurry", "quantity_m3": 100}])
    before = counts()
    with pytest.raises(ValidationError):
        services.project_update(actor=cast.actor("construction_admin"), project=project, name="新名字",
                                estimates=[{"category": "asbestos", "quantity_m3": 1}])
    project.refresh_from_db()
    assert project.name != "新名字" and counts() == before
    assert list(project.estimates.values_list("quantity_m3", flat=True)) == [Decimal("100.00")]
