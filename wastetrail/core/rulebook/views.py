"""Rulebook pages: an overview everyone can read, and list/detail/create/edit pages for each kind
of row that only a regulator administrator may change."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for, can_edit_rulebook
from wastetrail.core.crud import Column, ResourcePages
from wastetrail.core.rulebook import selectors, services
from wastetrail.core.rulebook.forms import (
    CategoryForm,
    DeadlineForm,
    NoticeForm,
    OverrideFilterForm,
    OverrideForm,
    ParameterForm,
    ViolationFilterForm,
    ViolationForm,
)


class RulebookPages(ResourcePages):
    """Pages under /rulebook/: readable by everyone logged in, editable by regulator admins."""

    segment: ClassVar[str]  # path under /rulebook/, e.g. "categories"

    def can_create(self, actor: Actor) -> bool:
        return can_edit_rulebook(actor)

    def can_edit(self, actor: Actor, obj: models.Model) -> bool:
        return can_edit_rulebook(actor)

    def urls(self) -> list:
        # The url names keep the "rulebook-" stem (no clash with other apps' "<noun>-list"),
        # the paths stay short.
        s, n = self.segment, self.name
        return [
            path(f"{s}/", login_required(self.list_view), name=f"{n}-list"),
            path(f"{s}/new/", login_required(self.create_view), name=f"{n}-create"),
            path(f"{s}/<int:pk>/", login_required(self.detail_view), name=f"{n}-detail"),
            path(f"{s}/<int:pk>/edit/", login_required(self.edit_view), name=f"{n}-edit"),
        ]


class CategoryPages(RulebookPages):
    name = "rulebook-categories"
    segment = "categories"
    title = gettext_lazy("Waste categories")
    title_singular = gettext_lazy("waste category")
    form_class = CategoryForm
    columns = [
        Column(gettext_lazy("Chinese name"), "name_zh", link=True),
        Column(gettext_lazy("English name"), "name_en"),
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Default density (t/m³)"), "density_t_per_m3"),
        Column(gettext_lazy("Active"), "is_active"),
    ]
    detail_fields = columns + [Column(gettext_lazy("Order"), "sort_order")]

    def select_list(self, actor, filters):
        return selectors.category_list(actor=actor)

    def get(self, actor, pk):
        return selectors.category_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.category_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.category_update(actor=actor, category=obj, **data)


class ViolationPages(RulebookPages):
    name = "rulebook-violations"
    segment = "violations"
    title = gettext_lazy("Violation catalogue")
    title_singular = gettext_lazy("violation")
    form_class = ViolationForm
    filter_form_class = ViolationFilterForm
    page_size = 50
    columns = [
        Column(gettext_lazy("Violation"), "title_zh", link=True),
        Column(gettext_lazy("Legal basis"), "legal_basis"),
        Column(gettext_lazy("Article"), "article"),
        Column(gettext_lazy("Minimum fine (yuan)"), "fine_min_yuan"),
        Column(gettext_lazy("Maximum fine (yuan)"), "fine_max_yuan"),
        Column(gettext_lazy("Daily continuing penalty"), "daily_penalty_allowed"),
    ]
    detail_fields = [
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("English title"), "title_en"),
        *columns[1:],
        Column(gettext_lazy("Description"), "description"),
        Column(gettext_lazy("Active"), "is_active"),
    ]

    def select_list(self, actor, filters):
        return selectors.violation_list(actor=actor, search=filters.get("q", ""))

    def get(self, actor, pk):
        return selectors.violation_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.violation_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.violation_update(actor=actor, violation=obj, **data)


class DeadlinePages(RulebookPages):
    name = "rulebook-deadlines"
    segment = "deadlines"
    title = gettext_lazy("Deadlines")
    title_singular = gettext_lazy("deadline")
    form_class = DeadlineForm
    columns = [
        Column(gettext_lazy("Deadline"), "name_zh", link=True),
        Column(gettext_lazy("English name"), "name_en"),
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Working days"), "working_days"),
        Column(gettext_lazy("Legal maximum (working days)"), "legal_max_working_days"),
    ]
    detail_fields = columns[1:] + [Column(gettext_lazy("Legal basis"), "legal_basis")]

    def select_list(self, actor, filters):
        return selectors.deadline_list(actor=actor)

    def get(self, actor, pk):
        return selectors.deadline_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.deadline_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.deadline_update(actor=actor, deadline=obj, **data)


class ParameterPages(RulebookPages):
    """Parameters are read by code by their code: they come with the migrations that add the
    checks using them, so there is no page to create one, only to change its value."""

    name = "rulebook-parameters"
    segment = "parameters"
    title = gettext_lazy("Parameters")
    title_singular = gettext_lazy("parameter")
    form_class = ParameterForm
    columns = [
        Column(gettext_lazy("Parameter"), "name_zh", link=True),
        Column(gettext_lazy("English name"), "name_en"),
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Value"), "display_value"),
        Column(gettext_lazy("Allowed range"), "bounds_display"),
    ]
    detail_fields = columns[1:] + [Column(gettext_lazy("Basis"), "basis")]

    def can_create(self, actor: Actor) -> bool:
        return False

    def select_list(self, actor, filters):
        return selectors.parameter_list(actor=actor)

    def get(self, actor, pk):
        return selectors.parameter_get(actor=actor, pk=pk)

    def create(self, actor, data):
        raise PermissionDenied

    def update(self, actor, obj, data):
        return services.parameter_update(actor=actor, parameter=obj, **data)

    def urls(self) -> list:
        return [url for url in super().urls() if url.name != f"{self.name}-create"]


class _DeletablePages(RulebookPages):
    """Calendar rows are corrections: a wrong one is deleted (and audited), not deactivated."""

    @abstractmethod
    def delete(self, actor: Actor, obj: models.Model) -> None:
        ...

    def detail_context(self, actor, obj):
        if not self.can_edit(actor, obj):
            return {}
        return {"extra_templates": ["rulebook/_delete_form.html"],
                "delete_url": reverse(f"{self.name}-delete", args=[obj.pk])}

    def delete_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        actor = actor_for(request.user)
        obj = self._get_or_404(actor, pk)
        if not self.can_edit(actor, obj):
            raise PermissionDenied
        self.delete(actor, obj)
        messages.success(request, _("Deleted."))
        return redirect(f"{self.name}-list")

    def urls(self) -> list:
        return super().urls() + [
            path(f"{self.segment}/<int:pk>/delete/", login_required(require_POST(self.delete_view)),
                 name=f"{self.name}-delete"),
        ]


class OverridePages(_DeletablePages):
    name = "rulebook-overrides"
    segment = "calendar/overrides"
    title = gettext_lazy("Calendar overrides")
    title_singular = gettext_lazy("calendar override")
    form_class = OverrideForm
    filter_form_class = OverrideFilterForm
    page_size = 50
    columns = [
        Column(gettext_lazy("Date"), "date", link=True),
        Column(gettext_lazy("Working day"), "is_working_day"),
        Column(gettext_lazy("Note"), "note"),
    ]
    detail_fields = columns

    def select_list(self, actor, filters):
        return selectors.override_list(actor=actor, year=filters.get("year"))

    def get(self, actor, pk):
        return selectors.override_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.calendar_override_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.calendar_override_update(actor=actor, override=obj, **data)

    def delete(self, actor, obj):
        services.calendar_override_delete(actor=actor, override=obj)


class NoticePages(_DeletablePages):
    name = "rulebook-notices"
    segment = "calendar/notices"
    title = gettext_lazy("Official calendar years")
    title_singular = gettext_lazy("official calendar year")
    form_class = NoticeForm
    columns = [
        Column(gettext_lazy("Year"), "year", link=True),
        Column(gettext_lazy("Source"), "source"),
    ]
    detail_fields = columns

    def select_list(self, actor, filters):
        return selectors.notice_list(actor=actor)

    def get(self, actor, pk):
        return selectors.notice_get(actor=actor, pk=pk)

    def create(self, actor, data):
        return services.calendar_notice_create(actor=actor, **data)

    def update(self, actor, obj, data):
        return services.calendar_notice_update(actor=actor, notice=obj, **data)

    def delete(self, actor, obj):
        services.calendar_notice_delete(actor=actor, notice=obj)


category_pages = CategoryPages()
violation_pages = ViolationPages()
deadline_pages = DeadlinePages()
override_pages = OverridePages()
notice_pages = NoticePages()
parameter_pages = ParameterPages()


def _year_summary(actor: Actor, year: int) -> dict[str, Any]:
    status = selectors.calendar_year_status(actor=actor, year=year)
    return {"year": year, "status": status, "url": reverse("rulebook-calendar-year", args=[year])}


@login_required
def overview_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    this_year = timezone.localdate().year
    context = {
        "title": _("Rulebook"),
        "categories": selectors.category_list(actor=actor),
        "violations": selectors.violation_list(actor=actor),
        "deadlines": selectors.deadline_list(actor=actor),
        "parameters": selectors.parameter_list(actor=actor),
        "years": [_year_summary(actor, this_year), _year_summary(actor, this_year + 1)],
        "can_edit": can_edit_rulebook(actor),
    }
    return render(request, "rulebook/overview.html", context)


@login_required
def calendar_year_view(request: HttpRequest, year: int) -> HttpResponse:
    actor = actor_for(request.user)
    if not 1 <= year <= 9999:
        raise Http404
    status, days = selectors.calendar_year(actor=actor, year=year)
    overrides = {o.date: o for o in selectors.override_list(actor=actor, year=year)}
    context = {
        "title": _("Working-day calendar %(year)d") % {"year": year},
        "year": year, "status": status,
        "days": [(day, overrides.get(day.date)) for day in days],
        "previous_year": year - 1 if year > 1 else None,
        "next_year": year + 1 if year < 9999 else None,
        "can_edit": can_edit_rulebook(actor),
    }
    return render(request, "rulebook/calendar_year.html", context)
