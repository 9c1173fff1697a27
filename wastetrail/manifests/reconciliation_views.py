"""Reconciliation pages: the list (flagged projects first, and the sites), one project's
categories, one site's intake against its capacity. Reads only; scoping is in the selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import actor_for
from wastetrail.core.errors import NotFound
from wastetrail.manifests import reconciliation

PAGE_SIZE = 50


@login_required
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    projects = reconciliation.project_reconciliations(actor=actor)
    page = Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "title": _("Reconciliation"), "page": page,
        "flagged_count": sum(1 for project in projects if project.flagged),
        "tolerance_percent": projects[0].tolerance_percent if projects else None,
        "sites": reconciliation.site_summaries(actor=actor),
    }
    return render(request, "manifests/reconciliation.html", context)


@login_required
def reconciliation_project_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        result = reconciliation.project_reconciliation(actor=actor_for(request.user), pk=pk)
    except NotFound:
        raise Http404 from None
    context = {"title": _("Reconciliation of %(project)s") % {"project": result.project.name}, "r": result}
    return render(request, "manifests/reconciliation_project.html", context)


@login_required
def reconciliation_site_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        result = reconciliation.site_reconciliation(actor=actor_for(request.user), pk=pk)
    except NotFound:
        raise Http404 from None
    context = {"title": _("Reconciliation of %(site)s") % {"site": result.site.name}, "r": result}
    return render(request, "manifests/reconciliation_site.html", context)
