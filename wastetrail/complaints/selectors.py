"""Reads of work orders, always scoped by the acting user (complaints.policy).

The queue and statistics reads are built for a million stored orders: each is a fixed number of
indexed queries (docs/performance.md, `workorder_*` figures).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy
from wastetrail.complaints.models import (
    DISPATCH_STATUSES,
    PUBLIC_EVENTS,
    UNIT_STATUSES,
    RoutingRule,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    WorkOrderMonthlyStat,
    WorkOrderStatus,
    tracking_code_hash,
)
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.calendar import WorkingCalendar, rulebook_calendar


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
    if order is None or not code or not hmac.compare_digest(order.tracking_code_hash,
                                                            tracking_code_hash(number, code)):
        raise NotFound(_("No work order matches this tracking number and code."))
    return order


def categories(*, public_only: bool = False) -> QuerySet[WorkOrderCategory]:
    qs = WorkOrderCategory.objects.filter(is_active=True)
    return qs.filter(public=True) if public_only else qs


# --- queues -----------------------------------------------------------------------------------
QUEUES = ("mine", "dispatch", "answered", "overdue", "closed", "all")
MAX_PER_PAGE = 100
# Deep offsets cost a scan of every skipped row; nobody pages past this in a queue (filters do).
MAX_PAGE = 200
# Rows whose deadline lies this many years from today count working days with the holidays
# package alone (no local overrides): the years around today are read from the override table
# once each, so that the page's query count does not depend on how far back its rows reach.
CALENDAR_YEARS_AROUND = 1


@dataclass(frozen=True)
class WorkOrderQueueRow:
    """What a queue page shows of one order (no complainant: the detail page decides that)."""

    pk: int
    number: str
    title: str
    order_type: str
    order_type_label: str
    category_name: str
    district: int
    district_name: str
    unit_id: int | None
    unit_name: str
    status: str
    status_label: str
    due_date: dt.date | None
    working_days_left: int | None  # negative: working days overdue
    is_overdue: bool
    is_warned: bool
    received_at: dt.datetime

    @property
    def working_days_overdue(self) -> int:
        return max(-(self.working_days_left or 0), 0)


@dataclass(frozen=True)
class WorkOrderQueuePage:
    queue: str
    rows: list[WorkOrderQueueRow]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def next_page(self) -> int:
        return self.page + 1

    @property
    def previous_page(self) -> int:
        return self.page - 1


def available_queues(actor: Actor) -> tuple[str, ...]:
    """The queue tabs this actor has: handlers their units' queue, dispatchers the dispatch desk."""
    if not policy.can_use_workorders(actor):
        return ()
    found = ["mine"] if policy.handler_unit_ids(actor) else []
    if policy.is_dispatcher(actor):
        found.append("dispatch")
    return (*found, "answered", "overdue", "closed", "all")


def _queue_queryset(actor: Actor, queue: str, today: dt.date) -> QuerySet[WorkOrder]:
    """The queue's orders in its order, each shaped to use one of the indexes in models.py."""
    if queue == "mine":
        # workorder_unit_queue (unit, status, due_date)
        return (WorkOrder.objects.filter(unit_id__in=policy.handler_unit_ids(actor), status__in=UNIT_STATUSES)
                .order_by("due_date", "id"))
    if queue == "dispatch":
        districts = policy._dispatcher_districts(actor)  # noqa: SLF001 - the policy's own jurisdiction rule
        if districts is False:
            return WorkOrder.objects.none()
        # workorder_dispatch_queue (status, district, received_at)
        qs = WorkOrder.objects.filter(status__in=DISPATCH_STATUSES)
        if districts is not None:
            qs = qs.filter(district__in=districts)
        return qs.order_by("received_at", "id")
    visible = visible_workorders(actor)
    if queue == "answered":
        return visible.filter(status=WorkOrderStatus.ANSWERED).order_by("answered_at", "id")
    if queue == "overdue":
        # workorder_deadline (status, due_date): a due day before today, still in a unit's hands.
        return visible.filter(status__in=UNIT_STATUSES, due_date__lt=today).order_by("due_date", "id")
    if queue == "closed":
        # Newest deadline first: (status, due_date) and (unit, status, due_date) read it backwards,
        # where ordering by the closing time would sort every closed order of the city.
        return visible.filter(status=WorkOrderStatus.CLOSED).order_by("-due_date", "-id")
    # "all": newest first by id (the order of arrival), which the primary key keeps.
    return visible.order_by("-id")


