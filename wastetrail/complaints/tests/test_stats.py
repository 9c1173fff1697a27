"""Statistics per unit and month, from orders driven through the services: on-time rate,
handling working days, satisfaction, returns, reopenings, overdue marks; and who sees which units."""

from __future__ import annotations

import datetime as dt

import pytest

from wastetrail.complaints import selectors, services
from wastetrail.complaints.tests.conftest import XINHUI, local
from wastetrail.complaints.tests.test_queue import staff_order
from wastetrail.core.errors import NotFound
from wastetrail.core.rulebook.calendar import rulebook_calendar

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def answer(desk, order, at, handler="district_officer"):
    actor = desk.actor(handler)
    services.workorder_accept(actor=actor, order=order, now=at)
    services.workorder_handle(actor=actor, order=order, note="现场已清理", now=at)
    return services.workorder_answer(actor=actor, order=order, answer="已处理完毕", now=at)


@pytest.fixture
def history(desk):
    """Pengjiang's bureau: one order answered on time and rated satisfied in November; one answered
    late in December and rated dissatisfied (reopened); one returned; one marked overdue.
    Xinhui's bureau: one order answered on time."""
    on_time = answer(desk, staff_order(desk, at=local(2026, 11, 2)), local(2026, 11, 5))
    services.workorder_rate(actor=None, order=on_time, satisfaction=3, now=local(2026, 11, 6))
    late = answer(desk, staff_order(desk, at=local(2026, 11, 2)), local(2026, 12, 1))
    services.workorder_rate(actor=None, order=late, satisfaction=1, comment="还有垃圾", now=local(2026, 12, 2))
    returned = staff_order(desk, at=local(2026, 11, 2))
    services.workorder_return(actor=desk.actor("district_officer"), order=returned, reason="属住建部门职责",
                              now=local(2026, 11, 3))
    staff_order(desk, at=local(2026, 11, 9))  # due 2026-11-30, still open in December
    services.workorders_mark_deadlines(now=local(2026, 12, 1))
    answer(desk, staff_order(desk, at=local(2026, 11, 2), district=XINHUI), local(2026, 11, 4),
           handler="xinhui_officer")
    return {"on_time": on_time, "late": late}


def test_counters_give_rates_per_month_and_totals(desk, history):
    stats = selectors.workorder_stats(actor=desk.actor("reg_officer"), months=2, until=dt.date(2026, 12, 15))
    assert stats.months == [NOV, DEC]
    bureau = next(u for u in stats.units if u.unit == desk.cast.org("district_regulator"))
    nov, dec = bureau.months
    assert (nov.month, dec.month) == (NOV, DEC)
    late_days = rulebook_calendar().working_days_between(dt.date(2026, 11, 2), dt.date(2026, 12, 1))
    assert (nov.dispatched, nov.returned, nov.answered, nov.answered_on_time, nov.handling_working_days) == (
        4, 1, 1, 1, 3)
    assert (nov.rated, nov.satisfied, nov.satisfaction_points) == (1, 1, 3)
    assert nov.on_time_rate == 1.0 and nov.satisfaction_rate == 1.0 and nov.mean_satisfaction == 3.0
    assert (dec.answered, dec.answered_on_time, dec.handling_working_days) == (1, 0, late_days)
    assert (dec.rated, dec.satisfied, dec.satisfaction_points, dec.reopened, dec.overdue) == (1, 0, 1, 1, 1)
    assert dec.on_time_rate == 0.0 and dec.satisfaction_rate == 0.0 and dec.mean_satisfaction == 1.0
    total = bureau.total
    assert total.on_time_rate == 0.5 and total.average_handling_days == (3 + late_days) / 2
    assert total.satisfaction_rate == 0.5 and total.mean_satisfaction == 2.0
    # The reopened order's second round counts as a dispatch of its own.
    assert (total.dispatched, total.reopened, total.overdue, total.returned) == (5, 1, 1, 1)
    # The city's totals add Xinhui's bureau.
    assert stats.month_totals[0].answered == 2 and stats.total.answered == 3
    assert stats.total.dispatched == 6


