"""Manifest pages: the list and detail every party shares, the emitting unit's issue form, one
page per step (depart, arrive, receive, close, cancel, redirect, amend), the driver's phone view
and the gate's lookup by number. Views only translate HTTP to selectors and services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.crud import Column, ResourcePages, attach_errors
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.manifests import policy, selectors, services
from wastetrail.manifests.forms import (
    AmendForm,
    FindForm,
    ManifestFilterForm,
    ManifestIssueForm,
    PositionForm,
    ReasonForm,
    ReceiveForm,
    RedirectForm,
)
from wastetrail.manifests.models import Manifest
from wastetrail.manifests.qr import manifest_qr_payload, number_from_scan, qr_svg


def qr_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The manifest's QR code as an SVG image, pointing at this host's lookup page."""
    manifest = _manifest_or_404(actor_for(request.user), pk)
    svg = qr_svg(manifest_qr_payload(manifest.number, request.build_absolute_uri("/")))
    return HttpResponse(svg, content_type="image/svg+xml")


class ManifestPages(ResourcePages):
    name = "manifests"
    title = gettext_lazy("Manifests")
    title_singular = gettext_lazy("Manifest")
    form_class = ManifestIssueForm
    filter_form_class = ManifestFilterForm
    columns = [
        Column(gettext_lazy("Number"), "number", link=True),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Overdue"), "is_overdue"),
        # A collection has no project: its stacking point's address stands in.
        Column(gettext_lazy("Construction project"), "origin_display"),
        Column(gettext_lazy("Waste category"), "category"),
        Column(gettext_lazy("Vehicle"), "vehicle.plate"),
        Column(gettext_lazy("Transport unit"), "carrier.name"),
        Column(gettext_lazy("Receiving site"), "site.name"),
        Column(gettext_lazy("Issued"), "issued_at"),
        Column(gettext_lazy("Expected arrival"), "expected_arrival_at"),
    ]
    # GD 联单办法 Art. 4, in its order.
    detail_fields = [
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Overdue"), "is_overdue"),
        Column(gettext_lazy("Emitting unit"), "emitter.name"),
        Column(gettext_lazy("Construction project"), "project.name"),
        Column(gettext_lazy("Emitting address"), "emitter_address"),
        Column(gettext_lazy("Waste category"), "category"),
        Column(gettext_lazy("Estimated quantity (m³)"), "estimated_m3"),
        Column(gettext_lazy("Estimated quantity (t)"), "estimated_t"),
        Column(gettext_lazy("Transport unit"), "carrier.name"),
        Column(gettext_lazy("Vehicle"), "vehicle.plate"),
        Column(gettext_lazy("Driver"), "driver.name"),
        Column(gettext_lazy("Route"), "route"),
        Column(gettext_lazy("Planned departure"), "planned_departure_at"),
        Column(gettext_lazy("Expected arrival"), "expected_arrival_at"),
        Column(gettext_lazy("Receiving unit"), "receiver.name"),
        Column(gettext_lazy("Receiving site"), "site.name"),
        Column(gettext_lazy("Disposal method"), "get_disposal_method_display"),
        Column(gettext_lazy("Emission approval"), "emission_approval.number"),
        Column(gettext_lazy("Transport approval"), "transport_approval.number"),
        Column(gettext_lazy("Disposal approval"), "disposal_approval.number"),
        Column(gettext_lazy("Handling plan"), "plan"),
        Column(gettext_lazy("Redirected from"), "parent.number"),
    ]

    def select_list(self, actor: Actor, filters: dict) -> Any:
        overdue = {"yes": True, "no": False}.get(filters.get("overdue", ""))
        return selectors.manifest_list(actor=actor, search=filters.get("q", ""), status=filters.get("status"),
                                       overdue=overdue, project=filters.get("project"), site=filters.get("site"))

    def get(self, actor: Actor, pk: int) -> Manifest:
        return selectors.manifest_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Manifest:
        return services.manifest_issue(actor=actor, **data)

    def update(self, actor: Actor, obj: Manifest, data: dict) -> Manifest:
        # A manifest changes only through its steps and revision requests.
        raise PermissionDenied

    def can_create(self, actor: Actor) -> bool:
        return policy.can_issue(actor)

    def detail_context(self, actor: Actor, obj: Manifest) -> dict:
        return {
            "extra_templates": ["manifests/detail_extra.html"],
            "manifest": obj,
            "steps": [step for step in obj.allowed_steps if policy.can_take_step(actor, obj, step)],
            "signatures": obj.signatures.select_related("signed_by", "organisation"),
            "redirects": selectors.visible_redirects(actor=actor, manifest=obj),
            "history": selectors.manifest_history(manifest=obj),
        }

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        actor = actor_for(request.user)
        if not self.can_create(actor):
            raise PermissionDenied
        initial = {key: request.GET[key] for key in ("project", "vehicle", "site") if key in request.GET}
        form = ManifestIssueForm(request.POST or None, initial=initial, actor=actor)
        if request.method == "POST" and form.is_valid():
            try:
                manifest = self.create(actor, form.cleaned_data)
                messages.success(request, _("Manifest %(number)s issued and signed.") % {"number": manifest.number})
                return redirect("manifests-detail", pk=manifest.pk)
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
        status = 400 if request.method == "POST" else 200
        return render(request, "crud/form.html", self._base(request, actor) | {"form": form, "object": None},
                      status=status)

    def urls(self) -> list:
        return [
            path("manifests/", login_required(self.list_view), name="manifests-list"),
            path("manifests/new/", login_required(self.issue_view), name="manifests-create"),
            path("manifests/<int:pk>/", login_required(self.detail_view), name="manifests-detail"),
        ]


