"""The project's URLs plus a stand-in named "map", for tests run before the front end's map
page exists: base.html links to it on every page, so without it no page renders."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from wastetrail.urls import urlpatterns as project_urlpatterns


def map_not_installed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("The map page is not installed yet.", status=404)


urlpatterns = [*project_urlpatterns, path("map/", map_not_installed, name="map")]
