"""The routing table: which unit answers an order, by district and type or category.

Kept apart from the services so that pages can show the unit an order *would* go to before the
dispatcher confirms it.
"""

from __future__ import annotations

from wastetrail.accounts.models import Organisation
from wastetrail.complaints.models import RoutingRule, WorkOrder


def active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(is_active=True, unit__is_active=True).select_related("unit"))


def matching_rules(*, district: int | None, order_type: str, category_id: int | None,
                   rules: list[RoutingRule] | None = None) -> list[RoutingRule]:
    """Active rules that cover the order, most specific first (category, then type, then district),
    then by priority. ``rules``: the active rules already read (a page routing many cases at once)."""
    rules = [
        rule for rule in (active_rules() if rules is None else rules)
        if (rule.district is None or rule.district == district)
        and (not rule.order_type or rule.order_type == order_type)
        and (rule.category_id is None or rule.category_id == category_id)
    ]
    rules.sort(key=lambda rule: (tuple(-flag for flag in rule.specificity), rule.priority, rule.pk))
    return rules


def route_unit(order: WorkOrder) -> Organisation | None:
    rules = matching_rules(district=order.district, order_type=order.order_type, category_id=order.category_id)
    return rules[0].unit if rules else None
