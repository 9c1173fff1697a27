"""Document pages: the manifest PDF, the three ledger downloads and the page that lists the
ledgers the user may download. Views translate HTTP to ``pdf`` and ``ledgers``; the rules live
there and in the selectors."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts import selectors as account_selectors
from wastetrail.accounts.models import OrganisationKind
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.errors import NotFound
from wastetrail.manifests import ledgers, policy, selectors
from wastetrail.manifests.ledgers import LedgerRequest, ScopeKind
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.manifests.pdf import manifest_pdf
from wastetrail.registry import selectors as registry_selectors


# --- the manifest PDF -----------------------------------------------------------------------
def manifest_for_pdf(actor: Actor, pk) -> tuple[Manifest, list[Manifest]]:
    """The manifest with its signatories, and the redirects of it that the actor may see."""
    manifest = selectors.manifest_with_signatories(actor=actor, pk=pk)
    return manifest, selectors.visible_redirects(actor=actor, manifest=manifest)


def pdf_response(manifest: Manifest, redirects: list[Manifest], base_url: str) -> HttpResponse:
    response = HttpResponse(manifest_pdf(manifest, base_url=base_url, redirects=redirects),
                            content_type="application/pdf")
    # inline: the browser shows it and its print button prints it; the name is the number (ASCII).
    response["Content-Disposition"] = f'inline; filename="manifest-{manifest.number}.pdf"'
    return response


def manifest_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        manifest, redirects = manifest_for_pdf(actor_for(request.user), pk)
    except NotFound:
        raise Http404 from None
    return pdf_response(manifest, redirects, request.build_absolute_uri("/"))


# --- ledgers --------------------------------------------------------------------------------
def ledger_response(actor: Actor, request: LedgerRequest) -> HttpResponse:
    """The file; everything was checked before (LedgerRequest), so nothing fails half-written."""
    if request.format == "csv":
        response: HttpResponse = StreamingHttpResponse(ledgers.csv_chunks(actor=actor, request=request),
                                                       content_type=ledgers.CONTENT_TYPES["csv"])
    else:
        response = HttpResponse(ledgers.xlsx_bytes(actor=actor, request=request),
                                content_type=ledgers.CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{request.filename}"'
    return response


def ledger_request_from_query(actor: Actor, kind: str, pk, query) -> LedgerRequest:
    scope = ledgers.ledger_scope(actor=actor, kind=kind, pk=pk)
    return ledgers.ledger_request(scope=scope, start=query.get("from"), end=query.get("to"),
                                  status=query.get("status"), format=query.get("format"))


def _ledger_view(kind: str):
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        actor = actor_for(request.user)
        try:
            ledger = ledger_request_from_query(actor, kind, pk, request.GET)
        except NotFound:
            raise Http404 from None
        except ValidationError as exc:
            # Bad format or period: say what is wrong on the ledgers page, write no file.
            return ledgers_page(request, errors=exc.message_dict, status=400)
        return ledger_response(actor, ledger)

    view.__name__ = f"ledger_{kind}_view"
    return view


# --- the ledgers page -----------------------------------------------------------------------
class PeriodForm(forms.Form):
    """The period and status every download button uses (the GET form around them). Plain text
    fields: ``ledgers.ledger_request`` checks them, for the pages and the API alike."""

    start = forms.CharField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.CharField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.CharField(label=_("Status"), required=False, widget=forms.Select(
        choices=[("", _("All statuses")), *ManifestStatus.choices]))

    def add_prefix(self, field_name: str) -> str:
        # The query parameters are called from and to (both Python keywords as field names).
        return {"start": "from", "end": "to"}.get(field_name, field_name)


def _own(actor: Actor, kind: str) -> list:
    """What the user's own organisations may download (their projects, company, sites)."""
    if kind == ScopeKind.PROJECT:
        units = actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=policy.STAFF_ROLES)
        return list(registry_selectors.project_list(actor=actor).filter(construction_unit_id__in=units)
                    .prefetch_related(None).order_by("name", "pk")) if units else []
    if kind == ScopeKind.CARRIER:
        return [o for o in actor.organisations_of(OrganisationKind.TRANSPORT_COMPANY)
                if actor.is_staff_of(o.pk)]
    operators = actor.org_ids_of(OrganisationKind.SITE_OPERATOR, roles=policy.STAFF_ROLES)
    return list(registry_selectors.site_list(actor=actor).filter(operator_id__in=operators)
                .prefetch_related(None).order_by("name", "pk")) if operators else []


