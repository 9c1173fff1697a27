"""The working-day calendar: which days count when a deadline is "N working days".

Three layers decide a day, the first that knows wins:

1. ``CalendarOverride`` rows: an administrator enters the State Council's yearly notice the day
   it is published, or corrects a day locally.
2. The ``holidays`` package (``holidays.China``): statutory holidays every year it covers
   (1950-2100), plus the State Council's substituted days (调休: weekdays off, weekends worked)
   for the years it carries that data for.
3. Outside the package's range: weekends and the fixed-date statutory holidays.

A year is *official* when the package carries its substituted days or a ``CalendarYearNotice``
says the notice has been entered as overrides. Results computed across a year that is not
official say so (``official=False``) instead of pretending to be certain.

``WorkingCalendar`` is plain date logic over an overrides mapping (no database), so property
tests can drive it directly; ``DatabaseCalendar`` reads the override table, one query per year
the first time that year is needed. A calendar object is meant to live for one request or one
batch: a new object always sees the current overrides, so nothing needs invalidating.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import holidays

SOURCE_OVERRIDE = "override"
SOURCE_PACKAGE = "package"
SOURCE_STATUTORY_RULE = "statutory_rule"

# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2024 revision). Beyond the package's
# range only these are known; the lunar festivals and the yearly substitutions are not.
FIXED_STATUTORY_HOLIDAYS: tuple[tuple[int, int, str, str], ...] = (
    (1, 1, "元旦", "New Year's Day"),
    (5, 1, "劳动节", "Labour Day"),
    (5, 2, "劳动节", "Labour Day"),
    (10, 1, "国庆节", "National Day"),
    (10, 2, "国庆节", "National Day"),
    (10, 3, "国庆节", "National Day"),
)


class CalendarRangeError(ValueError):
    """The answer would fall outside the dates Python can represent (after 9999-12-31)."""


@dataclass(frozen=True)
class DayOverride:
    is_working_day: bool
    note: str = ""


@dataclass(frozen=True)
class DayStatus:
    """A day whose status differs from the plain Monday-to-Friday rule, and who says so."""

    date: dt.date
    is_working_day: bool
    name_zh: str
    name_en: str
    source: str


@dataclass(frozen=True)
class DeadlineDate:
    """A date computed from the calendar, and whether official data covered every day used."""

    date: dt.date
    unofficial_years: tuple[int, ...] = ()

    @property
    def official(self) -> bool:
        return not self.unofficial_years


@dataclass(frozen=True)
class PackageYear:
    """What the package (or the statutory fallback) says about one year's non-standard days."""

    year: int
    days: Mapping[dt.date, DayStatus]
    source: str  # SOURCE_PACKAGE or SOURCE_STATUTORY_RULE


def _is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


@lru_cache(maxsize=1)
def package_official_years() -> frozenset[int]:
    """Years for which the package carries the State Council's substituted days.

    Read from the package itself (``special_public_holidays`` of ``holidays.China``), so a
    package upgrade that adds next year's notice makes that year official without a code change.
    """
    return frozenset(getattr(holidays.China(), "special_public_holidays", {}))


def package_year_range() -> tuple[int, int]:
    return holidays.China.start_year, holidays.China.end_year


