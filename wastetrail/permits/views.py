"""Approval pages: list, detail (scope, documents, history), apply (generic resource pages),
the reviewers' queue and the decision forms. Views only translate HTTP to services."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.crud import Column, ResourcePages, attach_errors
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.permits import policy, selectors, services
from wastetrail.permits.forms import (
    ApprovalApplyForm,
    ApprovalFilterForm,
    ApproveForm,
    AttachmentForm,
    ReasonForm,
)
from wastetrail.permits.models import ALLOWED_DECISIONS, Approval, ApprovalStatus


class ApprovalPages(ResourcePages):
    name = "approvals"
    title = gettext_lazy("Approvals")
    title_singular = gettext_lazy("Approval application")
    form_class = ApprovalApplyForm
    filter_form_class = ApprovalFilterForm
    columns = [
        Column(gettext_lazy("Number"), "number", link=True),
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Holder"), "holder.name"),
        Column(gettext_lazy("Project / site"), "subject_display"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Review deadline"), "review_due"),
        Column(gettext_lazy("Validity"), "validity_display"),
    ]
    detail_fields = [
        Column(gettext_lazy("Kind"), "get_kind_display"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Holder"), "holder.name"),
        Column(gettext_lazy("Project / site"), "subject_display"),
        Column(gettext_lazy("Application note"), "note"),
        Column(gettext_lazy("Applied"), "applied_at"),
        Column(gettext_lazy("Applied by"), "applied_by"),
        Column(gettext_lazy("Review deadline"), "review_due"),
        Column(gettext_lazy("Decided"), "decided_at"),
        Column(gettext_lazy("Decided by"), "decided_by"),
        Column(gettext_lazy("Reason for rejection"), "rejection_reason"),
        Column(gettext_lazy("Reason for suspension"), "suspension_reason"),
        Column(gettext_lazy("Reason for revocation"), "revocation_reason"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.approval_list(actor=actor, kind=filters.get("kind"), status=filters.get("status"),
                                       search=filters.get("q", ""))

    def get(self, actor: Actor, pk: int) -> Approval:
        return selectors.approval_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Approval:
        return services.approval_apply(actor=actor, **data)

    def update(self, actor: Actor, obj: Approval, data: dict) -> Approval:
        # Applications are not edited: the holder adds documents, the regulator decides.
        raise PermissionDenied

    def can_create(self, actor: Actor) -> bool:
        return policy.can_apply(actor)

    def form_kwargs(self, actor: Actor, obj: Approval | None) -> dict:
        return {"actor": actor}

    def detail_context(self, actor: Actor, obj: Approval) -> dict:
        decide = policy.can_decide(actor, obj)
        return {
            "extra_templates": ["permits/approval_detail_extra.html"],
            "approval": obj,
            "history": selectors.approval_history(actor=actor, approval=obj),
            "decisions": ALLOWED_DECISIONS.get(obj.status, ()) if decide else (),
            "can_attach": policy.can_attach(actor, obj) and obj.status not in (
                ApprovalStatus.REJECTED, ApprovalStatus.REVOKED, ApprovalStatus.EXPIRED),
            "attachment_form": AttachmentForm(),
            "overdue": obj.is_overdue(timezone.localdate()),
        }


approval_pages = ApprovalPages()


def _approval_or_404(actor: Actor, pk: int) -> Approval:
    try:
        return selectors.approval_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


def review_queue_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    queue = list(selectors.review_queue(actor=actor))
    today = timezone.localdate()
    rows = [(approval, approval.is_overdue(today)) for approval in queue]
    return render(request, "permits/review_queue.html", {"rows": rows, "today": today,
                                                          "title": _("Review queue")})


# step -> (title, form class or None for a plain confirmation, service call)
def _approve(actor: Actor, approval: Approval, data: dict) -> Approval:
    return services.approval_approve(actor=actor, approval=approval, **data)


DECISIONS: dict[str, tuple[str, type[forms.Form] | None, Callable[[Actor, Approval, dict], Approval]]] = {
    "start_review": (gettext_lazy("Start the review"), None,
                     lambda actor, a, data: services.approval_start_review(actor=actor, approval=a)),
    "approve": (gettext_lazy("Approve with scope"), ApproveForm, _approve),
    "reject": (gettext_lazy("Reject"), ReasonForm,
               lambda actor, a, data: services.approval_reject(actor=actor, approval=a, **data)),
    "suspend": (gettext_lazy("Suspend"), ReasonForm,
                lambda actor, a, data: services.approval_suspend(actor=actor, approval=a, **data)),
    "reinstate": (gettext_lazy("Reinstate"), None,
                  lambda actor, a, data: services.approval_reinstate(actor=actor, approval=a)),
    "revoke": (gettext_lazy("Revoke"), ReasonForm,
               lambda actor, a, data: services.approval_revoke(actor=actor, approval=a, **data)),
}


def decision_view(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in DECISIONS:
        raise Http404
    actor = actor_for(request.user)
    approval = _approval_or_404(actor, pk)
    if not policy.can_decide(actor, approval):
        raise PermissionDenied
    title, form_class, call = DECISIONS[step]
    form = None
    if form_class is not None:
        extra = {"approval": approval} if form_class is ApproveForm else {}
        form = form_class(request.POST or None, **extra)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            call(actor, approval, form.cleaned_data if form is not None else {})
            messages.success(request, _("Saved."))
            return redirect("approvals-detail", pk=approval.pk)
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect("approvals-detail", pk=approval.pk)
            attach_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("approvals-detail", pk=approval.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "permits/decision_form.html",
                  {"form": form, "approval": approval, "title": title, "step": step}, status=status)


@require_POST
def attachment_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    approval = _approval_or_404(actor, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.approval_attachment_add(actor=actor, approval=approval, file=form.cleaned_data["file"],
                                             name=form.cleaned_data["name"])
            messages.success(request, _("Document added."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("approvals-detail", pk=approval.pk)
