"""Plan pages: the list and detail come from ResourcePages; a new draft needs only its project;
the draft's edit page carries the quantity and stream formsets; filing and discarding are
POST buttons on the detail page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.crud import Column, ResourcePages, attach_errors
from wastetrail.core.errors import DomainError
from wastetrail.plans import policy, selectors, services
from wastetrail.plans.forms import (
    PlanCreateForm,
    PlanFilterForm,
    PlanPartsForm,
    QuantityFormSet,
    StreamFormSet,
    quantity_rows,
    stream_rows,
    writable_projects,
)
from wastetrail.plans.models import HandlingPlan


class PlanPages(ResourcePages):
    name = "plans"
    title = _lazy("Handling plans")
    title_singular = _lazy("Handling plan")
    form_class = PlanCreateForm
    filter_form_class = PlanFilterForm
    columns = [
        Column(_lazy("Project"), "project.name", link=True),
        Column(_lazy("Project code"), "project.code"),
        Column(_lazy("Version"), "version"),
        Column(_lazy("Status"), "get_status_display"),
        Column(_lazy("Construction unit"), "project.construction_unit.name"),
        Column(_lazy("Filed at"), "filed_at"),
    ]
    detail_fields = [
        Column(_lazy("Version"), "version"),
        Column(_lazy("Status"), "get_status_display"),
        Column(_lazy("Filed at"), "filed_at"),
        Column(_lazy("Filed by"), "filed_by"),
        Column(_lazy("Superseded at"), "superseded_at"),
    ]

    def select_list(self, actor: Actor, filters: dict) -> QuerySet[HandlingPlan]:
        return selectors.plan_list(actor=actor, search=filters.get("q", ""), status=filters.get("status"))

    def get(self, actor: Actor, pk: int) -> HandlingPlan:
        return selectors.plan_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> HandlingPlan:
        return services.plan_draft_create(actor=actor, project=data["project"])

    def update(self, actor: Actor, obj: HandlingPlan, data: dict) -> HandlingPlan:
        return services.plan_draft_update(actor=actor, plan=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return writable_projects(actor).exists()

    def can_edit(self, actor: Actor, obj: HandlingPlan) -> bool:
        return obj.is_draft and policy.can_write_plans_of(actor, obj.project)

    def form_kwargs(self, actor: Actor, obj: HandlingPlan | None) -> dict:
        return {"actor": actor}

    def detail_context(self, actor: Actor, obj: HandlingPlan) -> dict:
        _project, history = selectors.project_plan_history(actor=actor, project_pk=obj.project_id)
        return {
            "extra_templates": ["plans/plan_parts.html"], "plan": obj, "history": history,
            "can_write": policy.can_write_plans_of(actor, obj.project),
        }

    def edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The draft's text parts and its quantity and stream formsets, saved in one service call."""
        actor = actor_for(request.user)
        plan = self._get_or_404(actor, pk)
        if not self.can_edit(actor, plan):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = PlanPartsForm(data, instance=selectors.plan_get(actor=actor, pk=pk))
        quantities = QuantityFormSet(data, prefix="quantities", initial=[
            {"category": q.category.code, "quantity_m3": q.quantity_m3, "quantity_t": q.quantity_t}
            for q in plan.quantities.all()])
        streams = StreamFormSet(data, prefix="streams", initial=[
            {"category": s.category.code, "quantity_m3": s.quantity_m3, "carrier": s.carrier_id,
             "site": s.site_id, "daily_start": s.daily_start, "daily_end": s.daily_end,
             "valid_from": s.valid_from, "valid_to": s.valid_to, "transport_mode": s.transport_mode,
             "route": s.route} for s in plan.streams.all()])
        part_errors: dict[str, list[str]] = {}
        if request.method == "POST" and form.is_valid() and quantities.is_valid() and streams.is_valid():
            try:
                services.plan_draft_update(actor=actor, plan=plan, quantities=quantity_rows(quantities),
                                           streams=stream_rows(streams), **form.cleaned_data)
                messages.success(request, _("Changes saved."))
                return redirect("plans-detail", pk=plan.pk)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    part_errors = {key: exc.message_dict.pop(key) for key in ("quantities", "streams")
                                   if key in exc.message_dict}
                    rest = {k: v for k, v in exc.error_dict.items() if k not in part_errors}
                    if rest:
                        attach_errors(form, ValidationError(rest))
                else:
                    attach_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
        context = self._base(request, actor) | {
            "form": form, "object": plan, "quantity_formset": quantities, "stream_formset": streams,
            "part_errors": part_errors,
        }
        return render(request, "plans/plan_form.html", context, status=400 if request.method == "POST" else 200)

    def urls(self) -> list:
        return [
            *super().urls(),
            path("plans/<int:pk>/file/", login_required(require_POST(file_view)), name="plans-file"),
            path("plans/<int:pk>/discard/", login_required(require_POST(discard_view)), name="plans-discard"),
        ]


plan_pages = PlanPages()


def file_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    plan = plan_pages._get_or_404(actor, pk)
    try:
        services.plan_file(actor=actor, plan=plan)
        messages.success(request, _("The plan is filed."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("plans-detail", pk=plan.pk)


def discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    plan = plan_pages._get_or_404(actor, pk)
    try:
        services.plan_draft_discard(actor=actor, plan=plan)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("plans-detail", pk=plan.pk)
    messages.success(request, _("The draft is discarded."))
    return redirect(reverse("plans-list"))
