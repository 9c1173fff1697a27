"""List / detail / create / edit pages for one noun, described once.

A ``ResourcePages`` subclass names its selectors, services, form and columns; the four views
and their URLs follow. Views stay thin: the form checks field syntax, the service decides
everything else, and a service ValidationError lands on the form field it names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.errors import DomainError, NotFound


@dataclass(frozen=True)
class Column:
    label: Any
    value: str  # attribute path on the object, dots allowed; a callable attribute is called
    link: bool = False


def resolve_attr(obj: Any, dotted: str) -> Any:
    value = obj
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if callable(value):
            value = value()
        if value is None:
            return ""
    return value


def attach_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put service errors on the fields they name; the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class ResourcePages(ABC):
    """Subclass and fill in the class attributes and the hooks below."""

    name: ClassVar[str]            # url prefix and name stem, e.g. "vehicles"
    title: ClassVar[Any]           # plural, for headings
    title_singular: ClassVar[Any]
    form_class: ClassVar[type[forms.ModelForm]]
    columns: ClassVar[list[Column]]
    detail_fields: ClassVar[list[Column]]
    page_size: ClassVar[int] = 25
    filter_form_class: ClassVar[type[forms.Form] | None] = None
    list_template: ClassVar[str] = "crud/list.html"

    # --- hooks ------------------------------------------------------------------------------
    @abstractmethod
    def select_list(self, actor: Actor, filters: dict) -> models.QuerySet:
        ...

    @abstractmethod
    def get(self, actor: Actor, pk: int) -> models.Model:
        ...

    @abstractmethod
    def create(self, actor: Actor, data: dict) -> models.Model:
        ...

    @abstractmethod
    def update(self, actor: Actor, obj: models.Model, data: dict) -> models.Model:
        ...

    def can_create(self, actor: Actor) -> bool:
        return False

    def can_edit(self, actor: Actor, obj: models.Model) -> bool:
        return False

    def form_kwargs(self, actor: Actor, obj: models.Model | None) -> dict:
        """Extra keyword arguments for the form, e.g. the choices the actor may pick."""
        return {}

    def detail_context(self, actor: Actor, obj: models.Model) -> dict:
        return {}

    def list_context(self, request: HttpRequest, actor: Actor) -> dict:
        """More for the list page: ``heading_links`` ((label, address) pairs beside the heading,
        e.g. the same list on a map), or what a ``list_template`` extending crud/list.html shows."""
        return {}

    # --- views ------------------------------------------------------------------------------
    def _base(self, request: HttpRequest, actor: Actor) -> dict:
        return {"pages": self, "actor": actor, "title": self.title,
                "title_singular": self.title_singular,
                "list_url": reverse(f"{self.name}-list"),
                "can_create": self.can_create(actor)}

    def _get_or_404(self, actor: Actor, pk: int) -> models.Model:
        try:
            return self.get(actor, pk)
        except NotFound:
            raise Http404 from None

    def list_view(self, request: HttpRequest) -> HttpResponse:
        actor = actor_for(request.user)
        filter_form = self.filter_form_class(request.GET or None) if self.filter_form_class else None
        filters = filter_form.cleaned_data if filter_form and filter_form.is_valid() else {}
        filters = {k: v for k, v in filters.items() if v not in (None, "")}
        paginator = Paginator(self.select_list(actor, filters), self.page_size)
        page = paginator.get_page(request.GET.get("page"))
        rows = [
            (obj, [(col, resolve_attr(obj, col.value)) for col in self.columns]) for obj in page
        ]
        context = self._base(request, actor) | {
            "page": page, "rows": rows, "columns": self.columns, "filter_form": filter_form,
            "query": request.GET.copy().urlencode() if request.GET else "",
        } | self.list_context(request, actor)
        return render(request, self.list_template, context)

    def detail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        actor = actor_for(request.user)
        obj = self._get_or_404(actor, pk)
        fields = [(col.label, resolve_attr(obj, col.value)) for col in self.detail_fields]
        can_edit = self.can_edit(actor, obj)
        context = self._base(request, actor) | {
            "object": obj, "fields": fields, "can_edit": can_edit,
            # Nouns changed only through their own steps have no edit page.
            "edit_url": reverse(f"{self.name}-edit", args=[obj.pk]) if can_edit else "",
        } | self.detail_context(actor, obj)
        return render(request, "crud/detail.html", context)

    def _form_view(self, request: HttpRequest, obj: models.Model | None) -> HttpResponse:
        actor = actor_for(request.user)
        kwargs = self.form_kwargs(actor, obj)
        # A ModelForm writes its values onto its instance while validating; give it a copy of its
        # own so the service compares the submitted values with the row as stored.
        form_instance = self.get(actor, obj.pk) if obj is not None else None
        form = self.form_class(request.POST or None, request.FILES or None, instance=form_instance, **kwargs)
        if request.method == "POST" and form.is_valid():
            try:
                if obj is None:
                    saved = self.create(actor, form.cleaned_data)
                    messages.success(request, _("Saved."))
                else:
                    saved = self.update(actor, obj, form.cleaned_data)
                    messages.success(request, _("Changes saved."))
                return redirect(f"{self.name}-detail", pk=saved.pk)
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
        status = 400 if request.method == "POST" else 200
        context = self._base(request, actor) | {"form": form, "object": obj}
        return render(request, "crud/form.html", context, status=status)

    def create_view(self, request: HttpRequest) -> HttpResponse:
        if not self.can_create(actor_for(request.user)):
            raise PermissionDenied
        return self._form_view(request, None)

    def edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        actor = actor_for(request.user)
        obj = self._get_or_404(actor, pk)
        if not self.can_edit(actor, obj):
            raise PermissionDenied
        return self._form_view(request, obj)

    def url_path(self) -> str:
        """Where the pages live below the URLconf that includes them."""
        return self.name

    def url_name_stem(self) -> str:
        """The URL names are <stem>-list, -create, -detail and -edit (inside the including
        URLconf's namespace, if it has one: ``name`` then carries it, e.g. "complaints:...")."""
        return self.name

    def urls(self) -> list:
        p, n = self.url_path(), self.url_name_stem()
        return [
            path(f"{p}/", login_required(self.list_view), name=f"{n}-list"),
            path(f"{p}/new/", login_required(self.create_view), name=f"{n}-create"),
            path(f"{p}/<int:pk>/", login_required(self.detail_view), name=f"{n}-detail"),
            path(f"{p}/<int:pk>/edit/", login_required(self.edit_view), name=f"{n}-edit"),
        ]
