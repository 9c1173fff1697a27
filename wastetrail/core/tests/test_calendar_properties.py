"""Properties of working-day arithmetic, checked with random dates, counts and overrides.

The calendar uses per-year prefix sums; a plain day-by-day walk is the oracle it must agree with.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from wastetrail.core.rulebook.calendar import WorkingCalendar

# From before the package's official data to past its range (2100), so every source is hit.
dates = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2105, 12, 31))
near_dates = st.dates(min_value=dt.date(2024, 6, 1), max_value=dt.date(2028, 6, 30))
counts = st.integers(min_value=0, max_value=400)
overrides = st.dictionaries(near_dates, st.booleans(), max_size=25)
notice_years = st.sets(st.integers(min_value=2024, max_value=2030), max_size=3)


def naive_add(calendar: WorkingCalendar, start: dt.date, days: int) -> dt.date:
    day = start
    while days:
        day += dt.timedelta(days=1)
        days -= calendar.is_working_day(day)
    return day


@settings(max_examples=150, deadline=None)
@given(start=dates, days=st.integers(min_value=1, max_value=400), overrides=overrides)
def test_adding_working_days_lands_on_a_working_day(start, days, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.is_working_day(calendar.add_working_days(start, days).date)


@settings(max_examples=150, deadline=None)
@given(start=dates, a=counts, b=counts, overrides=overrides)
def test_adding_is_strictly_increasing_in_the_number_of_days(start, a, b, overrides):
    calendar = WorkingCalendar(overrides)
    low, high = sorted((a, b))
    first, second = calendar.add_working_days(start, low).date, calendar.add_working_days(start, high).date
    assert (first < second) if low < high else (first == second)


@settings(max_examples=150, deadline=None)
@given(start=dates, days=counts, overrides=overrides)
def test_counting_back_gives_the_days_added(start, days, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.working_days_between(start, calendar.add_working_days(start, days).date) == days


@settings(max_examples=100, deadline=None)
@given(start=near_dates, days=st.integers(min_value=0, max_value=120), overrides=overrides)
def test_prefix_sums_agree_with_a_day_by_day_walk(start, days, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.add_working_days(start, days).date == naive_add(calendar, start, days)


@settings(max_examples=150, deadline=None)
@given(a=dates, b=dates, c=dates, overrides=overrides)
def test_counts_are_antisymmetric_and_add_up(a, b, c, overrides):
    calendar = WorkingCalendar(overrides)
    assert calendar.working_days_between(a, b) == -calendar.working_days_between(b, a)
    assert (calendar.working_days_between(a, b) + calendar.working_days_between(b, c)
            == calendar.working_days_between(a, c))


@settings(max_examples=100, deadline=None)
@given(overrides=overrides)
def test_every_override_wins(overrides):
    calendar = WorkingCalendar(overrides)
    for day, working in overrides.items():
        assert calendar.is_working_day(day) is working


@settings(max_examples=150, deadline=None)
@given(start=dates, days=counts, years=notice_years)
def test_a_result_is_official_exactly_when_every_year_it_spans_is(start, days, years):
    calendar = WorkingCalendar(notice_years=years)
    result = calendar.add_working_days(start, days)
    spanned = range(start.year, result.date.year + 1)
    assert result.official == all(calendar.year_is_official(year) for year in spanned)