def test_nothing_answered_gives_no_rate_not_zero(desk):
    staff_order(desk, at=local(2026, 11, 2))
    stats = selectors.workorder_stats(actor=desk.actor("reg_officer"), months=1, until=NOV)
    cell = stats.units[0].months[0]
    assert cell.dispatched == 1
    assert cell.on_time_rate is None and cell.average_handling_days is None and cell.mean_satisfaction is None


def test_each_role_sees_its_units_only(desk, history):
    until = dt.date(2026, 12, 1)
    pengjiang, xinhui = desk.cast.org("district_regulator"), desk.xinhui_bureau
    city = {u.unit for u in selectors.workorder_stats(actor=desk.actor("reg_officer"), until=until).units}
    assert city == {pengjiang, xinhui}
    xinhui_view = selectors.workorder_stats(actor=desk.actor("xinhui_officer"), until=until)
    assert {u.unit for u in xinhui_view.units} == {xinhui}
    assert pengjiang not in xinhui_view.unit_choices
    with pytest.raises(NotFound):
        selectors.workorder_stats(actor=desk.actor("xinhui_officer"), unit=pengjiang, until=until)
    pengjiang_view = selectors.workorder_stats(actor=desk.actor("district_officer"), until=until, unit=pengjiang)
    assert [u.unit for u in pengjiang_view.units] == [pengjiang]
    # A street office sees its own counters (none here), the outsider nothing at all.
    assert selectors.workorder_stats(actor=desk.actor("street_officer"), until=until).units == []
    assert selectors.workorder_stats(actor=desk.actor("outsider"), until=until).units == []


def test_months_window_ends_at_until(desk, history):
    stats = selectors.workorder_stats(actor=desk.actor("reg_officer"), months=3, until=dt.date(2027, 1, 20))
    assert stats.months == [NOV, DEC, dt.date(2027, 1, 1)]
    only_november = selectors.workorder_stats(actor=desk.actor("reg_officer"), months=1, until=NOV)
    assert only_november.total.answered == 2 and only_november.total.reopened == 0


def test_stats_page_shows_the_table_and_filters_by_unit(desk, history, client):
    client.force_login(desk.cast.user("reg_officer"))
    response = client.get("/workorders/stats/", {"month": "2026-12", "months": "3"})
    assert response.status_code == 200
    assert response.context["stats"].months == [dt.date(2026, 10, 1), NOV, DEC]
    html = response.content.decode()
    assert desk.cast.org("district_regulator").name in html and desk.xinhui_bureau.name in html
    assert 'data-month="2026-11"' in html and "50%" in html  # the bureau's on-time rate overall
    response = client.get("/workorders/stats/", {"month": "2026-12", "months": "3", "unit": desk.xinhui_bureau.pk})
    assert [u.unit for u in response.context["stats"].units] == [desk.xinhui_bureau]
    client.force_login(desk.actor("xinhui_officer").user)
    response = client.get("/workorders/stats/", {"unit": desk.cast.org("district_regulator").pk})
    assert response.status_code == 404


def test_the_months_select_shows_the_twelve_months_the_page_shows(client, desk):
    client.force_login(desk.cast.user("reg_officer"))
    html = client.get("/workorders/stats/").content.decode()
    assert '<option value="12" selected>' in html


def test_the_chart_draws_each_months_dispatches_and_rates(desk, history):
    from wastetrail.complaints.charts import HEIGHT, PAD, month_chart

    stats = selectors.workorder_stats(actor=desk.actor("reg_officer"), months=2, until=dt.date(2026, 12, 15))
    chart = month_chart(stats.month_totals)
    nov, dec = chart.bars
    assert (nov.label, nov.value, dec.label) == ("2026-11", stats.month_totals[0].dispatched, "2026-12")
    assert nov.height == HEIGHT - 2 * PAD  # the busiest month fills the height
    # November: every answer on time (the line at the top); December: none (at the baseline).
    assert chart.on_time.split() == [f"{PAD + (720 - 2 * PAD) / 4:.1f},{PAD:.1f}",
                                     f"{PAD + (720 - 2 * PAD) * 3 / 4:.1f},{HEIGHT - PAD:.1f}"]
    assert month_chart([]) is None
