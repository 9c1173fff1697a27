"""The plan's lifecycle: draft → filed → superseded; filed versions never change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.plans import selectors, services
from wastetrail.plans.models import HandlingPlan, PlanStatus

pytestmark = pytest.mark.django_db


def test_a_new_draft_is_version_one_with_the_units_contact(cast, project):
    plan = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project)
    assert (plan.version, plan.status) == (1, PlanStatus.DRAFT)
    assert plan.contact_name == cast.org("construction").contact_name
    assert AuditEntry.objects.filter(action="plan.draft_create", object_id=str(plan.pk)).count() == 1


def test_quantities_are_converted_with_the_category_density(cast, project):
    plan = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project, quantities=[
        {"category": "excavated_soil", "quantity_m3": 1000}, {"category": "slurry", "quantity_t": 130}])
    rows = {q.category.code: (q.quantity_m3, q.quantity_t) for q in plan.quantities.all()}
    assert rows == {"excavated_soil": (Decimal("1000.00"), Decimal("1800.00")),
                    "slurry": (Decimal("100.00"), Decimal("130.00"))}


def test_filing_a_draft_makes_it_the_plan_in_force_and_freezes_part_one(cast, project, make_draft):
    plan = services.plan_file(actor=cast.actor("construction_staff"), plan=make_draft())
    assert plan.status == PlanStatus.FILED and plan.filed_at and plan.filed_by == cast.user("construction_staff")
    assert (plan.project_name, plan.construction_unit_uscc) == (project.name, cast.org("construction").uscc)
    assert selectors.filed_plan_for(project) == plan
    entry = AuditEntry.objects.get(action="plan.file", object_id=str(plan.pk))
    assert entry.organisation_id == project.construction_unit_id and entry.data["supersedes_version"] is None


def test_filing_a_revision_supersedes_the_previous_version(cast, project, filed_plan, make_draft):
    first = filed_plan()
    revision = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project)
    assert revision.version == 2
    # A revision starts as a copy of the filed version.
    assert revision.quantities.count() == 1 and revision.streams.count() == 1
    assert revision.reduction_measures == first.reduction_measures
    services.plan_draft_update(actor=cast.actor("construction_admin"), plan=revision, other_matters="改线")
    services.plan_file(actor=cast.actor("construction_admin"), plan=revision)
    first.refresh_from_db()
    assert first.status == PlanStatus.SUPERSEDED and first.superseded_at is not None
    assert selectors.filed_plan_for(project).version == 2
    assert AuditEntry.objects.get(action="plan.file", object_id=str(revision.pk)).data["supersedes_version"] == 1
    # Every version stays readable, unchanged.
    assert first.quantities.count() == 1 and first.other_matters == ""


def test_the_draft_of_a_revision_leaves_the_filed_version_in_force(cast, project, filed_plan):
    first = filed_plan()
    services.plan_draft_create(actor=cast.actor("construction_admin"), project=project)
    assert selectors.filed_plan_for(project) == first


@pytest.mark.parametrize("action", ["update", "file", "discard"])
def test_a_filed_plan_is_read_only_and_the_refusal_changes_nothing(cast, filed_plan, action):
    plan = filed_plan()
    audit_rows = AuditEntry.objects.count()
    actor = cast.actor("construction_admin")
    with pytest.raises(DomainError) as refused:
        if action == "update":
            services.plan_draft_update(actor=actor, plan=plan, other_matters="changed", quantities=[])
        elif action == "file":
            services.plan_file(actor=actor, plan=plan)
        else:
            services.plan_draft_discard(actor=actor, plan=plan)
    assert "filed" in refused.value.message
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FILED and plan.other_matters == "" and plan.quantities.count() == 1
    assert AuditEntry.objects.count() == audit_rows


def test_a_superseded_version_is_read_only_too(cast, project, filed_plan):
    first = filed_plan()
    services.plan_file(actor=cast.actor("construction_admin"),
                       plan=services.plan_draft_create(actor=cast.actor("construction_admin"), project=project))
    with pytest.raises(DomainError):
        services.plan_draft_update(actor=cast.actor("construction_admin"), plan=first, other_matters="x")


def test_a_second_draft_is_refused_while_one_exists(cast, project, make_draft):
    make_draft()
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(DomainError, match="already has a draft"):
        services.plan_draft_create(actor=cast.actor("construction_admin"), project=project)
    assert HandlingPlan.objects.filter(project=project).count() == 1 and AuditEntry.objects.count() == audit_rows


def test_discarding_a_draft_deletes_it_and_is_audited(cast, project, make_draft):
    plan = make_draft()
    services.plan_draft_discard(actor=cast.actor("construction_admin"), plan=plan)
    assert not HandlingPlan.objects.filter(pk=plan.pk).exists()
    assert AuditEntry.objects.filter(action="plan.draft_discard", object_id=str(plan.pk)).count() == 1
    with pytest.raises(DomainError, match="no longer exists"):
        services.plan_file(actor=cast.actor("construction_admin"), plan=plan)


def test_discarding_a_revision_keeps_the_filed_version(cast, project, filed_plan):
    first = filed_plan()
    draft = services.plan_draft_create(actor=cast.actor("construction_admin"), project=project)
    services.plan_draft_discard(actor=cast.actor("construction_admin"), plan=draft)
    assert selectors.filed_plan_for(project) == first


def test_the_database_refuses_a_second_filed_plan(cast, project, filed_plan):
    filed_plan()
    with pytest.raises(IntegrityError), transaction.atomic():
        HandlingPlan.objects.create(project=project, version=9, status=PlanStatus.FILED,
                                    filed_at="2026-03-01T00:00:00Z")


def test_the_database_refuses_a_second_draft_and_a_repeated_version(cast, project, make_draft):
    make_draft()
    with pytest.raises(IntegrityError), transaction.atomic():
        HandlingPlan.objects.create(project=project, version=2, status=PlanStatus.DRAFT)
    with pytest.raises(IntegrityError), transaction.atomic():
        HandlingPlan.objects.create(project=project, version=1, status=PlanStatus.SUPERSEDED,
                                    filed_at="2026-03-01T00:00:00Z")


def test_an_edit_that_changes_nothing_writes_no_audit_row(cast, make_draft):
    plan = make_draft()
    audit_rows = AuditEntry.objects.count()
    services.plan_draft_update(actor=cast.actor("construction_admin"), plan=plan, contact_name=plan.contact_name)
    assert AuditEntry.objects.count() == audit_rows


def test_a_draft_update_replaces_the_streams_and_records_the_change(cast, make_draft, stream_row):
    plan = make_draft()
    services.plan_draft_update(actor=cast.actor("construction_staff"), plan=plan,
                               streams=[stream_row(quantity_m3=100), stream_row(quantity_m3=200)])
    assert sorted(s.quantity_m3 for s in plan.streams.all()) == [Decimal("100"), Decimal("200")]
    entry = AuditEntry.objects.get(action="plan.draft_update", object_id=str(plan.pk))
    assert set(entry.data) == {"streams"}
