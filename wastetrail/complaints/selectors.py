"""Reads of work orders, always scoped by the acting user (complaints.policy).

The queue and statistics reads are built for a million stored orders: each is a fixed number of
indexed queries (docs/performance.md, `workorder_*` figures).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy
from wastetrail.complaints.models import (
    PUBLIC_EVENTS,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    tracking_code_hash,
)
from wastetrail.core.errors import NotFound


def visible_workorders(actor: Actor) -> QuerySet[WorkOrder]:
    if not policy.can_use_workorders(actor):
        return WorkOrder.objects.none()
    visibility = policy.workorder_visibility(actor)
    qs = WorkOrder.objects.all()
    return qs if visibility is None else qs.filter(visibility)


def workorder_get(*, actor: Actor, pk: int | None = None, number: str | None = None) -> WorkOrder:
    """One order the actor may see, with what its pages show; NotFound otherwise."""
    lookup = {"pk": pk} if pk is not None else {"number": number}
    order = (visible_workorders(actor).select_related("category", "unit", "vehicle", "project", "site",
                                                      "stacking_point", "received_by")
             .filter(**lookup).first())
    if order is None:
        raise NotFound(_("No such work order."))
    return order


def workorder_history(order: WorkOrder, *, public: bool = False) -> list[WorkOrderEvent]:
    """The order's events, oldest first; ``public``: only those the complainant sees."""
    events = order.events.select_related("actor", "organisation")
    if public:
        events = events.filter(kind__in=PUBLIC_EVENTS)
    return list(events)


def workorder_track(*, number: str, code: str) -> WorkOrder:
    """The public's view: the tracking number and the code given at submission must both match.
    A wrong pair and a missing order look the same (NotFound)."""
    number, code = (number or "").strip().upper(), (code or "").strip()
    order = WorkOrder.objects.select_related("category").filter(number=number).first()
    if order is None or not code or order.tracking_code_hash != tracking_code_hash(number, code):
        raise NotFound(_("No work order matches this tracking number and code."))
    return order


def categories(*, public_only: bool = False) -> QuerySet[WorkOrderCategory]:
    qs = WorkOrderCategory.objects.filter(is_active=True)
    return qs.filter(public=True) if public_only else qs
