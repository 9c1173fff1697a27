"""Staff pages of a work order: its detail page with the forms of the steps the actor may take
now, one small view per step, the staff intake form, the photos and the supervisors' extension
decisions. Views only translate HTTP to selectors and services (complaints.policy decides)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from wastetrail.accounts.models import OrganisationKind, Role
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.complaints import policy, selectors, services
from wastetrail.complaints.forms import (
    AnswerForm,
    CaseRequestForm,
    ClassifyForm,
    CloseForm,
    DispatchForm,
    ExtensionDecisionForm,
    ExtensionRequestForm,
    HandleForm,
    IntakeForm,
    LinkForm,
    RateForm,
    ReopenForm,
    ReturnForm,
)
from wastetrail.complaints.models import (
    UNIT_STATUSES,
    ExtensionRequest,
    ExtensionStatus,
    WorkOrder,
    WorkOrderPhoto,
    WorkOrderSource,
)
from wastetrail.complaints.routing import route_unit
from wastetrail.core.crud import attach_errors
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.core.rulebook.calendar import rulebook_calendar
from wastetrail.registry.map_views import base_map_config


def url_or_empty(name: str, *args: Any) -> str:
    """A link to a page that another app may not provide (yet): empty when it does not."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def order_or_404(actor: Actor, pk: Any) -> WorkOrder:
    try:
        return selectors.workorder_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


def is_supervisor(actor: Actor) -> bool:
    return any(m.role == Role.ADMIN and m.organisation.kind == OrganisationKind.REGULATOR
               for m in actor.memberships)


# --- the steps ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    label: Any
    allowed: Callable[[Actor, WorkOrder], bool]  # may this actor ever take it on this order
    offered: Callable[[WorkOrder], bool]  # is it possible in the order's state now
    call: Callable[[Actor, WorkOrder, forms.Form | None], Any]
    form: Callable[..., forms.Form] | None = None  # (order, *args) -> form
    multipart: bool = False


def _data(form: forms.Form | None) -> dict[str, Any]:
    return form.cleaned_data if form is not None else {}


def _dispatch_form(order: WorkOrder, *args: Any) -> DispatchForm:
    # Pre-filled with the routing table's answer; the dispatcher may send it elsewhere.
    unit = route_unit(order) if not args else None
    return DispatchForm(*args, initial={"unit": unit.pk if unit else None})


def _classify_form(order: WorkOrder, *args: Any) -> ClassifyForm:
    return ClassifyForm(*args, initial={"order_type": order.order_type, "category": order.category_id,
                                        "title": order.title})


def _can_return(order: WorkOrder) -> bool:
    """Offered only inside the return window (the service refuses after it)."""
    return order.can("return") and (order.return_due is None or timezone.localdate() <= order.return_due)


def _can_request_extension(order: WorkOrder) -> bool:
    return order.can("request_extension") and not order.extensions.filter(status=ExtensionStatus.PENDING).exists()


STEPS: dict[str, Step] = {
    "classify": Step(gettext_lazy("Classify"), policy.can_dispatch, lambda o: o.can("classify"),
                     lambda actor, o, f: services.workorder_classify(actor=actor, order=o, **_data(f)),
                     _classify_form),
    "dispatch": Step(gettext_lazy("Dispatch"), policy.can_dispatch, lambda o: o.can("dispatch"),
                     lambda actor, o, f: services.workorder_dispatch(actor=actor, order=o, **_data(f)),
                     _dispatch_form),
    "accept": Step(gettext_lazy("Sign for"), policy.can_handle, lambda o: o.can("accept"),
                   lambda actor, o, f: services.workorder_accept(actor=actor, order=o)),
    "return": Step(gettext_lazy("Return as not our duty"), policy.can_handle, _can_return,
                   lambda actor, o, f: services.workorder_return(actor=actor, order=o, **_data(f)),
                   lambda o, *a: ReturnForm(*a)),
    "request_extension": Step(gettext_lazy("Ask for more time"), policy.can_handle, _can_request_extension,
                              lambda actor, o, f: services.workorder_request_extension(actor=actor, order=o,
                                                                                      **_data(f)),
                              lambda o, *a: ExtensionRequestForm(*a)),
    "handle": Step(gettext_lazy("Record the handling"), policy.can_handle, lambda o: o.can("handle"),
                   lambda actor, o, f: services.workorder_handle(actor=actor, order=o, **_data(f)),
                   lambda o, *a: HandleForm(*a), multipart=True),
    "answer": Step(gettext_lazy("Answer"), policy.can_handle, lambda o: o.can("answer"),
                   lambda actor, o, f: services.workorder_answer(actor=actor, order=o, **_data(f)),
                   lambda o, *a: AnswerForm(*a)),
    "rate": Step(gettext_lazy("Record the follow-up rating"), policy.can_dispatch, lambda o: o.can("rate"),
                 lambda actor, o, f: services.workorder_rate(actor=actor, order=o, **_data(f)),
                 lambda o, *a: RateForm(*a)),
    "close": Step(gettext_lazy("Close without a rating"), policy.can_dispatch, lambda o: o.can("close"),
                  lambda actor, o, f: services.workorder_close(actor=actor, order=o, **_data(f)),
                  lambda o, *a: CloseForm(*a)),
    "reopen": Step(gettext_lazy("Reopen"), policy.can_dispatch, lambda o: o.can("reopen"),
                   lambda actor, o, f: services.workorder_reopen(actor=actor, order=o, **_data(f)),
                   lambda o, *a: ReopenForm(*a)),
    "link": Step(gettext_lazy("Links"), policy.can_link, lambda o: True,
                 lambda actor, o, f: services.workorder_link(actor=actor, order=o, **f.links()),
                 lambda o, *a: LinkForm(*a, order=o)),
    "request_case": Step(gettext_lazy("Request an enforcement case"), policy.can_link,
                         lambda o: o.case_requested_at is None,
                         lambda actor, o, f: services.workorder_request_case(actor=actor, order=o, **_data(f)),
                         lambda o, *a: CaseRequestForm(*a)),
}


