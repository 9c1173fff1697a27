"""Pages under /rulebook/ (included without a namespace: the overview is plain "rulebook")."""

from django.urls import path

from wastetrail.core.rulebook import views

urlpatterns = [
    path("", views.overview_view, name="rulebook"),
    path("calendar/<int:year>/", views.calendar_year_view, name="rulebook-calendar-year"),
    *views.category_pages.urls(),
    *views.violation_pages.urls(),
    *views.deadline_pages.urls(),
    *views.override_pages.urls(),
    *views.notice_pages.urls(),
    *views.parameter_pages.urls(),
]
