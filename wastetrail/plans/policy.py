"""Who may see and write handling plans.

A plan is seen by whoever sees its project (registry.policy.project_visibility: regulators in
their districts, the construction unit, the owner) and written only by the construction unit's
administrators and staff — the unit that files the plan answers for it (GD 条例 Art. 8).
"""

from __future__ import annotations

from django.db.models import Q

from wastetrail.accounts.policy import Actor
from wastetrail.registry import policy as registry_policy
from wastetrail.registry.models import Project


def plan_visibility(actor: Actor) -> Q | None:
    """None: no restriction. As a Q over HandlingPlan."""
    projects = registry_policy.project_visibility(actor)
    if projects is None:
        return None
    return Q(project__in=Project.objects.filter(projects).values("pk"))


def can_write_plans_of(actor: Actor, project: Project) -> bool:
    return actor.is_staff_of(project.construction_unit_id)
