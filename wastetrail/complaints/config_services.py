"""Writes to the work-order configuration the regulator edits: the routing table and the
category catalogue. Only city regulator administrators may change them (they decide where
every district's orders go); each change is one transaction with one audit row."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy
from wastetrail.complaints.models import RoutingRule, WorkOrderCategory
from wastetrail.core.audit.services import audit_record
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update

RULE_FIELDS = ["district", "order_type", "category", "unit", "priority", "is_active"]
CATEGORY_FIELDS = ["code", "name_zh", "name_en", "default_type", "hotline_code", "public", "sort_order",
                   "is_active"]


def can_configure(actor: Actor) -> bool:
    return actor.is_regulator_admin


def _values(data: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    unknown = set(data) - set(fields)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    return dict(data)


def _check_unit(values: dict[str, Any], rule: RoutingRule | None = None) -> None:
    unit = values.get("unit", rule.unit if rule else None)
    if unit is None:
        return
    if unit.kind not in policy.UNIT_KINDS or not unit.is_active:
        raise ValidationError({"unit": _("Work orders go to a regulator, street office, property manager or the "
                                         "housing authority.")})
    district = values.get("district", rule.district if rule else None)
    if unit.district is not None and district != unit.district:
        # Its handlers would see complainants outside their district (the dispatch service refuses
        # such a unit as well).
        raise ValidationError({"unit": _("%(unit)s works in one district: route only that district's orders "
                                         "to it.") % {"unit": unit.name}})


def routing_rule_create(*, actor: Actor, **data: Any) -> RoutingRule:
    actor.require(can_configure(actor))
    values = _values(data, RULE_FIELDS)
    _check_unit(values)
    with transaction.atomic():
        rule = validated_create(RoutingRule, **values)
        audit_record(actor=actor.user, action="workorder.routing_rule_create", target=rule,
                     data=snapshot(rule, RULE_FIELDS))
    return rule


def routing_rule_update(*, actor: Actor, rule: RoutingRule, **data: Any) -> RoutingRule:
    actor.require(can_configure(actor))
    values = _values(data, RULE_FIELDS)
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        _check_unit(values, rule)
        changes = validated_update(rule, values)
        if changes:
            audit_record(actor=actor.user, action="workorder.routing_rule_update", target=rule, data=changes)
    return rule


def routing_rule_delete(*, actor: Actor, rule: RoutingRule) -> None:
    actor.require(can_configure(actor))
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        audit_record(actor=actor.user, action="workorder.routing_rule_delete", target=rule,
                     data=snapshot(rule, RULE_FIELDS))
        rule.delete()


def category_create(*, actor: Actor, **data: Any) -> WorkOrderCategory:
    actor.require(can_configure(actor))
    values = _values(data, CATEGORY_FIELDS)
    with transaction.atomic():
        category = validated_create(WorkOrderCategory, **values)
        audit_record(actor=actor.user, action="workorder.category_create", target=category,
                     data=snapshot(category, CATEGORY_FIELDS))
    return category


def category_update(*, actor: Actor, category: WorkOrderCategory, **data: Any) -> WorkOrderCategory:
    """Categories are deactivated, never deleted: orders keep pointing at them."""
    actor.require(can_configure(actor))
    values = _values(data, CATEGORY_FIELDS)
    with transaction.atomic():
        category = WorkOrderCategory.objects.select_for_update().get(pk=category.pk)
        changes = validated_update(category, values)
        if changes:
            audit_record(actor=actor.user, action="workorder.category_update", target=category, data=changes)
    return category