def offered_steps(actor: Actor, order: WorkOrder, bound: tuple[str, forms.Form] | None = None) -> list[dict]:
    """The steps this actor may take now, each with its (fresh or just submitted) form."""
    steps = []
    for name, step in STEPS.items():
        if not (step.allowed(actor, order) and step.offered(order)):
            continue
        form = bound[1] if bound and bound[0] == name else (step.form(order) if step.form else None)
        steps.append({"name": name, "label": step.label, "form": form, "multipart": step.multipart,
                      "url": reverse("complaints:step", args=[order.pk, name])})
    return steps


# --- the detail page ----------------------------------------------------------------------------
def _deadline(order: WorkOrder) -> dict[str, Any]:
    today = timezone.localdate()
    left = overdue_by = None
    if order.due_date and order.status in UNIT_STATUSES:
        left = rulebook_calendar().working_days_between(today, order.due_date)
        if left < 0:
            left, overdue_by = None, -left
    return {"due": order.due_date, "working_days_left": left, "working_days_overdue": overdue_by,
            "extended_days": order.extended_days, "official": order.due_official,
            "warned": order.warned_at is not None, "overdue": order.is_overdue,
            "return_due": order.return_due if _can_return(order) else None}


def _links(order: WorkOrder) -> list[dict[str, Any]]:
    links = [
        (_("Vehicle"), order.vehicle, "vehicles-detail", lambda v: v.plate),
        (_("Construction project"), order.project, "projects-detail", lambda p: p.name),
        (_("Receiving site"), order.site, "sites-detail", lambda s: s.name),
        (_("Stacking point"), order.stacking_point, "stacking-points-detail", lambda s: f"{s.code} {s.name}"),
    ]
    return [{"label": label, "text": text(obj) if obj else "", "url": url_or_empty(name, obj.pk) if obj else ""}
            for label, obj, name, text in links]


def _decision_forms(actor: Actor, order: WorkOrder, extensions: list[ExtensionRequest],
                    bound: tuple[int, forms.Form] | None) -> dict[int, forms.Form]:
    if not policy.can_supervise(actor, order):
        return {}
    return {ext.pk: bound[1] if bound and bound[0] == ext.pk else ExtensionDecisionForm()
            for ext in extensions if ext.status == ExtensionStatus.PENDING}


def point_map_config(order: WorkOrder) -> dict[str, Any]:
    return base_map_config() | {"mode": "point", "point": [order.lon, order.lat]}


def detail_context(actor: Actor, order: WorkOrder, *, bound_step: tuple[str, forms.Form] | None = None,
                   bound_decision: tuple[int, forms.Form] | None = None) -> dict[str, Any]:
    photos = list(order.photos.all())
    extensions = list(order.extensions.select_related("requested_by", "decided_by"))
    decision_forms = _decision_forms(actor, order, extensions, bound_decision)
    return {
        "title": _("Work order %(number)s") % {"number": order.number},
        "order": order,
        "complainant": policy.complainant_for(actor, order),
        "history": selectors.workorder_history(order),
        "complainant_photos": [photo for photo in photos if photo.by_complainant],
        "unit_photos": [photo for photo in photos if not photo.by_complainant],
        "extensions": [(ext, decision_forms.get(ext.pk)) for ext in extensions],
        "deadline": _deadline(order),
        "links": _links(order),
        "steps": offered_steps(actor, order, bound_step),
        "queue_url": url_or_empty("complaints:queue"),
        "point": [order.lon, order.lat] if order.lon_e6 is not None else None,
        "map_config": point_map_config(order) if order.lon_e6 is not None else None,
    }


@require_GET
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    order = order_or_404(actor, pk)
    return render(request, "complaints/detail.html", detail_context(actor, order))