manifest_pages = ManifestPages()


# --- steps ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    title: Any
    form_class: type[forms.Form] | None
    call: Callable[[Actor, Manifest, forms.Form | None], Manifest]
    confirm: Any = ""  # what the confirmation page says when there is nothing to fill in


def _position(form: forms.Form | None) -> dict[str, Any]:
    return {"lon": form.cleaned_data.get("lon"), "lat": form.cleaned_data.get("lat")} if form else {}


def _receive(actor: Actor, manifest: Manifest, form: forms.Form | None) -> Manifest:
    data = form.cleaned_data
    return services.manifest_receive(
        actor=actor, manifest=manifest, outcome=data["outcome"], gross_t=data["gross_t"], tare_t=data["tare_t"],
        volume_m3=data["volume_m3"], refused_quantity=data["refused_quantity"], reason=data["reason"],
        **_position(form))


def _redirect(actor: Actor, manifest: Manifest, form: forms.Form | None) -> Manifest:
    return services.manifest_redirect(actor=actor, manifest=manifest, **form.cleaned_data)


STEPS: dict[str, Step] = {
    "depart": Step(gettext_lazy("Depart"), PositionForm,
                   lambda actor, m, form: services.manifest_depart(actor=actor, manifest=m, **_position(form)),
                   gettext_lazy("The truck is loaded and leaves now; you sign for the transport unit.")),
    "arrive": Step(gettext_lazy("Record arrival"), None,
                   lambda actor, m, form: services.manifest_arrive(actor=actor, manifest=m),
                   gettext_lazy("The truck is at the gate now.")),
    "receive": Step(gettext_lazy("Weigh and receive"), ReceiveForm, _receive),
    "close": Step(gettext_lazy("Close"), None,
                  lambda actor, m, form: services.manifest_close(actor=actor, manifest=m),
                  gettext_lazy("The receipt is final; the manifest closes.")),
    "cancel": Step(gettext_lazy("Cancel"), ReasonForm,
                   lambda actor, m, form: services.manifest_cancel(actor=actor, manifest=m,
                                                                   reason=form.cleaned_data["reason"])),
    "redirect": Step(gettext_lazy("Send to another site"), RedirectForm, _redirect),
    "amend": Step(gettext_lazy("Change driver or route"), AmendForm,
                  lambda actor, m, form: services.manifest_amend(actor=actor, manifest=m, changes=form.changes(m))),
}
FORM_NEEDS_MANIFEST = (RedirectForm, AmendForm)