def _working_days_left(calendar: WorkingCalendar, fallback: WorkingCalendar, today: dt.date,
                       due: dt.date) -> int:
    near = abs(due.year - today.year) <= CALENDAR_YEARS_AROUND
    return (calendar if near else fallback).working_days_between(today, due)


def workorder_queue(
    *,
    actor: Actor,
    queue: str,
    page: int = 1,
    per_page: int = 50,
    district: int | None = None,
    order_type: str | None = None,
    category: int | str | None = None,
    search: str = "",
    overdue_only: bool = False,
    today: dt.date | None = None,
) -> WorkOrderQueuePage:
    """One page of a queue (``QUEUES``), in the queue's order, at a fixed number of queries
    whatever the page size: one for the rows (with category and unit joined) and one per
    calendar year around today. ``has_next`` comes from fetching one row more than shown, so
    nothing counts a million rows. ``category`` is an id or a code; ``search`` matches the
    tracking number or the title. An unknown queue raises ValidationError."""
    if queue not in QUEUES:
        raise ValidationError({"queue": _("Unknown queue.")})
    today = today or timezone.localdate()
    page = min(max(int(page or 1), 1), MAX_PAGE)
    per_page = min(max(int(per_page or 50), 1), MAX_PER_PAGE)
    qs = _queue_queryset(actor, queue, today)
    if district:
        qs = qs.filter(district=district)
    if order_type:
        qs = qs.filter(order_type=order_type)
    if category:
        qs = qs.filter(category_id=category) if str(category).isdigit() else qs.filter(category__code=category)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(number=search.upper()) | Q(title__icontains=search))
    if overdue_only:
        qs = qs.filter(status__in=UNIT_STATUSES, due_date__lt=today)
    qs = qs.select_related("category", "unit").only(
        "number", "title", "order_type", "category__name_zh", "category__name_en", "district", "unit__name",
        "status", "due_date", "warned_at", "overdue_at", "received_at")
    start = (page - 1) * per_page
    found = list(qs[start:start + per_page + 1])

    calendar, fallback = rulebook_calendar(), WorkingCalendar()
    for year in range(today.year - CALENDAR_YEARS_AROUND, today.year + CALENDAR_YEARS_AROUND + 1):
        calendar.is_working_day(dt.date(year, 1, 1))  # read each year now: a fixed query count
    rows = []
    for order in found[:per_page]:
        in_hand = order.status in UNIT_STATUSES
        left = (_working_days_left(calendar, fallback, today, order.due_date)
                if in_hand and order.due_date is not None else None)
        overdue = in_hand and order.due_date is not None and order.due_date < today
        rows.append(WorkOrderQueueRow(
            pk=order.pk, number=order.number, title=order.title, order_type=order.order_type,
            order_type_label=order.get_order_type_display() if order.order_type else "",
            category_name=order.category.display_name if order.category else "",
            district=order.district, district_name=order.district_name,
            unit_id=order.unit_id, unit_name=order.unit.name if order.unit else "",
            status=order.status, status_label=order.get_status_display(), due_date=order.due_date,
            working_days_left=left, is_overdue=overdue,
            is_warned=in_hand and not overdue and order.warned_at is not None,
            received_at=order.received_at,
        ))
    return WorkOrderQueuePage(queue=queue, rows=rows, page=page, per_page=per_page,
                              has_next=len(found) > per_page)


# --- statistics -------------------------------------------------------------------------------
MAX_STAT_MONTHS = 36
STAT_COUNTERS = ("dispatched", "returned", "answered", "answered_on_time", "handling_working_days", "rated",
                 "satisfaction_points", "satisfied", "reopened", "overdue")


@dataclass
class StatCell:
    """The counters of one unit and month (or a sum of them) and the rates they give."""

    dispatched: int = 0
    returned: int = 0
    answered: int = 0
    answered_on_time: int = 0
    handling_working_days: int = 0
    rated: int = 0
    satisfaction_points: int = 0
    satisfied: int = 0
    reopened: int = 0
    overdue: int = 0
    month: dt.date | None = None  # None: a total over months

    def add(self, other: StatCell | WorkOrderMonthlyStat) -> None:
        for name in STAT_COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def on_time_rate(self) -> float | None:
        """Share of the answers given by their deadline (None: nothing answered)."""
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def average_handling_days(self) -> float | None:
        return self.handling_working_days / self.answered if self.answered else None

    @property
    def satisfaction_rate(self) -> float | None:
        """Share rated satisfied or basically satisfied (None: nothing rated)."""
        return self.satisfied / self.rated if self.rated else None

    @property
    def mean_satisfaction(self) -> float | None:
        """Mean rating on the 1 (dissatisfied) to 3 (satisfied) scale."""
        return self.satisfaction_points / self.rated if self.rated else None

    @property
    def columns(self) -> tuple[str, ...]:
        """The table row as text, in STAT_COLUMNS order. Formatted here, not in the template:
        the statistics page shows thousands of cells, and template filters cost ten times more."""
        return (
            str(self.dispatched), str(self.answered),
            _percent(self.answered_on_time, self.answered), _decimal(self.average_handling_days, "0.1"),
            _percent(self.satisfied, self.rated), _decimal(self.mean_satisfaction, "0.01"),
            str(self.returned), str(self.reopened), str(self.overdue),
        )


