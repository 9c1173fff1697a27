"""Stacking pages: areas and points (generic resource pages), a point's history, and the forms
of its steps (status, fill report, collection request / accept / cancel, the collection's
manifest). Views only translate HTTP to services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.crud import Column, ResourcePages, attach_errors
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.stacking import policy, selectors, services
from wastetrail.stacking.forms import (
    AreaFilterForm,
    AreaForm,
    CollectionFilterForm,
    CollectionManifestForm,
    CollectionRequestForm,
    FillReportForm,
    PointFilterForm,
    PointForm,
    ReasonForm,
    StatusForm,
)
from wastetrail.stacking.models import CollectionRequest, CollectionStatus, ResidentialArea, StackingPoint


class StackingPages(ResourcePages):
    """Resource pages under /stacking/<slug>/ with url names <name>-list etc."""

    slug = ""

    def url_path(self) -> str:
        return f"stacking/{self.slug}"

    def form_kwargs(self, actor: Actor, obj: Any) -> dict:
        return {"actor": actor}


class AreaPages(StackingPages):
    name, slug = "stacking-areas", "areas"
    title = gettext_lazy("Residential areas")
    title_singular = gettext_lazy("Residential area")
    form_class = AreaForm
    filter_form_class = AreaFilterForm
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("District"), "district_name"),
        Column(gettext_lazy("Property manager"), "property_manager.name"),
        Column(gettext_lazy("Street office / town government"), "street_office.name"),
        Column(gettext_lazy("Address"), "address"),
    ]
    detail_fields = [
        Column(gettext_lazy("District"), "district_name"),
        Column(gettext_lazy("Address"), "address"),
        Column(gettext_lazy("Property manager"), "property_manager.name"),
        Column(gettext_lazy("Street office / town government"), "street_office.name"),
        Column(gettext_lazy("Households"), "households"),
        Column(gettext_lazy("Longitude"), "lon"),
        Column(gettext_lazy("Latitude"), "lat"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.area_list(actor=actor, district=filters.get("district"), search=filters.get("q", ""))

    def get(self, actor: Actor, pk: int) -> ResidentialArea:
        return selectors.area_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> ResidentialArea:
        return services.area_create(actor=actor, **data)

    def update(self, actor: Actor, obj: ResidentialArea, data: dict) -> ResidentialArea:
        return services.area_update(actor=actor, area=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_register_areas(actor)

    def can_edit(self, actor: Actor, obj: ResidentialArea) -> bool:
        return policy.can_edit_area(actor, obj)

    def detail_context(self, actor: Actor, obj: ResidentialArea) -> dict:
        return {"extra_templates": ["stacking/area_points.html"],
                "points": list(selectors.point_list(actor=actor, area=obj.pk)),
                "can_add_point": policy.can_create_point_in(actor, obj)}


class PointPages(StackingPages):
    name, slug = "stacking-points", "points"
    title = gettext_lazy("Stacking points")
    title_singular = gettext_lazy("Stacking point")
    form_class = PointForm
    filter_form_class = PointFilterForm
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Name"), "name"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Fill level (%)"), "fill_percent"),
        Column(gettext_lazy("District"), "district_name"),
        Column(gettext_lazy("Residential area"), "area.name"),
        Column(gettext_lazy("Managed by"), "manager.name"),
    ]
    detail_fields = [
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Status"), "get_status_display"),
        Column(gettext_lazy("Fill level (%)"), "fill_percent"),
        Column(gettext_lazy("Fill level reported"), "fill_reported_at"),
        Column(gettext_lazy("Residential area"), "area.name"),
        Column(gettext_lazy("Managed by"), "manager.name"),
        Column(gettext_lazy("District"), "district_name"),
        Column(gettext_lazy("Address"), "address"),
        Column(gettext_lazy("Longitude"), "lon"),
        Column(gettext_lazy("Latitude"), "lat"),
        Column(gettext_lazy("Container type"), "get_container_type_display"),
        Column(gettext_lazy("Capacity (m³)"), "capacity_m3"),
        Column(gettext_lazy("Opens at"), "opens_at"),
        Column(gettext_lazy("Closes at"), "closes_at"),
        Column(gettext_lazy("Open days"), "open_days"),
        Column(gettext_lazy("Contact phone"), "contact_phone"),
        Column(gettext_lazy("Notes for residents"), "notes"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.point_list(actor=actor, district=filters.get("district"), status=filters.get("status"),
                                    search=filters.get("q", ""))

    def get(self, actor: Actor, pk: int) -> StackingPoint:
        return selectors.point_get(actor=actor, pk=pk)

    def list_context(self, request: HttpRequest, actor: Actor) -> dict:
        query = request.GET.copy()
        query.pop("page", None)
        on_the_map = reverse("stacking-map") + (f"?{query.urlencode()}" if query else "")
        return {"heading_links": [(_("On the map"), on_the_map)]}

    def create(self, actor: Actor, data: dict) -> StackingPoint:
        return services.point_create(actor=actor, **data)

    def update(self, actor: Actor, obj: StackingPoint, data: dict) -> StackingPoint:
        return services.point_update(actor=actor, point=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_create_points(actor)

    def can_edit(self, actor: Actor, obj: StackingPoint) -> bool:
        return policy.can_run_point(actor, obj)

    def detail_context(self, actor: Actor, obj: StackingPoint) -> dict:
        history = selectors.point_history(actor=actor, pk=obj.pk)
        open_collection = history.open_collection
        return {"extra_templates": ["stacking/point_history.html"], "history": history,
                "can_run": policy.can_run_point(actor, obj),
                "can_accept": bool(open_collection and open_collection.status == CollectionStatus.REQUESTED
                                   and policy.can_accept_collection(actor, open_collection)),
                "can_cancel": bool(open_collection and services.collection_is_cancellable(open_collection)
                                   and policy.can_cancel_collection(actor, open_collection))}


area_pages = AreaPages()
point_pages = PointPages()


def _point_or_404(actor: Actor, pk: int) -> StackingPoint:
    try:
        return selectors.point_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


def _collection_or_404(actor: Actor, pk: int) -> CollectionRequest:
    try:
        return selectors.collection_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


def _step_page(request: HttpRequest, *, title: str, form: forms.Form, back: str, call: Callable[[dict], Any],
               subject: Any) -> HttpResponse:
    """A step's form: on success back to the point; service errors on the fields they name."""
    if request.method == "POST" and form.is_valid():
        try:
            call(form.cleaned_data)
            messages.success(request, _("Saved."))
            return redirect(back)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
    status = 400 if request.method == "POST" else 200
    return render(request, "stacking/step_form.html", {"title": title, "form": form, "back": back,
                                                       "subject": subject}, status=status)


