"""API for the rulebook: categories, violations, deadlines and the working-day calendar.

Rows are addressed by their code (an override by its date, a notice by its year): these never
change, so clients can keep them in their own configuration.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, ModelSchema, Path, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.api import request_actor
from wastetrail.core.rulebook import selectors, services
from wastetrail.core.rulebook.models import (
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    Violation,
    WasteCategory,
)

router = Router(tags=["rulebook"])

# Ten years: far beyond any legal deadline, and it keeps one request cheap.
MAX_DAYS_PER_REQUEST = 3660
MAX_YEARS_PER_REQUEST = 10


# --- categories -----------------------------------------------------------------------------
class CategoryOut(ModelSchema):
    class Meta:
        model = WasteCategory
        fields = ["id", "code", "name_zh", "name_en", "density_t_per_m3", "sort_order", "is_active"]


class CategoryIn(Schema):
    code: str
    name_zh: str
    name_en: str
    density_t_per_m3: Decimal
    sort_order: int = 0
    is_active: bool = True


class CategoryPatch(Schema):
    name_zh: str | None = None
    name_en: str | None = None
    density_t_per_m3: Decimal | None = None
    sort_order: int | None = None
    is_active: bool | None = None


@router.get("/categories", response=list[CategoryOut])
@paginate(LimitOffsetPagination)
def category_list(request, active: bool = False):
    return selectors.category_list(actor=request_actor(request), active_only=active)


@router.get("/categories/{code}", response=CategoryOut)
def category_detail(request, code: str):
    return selectors.category_get(actor=request_actor(request), code=code)


@router.post("/categories", response={201: CategoryOut})
def category_create(request, payload: CategoryIn):
    return Status(201, services.category_create(actor=request_actor(request), **payload.dict()))


@router.patch("/categories/{code}", response=CategoryOut)
def category_update(request, code: str, payload: CategoryPatch):
    actor = request_actor(request)
    category = selectors.category_get(actor=actor, code=code)
    return services.category_update(actor=actor, category=category, **payload.dict(exclude_unset=True))


# --- violations -----------------------------------------------------------------------------
class ViolationOut(ModelSchema):
    class Meta:
        model = Violation
        fields = ["id", "code", "title_zh", "title_en", "description", "legal_basis", "article",
                  "fine_min_yuan", "fine_max_yuan", "daily_penalty_allowed", "is_active"]


class ViolationIn(Schema):
    code: str
    title_zh: str
    title_en: str
    description: str = ""
    legal_basis: str
    article: str
    fine_min_yuan: int
    fine_max_yuan: int
    daily_penalty_allowed: bool = False
    is_active: bool = True


class ViolationPatch(Schema):
    title_zh: str | None = None
    title_en: str | None = None
    description: str | None = None
    legal_basis: str | None = None
    article: str | None = None
    fine_min_yuan: int | None = None
    fine_max_yuan: int | None = None
    daily_penalty_allowed: bool | None = None
    is_active: bool | None = None


@router.get("/violations", response=list[ViolationOut])
@paginate(LimitOffsetPagination)
def violation_list(request, q: str = "", active: bool = False):
    return selectors.violation_list(actor=request_actor(request), search=q, active_only=active)


@router.get("/violations/{code}", response=ViolationOut)
def violation_detail(request, code: str):
    return selectors.violation_get(actor=request_actor(request), code=code)


@router.post("/violations", response={201: ViolationOut})
def violation_create(request, payload: ViolationIn):
    return Status(201, services.violation_create(actor=request_actor(request), **payload.dict()))


@router.patch("/violations/{code}", response=ViolationOut)
def violation_update(request, code: str, payload: ViolationPatch):
    actor = request_actor(request)
    violation = selectors.violation_get(actor=actor, code=code)
    return services.violation_update(actor=actor, violation=violation, **payload.dict(exclude_unset=True))


# --- deadlines ------------------------------------------------------------------------------
class DeadlineOut(ModelSchema):
    class Meta:
        model = DeadlineRule
        fields = ["id", "code", "name_zh", "name_en", "working_days", "legal_max_working_days", "legal_basis"]


class DeadlineIn(Schema):
    code: str
    name_zh: str
    name_en: str
    working_days: int
    legal_max_working_days: int | None = None
    legal_basis: str = ""


class DeadlinePatch(Schema):
    name_zh: str | None = None
    name_en: str | None = None
    working_days: int | None = None
    legal_max_working_days: int | None = None
    legal_basis: str | None = None


@router.get("/deadlines", response=list[DeadlineOut])
@paginate(LimitOffsetPagination)
def deadline_list(request):
    return selectors.deadline_list(actor=request_actor(request))


@router.get("/deadlines/{code}", response=DeadlineOut)
def deadline_detail(request, code: str):
    return selectors.deadline_get(actor=request_actor(request), code=code)


@router.post("/deadlines", response={201: DeadlineOut})
def deadline_create(request, payload: DeadlineIn):
    return Status(201, services.deadline_create(actor=request_actor(request), **payload.dict()))


@router.patch("/deadlines/{code}", response=DeadlineOut)
def deadline_update(request, code: str, payload: DeadlinePatch):
    actor = request_actor(request)
    deadline = selectors.deadline_get(actor=actor, code=code)
    return services.deadline_update(actor=actor, deadline=deadline, **payload.dict(exclude_unset=True))


# --- calendar: overrides and year notices ---------------------------------------------------
class OverrideOut(ModelSchema):
    class Meta:
        model = CalendarOverride
        fields = ["id", "date", "is_working_day", "note"]


class OverrideIn(Schema):
    date: dt.date
    is_working_day: bool
    note: str = ""


class OverridePatch(Schema):
    is_working_day: bool | None = None
    note: str | None = None


class NoticeOut(ModelSchema):
    class Meta:
        model = CalendarYearNotice
        fields = ["id", "year", "source"]


class NoticeIn(Schema):
    year: int
    source: str


class NoticePatch(Schema):
    source: str | None = None


@router.get("/calendar/overrides", response=list[OverrideOut])
@paginate(LimitOffsetPagination)
def override_list(request, year: int | None = Query(None, ge=1, le=9999)):
    return selectors.override_list(actor=request_actor(request), year=year)


@router.post("/calendar/overrides", response={201: OverrideOut})
def override_create(request, payload: OverrideIn):
    return Status(201, services.calendar_override_create(actor=request_actor(request), **payload.dict()))


@router.get("/calendar/overrides/{day}", response=OverrideOut)
def override_detail(request, day: dt.date):
    return selectors.override_get(actor=request_actor(request), date=day)


@router.patch("/calendar/overrides/{day}", response=OverrideOut)
def override_update(request, day: dt.date, payload: OverridePatch):
    actor = request_actor(request)
    override = selectors.override_get(actor=actor, date=day)
    return services.calendar_override_update(actor=actor, override=override, **payload.dict(exclude_unset=True))


@router.delete("/calendar/overrides/{day}", response={204: None})
def override_delete(request, day: dt.date):
    actor = request_actor(request)
    services.calendar_override_delete(actor=actor, override=selectors.override_get(actor=actor, date=day))
    return Status(204, None)


@router.get("/calendar/notices", response=list[NoticeOut])
@paginate(LimitOffsetPagination)
def notice_list(request):
    return selectors.notice_list(actor=request_actor(request))


@router.post("/calendar/notices", response={201: NoticeOut})
def notice_create(request, payload: NoticeIn):
    return Status(201, services.calendar_notice_create(actor=request_actor(request), **payload.dict()))


@router.get("/calendar/notices/{int:year}", response=NoticeOut)
def notice_detail(request, year: int):
    return selectors.notice_get(actor=request_actor(request), year=year)


@router.patch("/calendar/notices/{int:year}", response=NoticeOut)
def notice_update(request, year: int, payload: NoticePatch):
    actor = request_actor(request)
    notice = selectors.notice_get(actor=actor, year=year)
    return services.calendar_notice_update(actor=actor, notice=notice, **payload.dict(exclude_unset=True))


@router.delete("/calendar/notices/{int:year}", response={204: None})
def notice_delete(request, year: int):
    actor = request_actor(request)
    services.calendar_notice_delete(actor=actor, notice=selectors.notice_get(actor=actor, year=year))
    return Status(204, None)


# --- calendar: arithmetic and years ---------------------------------------------------------
class DeadlineDateOut(Schema):
    start: dt.date
    days: int
    date: dt.date
    official: bool
    unofficial_years: list[int]


class BetweenOut(Schema):
    start: dt.date
    end: dt.date
    working_days: int
    official: bool
    unofficial_years: list[int]


class DayOut(Schema):
    date: dt.date
    is_working_day: bool
    name_zh: str
    name_en: str
    source: str


class CalendarYearOut(Schema):
    year: int
    official: bool
    source: str = Field(..., description='"notice", "package" or "" (no official data)')
    notice_source: str = Field(..., description="The notice's reference, e.g. 国办发明电〔2026〕x号")
    days: list[DayOut]


@router.get("/calendar/add-working-days", response=DeadlineDateOut)
def calendar_add_working_days(request, start: dt.date, days: int = Query(..., ge=0, le=MAX_DAYS_PER_REQUEST)):
    result = selectors.calendar_add_working_days(actor=request_actor(request), start=start, days=days)
    return {"start": start, "days": days, "date": result.date, "official": result.official,
            "unofficial_years": list(result.unofficial_years)}


@router.get("/calendar/working-days-between", response=BetweenOut)
def calendar_working_days_between(request, start: dt.date, end: dt.date):
    if abs(end.year - start.year) > MAX_YEARS_PER_REQUEST:
        raise ValidationError({"end": [_("At most %(n)d years apart.") % {"n": MAX_YEARS_PER_REQUEST}]})
    count = selectors.calendar_working_days_between(actor=request_actor(request), start=start, end=end)
    return {"start": start, "end": end, "working_days": count.working_days, "official": count.official,
            "unofficial_years": list(count.unofficial_years)}


@router.get("/calendar/{int:year}", response=CalendarYearOut)
def calendar_year(request, year: int = Path(..., ge=1, le=9999)):
    status, days = selectors.calendar_year(actor=request_actor(request), year=year)
    return {"year": year, "official": status.official, "source": status.source,
            "notice_source": status.notice_source, "days": days}
