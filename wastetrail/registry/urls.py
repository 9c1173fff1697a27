"""Registry pages. The front end appends the map page and its layers here (map_views)."""

from django.urls import path

from wastetrail.registry import map_views
from wastetrail.registry.views import driver_pages, project_pages, site_pages, terminal_pages, vehicle_pages

urlpatterns = [
    *project_pages.urls(),
    *site_pages.urls(),
    *vehicle_pages.urls(),
    *terminal_pages.urls(),
    *driver_pages.urls(),
    path("map/", map_views.map_page, name="map"),
    path("map/layers/<slug:name>.geojson", map_views.map_layer, name="map-layer"),
]
