"""Work-order staff pages, under /workorders/ (wastetrail/urls.py includes this module there)."""

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path

from wastetrail.complaints import map_views, queue_views, views
from wastetrail.complaints.config_views import category_pages, routing_rule_pages

app_name = "complaints"

urlpatterns = [
    path("", queue_views.queue_view, name="queue"),
    path("stats/", queue_views.stats_view, name="stats"),
    path("new/", login_required(views.intake_view), name="new"),
    path("map/", map_views.map_page, name="map"),
    path("map/data.json", map_views.map_data, name="map-data"),
    path("extensions/", login_required(views.extensions_view), name="extensions"),
    path("extensions/<int:extension_pk>/decide/", login_required(views.extension_decide_view),
         name="extension-decide"),
    path("<int:pk>/", login_required(views.detail_view), name="detail"),
    path("<int:pk>/photos/<int:photo_pk>/", login_required(views.photo_view), name="photo"),
    re_path(rf"^(?P<pk>[0-9]+)/(?P<step>{'|'.join(views.STEPS)})/$", login_required(views.step_view),
            name="step"),
    *routing_rule_pages.urls(),
    *category_pages.urls(),
]
