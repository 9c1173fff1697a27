"""Telemetry pages. The terminal status list sits beside the registry's terminal pages
(/terminals/, /terminals/<id>/), under a name that is not a number."""

from django.urls import path

from wastetrail.telemetry import views

urlpatterns = [
    path("live/", views.live_page, name="live-map"),
    path("vehicles/<int:pk>/track/", views.track_page, name="vehicle-track"),
    path("terminals/status/", views.terminal_status_page, name="terminal-status"),
]
