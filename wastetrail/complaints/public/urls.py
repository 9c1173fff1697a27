"""/public/: the pages anyone may use without an account (views.py)."""

from django.urls import path

from wastetrail.complaints.public import views

app_name = "public"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("points/", views.points, name="points"),
    path("points/<int:pk>/report/", views.point_report, name="point-report"),
    path("what-goes-in/", views.guide, name="guide"),
    path("report/", views.report, name="report"),
    path("report/received/", views.report_done, name="report-done"),
    path("track/", views.track, name="track"),
    path("track/<str:number>/", views.track_order, name="track-order"),
    path("track/<str:number>/rate/", views.track_rate, name="track-rate"),
    path("districts.geojson", views.districts, name="districts"),
]