@require_POST
def step_view(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    spec = STEPS.get(step)
    if spec is None:
        raise Http404
    actor = actor_for(request.user)
    order = order_or_404(actor, pk)
    if not spec.allowed(actor, order):
        raise PermissionDenied
    form = spec.form(order, request.POST, request.FILES) if spec.form else None
    if form is None or form.is_valid():
        try:
            spec.call(actor, order, form)
            messages.success(request, _("%(step)s: saved.") % {"step": spec.label})
            return redirect("complaints:detail", pk=order.pk)
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect("complaints:detail", pk=order.pk)
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("complaints:detail", pk=order.pk)
    order = order_or_404(actor, pk)
    return render(request, "complaints/detail.html", detail_context(actor, order, bound_step=(step, form)),
                  status=400)


PHOTO_CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@require_GET
def photo_view(request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
    """Photos are served only to those who may see the order (never from a public media URL)."""
    order = order_or_404(actor_for(request.user), pk)
    photo = WorkOrderPhoto.objects.filter(order=order, pk=photo_pk).first()
    if photo is None:
        raise Http404
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # The type comes from the format the content was checked as (the stored name's extension),
    # never guessed from what a sender called the file; the browser must not sniff or run it.
    extension = os.path.splitext(photo.file.name)[1].lstrip(".").lower()
    response = FileResponse(handle, content_type=PHOTO_CONTENT_TYPES.get(extension, "application/octet-stream"))
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# --- extension decisions ----------------------------------------------------------------------
def pending_extensions(actor: Actor) -> list[ExtensionRequest]:
    """Pending requests on orders in the supervisor's jurisdiction, the most urgent first."""
    orders = selectors.visible_workorders(actor)
    pending = (ExtensionRequest.objects.filter(status=ExtensionStatus.PENDING, order__in=orders)
               .select_related("order", "order__unit", "order__category", "requested_by")
               .order_by("order__due_date", "requested_at"))
    return [ext for ext in pending if policy.can_supervise(actor, ext.order)]


def _extensions_page(request: HttpRequest, actor: Actor, bound: tuple[int, forms.Form] | None = None,
                     status: int = 200) -> HttpResponse:
    rows = [(ext, bound[1] if bound and bound[0] == ext.pk else ExtensionDecisionForm())
            for ext in pending_extensions(actor)]
    return render(request, "complaints/extensions.html", {"title": _("Extension requests"), "rows": rows},
                  status=status)


@require_GET
def extensions_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    if not is_supervisor(actor):
        raise PermissionDenied
    return _extensions_page(request, actor)


@require_POST
def extension_decide_view(request: HttpRequest, extension_pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    extension = ExtensionRequest.objects.filter(pk=extension_pk,
                                                order__in=selectors.visible_workorders(actor)).first()
    if extension is None:
        raise Http404
    order = order_or_404(actor, extension.order_id)
    if not policy.can_supervise(actor, order):
        raise PermissionDenied
    from_list = request.POST.get("next") == "extensions"
    back = redirect("complaints:extensions") if from_list else redirect("complaints:detail", pk=order.pk)
    form = ExtensionDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.workorder_decide_extension(actor=actor, extension=extension, **form.cleaned_data)
            messages.success(request, _("Extension for %(number)s decided.") % {"number": order.number})
            return back
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return back
    if from_list:
        return _extensions_page(request, actor, (extension.pk, form), status=400)
    return render(request, "complaints/detail.html",
                  detail_context(actor, order, bound_decision=(extension.pk, form)), status=400)


# --- staff intake -------------------------------------------------------------------------------
def intake_view(request: HttpRequest) -> HttpResponse:
    """An order received by phone, letter or visit, or typed in from the 12345 system."""
    actor = actor_for(request.user)
    if not (policy.can_receive_as_staff(actor) or policy.can_receive_for_hotline(actor)):
        raise PermissionDenied
    form = IntakeForm(request.POST or None, request.FILES or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["source"] != WorkOrderSource.HOTLINE:
            data["external_id"] = None
        try:
            order, code = services.workorder_receive(actor=actor, **data)
            if code is None:
                messages.info(request, _("This 12345 order was already recorded as %(number)s.")
                              % {"number": order.number})
            else:
                messages.success(request, _("Work order %(number)s recorded. Tell the complainant the tracking "
                                            "code %(code)s.") % {"number": order.number, "code": code})
            if selectors.visible_workorders(actor).filter(pk=order.pk).exists():
                return redirect("complaints:detail", pk=order.pk)
            # A unit's staff record what reached them; the dispatch centre decides whose it is.
            return redirect("complaints:queue")
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
    status = 400 if request.method == "POST" else 200
    return render(request, "complaints/intake.html", {"title": _("Record a work order"), "form": form,
                                                      "map_config": base_map_config() | {"mode": "pick"}},
                  status=status)