@lru_cache(maxsize=256)
def package_year(year: int) -> PackageYear:
    """The package's view of one year, built once per process (the package never changes)."""
    start, end = package_year_range()
    if not start <= year <= end:
        days = {}
        for month, day, name_zh, name_en in FIXED_STATUTORY_HOLIDAYS:
            date = dt.date(year, month, day)
            if not _is_weekend(date):
                days[date] = DayStatus(date, False, name_zh, name_en, SOURCE_STATUTORY_RULE)
        return PackageYear(year, days, SOURCE_STATUTORY_RULE)

    zh = holidays.China(years=year, expand=False, language="zh_CN")
    en = holidays.China(years=year, expand=False, language="en_US")
    days: dict[dt.date, DayStatus] = {}
    for date, name_zh in zh.items():
        # A holiday that falls on a weekend changes nothing: the day was off anyway.
        if date.year == year and not _is_weekend(date):
            days[date] = DayStatus(date, False, name_zh, en.get(date, name_zh), SOURCE_PACKAGE)
    # weekend_workdays holds the make-up working weekends of every year the package knows.
    for date in zh.weekend_workdays:
        if date.year == year:
            days[date] = DayStatus(date, True, "调休上班", "Make-up working day", SOURCE_PACKAGE)
    return PackageYear(year, dict(sorted(days.items())), SOURCE_PACKAGE)


@dataclass(frozen=True)
class _YearTable:
    """One year as prefix sums: ``cumulative[i]`` = working days among the year's first i+1 days."""

    first: dt.date
    working: tuple[bool, ...]
    cumulative: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.cumulative[-1]

    def index(self, day: dt.date) -> int:
        return (day - self.first).days

    def count_through(self, day: dt.date) -> int:
        return self.cumulative[self.index(day)]

    def nth_working_day(self, n: int) -> dt.date:
        """The year's n-th working day (1-based); the caller checks 1 <= n <= total."""
        return self.first + dt.timedelta(days=bisect_left(self.cumulative, n))


class WorkingCalendar:
    """Working-day arithmetic over the package's data and a mapping of overrides.

    ``overrides`` maps a date to a bool (is it a working day) or a ``DayOverride``;
    ``notice_years`` are years an administrator has marked official (CalendarYearNotice).
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, bool | DayOverride] | None = None,
        notice_years: Iterable[int] = (),
    ) -> None:
        self._overrides_by_year: dict[int, dict[dt.date, DayOverride]] = {}
        for date, value in (overrides or {}).items():
            override = value if isinstance(value, DayOverride) else DayOverride(bool(value))
            self._overrides_by_year.setdefault(date.year, {})[date] = override
        self._notice_years = frozenset(notice_years)
        self._tables: dict[int, _YearTable] = {}

    # --- data sources; DatabaseCalendar reads these from the database -------------------------
    def overrides_in(self, year: int) -> Mapping[dt.date, DayOverride]:
        return self._overrides_by_year.get(year, {})

    def notice_years(self) -> frozenset[int]:
        return self._notice_years

    # --- single days ------------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        table = self._table(day.year)
        return table.working[table.index(day)]

    def year_is_official(self, year: int) -> bool:
        return year in package_official_years() or year in self.notice_years()

    def non_standard_days(self, year: int) -> list[DayStatus]:
        """Every day of the year that is not simply 'Monday to Friday work, weekend off', plus
        every override (one that restores a normal day is a decision worth seeing too)."""
        days = dict(package_year(year).days)
        for date, override in self.overrides_in(year).items():
            package_day = days.get(date)
            days[date] = DayStatus(
                date, override.is_working_day,
                override.note or (package_day.name_zh if package_day else ""),
                override.note or (package_day.name_en if package_day else ""),
                SOURCE_OVERRIDE,
            )
        return [
            status for date, status in sorted(days.items())
            if status.source == SOURCE_OVERRIDE or status.is_working_day == _is_weekend(date)
        ]

    # --- arithmetic -------------------------------------------------------------------------
    def add_working_days(self, start: dt.date, days: int) -> DeadlineDate:
        """The ``days``-th working day after ``start`` (``start`` itself never counts).

        ``days`` = 0 returns ``start`` unchanged. A deadline "within 5 working days" of an
        application made on a Friday before a holiday week ends on the 5th working day after it.
        """
        if days < 0:
            raise ValueError("days must be zero or more")
        if days == 0:
            return self._deadline(start, start)
        year = start.year
        table = self._table(year)
        remaining = days
        available = table.total - table.count_through(start)
        while remaining > available:
            remaining -= available
            year += 1
            if year > dt.MAXYEAR:
                raise CalendarRangeError("the result would fall after 9999-12-31")
            table = self._table(year)
            available = table.total
        target = table.total - available + remaining
        return self._deadline(start, table.nth_working_day(target))

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d <= end; negative (the same count) when end < start.

        So ``working_days_between(s, add_working_days(s, n).date) == n``, and
        ``working_days_between(today, due)`` is how many working days are left.
        """
        if end < start:
            return -self.working_days_between(end, start)
        if start.year == end.year:
            table = self._table(start.year)
            return table.count_through(end) - table.count_through(start)
        first = self._table(start.year)
        count = first.total - first.count_through(start)
        for year in range(start.year + 1, end.year):
            count += self._table(year).total
        return count + self._table(end.year).count_through(end)

    def unofficial_years(self, first: dt.date, last: dt.date) -> tuple[int, ...]:
        low, high = sorted((first.year, last.year))
        return tuple(year for year in range(low, high + 1) if not self.year_is_official(year))

    # --- internals --------------------------------------------------------------------------
    def _deadline(self, start: dt.date, result: dt.date) -> DeadlineDate:
        return DeadlineDate(result, self.unofficial_years(start, result))

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build_table(year)
        return table

    def _build_table(self, year: int) -> _YearTable:
        first = dt.date(year, 1, 1)
        length = (dt.date(year, 12, 31) - first).days + 1
        package_days = package_year(year).days
        overrides = self.overrides_in(year)
        working = []
        for offset in range(length):
            day = first + dt.timedelta(days=offset)
            if day in overrides:
                working.append(overrides[day].is_working_day)
            elif day in package_days:
                working.append(package_days[day].is_working_day)
            else:
                working.append(not _is_weekend(day))
        return _YearTable(first, tuple(working), tuple(accumulate(int(w) for w in working)))


