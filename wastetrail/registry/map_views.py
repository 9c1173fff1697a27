"""The map page and the GeoJSON layers it draws (front end: frontend/src/map.js).

Three layers, each a JSON endpoint so the page stays light and the browser caches what never
changes:

- ``districts``: Jiangmen's seven districts from the GeoJSON bundled in the package. The map's
  base when there is no tile server (offline intranets), so it is cacheable.
- ``projects`` and ``sites``: what the acting user may see, from the registry selectors.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET
from shapely.ops import polylabel

from wastetrail.accounts.policy import actor_for
from wastetrail.core.districts import DISTRICT_NAMES, districts, districts_geojson_text
from wastetrail.registry import selectors
from wastetrail.registry.models import ProjectStatus, SiteKind

LAYER_NAMES = ("districts", "projects", "sites")
GEOJSON_CONTENT_TYPE = "application/geo+json"
# The boundaries change with an administrative reform, i.e. with a release: a day is safe, and
# the ETag lets a browser revalidate cheaply after that.
DISTRICTS_MAX_AGE_SECONDS = 24 * 3600

# Where the map opens before the districts have loaded (then it fits them): the city's middle.
JIANGMEN_CENTRE_LAT_LON = (22.2, 112.65)
JIANGMEN_ZOOM = 9

# One colour per value, shown on the map and in its legend. Projects are circles, sites squares.
PROJECT_STATUS_COLOURS = {
    ProjectStatus.PLANNED: "#5c7cfa",
    ProjectStatus.UNDER_CONSTRUCTION: "#e03131",
    ProjectStatus.SUSPENDED: "#868e96",
    ProjectStatus.COMPLETED: "#2b8a3e",
}
SITE_KIND_COLOURS = {
    SiteKind.DISPOSAL: "#8b5a2b",
    SiteKind.RECYCLING: "#0ca678",
    SiteKind.TRANSFER: "#1c7ed6",
    SiteKind.BACKFILL: "#f59f00",
}


# --- districts ------------------------------------------------------------------------------
def _label_point(adcode: int) -> list[float]:
    """Where the district's name goes: the pole of inaccessibility of its largest part (Taishan
    has two dozen islands; a centroid can fall outside a concave district)."""
    for district in districts():
        if district.adcode == adcode:
            parts = list(getattr(district.geometry, "geoms", [district.geometry]))
            point = polylabel(max(parts, key=lambda part: part.area), tolerance=0.001)
            return [round(point.x, 6), round(point.y, 6)]
    raise KeyError(adcode)


@cache
def districts_layer_bytes() -> bytes:
    """The bundled boundaries with only the properties the map uses, plus a label point."""
    collection = json.loads(districts_geojson_text())
    features = []
    for feature in collection["features"]:
        adcode = int(feature["properties"]["adcode"])
        features.append({
            "type": "Feature",
            "id": adcode,
            "properties": {
                "adcode": adcode,
                "name": feature["properties"]["name"],
                "name_en": DISTRICT_NAMES.get(adcode, ("", ""))[1],
                "label_point": _label_point(adcode),
            },
            "geometry": feature["geometry"],
        })
    layer = {"type": "FeatureCollection", "features": features}
    return json.dumps(layer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@cache
def districts_layer_etag() -> str:
    return hashlib.sha256(districts_layer_bytes()).hexdigest()[:32]


@condition(etag_func=lambda request, *args, **kwargs: districts_layer_etag())
def _districts_layer(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(districts_layer_bytes(), content_type=GEOJSON_CONTENT_TYPE)
    # Private: the layer sits behind the login, so shared caches must not keep it.
    patch_cache_control(response, private=True, max_age=DISTRICTS_MAX_AGE_SECONDS)
    return response


# --- views ----------------------------------------------------------------------------------
def _legend_entries(choices: type[ProjectStatus] | type[SiteKind], colours: dict) -> list[dict]:
    return [{"value": value, "label": str(label), "colour": colours[value]} for value, label in choices.choices]


def map_config() -> dict:
    """Everything map.js needs, in the request's language; rendered into the page as JSON."""
    return {
        "layers": {name: reverse("map-layer", args=[name]) for name in LAYER_NAMES},
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "center": list(JIANGMEN_CENTRE_LAT_LON),
        "zoom": JIANGMEN_ZOOM,
        "showEnglishNames": (get_language() or "").startswith("en"),
        "boundaryAttribution": _("Boundaries: DataV"),
        "projectStatuses": _legend_entries(ProjectStatus, PROJECT_STATUS_COLOURS),
        "siteKinds": _legend_entries(SiteKind, SITE_KIND_COLOURS),
        "text": {
            "legend": _("Legend"),
            "districts": _("Districts"),
            "projects": _("Construction projects"),
            "sites": _("Receiving sites"),
            "baseMap": _("Base map"),
            "offline": _("Offline base map (no tile server configured)"),
            "loadFailed": _("Could not load: %(layers)s. Reload the page to try again."),
            "open": _("View details"),
            "englishName": _("English name"),
            "adcode": _("Division code"),
            "code": _("Project code"),
            "type": _("Type"),
            "status": _("Status"),
            "constructionUnit": _("Construction unit"),
            "district": _("District"),
            "kind": _("Kind"),
            "operator": _("Operator"),
            "openingHours": _("Opening hours"),
        },
    }


def base_map_config() -> dict[str, Any]:
    """What the marker maps (work orders, stacking points) share with /live/: the offline districts
    and the optional tiles."""
    return {
        "districtsUrl": reverse("map-layer", args=["districts"]),
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "center": list(JIANGMEN_CENTRE_LAT_LON),
        "zoom": JIANGMEN_ZOOM,
        "showEnglishNames": (get_language() or "").startswith("en"),
        "boundaryAttribution": _("Boundaries: DataV"),
        "text": {"offline": _("Offline base map (no tile server configured)")},
    }


def map_data_view(view):
    """For the endpoints a map's script fetches: an anonymous request gets 401 JSON (not a
    redirect to the login page, which would arrive as HTML where JSON is expected), and only GET."""
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": _("Log in to see the map.")}, status=401)
        return view(request, *args, **kwargs)

    return require_GET(guarded)


def fresh_json(payload: dict, content_type: str = "application/json") -> JsonResponse:
    """Compact JSON with Chinese as it is, never kept by a cache: what a user sees on a map
    changes with every registration, report and step."""
    response = JsonResponse(payload, content_type=content_type,
                            json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    return render(request, "registry/map.html", {"title": _("Map"), "map_config": map_config()})


@map_data_view
def map_layer(request: HttpRequest, name: str) -> HttpResponse:
    """One layer as GeoJSON."""
    if name not in LAYER_NAMES:
        raise Http404
    if name == "districts":
        return _districts_layer(request)
    actor = actor_for(request.user)
    if name == "projects":
        collection = selectors.project_map_features(actor=actor)
    else:
        collection = selectors.site_map_features(actor=actor)
    return fresh_json(collection, GEOJSON_CONTENT_TYPE)
