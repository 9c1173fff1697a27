"""Work-order deadlines are working days (Guangdong 12345: consultation 2, help/suggestion 10,
complaint/report 15), counted with the calendar's holidays and make-up working weekends (调休).

The dates below are worked out by hand from the State Council's notices:
- National Day + Mid-Autumn 2025: 1-8 October off; Sunday 28 September and Saturday 11 October
  worked.
- Spring Festival 2026: 15-23 February off; Saturday 14 and Saturday 28 February worked.
"""

from __future__ import annotations

import datetime as dt

import pytest

from wastetrail.complaints import services
from wastetrail.complaints.models import EventKind, WorkOrder, WorkOrderMonthlyStat, WorkOrderSource
from wastetrail.complaints.tests.conftest import local
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook.models import CalendarOverride, DeadlineRule


def dispatched(desk, *, on: dt.datetime, category: str) -> WorkOrder:
    hotline = desk.actor("hotline_client")
    order, _code = services.workorder_receive(
        actor=hotline, source=WorkOrderSource.HOTLINE, external_id=f"JM-{on:%Y%m%d%H}-{category}",
        description="诉求内容", district=440703, category=desk.category(category), now=on)
    return services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=on)


@pytest.mark.parametrize(("category", "on", "due"), [
    # Consultation, 2 working days, dispatched on the Saturday before the make-up Sunday: the
    # Sunday counts, the Monday is the second day.
    ("decoration_waste_question", local(2025, 9, 27), dt.date(2025, 9, 29)),
    # Consultation on the last day before National Day: the eight days off do not count.
    ("decoration_waste_question", local(2025, 9, 30), dt.date(2025, 10, 10)),
    # Report, 15 working days across National Day, the make-up Saturday 11 October counts.
    ("illegal_dumping", local(2025, 9, 30), dt.date(2025, 10, 28)),
    # Help, 10 working days from the Friday before the Spring Festival: the make-up Saturdays
    # 14 and 28 February count, 15-23 February does not.
    ("stacking_point_full", local(2026, 2, 13), dt.date(2026, 3, 5)),
    # Complaint, 15 working days from the Thursday before.
    ("stacking_point_dirty", local(2026, 2, 12), dt.date(2026, 3, 11)),
])
def test_due_date_skips_holidays_and_counts_make_up_weekends(desk, category, on, due):
    order = dispatched(desk, on=on, category=category)
    assert order.due_date == due and order.due_official


def test_the_rulebook_and_the_calendar_overrides_are_data(desk):
    DeadlineRule.objects.filter(code="work_order_consultation").update(working_days=3)
    # The city declares Monday 29 September 2025 a day off (a local override).
    CalendarOverride.objects.create(date=dt.date(2025, 9, 29), is_working_day=False, note="台风停工")
    order = dispatched(desk, on=local(2025, 9, 26), category="decoration_waste_question")
    # Sat 27 off, Sun 28 worked (1), Mon 29 now off, Tue 30 (2), 1-8 Oct off, Thu 9 Oct (3).
    assert order.due_date == dt.date(2025, 10, 9)


def test_return_window_runs_over_the_holiday(desk):
    order = dispatched(desk, on=local(2025, 9, 30), category="illegal_dumping")
    assert order.return_due == dt.date(2025, 10, 9)  # one working day: the first one after the break
    handler = desk.actor("district_officer")
    with pytest.raises(DomainError):
        services.workorder_return(actor=handler, order=order, reason="非本单位职责", now=local(2025, 10, 10))
    order = services.workorder_return(actor=handler, order=order, reason="非本单位职责", now=local(2025, 10, 8))
    assert order.status == "returned"


def test_worker_warns_the_working_day_before_and_marks_overdue_after_the_due_day(desk):
    order = dispatched(desk, on=local(2025, 9, 30), category="decoration_waste_question")
    assert order.due_date == dt.date(2025, 10, 10)
    # During the holiday the next working day is 9 October: the order is not yet due within a
    # working day, so no warning.
    assert services.workorders_mark_deadlines(now=local(2025, 10, 8)) == ([], [])
    warned, overdue = services.workorders_mark_deadlines(now=local(2025, 10, 9))
    assert [o.pk for o in warned] == [order.pk] and overdue == []
    # Marked once only.
    assert services.workorders_mark_deadlines(now=local(2025, 10, 9, 15)) == ([], [])
    # The due day itself is not overdue; the make-up Saturday after it is.
    assert services.workorders_mark_deadlines(now=local(2025, 10, 10, 23)) == ([], [])
    audits = AuditEntry.objects.count()
    warned, overdue = services.workorders_mark_deadlines(now=local(2025, 10, 11))
    assert warned == [] and [o.pk for o in overdue] == [order.pk]
    assert AuditEntry.objects.count() == audits + 1
    order.refresh_from_db()
    assert order.overdue_at is not None and order.warned_at is not None
    assert list(order.events.filter(kind__in=[EventKind.WARNED, EventKind.OVERDUE]).values_list("kind", flat=True)) \
        == [EventKind.WARNED, EventKind.OVERDUE]
    assert WorkOrderMonthlyStat.objects.get(unit=order.unit, month=dt.date(2025, 10, 1)).overdue == 1


def test_an_answered_order_is_never_marked_and_lateness_is_fixed_at_answer(desk):
    order = dispatched(desk, on=local(2025, 9, 30), category="decoration_waste_question")
    handler = desk.actor("district_officer")
    services.workorder_accept(actor=handler, order=order, now=local(2025, 10, 9))
    services.workorder_handle(actor=handler, order=order, note="已电话解答", now=local(2025, 10, 9))
    order = services.workorder_answer(actor=handler, order=order, answer="请袋装投放至小区堆放点",
                                      now=local(2025, 10, 11))  # the make-up Saturday, a day late
    assert order.answered_late is True and order.handling_working_days == 3
    assert services.workorders_mark_deadlines(now=local(2025, 10, 20)) == ([], [])
    stat = WorkOrderMonthlyStat.objects.get(unit=order.unit, month=dt.date(2025, 10, 1))
    assert (stat.answered, stat.answered_on_time) == (1, 0)


def test_approved_extension_clears_the_overdue_mark_when_the_new_deadline_lies_ahead(desk):
    order = dispatched(desk, on=local(2026, 2, 12), category="decoration_waste_question")
    assert order.due_date == dt.date(2026, 2, 14)  # Friday 13, make-up Saturday 14
    services.workorders_mark_deadlines(now=local(2026, 2, 24))
    order.refresh_from_db()
    assert order.overdue_at is not None
    extension = services.workorder_request_extension(actor=desk.actor("district_officer"), order=order,
                                                     working_days=10, reason="春节后核查", now=local(2026, 2, 24))
    services.workorder_decide_extension(actor=desk.actor("reg_admin"), extension=extension, approve=True,
                                        now=local(2026, 2, 24))
    order.refresh_from_db()
    # Ten working days after 14 February: 24, 25, 26, 27, 28 (make-up), 2, 3, 4, 5, 6 March.
    assert order.due_date == dt.date(2026, 3, 6) and order.overdue_at is None and order.extended_days == 10