NO_FIGURE = "—"


def _percent(part: int, whole: int) -> str:
    return f"{round(part / whole * 100)}%" if whole else NO_FIGURE


def _decimal(value: float | None, places: str) -> str:
    if value is None:
        return NO_FIGURE
    return str(Decimal(repr(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


@dataclass
class UnitStats:
    unit: Organisation
    months: list[StatCell]  # aligned with WorkOrderStats.months
    total: StatCell


@dataclass
class WorkOrderStats:
    months: list[dt.date]  # first days, oldest first
    units: list[UnitStats]
    month_totals: list[StatCell]
    total: StatCell
    unit_choices: list[Organisation] = field(default_factory=list)


def stat_unit_scope(actor: Actor) -> QuerySet[Organisation] | None:
    """The units whose statistics the actor reads; None: every unit (the city's dispatchers).

    A district's dispatchers read the units that handle its orders: the routing table's units for
    the district (or for every district) and the district's own units; a handler reads its own."""
    districts = policy._dispatcher_districts(actor)  # noqa: SLF001 - the policy's own jurisdiction rule
    if districts is None:
        return None
    conditions = Q(pk__in=policy.handler_unit_ids(actor))
    if districts:
        routed = RoutingRule.objects.filter(Q(district__in=districts) | Q(district__isnull=True), is_active=True)
        conditions |= Q(pk__in=routed.values("unit_id"))
        conditions |= Q(district__in=districts, kind__in=policy.UNIT_KINDS)
    return Organisation.objects.filter(conditions)


def _month_starts(until: dt.date, months: int) -> list[dt.date]:
    year, month = until.year, until.month
    starts = []
    for _step in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _month_cells(window: list[dt.date]) -> list[StatCell]:
    return [StatCell(month=month) for month in window]


def workorder_stats(*, actor: Actor, months: int = 12, unit: Organisation | int | None = None,
                    until: dt.date | None = None) -> WorkOrderStats:
    """Per unit and local month, the ``months`` months up to and including ``until``'s (default:
    this month), read from the counters the services keep (WorkOrderMonthlyStat): at most
    units × months rows, whatever the number of orders. Units appear when they have counters in
    the window; ``unit`` narrows to one unit in scope (NotFound outside it)."""
    months = min(max(int(months or 12), 1), MAX_STAT_MONTHS)
    window = _month_starts(until or timezone.localdate(), months)
    empty = WorkOrderStats(months=window, units=[], month_totals=_month_cells(window), total=StatCell())
    if not policy.can_use_workorders(actor) or not (policy.is_dispatcher(actor) or policy.handler_unit_ids(actor)):
        return empty
    scope = stat_unit_scope(actor)
    rows = WorkOrderMonthlyStat.objects.filter(month__gte=window[0], month__lte=window[-1])
    choices = Organisation.objects.filter(kind__in=policy.UNIT_KINDS) if scope is None else scope
    if scope is not None:
        rows = rows.filter(unit_id__in=scope.values("pk"))
    if unit is not None:
        unit_id = getattr(unit, "pk", unit)
        if scope is not None and not scope.filter(pk=unit_id).exists():
            raise NotFound(_("No such unit."))
        rows = rows.filter(unit_id=unit_id)
    position = {month: index for index, month in enumerate(window)}
    by_unit: dict[int, UnitStats] = {}
    result = WorkOrderStats(months=window, units=[], month_totals=_month_cells(window), total=StatCell(),
                            unit_choices=list(choices.order_by("name").only("name", "kind", "district")))
    for row in rows.select_related("unit").order_by("unit__name", "unit_id"):
        stats = by_unit.get(row.unit_id)
        if stats is None:
            stats = by_unit[row.unit_id] = UnitStats(row.unit, _month_cells(window), StatCell())
            result.units.append(stats)
        index = position[row.month]
        stats.months[index].add(row)
        stats.total.add(row)
        result.month_totals[index].add(row)
        result.total.add(row)
    return result
