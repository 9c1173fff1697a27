"""Revision request pages: the panel on the manifest's page (requests, their changes before →
after, decisions, and the approve / refuse / cancel buttons for those who may act), the form
to ask for a revision, and the POST endpoints that decide. Views translate HTTP to the
selectors and services of manifests.revisions; the services decide who may do what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
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
from wastetrail.manifests import revision_selectors, revisions, selectors
from wastetrail.manifests.models import (
    DisposalMethod,
    Manifest,
    ManifestRevisionRequest,
    ManifestStatus,
    RevisionStatus,
    SignatureStep,
)
from wastetrail.manifests.rules import OUTCOMES
from wastetrail.registry.models import Driver

QUANTITY = {"required": False, "min_value": 0, "max_digits": 12, "decimal_places": 2}


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
    seen: dict[int, str] = {}
    for step, org in revisions.party_organisations(manifest).items():
        if actor.is_staff_of(org) and org not in seen:
            seen[org] = step
    if len(seen) == 1:
        return [(_("Ask for a revision"), url)]
    return [(_("Ask for a revision as %(party)s") % {"party": SignatureStep(step).label},
             f"{url}?{urlencode({'party': step})}") for step in seen.values()]


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
            waiting_for=[names[org] for org in revisions.undecided_approvers(revision)] if pending else [],
            can_decide=revisions.can_decide(actor, revision), can_cancel=revisions.can_cancel(actor, revision)))
    has_pending = any(row.revision.status == RevisionStatus.PENDING for row in rows)
    return {"revision_rows": rows, "revision_request_links": [] if has_pending else _request_links(actor, manifest)}


# --- asking ---------------------------------------------------------------------------------
class RevisionRequestForm(forms.Form):
    """The requesting party's revisable fields, prefilled with the manifest's values; only what
    differs is sent (see ``changes``)."""

    def __init__(self, *args: Any, manifest: Manifest, fields: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manifest, self.revisable = manifest, fields
        add = self.fields.__setitem__
        if "estimated_m3" in fields:
            add("estimated_m3", forms.DecimalField(label=_("Estimated quantity (m³)"), initial=manifest.estimated_m3,
                                                   **QUANTITY))
            add("estimated_t", forms.DecimalField(
                label=_("Estimated quantity (t)"), initial=manifest.estimated_t, **QUANTITY,
                help_text=_("Change one of them and the other follows from the category's density.")))
        if "emitter_address" in fields:
            add("emitter_address", forms.CharField(label=_("Emitting address"), max_length=300, required=False,
                                                   initial=manifest.emitter_address))
        if "disposal_method" in fields:
            add("disposal_method", forms.ChoiceField(label=_("Disposal method"), choices=DisposalMethod.choices,
                                                     initial=manifest.disposal_method))
        if "driver" in fields:
            add("driver", forms.ModelChoiceField(
                label=_("Driver"), initial=manifest.driver_id,
                queryset=Driver.objects.filter(company_id=manifest.carrier_id, is_active=True).order_by("name")))
        if "route" in fields:
            add("route", forms.CharField(label=_("Route"), required=False, initial=manifest.route,
                                         widget=forms.Textarea(attrs={"rows": 2})))
        if "receipt" in fields:
            add("outcome", forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect,
                                             choices=[(o, ManifestStatus(o).label) for o in OUTCOMES],
                                             initial=revisions.outcome_of(manifest)))
            add("gross_t", forms.DecimalField(label=_("Gross weight (t)"), initial=manifest.gross_t, **QUANTITY))
            add("tare_t", forms.DecimalField(label=_("Tare weight (t)"), initial=manifest.tare_t, **QUANTITY))
            add("volume_m3", forms.DecimalField(
                label=_("Volume (m³)"), initial=manifest.received_m3, **QUANTITY,
                help_text=_("Only without a weighbridge: leave the weights empty.")))
            add("refused_quantity", forms.DecimalField(
                label=_("Refused quantity"), initial=manifest.refused_quantity, **QUANTITY,
                help_text=_("In the unit received (t when weighed, m³ by volume).")))
            add("refusal_reason", forms.CharField(label=_("Reason for refusal"), required=False,
                                                  initial=manifest.refusal_reason,
                                                  widget=forms.Textarea(attrs={"rows": 2})))
        add("reason", forms.CharField(label=_("Why revise"), widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text=_("The other parties read it before they approve or refuse.")))

    def changes(self) -> dict[str, Any]:
        """What differs from the manifest, in the service's terms."""
        data, manifest, changes = self.cleaned_data, self.manifest, {}
        if "estimated_m3" in self.revisable:
            m3, t = data.get("estimated_m3"), data.get("estimated_t")
            if m3 is not None and m3 != manifest.estimated_m3:
                changes["estimated_m3"] = m3
            if t is not None and t != manifest.estimated_t:
                changes["estimated_t"] = t
        for name in ("emitter_address", "disposal_method", "route"):
            if name in self.revisable and (data.get(name) or "").strip() != getattr(manifest, name):
                changes[name] = data.get(name) or ""
        if "driver" in self.revisable and data.get("driver") and data["driver"].pk != manifest.driver_id:
            changes["driver"] = data["driver"].pk
        if "receipt" in self.revisable:
            given = {name: data.get(name) for name in revisions.RECEIPT_INPUT}
            current = {"outcome": revisions.outcome_of(manifest), "gross_t": manifest.gross_t,
                       "tare_t": manifest.tare_t, "volume_m3": manifest.received_m3,
                       "refused_quantity": manifest.refused_quantity, "refusal_reason": manifest.refusal_reason}
            if any(_differs(given[name], current[name]) for name in given):
                changes["receipt"] = given
        return changes


def _differs(given: Any, current: Any) -> bool:
    if isinstance(given, str) or isinstance(current, str):
        return (given or "").strip() != (current or "")
    return given != current


def _manifest_or_404(actor: Actor, pk: Any) -> Manifest:
    try:
        return selectors.manifest_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


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

