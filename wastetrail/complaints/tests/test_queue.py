"""The staff's work-order queues: what each role sees, in which order, filtered and paged, and
a page costs the same number of queries for 5 rows as for 50."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.complaints import selectors, services
from wastetrail.complaints.models import WorkOrder, WorkOrderSource, WorkOrderStatus
from wastetrail.complaints.tests.conftest import PENGJIANG, XINHUI, local

MONDAY = local(2026, 11, 2)


def staff_order(desk, *, at=MONDAY, district=PENGJIANG, category="illegal_dumping", title="河边倾倒",
                dispatch=True, officer="reg_officer"):
    """An order recorded by staff, classified, and (by default) dispatched along the routing table."""
    actor = desk.actor(officer)
    order, _code = services.workorder_receive(
        actor=actor, source=WorkOrderSource.STAFF, description="有人倾倒建筑垃圾", title=title,
        order_type="report", category=desk.category(category), district=district, received_at=at, now=at)
    if dispatch:
        order = services.workorder_dispatch(actor=actor, order=order, now=at)
    return order


def numbers(page) -> list[str]:
    return [row.number for row in page.rows]


def test_mine_holds_the_units_open_orders_by_deadline_and_never_another_districts(desk):
    late = staff_order(desk, at=local(2026, 11, 4))
    early = staff_order(desk, at=local(2026, 11, 2))
    same_day = staff_order(desk, at=local(2026, 11, 2, 15))
    xinhui = staff_order(desk, district=XINHUI)
    waiting = staff_order(desk, dispatch=False)  # still at the dispatch desk
    pengjiang_handler = desk.actor("district_officer")
    page = selectors.workorder_queue(actor=pengjiang_handler, queue="mine", today=dt.date(2026, 11, 3))
    # By due date, then by id (the two Monday orders share their deadline).
    assert numbers(page) == [early.number, same_day.number, late.number]
    xinhui_handler = desk.actor("xinhui_officer")
    assert numbers(selectors.workorder_queue(actor=xinhui_handler, queue="mine")) == [xinhui.number]
    for queue in selectors.available_queues(xinhui_handler):
        seen = numbers(selectors.workorder_queue(actor=xinhui_handler, queue=queue))
        assert not {early.number, late.number, same_day.number, waiting.number} & set(seen), queue


def test_dispatch_desk_shows_the_jurisdictions_waiting_orders_oldest_first(desk):
    newer = staff_order(desk, at=local(2026, 11, 3), dispatch=False)
    older = staff_order(desk, at=local(2026, 11, 2), dispatch=False)
    xinhui = staff_order(desk, at=local(2026, 11, 4), district=XINHUI, dispatch=False)
    staff_order(desk)  # dispatched: no longer the desk's
    city = selectors.workorder_queue(actor=desk.actor("reg_officer"), queue="dispatch")
    assert numbers(city) == [older.number, newer.number, xinhui.number]
    district = selectors.workorder_queue(actor=desk.actor("district_officer"), queue="dispatch")
    assert numbers(district) == [older.number, newer.number]
    # A street office handles orders but dispatches none.
    street = desk.actor("street_officer")
    assert "dispatch" not in selectors.available_queues(street)
    assert selectors.workorder_queue(actor=street, queue="dispatch").rows == []


def test_answered_overdue_and_closed_queues(desk):
    answered = staff_order(desk)
    handler = desk.actor("district_officer")
    services.workorder_accept(actor=handler, order=answered, now=MONDAY)
    services.workorder_handle(actor=handler, order=answered, note="已清理", now=MONDAY)
    services.workorder_answer(actor=handler, order=answered, answer="已处理", now=local(2026, 11, 3))
    overdue = staff_order(desk, at=local(2026, 10, 1))
    closed = staff_order(desk, at=local(2026, 10, 8))
    services.workorder_accept(actor=handler, order=closed, now=MONDAY)
    services.workorder_handle(actor=handler, order=closed, note="已清理", now=MONDAY)
    services.workorder_answer(actor=handler, order=closed, answer="已处理", now=MONDAY)
    services.workorder_rate(actor=None, order=closed, satisfaction=3, now=MONDAY)
    today = dt.date(2026, 11, 10)
    assert numbers(selectors.workorder_queue(actor=handler, queue="answered", today=today)) == [answered.number]
    late = selectors.workorder_queue(actor=handler, queue="overdue", today=today)
    assert numbers(late) == [overdue.number]
    row = late.rows[0]
    assert row.is_overdue and row.working_days_left < 0 and row.working_days_overdue == -row.working_days_left
    assert numbers(selectors.workorder_queue(actor=handler, queue="closed", today=today)) == [closed.number]
    everything = selectors.workorder_queue(actor=handler, queue="all", today=today)
    assert numbers(everything) == [closed.number, overdue.number, answered.number]  # newest first


def test_row_carries_deadline_working_days_and_marks(desk):
    order = staff_order(desk)  # a report: 15 working days, due 2026-11-23
    handler = desk.actor("district_officer")
    row = selectors.workorder_queue(actor=handler, queue="mine", today=dt.date(2026, 11, 16)).rows[0]
    assert row.due_date == order.due_date == dt.date(2026, 11, 23)
    assert row.working_days_left == 5 and not row.is_overdue and not row.is_warned
    assert (row.unit_name, row.category_name, row.district_name) == (
        desk.cast.org("district_regulator").name, desk.category("illegal_dumping").display_name, "蓬江区")
    services.workorders_mark_deadlines(now=local(2026, 11, 20))  # the rulebook warns a working day ahead
    row = selectors.workorder_queue(actor=handler, queue="mine", today=dt.date(2026, 11, 20)).rows[0]
    assert row.is_warned and row.working_days_left == 1
    row = selectors.workorder_queue(actor=handler, queue="mine", today=dt.date(2026, 11, 24)).rows[0]
    assert row.is_overdue and not row.is_warned and row.working_days_left == -1


def test_filters_narrow_the_queue(desk):
    dumping = staff_order(desk, title="河边倾倒泥头")
    full = staff_order(desk, category="stacking_point_full", title="堆放点满了")
    xinhui = staff_order(desk, district=XINHUI, title="新会倾倒")
    city = desk.actor("reg_officer")

    def found(**filters) -> set[str]:
        return set(numbers(selectors.workorder_queue(actor=city, queue="all", **filters)))

    assert found(district=XINHUI) == {xinhui.number}
    assert found(category="stacking_point_full") == {full.number}
    assert found(category=desk.category("stacking_point_full").pk) == {full.number}
    assert found(search="倾倒") == {dumping.number, xinhui.number}
    assert found(search=full.number.lower()) == {full.number}
    assert found(order_type="complaint") == set()
    assert found(overdue_only=True, today=dt.date(2026, 11, 24)) == {dumping.number, full.number, xinhui.number}
    assert found(overdue_only=True, today=dt.date(2026, 11, 3)) == set()
    with pytest.raises(ValidationError):
        selectors.workorder_queue(actor=city, queue="everything")


def test_paging_fetches_one_row_more_to_know_there_is_a_next_page(desk):
    made = [staff_order(desk, at=local(2026, 11, 2, 8) + dt.timedelta(minutes=n)) for n in range(5)]
    city = desk.actor("reg_officer")
    first = selectors.workorder_queue(actor=city, queue="all", per_page=2)
    second = selectors.workorder_queue(actor=city, queue="all", per_page=2, page=2)
    last = selectors.workorder_queue(actor=city, queue="all", per_page=2, page=3)
    newest_first = [order.number for order in reversed(made)]
    assert numbers(first) + numbers(second) + numbers(last) == newest_first
    assert first.has_next and second.has_next and not last.has_next
    assert not first.has_previous and last.has_previous


def _bulk_orders(desk, count: int) -> None:
    """Copies of one dispatched order: only the number of rows matters to the query count."""
    template = staff_order(desk)
    rows, first = [], WorkOrder.objects.count()
    for n in range(count - 1):
        template.pk, template.id = None, None
        template.number = f"WOB{first + n:08d}"
        template.due_date = dt.date(2026, 11, 23) + dt.timedelta(days=n % 9)
        rows.append(WorkOrder(**{f.attname: getattr(template, f.attname) for f in WorkOrder._meta.concrete_fields}))
    WorkOrder.objects.bulk_create(rows)


@pytest.mark.parametrize("queue", ["mine", "all"])
def test_a_page_costs_the_same_queries_for_5_and_50_rows(desk, client, queue):
    _bulk_orders(desk, 5)
    client.force_login(desk.cast.user("district_officer"))
    with CaptureQueriesContext(connection) as few:
        response = client.get("/workorders/", {"queue": queue})
    assert response.status_code == 200 and len(response.context["page"].rows) == 5
    _bulk_orders(desk, 45)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/workorders/", {"queue": queue})
    assert len(response.context["page"].rows) == 50
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_selector_query_count_does_not_grow_with_rows(desk, django_assert_num_queries):
    _bulk_orders(desk, 5)
    handler = desk.actor("district_officer")
    # One for the rows, one per calendar year around today (3).
    with django_assert_num_queries(4):
        assert len(selectors.workorder_queue(actor=handler, queue="mine").rows) == 5
    _bulk_orders(desk, 45)
    handler = desk.actor("district_officer")
    with django_assert_num_queries(4):
        assert len(selectors.workorder_queue(actor=handler, queue="mine").rows) == 50


def test_queue_page_shows_tabs_rows_marks_and_links(desk, client):
    order = staff_order(desk, at=local(2026, 10, 1))  # long overdue by now
    client.force_login(desk.cast.user("district_officer"))
    response = client.get("/workorders/")  # the first tab: the unit's own orders
    assert response.status_code == 200 and response.context["queue"] == "mine"
    html = response.content.decode()
    assert f'href="/workorders/{order.pk}/"' in html
    assert 'class="overdue"' in html
    assert 'data-testid="tab-dispatch"' in html
    client.force_login(desk.cast.user("street_officer"))
    assert 'data-testid="tab-dispatch"' not in client.get("/workorders/").content.decode()
    assert client.get("/workorders/", {"queue": "dispatch"}).status_code == 404


def test_pages_need_a_login_and_a_work_order_role(desk, client):
    assert client.get("/workorders/").status_code == 302
    assert client.get("/workorders/stats/").status_code == 302
    client.force_login(desk.cast.user("construction_admin"))
    assert client.get("/workorders/").status_code == 404
    assert client.get("/workorders/stats/").status_code == 404


def test_queue_keeps_filters_across_tabs_and_pages(desk, client):
    for n in range(3):
        staff_order(desk, at=local(2026, 11, 2, 8) + dt.timedelta(minutes=n))
    client.force_login(desk.cast.user("reg_officer"))
    response = client.get("/workorders/", {"queue": "all", "district": PENGJIANG, "page": 1})
    assert response.status_code == 200 and len(response.context["page"].rows) == 3
    assert f"district={PENGJIANG}" in response.context["query"]
    assert all(f"district={PENGJIANG}" in query for _name, _label, query in response.context["tabs"])
    assert WorkOrderStatus.DISPATCHED in {row.status for row in response.context["page"].rows}
