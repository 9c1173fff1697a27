"""Configuration pages for city regulator administrators: the routing table and the category
catalogue (generic resource pages). The routing list also shows, for every district and
category, the unit a new order would go to — what the table means, not only what it says."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.complaints import config_services, selectors
from wastetrail.complaints.forms import CategoryForm, RoutingRuleForm
from wastetrail.complaints.models import RoutingRule, WorkOrderCategory
from wastetrail.complaints.routing import active_rules, matching_rules
from wastetrail.core.crud import Column, ResourcePages
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.core.errors import NotFound


class ConfigPages(ResourcePages):
    """Resource pages inside the ``complaints`` URL namespace, for configuration administrators only.

    ``name`` carries the namespace (the generic templates reverse ``<name>-list``); ``slug`` is the
    path under /workorders/."""

    slug: str
    model: type

    def _require(self, actor: Actor) -> None:
        if not config_services.can_configure(actor):
            raise PermissionDenied

    def select_list(self, actor: Actor, filters: dict) -> QuerySet:
        self._require(actor)
        return self.model.objects.all()

    def get(self, actor: Actor, pk: int) -> Any:
        self._require(actor)
        obj = self.model.objects.filter(pk=pk).first()
        if obj is None:
            raise NotFound
        return obj

    def can_create(self, actor: Actor) -> bool:
        return config_services.can_configure(actor)

    def can_edit(self, actor: Actor, obj: Any) -> bool:
        return config_services.can_configure(actor)

    def url_path(self) -> str:
        return self.slug

    def url_name_stem(self) -> str:
        return self.name.split(":", 1)[1]  # complaints/urls.py adds the namespace


def routing_matrix() -> dict[str, Any]:
    """For each district (rows) and active category (columns, with its default type): the unit
    the routing table picks, or None when no rule covers it. One query for the rules."""
    rules = active_rules()
    categories = list(selectors.categories())
    rows = []
    for district, name in DISTRICT_CHOICES:
        cells = []
        for category in categories:
            found = matching_rules(district=district, order_type=category.default_type, category_id=category.pk,
                                   rules=rules)
            cells.append(found[0].unit if found else None)
        rows.append((name, cells))
    return {"categories": categories, "rows": rows}


class RoutingRulePages(ConfigPages):
    name = "complaints:routing-rules"
    slug = "routing"
    model = RoutingRule
    title = gettext_lazy("Routing table")
    title_singular = gettext_lazy("routing rule")
    form_class = RoutingRuleForm
    page_size = 100
    columns = [
        Column(gettext_lazy("District"), "get_district_display", link=True),
        Column(gettext_lazy("Type"), "get_order_type_display"),
        Column(gettext_lazy("Category"), "category"),
        Column(gettext_lazy("Responsible unit"), "unit.name"),
        Column(gettext_lazy("Priority"), "priority"),
        Column(gettext_lazy("Active"), "is_active"),
    ]
    detail_fields = columns

    def select_list(self, actor: Actor, filters: dict) -> QuerySet:
        return super().select_list(actor, filters).select_related("category", "unit")

    def create(self, actor: Actor, data: dict) -> RoutingRule:
        return config_services.routing_rule_create(actor=actor, **data)

    def update(self, actor: Actor, obj: RoutingRule, data: dict) -> RoutingRule:
        return config_services.routing_rule_update(actor=actor, rule=obj, **data)

    def detail_context(self, actor: Actor, obj: RoutingRule) -> dict:
        return {"extra_templates": ["complaints/routing_rule_delete.html"]}

    list_template = "complaints/routing_list.html"

    def list_context(self, request: HttpRequest, actor: Actor) -> dict:
        return {"matrix": routing_matrix()}  # what the table means for every district and category

    def urls(self) -> list:
        return [*super().urls(),
                path(f"{self.slug}/<int:pk>/delete/", login_required(routing_rule_delete_view),
                     name="routing-rules-delete")]


@require_POST
def routing_rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request.user)
    rule = RoutingRule.objects.filter(pk=pk).first()
    if not config_services.can_configure(actor):
        raise PermissionDenied
    if rule is None:
        raise Http404
    config_services.routing_rule_delete(actor=actor, rule=rule)
    messages.success(request, _("Routing rule deleted."))
    return redirect("complaints:routing-rules-list")


class CategoryPages(ConfigPages):
    name = "complaints:categories"
    slug = "categories"
    model = WorkOrderCategory
    title = gettext_lazy("Work-order categories")
    title_singular = gettext_lazy("work-order category")
    form_class = CategoryForm
    page_size = 100
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Chinese name"), "name_zh"),
        Column(gettext_lazy("English name"), "name_en"),
        Column(gettext_lazy("Default type"), "get_default_type_display"),
        Column(gettext_lazy("12345 category code"), "hotline_code"),
        Column(gettext_lazy("On the public form"), "public"),
        Column(gettext_lazy("Order"), "sort_order"),
        Column(gettext_lazy("Active"), "is_active"),
    ]
    detail_fields = columns

    def create(self, actor: Actor, data: dict) -> WorkOrderCategory:
        return config_services.category_create(actor=actor, **data)

    def update(self, actor: Actor, obj: WorkOrderCategory, data: dict) -> WorkOrderCategory:
        return config_services.category_update(actor=actor, category=obj, **data)


routing_rule_pages = RoutingRulePages()
category_pages = CategoryPages()