class DatabaseCalendar(WorkingCalendar):
    """The calendar with the override and notice tables; reads each year once, when needed.

    The models are imported where they are used so that the rest of this module stays plain
    date logic, importable and testable without Django.
    """

    def __init__(self) -> None:
        super().__init__()
        self._db_overrides: dict[int, dict[dt.date, DayOverride]] = {}
        self._db_notice_years: frozenset[int] | None = None

    def overrides_in(self, year: int) -> Mapping[dt.date, DayOverride]:
        if year not in self._db_overrides:
            from wastetrail.core.rulebook.models import CalendarOverride

            rows = CalendarOverride.objects.filter(
                date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
            ).values_list("date", "is_working_day", "note")
            self._db_overrides[year] = {
                date: DayOverride(is_working_day, note) for date, is_working_day, note in rows
            }
        return self._db_overrides[year]

    def notice_years(self) -> frozenset[int]:
        if self._db_notice_years is None:
            from wastetrail.core.rulebook.models import CalendarYearNotice

            self._db_notice_years = frozenset(CalendarYearNotice.objects.values_list("year", flat=True))
        return self._db_notice_years


def rulebook_calendar() -> DatabaseCalendar:
    """A fresh calendar over the current overrides; reuse it for the length of one request."""
    return DatabaseCalendar()


def is_working_day(day: dt.date, *, calendar: WorkingCalendar | None = None) -> bool:
    return (calendar or rulebook_calendar()).is_working_day(day)


def add_working_days(start: dt.date, days: int, *, calendar: WorkingCalendar | None = None) -> DeadlineDate:
    return (calendar or rulebook_calendar()).add_working_days(start, days)


def working_days_between(start: dt.date, end: dt.date, *, calendar: WorkingCalendar | None = None) -> int:
    return (calendar or rulebook_calendar()).working_days_between(start, end)


def year_is_official(year: int, *, calendar: WorkingCalendar | None = None) -> bool:
    return (calendar or rulebook_calendar()).year_is_official(year)