def _point_step(request: HttpRequest, pk: int, *, title: str, form: Callable[[StackingPoint], forms.Form],
                call: Callable[[Actor, StackingPoint, dict], object]) -> HttpResponse:
    """A step on a point that only the organisation running it may take."""
    actor = actor_for(request.user)
    point = _point_or_404(actor, pk)
    if not policy.can_run_point(actor, point):
        raise PermissionDenied
    return _step_page(request, title=title, subject=point, form=form(point),
                      back=reverse("stacking-points-detail", args=[pk]),
                      call=lambda data: call(actor, point, data))


def status_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _point_step(
        request, pk, title=_("Change the status"),
        form=lambda point: StatusForm(request.POST or None, initial={"status": point.status}),
        call=lambda actor, point, data: services.point_set_status(actor=actor, point=point, **data))


def fill_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _point_step(
        request, pk, title=_("Report the fill level"),
        form=lambda point: FillReportForm(request.POST or None, initial={"fill_percent": point.fill_percent}),
        call=lambda actor, point, data: services.fill_report_create(actor=actor, point=point, **data))


def collection_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _point_step(
        request, pk, title=_("Request a collection"),
        form=lambda point: CollectionRequestForm(request.POST or None),
        call=lambda actor, point, data: services.collection_request_create(actor=actor, point=point, **data))


def collection_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    collection = _collection_or_404(actor, pk)
    if not policy.can_cancel_collection(actor, collection):
        raise PermissionDenied
    return _step_page(request, title=_("Cancel the collection"), subject=collection,
                      form=ReasonForm(request.POST or None),
                      back=reverse("stacking-points-detail", args=[collection.point_id]),
                      call=lambda data: services.collection_cancel(actor=actor, collection=collection, **data))


def collection_manifest_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    collection = _collection_or_404(actor, pk)
    if not policy.can_run_point(actor, collection.point):
        raise PermissionDenied

    def issue(data: dict) -> Any:
        done = services.collection_issue_manifest(actor=actor, collection=collection, **data)
        messages.info(request, _("Manifest %(number)s issued.") % {"number": done.manifest.number})
        return done

    return _step_page(request, title=_("Issue the collection's manifest"), subject=collection,
                      form=CollectionManifestForm(request.POST or None, carrier_id=collection.carrier_id,
                                                  initial={"estimated_m3": collection.estimated_m3}),
                      back=reverse("stacking-points-detail", args=[collection.point_id]), call=issue)


@require_POST
def collection_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    collection = _collection_or_404(actor, pk)
    try:
        services.collection_accept(actor=actor, collection=collection)
        messages.success(request, _("Collection accepted."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("stacking-collections")


def collections_view(request: HttpRequest) -> HttpResponse:
    """Collection requests the actor sees: a transport company's incoming jobs, a manager's own."""
    actor = actor_for(request.user)
    filter_form = CollectionFilterForm(request.GET or None)
    status = filter_form.cleaned_data.get("status") if filter_form.is_valid() else None
    rows = [(c, c.status == CollectionStatus.REQUESTED and policy.can_accept_collection(actor, c))
            for c in selectors.collection_list(actor=actor, status=status or None)[:200]]
    return render(request, "stacking/collections.html", {"rows": rows, "filter_form": filter_form,
                                                         "title": _("Collection requests")})
