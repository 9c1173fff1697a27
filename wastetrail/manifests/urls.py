"""Manifest pages: each party's lists and steps, the driver's phone view, lookup by number,
documents (PDF, ledgers) and reconciliation."""

from django.urls import path  # noqa: F401  (the sections below add paths)

from wastetrail.manifests import document_views, reconciliation_views, revision_views, views

urlpatterns = [
    # --- pages (views.py) ---
    *views.urls(),
    # --- revisions (revision_views.py): ask, approve, refuse, cancel ---
    *revision_views.urls(),
    # --- documents (document_views.py) ---
    *document_views.urls(),
    # --- reconciliation (reconciliation_views.py) ---
    path("reconciliation/", reconciliation_views.reconciliation_view, name="reconciliation"),
    path("projects/<int:pk>/reconciliation/", reconciliation_views.reconciliation_project_view,
         name="reconciliation-project"),
    path("sites/<int:pk>/reconciliation/", reconciliation_views.reconciliation_site_view,
         name="reconciliation-site"),
]
