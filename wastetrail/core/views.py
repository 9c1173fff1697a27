"""Health check and the audit trail page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from wastetrail import __version__
from wastetrail.accounts.policy import actor_for, can_read_audit
from wastetrail.core.audit.models import AuditEntry


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with the database status; 503 when the database does not answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = {"status": "ok", "vendor": connection.vendor}
        status = 200
    except Exception as exc:  # any failure to reach the database is what we report
        database = {"status": "error", "vendor": connection.vendor, "error": exc.__class__.__name__}
        status = 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "degraded", "version": __version__, "database": database},
        status=status,
    )


@login_required
def audit_view(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    if not can_read_audit(actor):
        raise PermissionDenied
    entries = AuditEntry.objects.order_by("-seq").select_related("organisation")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page})
