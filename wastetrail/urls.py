from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from wastetrail.accounts import views as account_views
from wastetrail.accounts.views import organisation_pages
from wastetrail.api import api
from wastetrail.core import views as core_views

urlpatterns = [
    path("", account_views.home_view, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/", api.urls),
    path("accounts/", include("wastetrail.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("public/", include("wastetrail.complaints.public.urls")),
    path("audit/", core_views.audit_view, name="audit"),
    path("rulebook/", include("wastetrail.core.rulebook.urls")),
    path("", include("wastetrail.registry.urls")),
    path("", include("wastetrail.permits.urls")),
    path("", include("wastetrail.plans.urls")),
    path("", include("wastetrail.manifests.urls")),
    path("", include("wastetrail.telemetry.urls")),
    path("workorders/", include("wastetrail.complaints.urls")),
    path("", include("wastetrail.stacking.urls")),
    # The admin's own login has no throttle: send it through ours.
    path("admin/login/", RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
    path("admin/", admin.site.urls),
    *organisation_pages.urls(),
    path("organisations/<int:pk>/members/new/", account_views.member_add_view, name="organisation-member-add"),
]
