"""Reads of the rulebook. Every logged-in user may read it: the rules bind everyone.

Other apps ask here for what the rulebook says (a deadline's due date, categories by code)
instead of reading the tables themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.core.rulebook.calendar import (
    CalendarRangeError,
    DayStatus,
    DeadlineDate,
    WorkingCalendar,
    package_official_years,
    rulebook_calendar,
)
from wastetrail.core.rulebook.models import (
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    RulebookParameter,
    Violation,
    WasteCategory,
)

# The parameters other apps read, by code (seeded by migrations, see docs/rulebook.md).
PLAN_OUTFLOW_TOLERANCE_PERCENT = "plan_outflow_tolerance_percent"


def can_read_rulebook(actor: Actor) -> bool:
    return bool(actor.user.is_authenticated and actor.user.is_active)


def _require_reader(actor: Actor) -> None:
    actor.require(can_read_rulebook(actor))


def _get(qs: QuerySet, **lookup):
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


# --- categories -----------------------------------------------------------------------------
def category_list(*, actor: Actor, active_only: bool = False) -> QuerySet[WasteCategory]:
    _require_reader(actor)
    qs = WasteCategory.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def category_get(*, actor: Actor, pk: int | None = None, code: str | None = None) -> WasteCategory:
    _require_reader(actor)
    return _get(WasteCategory.objects.all(), **({"pk": pk} if pk is not None else {"code": code}))


def categories_by_codes(codes: Iterable[str], *, field: str = "categories",
                        active_only: bool = True) -> list[WasteCategory]:
    """The categories named by ``codes``, in the order given; an unknown (or, by default,
    inactive) code is a ValidationError on ``field`` naming every bad code at once."""
    wanted = [str(code).strip() for code in codes]
    qs = WasteCategory.objects.filter(code__in=wanted)
    if active_only:
        qs = qs.filter(is_active=True)
    found = {category.code: category for category in qs}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ValidationError({field: _("Unknown waste category: %(codes)s.") % {"codes": ", ".join(unknown)}})
    return list(dict.fromkeys(found[code] for code in wanted))


# --- violations -----------------------------------------------------------------------------
def violation_list(*, actor: Actor, search: str = "", active_only: bool = False) -> QuerySet[Violation]:
    _require_reader(actor)
    qs = Violation.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    if search:
        qs = qs.filter(
            Q(code__icontains=search) | Q(title_zh__icontains=search) | Q(title_en__icontains=search)
            | Q(legal_basis__icontains=search) | Q(article__icontains=search)
        )
    return qs


def violation_get(*, actor: Actor, pk: int | None = None, code: str | None = None) -> Violation:
    _require_reader(actor)
    return _get(Violation.objects.all(), **({"pk": pk} if pk is not None else {"code": code}))


# --- deadlines ------------------------------------------------------------------------------
def deadline_list(*, actor: Actor) -> QuerySet[DeadlineRule]:
    _require_reader(actor)
    return DeadlineRule.objects.all()


def deadline_get(*, actor: Actor, pk: int | None = None, code: str | None = None) -> DeadlineRule:
    _require_reader(actor)
    return _get(DeadlineRule.objects.all(), **({"pk": pk} if pk is not None else {"code": code}))


def deadline_working_days(code: str) -> int:
    """How many working days the rule ``code`` allows. For other apps' services.

    A missing rule is a configuration problem the regulator must fix, not bad user input.
    """
    days = DeadlineRule.objects.filter(code=code).values_list("working_days", flat=True).first()
    if days is None:
        raise DomainError(_("The rulebook has no deadline “%(code)s”.") % {"code": code},
                          code="rulebook_deadline_missing")
    return days


def deadline_due(code: str, start: dt.date, *, calendar: WorkingCalendar | None = None) -> DeadlineDate:
    """When the deadline ``code`` started on ``start`` falls due (and whether that is official)."""
    return (calendar or rulebook_calendar()).add_working_days(start, deadline_working_days(code))


# --- parameters -----------------------------------------------------------------------------
def parameter_list(*, actor: Actor) -> QuerySet[RulebookParameter]:
    _require_reader(actor)
    return RulebookParameter.objects.all()


def parameter_get(*, actor: Actor, pk: int | None = None, code: str | None = None) -> RulebookParameter:
    _require_reader(actor)
    return _get(RulebookParameter.objects.all(), **({"pk": pk} if pk is not None else {"code": code}))


def parameter_value(code: str) -> Decimal:
    """The value of the parameter ``code``. For other apps' selectors and services.

    A missing parameter is a configuration problem the regulator must fix, not bad user input.
    """
    value = RulebookParameter.objects.filter(code=code).values_list("value", flat=True).first()
    if value is None:
        raise DomainError(_("The rulebook has no parameter “%(code)s”.") % {"code": code},
                          code="rulebook_parameter_missing")
    return value


# --- calendar -------------------------------------------------------------------------------
def override_list(*, actor: Actor, year: int | None = None) -> QuerySet[CalendarOverride]:
    _require_reader(actor)
    qs = CalendarOverride.objects.all()
    if year is not None:
        qs = qs.filter(date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31))
    return qs


def override_get(*, actor: Actor, pk: int | None = None, date: dt.date | None = None) -> CalendarOverride:
    _require_reader(actor)
    return _get(CalendarOverride.objects.all(), **({"pk": pk} if pk is not None else {"date": date}))


def notice_list(*, actor: Actor) -> QuerySet[CalendarYearNotice]:
    _require_reader(actor)
    return CalendarYearNotice.objects.all()


def notice_get(*, actor: Actor, pk: int | None = None, year: int | None = None) -> CalendarYearNotice:
    _require_reader(actor)
    return _get(CalendarYearNotice.objects.all(), **({"pk": pk} if pk is not None else {"year": year}))


@dataclass(frozen=True)
class YearStatus:
    year: int
    official: bool
    in_package: bool
    notice: CalendarYearNotice | None

    @property
    def source(self) -> str:
        """Where the official data comes from: "notice" (an administrator recorded the State
        Council's notice), "package" (the holidays package carries it) or "" (none)."""
        if self.notice is not None:
            return "notice"
        return "package" if self.in_package else ""

    @property
    def notice_source(self) -> str:
        return self.notice.source if self.notice is not None else ""


def calendar_year_status(*, actor: Actor, year: int) -> YearStatus:
    _require_reader(actor)
    notice = CalendarYearNotice.objects.filter(year=year).first()
    in_package = year in package_official_years()
    return YearStatus(year=year, official=in_package or notice is not None, in_package=in_package,
                      notice=notice)


def calendar_year(*, actor: Actor, year: int) -> tuple[YearStatus, list[DayStatus]]:
    """A year's status and every day of it that is not plain 'weekday work, weekend off'."""
    status = calendar_year_status(actor=actor, year=year)
    return status, rulebook_calendar().non_standard_days(year)


def calendar_add_working_days(*, actor: Actor, start: dt.date, days: int) -> DeadlineDate:
    _require_reader(actor)
    if days < 0:
        raise ValidationError({"days": _("Enter zero or more working days.")})
    try:
        return rulebook_calendar().add_working_days(start, days)
    except CalendarRangeError:
        raise ValidationError({"days": _("The result would fall after 9999-12-31.")}) from None


@dataclass(frozen=True)
class WorkingDaysCount:
    working_days: int
    unofficial_years: tuple[int, ...]

    @property
    def official(self) -> bool:
        return not self.unofficial_years


def calendar_working_days_between(*, actor: Actor, start: dt.date, end: dt.date) -> WorkingDaysCount:
    _require_reader(actor)
    calendar = rulebook_calendar()
    return WorkingDaysCount(calendar.working_days_between(start, end), calendar.unofficial_years(start, end))
