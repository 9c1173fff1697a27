"""Random sequences of create / update / file / discard, by allowed and refused actors, never
leave a project with two filed plans or two drafts, never lose the plan in force once one was
filed, and never change a version once it is filed."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wastetrail.core.errors import DomainError
from wastetrail.plans import services
from wastetrail.plans.models import HandlingPlan, PlanStatus

pytestmark = pytest.mark.django_db

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "break", "file", "discard", "file_old", "update_old"]),
        st.integers(min_value=0, max_value=1),  # which project
        st.sampled_from(["construction_admin", "construction_staff", "reg_officer"]),
    ),
    max_size=25,
)


def _frozen(plan: HandlingPlan) -> tuple:
    return (plan.version, plan.filed_at, plan.other_matters, plan.project_name,
            tuple((q.category_id, q.quantity_m3) for q in plan.quantities.order_by("id")),
            tuple((s.category_id, s.quantity_m3, s.site_id) for s in plan.streams.order_by("id")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_random_action_sequences_keep_the_plan_invariants(cast, make_project, plan_parts, actions):
    projects = [make_project(), make_project()]
    ever_filed: set[int] = set()
    frozen: dict[int, tuple] = {}
    for step, (action, which, username) in enumerate(actions):
        project, actor = projects[which], cast.actor(username)
        plans = HandlingPlan.objects.filter(project=project)
        draft = plans.filter(status=PlanStatus.DRAFT).first()
        old = plans.exclude(status=PlanStatus.DRAFT).order_by("?").first()
        try:
            if action == "create":
                services.plan_draft_create(actor=actor, project=project, **plan_parts())
            elif action == "update" and draft:
                services.plan_draft_update(actor=actor, plan=draft, other_matters=f"step {step}")
            elif action == "break" and draft:  # a draft that cannot be filed
                services.plan_draft_update(actor=actor, plan=draft, quantities=[])
            elif action == "file" and draft:
                services.plan_file(actor=actor, plan=draft)
            elif action == "discard" and draft:
                services.plan_draft_discard(actor=actor, plan=draft)
            elif action == "file_old" and old:
                services.plan_file(actor=actor, plan=old)
            elif action == "update_old" and old:
                services.plan_draft_update(actor=actor, plan=old, other_matters="rewritten")
        except (DomainError, PermissionDenied, ValidationError):
            pass
        for p in projects:
            statuses = list(HandlingPlan.objects.filter(project=p).values_list("status", flat=True))
            assert statuses.count(PlanStatus.FILED) <= 1
            assert statuses.count(PlanStatus.DRAFT) <= 1
            if PlanStatus.FILED in statuses:
                ever_filed.add(p.pk)
            if p.pk in ever_filed:
                assert statuses.count(PlanStatus.FILED) == 1, "the plan in force was lost"
            filed = HandlingPlan.objects.filter(project=p, status=PlanStatus.FILED).first()
            superseded = HandlingPlan.objects.filter(project=p, status=PlanStatus.SUPERSEDED)
            assert all(s.version < filed.version for s in superseded) if filed else not superseded.exists()
        for plan in HandlingPlan.objects.exclude(status=PlanStatus.DRAFT):
            assert frozen.setdefault(plan.pk, _frozen(plan)) == _frozen(plan), "a filed version changed"
