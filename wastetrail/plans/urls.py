"""Plan pages."""

from wastetrail.plans.views import plan_pages

urlpatterns = [*plan_pages.urls()]