def _manifest_or_404(actor: Actor, pk: Any) -> Manifest:
    try:
        return selectors.manifest_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


def _back(request: HttpRequest, manifest: Manifest) -> HttpResponse:
    # The driver came from his phone page and goes back there.
    if request.POST.get("next") == "driver":
        return redirect("manifests-driver")
    return redirect("manifests-detail", pk=manifest.pk)


def step_view(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404
    actor = actor_for(request.user)
    manifest = _manifest_or_404(actor, pk)
    if not policy.can_take_step(actor, manifest, step):
        raise PermissionDenied
    spec = STEPS[step]
    form = None
    if spec.form_class is not None:
        extra = {"manifest": manifest} if issubclass(spec.form_class, FORM_NEEDS_MANIFEST) else {}
        form = spec.form_class(request.POST or None, **extra)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            result = spec.call(actor, manifest, form)
            if result.pk != manifest.pk:  # a redirect issues a new manifest
                messages.success(request, _("Manifest %(number)s issued for the new destination.")
                                 % {"number": result.number})
                return redirect("manifests-detail", pk=result.pk)
            messages.success(request, _("Saved."))
            return _back(request, manifest)
        except ValidationError as exc:
            if form is None or not form.fields.keys() - {"lon", "lat"}:
                messages.error(request, " ".join(exc.messages))
                return _back(request, manifest)
            attach_errors(form, exc)
        except DomainError as exc:
            if form is None or not form.fields.keys() - {"lon", "lat"}:
                messages.error(request, exc.message)
                return _back(request, manifest)
            form.add_error(None, exc.message)
    status = 400 if request.method == "POST" else 200
    return render(request, "manifests/step_form.html",
                  {"form": form, "manifest": manifest, "title": spec.title, "step": step, "confirm": spec.confirm},
                  status=status)


# --- the driver's phone and the gate -------------------------------------------------------
def driver_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    open_ones, finished = selectors.driver_manifests(actor=actor)
    cards = [(manifest, "depart" in manifest.allowed_steps and policy.can_take_step(actor, manifest, "depart"))
             for manifest in open_ones]
    return render(request, "manifests/driver.html",
                  {"cards": cards, "finished": finished, "title": _("My trips")})


def find_view(request: HttpRequest) -> HttpResponse:
    """The gate: a scanner (or a person) types the number, or the address the QR code carries."""
    actor = actor_for(request.user)
    form = FindForm(request.GET or None)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            number = number_from_scan(form.cleaned_data["number"])
            try:
                manifest = selectors.manifest_by_number(actor=actor, number=number)
                return redirect("manifests-detail", pk=manifest.pk)
            except NotFound:
                form.add_error("number", _("No manifest %(number)s that you may see.") % {"number": number})
                status = 404
    return render(request, "manifests/find.html", {"form": form, "title": _("Find a manifest")}, status=status)


def manifest_by_number_view(request: HttpRequest, number: str) -> HttpResponse:
    """Where the QR code points: the manifest's page, for those who may see it."""
    try:
        manifest = selectors.manifest_by_number(actor=actor_for(request.user), number=number_from_scan(number))
    except NotFound:
        raise Http404 from None
    return redirect("manifests-detail", pk=manifest.pk)


def urls() -> list:
    return [
        path("manifests/find/", login_required(find_view), name="manifests-find"),
        path("manifests/n/<str:number>/", login_required(manifest_by_number_view), name="manifests-by-number"),
        path("driver/", login_required(driver_view), name="manifests-driver"),
        path("manifests/<int:pk>/qr.svg", login_required(qr_view), name="manifests-qr"),
        # Only the step names, so that other pages under a manifest (pdf/, revisions/) stay reachable.
        re_path(rf"^manifests/(?P<pk>[0-9]+)/(?P<step>{'|'.join(STEPS)})/$", login_required(step_view),
                name="manifests-step"),
        *manifest_pages.urls(),
    ]