def _choices_for_regulator(actor: Actor) -> dict[str, list]:
    return {
        ScopeKind.PROJECT: list(registry_selectors.project_list(actor=actor).prefetch_related(None)
                                .order_by("name", "pk")),
        ScopeKind.CARRIER: list(account_selectors.organisation_list(
            actor=actor, kind=OrganisationKind.TRANSPORT_COMPANY).order_by("name", "pk")),
        ScopeKind.SITE: list(registry_selectors.site_list(actor=actor).prefetch_related(None)
                             .order_by("name", "pk")),
    }


LEDGER_URL_NAMES = {ScopeKind.PROJECT: "ledger-project", ScopeKind.CARRIER: "ledger-carrier",
                    ScopeKind.SITE: "ledger-site"}
KIND_LABELS = {ScopeKind.PROJECT: _("Construction projects"), ScopeKind.CARRIER: _("Transport company"),
               ScopeKind.SITE: _("Receiving sites")}


def ledgers_page(request: HttpRequest, *, errors: dict | None = None, status: int = 200) -> HttpResponse:
    actor = actor_for(request.user)
    form = PeriodForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    for field, messages in (errors or {}).items():
        name = {"from": "start", "to": "end"}.get(field, field)
        name = name if name in form.fields else None
        if form.is_bound and name not in form.errors:  # the form may have said it already
            form.add_error(name, messages)
    if actor.is_regulator:
        groups = [{"kind": kind, "label": KIND_LABELS[kind], "objects": objects, "select": True}
                  for kind, objects in _choices_for_regulator(actor).items()]
    else:
        groups = [{"kind": kind, "label": KIND_LABELS[kind], "select": False,
                   "objects": _own(actor, kind)}
                  for kind in (ScopeKind.PROJECT, ScopeKind.CARRIER, ScopeKind.SITE)]
        groups = [group for group in groups if group["objects"]]
    context = {"title": _("Ledgers"), "form": form, "groups": groups, "formats": ledgers.FORMATS}
    return render(request, "manifests/ledgers.html", context, status=status)


def _download_target(query) -> str | None:
    """A download button's value, ``<kind>:<pk or "select">:<format>``, as the ledger's URL with
    the period; None for anything malformed (the page is shown again)."""
    kind, _sep, rest = (query.get("download") or "").partition(":")
    pk, _sep, fmt = rest.partition(":")
    if kind not in LEDGER_URL_NAMES:
        return None
    if pk == "select":  # a regulator's choice in the select named after the kind
        pk = query.get(kind) or ""
    if not pk.isdigit():
        return None
    params = {"format": fmt, "from": query.get("from", ""), "to": query.get("to", ""),
              "status": query.get("status", "")}
    return f"{reverse(LEDGER_URL_NAMES[kind], args=[int(pk)])}?{urlencode(params)}"


def ledgers_view(request: HttpRequest) -> HttpResponse:
    """The page; a download button sends its form here and is redirected to the ledger's URL,
    which checks everything (so that pages and links behave the same)."""
    if "download" in request.GET:
        target = _download_target(request.GET)
        if target is not None:
            return redirect(target)
    return ledgers_page(request)


def urls() -> list:
    return [
        path("manifests/<int:pk>/pdf/", login_required(manifest_pdf_view), name="manifests-pdf"),
        path("ledgers/", login_required(ledgers_view), name="ledgers"),
        path("projects/<int:pk>/ledger/", login_required(_ledger_view(ScopeKind.PROJECT)), name="ledger-project"),
        path("organisations/<int:pk>/ledger/", login_required(_ledger_view(ScopeKind.CARRIER)),
             name="ledger-carrier"),
        path("sites/<int:pk>/ledger/", login_required(_ledger_view(ScopeKind.SITE)), name="ledger-site"),
    ]
