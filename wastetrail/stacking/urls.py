"""Stacking pages under /stacking/. The step URLs come before the generic ones they resemble."""

from django.contrib.auth.decorators import login_required
from django.urls import path

from wastetrail.stacking import map_views, views

urlpatterns = [
    # Under points/: the same points as the list, so the top bar marks "stacking points" current.
    path("stacking/points/map/", map_views.map_page, name="stacking-map"),
    path("stacking/points/map/data.json", map_views.map_data, name="stacking-map-data"),
    path("stacking/points/<int:pk>/status/", login_required(views.status_view), name="stacking-points-status"),
    path("stacking/points/<int:pk>/fill/", login_required(views.fill_report_view), name="stacking-points-fill"),
    path("stacking/points/<int:pk>/collect/", login_required(views.collection_request_view),
         name="stacking-points-collect"),
    path("stacking/collections/", login_required(views.collections_view), name="stacking-collections"),
    path("stacking/collections/<int:pk>/accept/", login_required(views.collection_accept_view),
         name="stacking-collections-accept"),
    path("stacking/collections/<int:pk>/cancel/", login_required(views.collection_cancel_view),
         name="stacking-collections-cancel"),
    path("stacking/collections/<int:pk>/manifest/", login_required(views.collection_manifest_view),
         name="stacking-collections-manifest"),
    *views.area_pages.urls(),
    *views.point_pages.urls(),
]
