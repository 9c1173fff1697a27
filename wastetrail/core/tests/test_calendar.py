"""The working-day calendar: Chinese holidays and make-up days, overrides winning, official
flags, and dates past what anyone knows."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from holidays.countries.china import ChinaStaticHolidays

from wastetrail.core.rulebook import calendar as cal
from wastetrail.core.rulebook.calendar import (
    DatabaseCalendar,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    package_official_years,
    working_days_between,
    year_is_official,
)
from wastetrail.core.rulebook.models import CalendarOverride, CalendarYearNotice

D = dt.date


# --- the package alone (no database) --------------------------------------------------------
@pytest.mark.parametrize(("day", "working"), [
    (D(2025, 9, 26), True),   # Friday before
    (D(2025, 9, 27), False),  # Saturday
    (D(2025, 9, 28), True),   # Sunday, make-up working day
    *[(D(2025, 10, d), False) for d in range(1, 9)],  # National Day + Mid-Autumn: Oct 1-8
    (D(2025, 10, 9), True),
    (D(2025, 10, 11), True),  # Saturday, make-up working day
    (D(2025, 10, 12), False),
])
def test_national_day_2025_holiday_and_make_up_days(day, working):
    assert WorkingCalendar().is_working_day(day) is working


@pytest.mark.parametrize(("day", "working"), [
    (D(2026, 2, 13), True),
    (D(2026, 2, 14), True),   # Saturday, make-up working day
    *[(D(2026, 2, d), False) for d in range(15, 24)],  # Spring Festival: Feb 15-23
    (D(2026, 2, 24), True),
    (D(2026, 2, 28), True),   # Saturday, make-up working day
    (D(2026, 3, 1), False),
])
def test_spring_festival_2026_holiday_and_make_up_days(day, working):
    assert WorkingCalendar().is_working_day(day) is working


def test_our_expectations_match_the_package_itself():
    """If a package upgrade changed these days, the tests above would be testing our memory."""
    china = holidays.China(years=[2025, 2026])
    for day in (D(2025, 9, 28), D(2025, 10, 11), D(2026, 2, 14), D(2026, 2, 28)):
        assert china.is_working_day(day)
    for day in (D(2025, 10, 8), D(2026, 2, 23)):
        assert not china.is_working_day(day)


def test_counting_across_national_day_2025():
    calendar = WorkingCalendar()
    # Applied Tuesday Sep 30: day 1 is Thursday Oct 9, the first working day after the break.
    assert calendar.add_working_days(D(2025, 9, 30), 1).date == D(2025, 10, 9)
    # 5 working days: Oct 9, 10, 11 (Saturday, worked), 13, 14.
    result = calendar.add_working_days(D(2025, 9, 30), 5)
    assert result.date == D(2025, 10, 14)
    assert result.official
    # Sep 26 (Fri) -> Sep 28 (Sun, worked) -> Sep 29 -> Sep 30 -> Oct 9.
    assert calendar.add_working_days(D(2025, 9, 26), 4).date == D(2025, 10, 9)
    assert calendar.working_days_between(D(2025, 9, 30), D(2025, 10, 14)) == 5


def test_counting_across_spring_festival_2026():
    calendar = WorkingCalendar()
    # Friday Feb 13 + 1 = Saturday Feb 14 (worked); + 2 = Tuesday Feb 24.
    assert calendar.add_working_days(D(2026, 2, 13), 1).date == D(2026, 2, 14)
    assert calendar.add_working_days(D(2026, 2, 13), 2).date == D(2026, 2, 24)
    # A 12345 complaint (15 working days) received on the eve of the break.
    assert calendar.add_working_days(D(2026, 2, 14), 15).date == D(2026, 3, 13)


def test_zero_days_is_the_start_and_negative_days_are_refused():
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2025, 10, 1), 0).date == D(2025, 10, 1)
    with pytest.raises(ValueError):
        calendar.add_working_days(D(2025, 10, 1), -1)


def test_official_years_come_from_the_packages_substituted_days():
    carried = set(ChinaStaticHolidays.special_public_holidays)
    assert package_official_years() == carried
    assert {2025, 2026} <= package_official_years()
    assert 2099 not in package_official_years()


def test_a_deadline_crossing_into_a_year_without_official_data_is_marked():
    last = max(package_official_years())
    calendar = WorkingCalendar()
    inside = calendar.add_working_days(D(last, 6, 1), 10)
    assert inside.official
    crossing = calendar.add_working_days(D(last, 12, 20), 10)
    assert crossing.date.year == last + 1
    assert not crossing.official
    assert crossing.unofficial_years == (last + 1,)


def test_a_notice_year_is_official():
    unofficial = max(package_official_years()) + 1
    assert not WorkingCalendar().year_is_official(unofficial)
    assert WorkingCalendar(notice_years=[unofficial]).year_is_official(unofficial)


def test_far_future_dates_do_not_crash_and_are_not_official():
    calendar = WorkingCalendar()
    result = calendar.add_working_days(D(2099, 12, 28), 5)
    assert result.date > D(2099, 12, 28)
    assert not result.official
    # Past the package's range (2100): weekends and fixed-date statutory holidays only.
    assert not calendar.is_working_day(D(2101, 10, 3))  # National Day, a Monday
    assert calendar.is_working_day(D(2101, 10, 4))
    assert calendar.add_working_days(D(2500, 1, 1), 250).official is False
    assert calendar.working_days_between(D(2098, 1, 1), D(2102, 1, 1)) > 900


def test_the_last_representable_date_is_a_clear_error_not_a_crash():
    with pytest.raises(cal.CalendarRangeError):
        WorkingCalendar().add_working_days(D(9999, 12, 30), 5)


def test_overrides_win_over_the_package():
    calendar = WorkingCalendar({D(2025, 10, 8): True, D(2025, 10, 9): False, D(2025, 10, 11): False})
    assert calendar.is_working_day(D(2025, 10, 8))
    assert not calendar.is_working_day(D(2025, 10, 9))
    assert not calendar.is_working_day(D(2025, 10, 11))
    assert calendar.add_working_days(D(2025, 9, 30), 1).date == D(2025, 10, 8)


def test_non_standard_days_of_2026_name_the_make_up_days_and_the_holidays():
    days = {d.date: d for d in WorkingCalendar().non_standard_days(2026)}
    assert days[D(2026, 2, 14)].is_working_day and days[D(2026, 2, 14)].source == cal.SOURCE_PACKAGE
    assert not days[D(2026, 2, 17)].is_working_day
    assert days[D(2026, 2, 17)].name_zh == "春节"
    assert D(2026, 2, 15) not in days  # a Sunday off is not news
    assert all(d.date.year == 2026 for d in days.values())


# --- the database-backed calendar -----------------------------------------------------------
@pytest.mark.django_db
def test_database_overrides_win_and_are_listed():
    CalendarOverride.objects.create(date=D(2026, 2, 24), is_working_day=False, note="台风停工")
    CalendarOverride.objects.create(date=D(2026, 2, 20), is_working_day=True, note="")
    assert not is_working_day(D(2026, 2, 24))
    assert is_working_day(D(2026, 2, 20))
    days = {d.date: d for d in DatabaseCalendar().non_standard_days(2026)}
    assert days[D(2026, 2, 24)].name_zh == "台风停工"
    assert days[D(2026, 2, 24)].source == cal.SOURCE_OVERRIDE
    # Restoring a normal working Friday is listed too: it is a decision someone made.
    assert days[D(2026, 2, 20)].is_working_day


@pytest.mark.django_db
def test_a_year_notice_makes_a_future_year_official():
    future = max(package_official_years()) + 1
    assert not year_is_official(future)
    CalendarYearNotice.objects.create(year=future, source="国办发明电〔2026〕1号")
    assert year_is_official(future)
    assert add_working_days(D(future, 3, 2), 3).official


@pytest.mark.django_db
def test_the_database_calendar_reads_each_year_once(django_assert_num_queries):
    calendar = DatabaseCalendar()
    # Overrides for 2025 and for 2026; both years are official in the package, so the notice
    # table is not asked.
    with django_assert_num_queries(2):
        calendar.add_working_days(D(2025, 12, 1), 40)
    with django_assert_num_queries(0):
        calendar.add_working_days(D(2025, 12, 5), 30)
        calendar.working_days_between(D(2025, 1, 1), D(2026, 12, 31))
        calendar.is_working_day(D(2026, 2, 14))


@pytest.mark.django_db
def test_a_fresh_calendar_sees_a_new_override_at_once():
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 6)) == 4
    CalendarOverride.objects.create(date=D(2026, 3, 4), is_working_day=False)
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 6)) == 3
