"""Who sees and writes plans; and the checks the manifest issuing will call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from wastetrail.core.errors import NotFound
from wastetrail.plans import selectors, services
from wastetrail.plans.models import HandlingPlan
from wastetrail.registry.tests.conftest import XINHUI

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", ["outsider", "transport_admin", "driver", "site_operator"])
def test_others_see_no_plan_at_all(cast, filed_plan, username):
    plan = filed_plan()
    actor = cast.actor(username)
    assert not selectors.plan_list(actor=actor).exists()
    with pytest.raises(NotFound):
        selectors.plan_get(actor=actor, pk=plan.pk)
    with pytest.raises(NotFound):
        selectors.project_plan_history(actor=actor, project_pk=plan.project_id)


@pytest.mark.parametrize("username", ["reg_admin", "reg_officer", "district_officer", "construction_staff",
                                      "developer_admin"])
def test_regulators_the_unit_and_the_owner_read_plans(cast, make_project, make_draft, username):
    project = make_project(owner=cast.org("developer"))
    plan = make_draft(of=project)
    assert selectors.plan_get(actor=cast.actor(username), pk=plan.pk) == plan


def test_a_district_regulator_sees_only_its_districts_plans(cast, make_project, make_draft):
    plan = make_draft(of=make_project(at=XINHUI))
    assert not selectors.plan_list(actor=cast.actor("district_officer")).filter(pk=plan.pk).exists()
    assert selectors.plan_list(actor=cast.actor("reg_officer")).filter(pk=plan.pk).exists()


def test_construction_staff_write_plans(cast, project, plan_parts):
    actor = cast.actor("construction_staff")
    plan = services.plan_draft_create(actor=actor, project=project, **plan_parts())
    services.plan_draft_update(actor=actor, plan=plan, other_matters="夜间运输")
    assert services.plan_file(actor=actor, plan=plan).is_in_force


@pytest.mark.parametrize("username", ["reg_officer", "reg_admin", "developer_admin", "outsider"])
def test_readers_and_others_cannot_write(cast, make_project, make_draft, username):
    project = make_project(owner=cast.org("developer"))
    draft = make_draft(of=project)
    actor = cast.actor(username)
    for write in (lambda: services.plan_draft_create(actor=actor, project=project),
                  lambda: services.plan_draft_update(actor=actor, plan=draft, other_matters="x"),
                  lambda: services.plan_file(actor=actor, plan=draft),
                  lambda: services.plan_draft_discard(actor=actor, plan=draft)):
        with pytest.raises(PermissionDenied):
            write()
    assert HandlingPlan.objects.get(pk=draft.pk).is_draft


def test_without_a_filed_plan_nothing_is_allowed(project, categories, make_draft):
    make_draft()
    assert selectors.filed_plan_for(project) is None
    assert not selectors.plan_allows(project, categories["excavated_soil"], on=dt.date(2026, 6, 1))


def test_plan_allows_inside_the_streams_period_and_daily_window(project, categories, filed_plan, site, cast):
    filed_plan()  # excavated soil, 2026-03-01 – 2026-12-31, 22:00–06:00, to `site` by `transport`
    soil = categories["excavated_soil"]
    assert selectors.plan_allows(project, soil, on=dt.date(2026, 6, 1))
    assert selectors.plan_allows(project, soil, on=dt.date(2026, 6, 1), at=dt.time(23, 30), site=site,
                                 carrier=cast.org("transport"))
    assert selectors.plan_allows(project, soil, on=dt.date(2026, 6, 1), at=dt.time(5, 59))
    assert not selectors.plan_allows(project, soil, on=dt.date(2026, 6, 1), at=dt.time(12, 0))
    assert not selectors.plan_allows(project, soil, on=dt.date(2027, 1, 1))
    assert not selectors.plan_allows(project, categories["slurry"], on=dt.date(2026, 6, 1))
    assert not selectors.plan_allows(project, soil, on=dt.date(2026, 6, 1), carrier=cast.org("transport_other"))


def test_plan_allows_follows_the_version_in_force(cast, project, categories, filed_plan, stream_row):
    filed_plan()
    revision = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project,
                                          streams=[stream_row(valid_to=dt.date(2026, 4, 30))])
    assert selectors.plan_allows(project, categories["excavated_soil"], on=dt.date(2026, 6, 1))
    services.plan_file(actor=cast.actor("construction_admin"), plan=revision)
    assert not selectors.plan_allows(project, categories["excavated_soil"], on=dt.date(2026, 6, 1))
