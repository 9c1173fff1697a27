"""Revision request pages: the panel on the manifest's page (requests, their changes before →
after, decisions, and the approve / refuse / cancel buttons for those who may act), the form
to ask for a revision, and the POST endpoints that decide. Views translate HTTP to the
selectors and services of manifests.revisions; manifests.policy decides who may do what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.crud import attach_errors
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.manifests import policy, revision_selectors, revisions
from wastetrail.manifests.forms import RevisionRequestForm
from wastetrail.manifests.models import (
    Manifest,
    ManifestRevisionRequest,
    ManifestStatus,
    RevisionStatus,
    SignatureStep,
)
from wastetrail.manifests.views import _manifest_or_404


# --- the panel on the manifest's page -------------------------------------------------------
@dataclass
class RevisionRow:
    revision: ManifestRevisionRequest
    changes: list[tuple[str, str, str]]  # label, before, after
    waiting_for: list[str] = field(default_factory=list)
    can_decide: bool = False
    can_cancel: bool = False


def _change_rows(revision: ManifestRevisionRequest, drivers: dict[int, str]) -> list[tuple[str, str, str]]:
    """What the request changes, as people read it (a whole receipt shows only what differs)."""
    return [(revisions.field_label(name), revisions.value_label(name, revision.previous.get(name), drivers),
             revisions.value_label(name, value, drivers))
            for name, value in revision.changes.items() if revision.previous.get(name) != value]


def _request_links(actor: Actor, manifest: Manifest) -> list[tuple[str, str]]:
    """(label, url) to ask for a revision: one per organisation the actor acts for on this manifest."""
    if manifest.status == ManifestStatus.CANCELLED:
        return []
    url = reverse("manifests-revision-new", args=[manifest.pk])
    parties = policy.acting_parties(actor, manifest)
    if len(parties) == 1:
        return [(_("Ask for a revision"), url)]
    return [(_("Ask for a revision as %(party)s") % {"party": SignatureStep(step).label},
             f"{url}?{urlencode({'party': step})}") for step in parties.values()]


def revision_panel_context(actor: Actor, manifest: Manifest) -> dict[str, Any]:
    """The detail page's revision section. ``manifest`` comes from manifest_get (scoped)."""
    found = list(revision_selectors.revisions_of(manifest=manifest))
    drivers = revision_selectors.driver_names(found)
    names = {manifest.emitter_id: manifest.emitter.name, manifest.carrier_id: manifest.carrier.name,
             manifest.receiver_id: manifest.receiver.name}
    rows = []
    for revision in found:
        pending = revision.status == RevisionStatus.PENDING
        rows.append(RevisionRow(
            revision=revision, changes=_change_rows(revision, drivers),
            waiting_for=[names[org] for org in policy.undecided_approvers(revision)] if pending else [],
            can_decide=pending and policy.can_decide_revision(actor, revision),
            can_cancel=pending and policy.can_withdraw_revision(actor, revision)))
    has_pending = any(row.revision.status == RevisionStatus.PENDING for row in rows)
    return {"revision_rows": rows, "revision_request_links": [] if has_pending else _request_links(actor, manifest)}


# --- asking ---------------------------------------------------------------------------------
def revision_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    manifest = _manifest_or_404(actor, pk)
    party = request.GET.get("party") or request.POST.get("party") or None
    try:
        fields = revisions.requestable_fields(actor, manifest, party)
    except ValidationError as exc:  # acts for several parties: the detail page links one per party
        messages.error(request, " ".join(exc.messages))
        return redirect("manifests-detail", pk=manifest.pk)
    form = RevisionRequestForm(request.POST or None, manifest=manifest, fields=fields)
    if request.method == "POST" and form.is_valid():
        try:
            revision = revisions.manifest_revision_request(actor=actor, manifest=manifest, changes=form.changes(),
                                                           reason=form.cleaned_data["reason"], party=party)
            if revision.status == RevisionStatus.PENDING:
                messages.success(request, _("Revision requested: the other parties decide now."))
            else:
                messages.success(request, _("Revision applied."))
            return redirect("manifests-detail", pk=manifest.pk)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
    status = 400 if request.method == "POST" else 200
    return render(request, "manifests/revision_form.html",
                  {"form": form, "manifest": manifest, "party": party or "", "title": _("Ask for a revision")},
                  status=status)


# --- deciding -------------------------------------------------------------------------------
DONE_MESSAGES = {
    RevisionStatus.PENDING: gettext_lazy("Your approval is recorded; other parties still have to decide."),
    RevisionStatus.APPROVED: gettext_lazy("Every party approved: the revision is applied."),
    RevisionStatus.REFUSED: gettext_lazy("The revision is refused."),
    RevisionStatus.CANCELLED: gettext_lazy("The revision request is cancelled."),
}


@require_POST
def revision_decide_view(request: HttpRequest, pk: int, rid: int, action: str) -> HttpResponse:
    actor = actor_for(request.user)
    manifest = _manifest_or_404(actor, pk)
    try:
        revision = revision_selectors.revision_get(manifest=manifest, pk=rid)
    except NotFound:
        raise Http404 from None
    comment = request.POST.get("comment", "")
    try:
        if action == "approve":
            revision = revisions.manifest_revision_approve(actor=actor, revision=revision, comment=comment)
        elif action == "refuse":
            revision = revisions.manifest_revision_refuse(actor=actor, revision=revision, comment=comment)
        else:
            revision = revisions.manifest_revision_cancel(actor=actor, revision=revision)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if revision.status == RevisionStatus.FAILED:
            messages.warning(request, _("The revision could not be applied: %(reason)s") % {
                "reason": revision.failure_reason})
        else:
            messages.success(request, DONE_MESSAGES[revision.status])
    return redirect("manifests-detail", pk=manifest.pk)


def urls() -> list:
    decide = login_required(revision_decide_view)
    return [
        path("manifests/<int:pk>/revisions/new/", login_required(revision_new_view), name="manifests-revision-new"),
        path("manifests/<int:pk>/revisions/<int:rid>/approve/", decide, {"action": "approve"},
             name="manifests-revision-approve"),
        path("manifests/<int:pk>/revisions/<int:rid>/refuse/", decide, {"action": "refuse"},
             name="manifests-revision-refuse"),
        path("manifests/<int:pk>/revisions/<int:rid>/cancel/", decide, {"action": "cancel"},
             name="manifests-revision-cancel"),
    ]

