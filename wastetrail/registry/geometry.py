"""Locations and site boundaries: WGS-84 micro-degrees, GeoJSON polygons checked with shapely.

Errors are ValidationErrors without a field; the services put them on the field the user typed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from shapely import is_valid_reason
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from wastetrail.core.districts import district_at, district_name, districts

MICRO = Decimal(1_000_000)
METRES_PER_DEGREE_LAT = 111_320.0

# A receiving site smaller than a tennis court was drawn by mistake; one larger than 20 km²
# is a county, not a site.
MIN_SITE_AREA_M2 = 100.0
MAX_SITE_AREA_M2 = 20_000_000.0
# Keeps one site's row and the map layer small; a hand-drawn boundary has tens of vertices.
MAX_SITE_VERTICES = 2_000


def to_e6(value: Any) -> int:
    """Degrees (number or numeric string) to integer micro-degrees, rounded half up."""
    try:
        degrees = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter the coordinate as decimal degrees, such as 113.0781."),
                              code="coordinate") from None
    if not degrees.is_finite():
        raise ValidationError(_("Enter the coordinate as decimal degrees, such as 113.0781."),
                              code="coordinate")
    return int((degrees * MICRO).to_integral_value(rounding=ROUND_HALF_UP))


def from_e6(value: int | None) -> float | None:
    return None if value is None else value / 1_000_000


def decimal_from_e6(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / MICRO).quantize(Decimal("0.000001"))


def check_lon_lat_e6(lon_e6: int, lat_e6: int) -> None:
    if not (-180_000_000 <= lon_e6 <= 180_000_000 and -90_000_000 <= lat_e6 <= 90_000_000):
        if -90_000_000 <= lon_e6 <= 90_000_000 and -180_000_000 <= lat_e6 <= 180_000_000:
            raise ValidationError(
                _("Longitude and latitude look swapped: in Jiangmen the longitude is about 113 "
                  "and the latitude about 22."), code="coordinate_swapped",
            )
        raise ValidationError(_("Longitude must lie within ±180° and latitude within ±90°."),
                              code="coordinate_range")


class PositionShown:
    """For models with ``lon_e6``, ``lat_e6`` and ``district``: the degrees and the district's
    name that pages and APIs show (a plain mixin: no fields, no migrations)."""

    @property
    def lon(self) -> float | None:
        return from_e6(self.lon_e6)

    @property
    def lat(self) -> float | None:
        return from_e6(self.lat_e6)

    @property
    def district_name(self) -> str:
        return district_name(self.district)


def locate_in_jiangmen(lon: Any, lat: Any) -> dict[str, int]:
    """``lon_e6``, ``lat_e6`` and the district containing a WGS-84 position typed in by a user, or
    field errors: each coordinate missing or not a number, off the Earth, or outside Jiangmen (every
    place the platform registers must lie in a district it supervises)."""
    missing = [name for name, value in (("lon", lon), ("lat", lat)) if value in (None, "")]
    if missing:
        raise ValidationError({name: _("This field is required.") for name in missing})
    errors: dict[str, Any] = {}
    e6: dict[str, int] = {}
    for name, value in (("lon", lon), ("lat", lat)):
        try:
            e6[name] = to_e6(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    try:
        check_lon_lat_e6(e6["lon"], e6["lat"])
    except ValidationError as exc:
        raise ValidationError({"location": exc.messages}) from None
    district = district_at(lon=e6["lon"] / 1_000_000, lat=e6["lat"] / 1_000_000)
    if district is None:
        raise ValidationError({"location": _(
            "This point (%(lon)s, %(lat)s) lies outside Jiangmen; check the coordinates "
            "(WGS-84 longitude, latitude)."
        ) % {"lon": lon, "lat": lat}})
    return {"lon_e6": e6["lon"], "lat_e6": e6["lat"], "district": district}


def area_m2(geometry: BaseGeometry) -> float:
    """Area of a WGS-84 geometry in m², on a local equirectangular projection.

    At a city's scale this is within a fraction of a percent of the geodesic area, which is
    all a plausibility check and a display need; it avoids a projection library.
    """
    lat0 = math.radians(geometry.centroid.y)
    return geometry.area * METRES_PER_DEGREE_LAT ** 2 * math.cos(lat0)


@dataclass(frozen=True)
class SiteBoundary:
    geojson: dict          # the normalised geometry as stored
    geometry: BaseGeometry
    anchor_lon_e6: int     # a point inside the site (the centroid when it lies inside)
    anchor_lat_e6: int
    district: int
    area_m2: int


def _round_coordinates(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            if not all(math.isfinite(v) for v in value):
                # Python's json module reads NaN and Infinity; GeoJSON does not allow them.
                raise ValidationError(_("The boundary contains a coordinate that is not a number."),
                                      code="geojson_coordinates")
            return [round(float(v), 6) for v in value]
        return [_round_coordinates(v) for v in value]
    return value


def _geometry_object(value: Any) -> dict:
    """Accept a geometry, a Feature or a one-feature FeatureCollection, as a dict or JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(_("This is not valid GeoJSON text: %(error)s."),
                                  code="geojson_syntax", params={"error": exc.msg}) from None
    if not isinstance(value, dict):
        raise ValidationError(_("Give the boundary as a GeoJSON Polygon."), code="geojson_type")
    if value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            raise ValidationError(_("Give exactly one polygon for the site boundary."),
                                  code="geojson_count")
        value = features[0]
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    if value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError(
            _("The site boundary must be a GeoJSON Polygon (or MultiPolygon), not %(type)s."),
            code="geojson_type", params={"type": value.get("type") or _("nothing")},
        )
    return {"type": value["type"], "coordinates": _round_coordinates(value.get("coordinates"))}


def _district_covering_most(geometry: BaseGeometry) -> int | None:
    best, best_area = None, 0.0
    for district in districts():
        if not district.prepared.intersects(geometry):
            continue
        overlap = district.geometry.intersection(geometry).area
        if overlap > best_area:
            best, best_area = district.adcode, overlap
    return best


def parse_site_boundary(value: Any) -> SiteBoundary:
    """Check a site boundary and derive what is stored with it. Raises ValidationError."""
    geojson = _geometry_object(value)
    try:
        geometry = shape(geojson)
    except Exception:  # shapely raises several types for malformed coordinate arrays
        raise ValidationError(
            _("The boundary's coordinates are malformed: a polygon is a list of rings, each a "
              "closed list of [longitude, latitude] pairs."), code="geojson_coordinates",
        ) from None
    if geometry.is_empty:
        raise ValidationError(_("The boundary has no area."), code="geojson_empty")
    vertices = sum(len(ring.coords) for poly in _polygons(geometry)
                   for ring in (poly.exterior, *poly.interiors))
    if vertices > MAX_SITE_VERTICES:
        raise ValidationError(_("The boundary has %(n)d vertices; simplify it to at most %(max)d."),
                              code="geojson_vertices", params={"n": vertices, "max": MAX_SITE_VERTICES})
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    check_lon_lat_e6(int(min_lon * 1e6), int(min_lat * 1e6))
    check_lon_lat_e6(int(max_lon * 1e6), int(max_lat * 1e6))
    if not geometry.is_valid:
        raise ValidationError(
            _("The boundary is not a valid polygon (%(reason)s); it must not cross itself."),
            code="geojson_invalid", params={"reason": is_valid_reason(geometry)},
        )
    district = _district_covering_most(geometry)
    if district is None:
        raise ValidationError(_("The site lies outside Jiangmen."), code="outside_city")
    area = area_m2(geometry)
    if area < MIN_SITE_AREA_M2:
        raise ValidationError(
            _("The boundary encloses only %(area)d m²; draw the whole site (at least %(min)d m²)."),
            code="site_too_small", params={"area": round(area), "min": round(MIN_SITE_AREA_M2)},
        )
    if area > MAX_SITE_AREA_M2:
        raise ValidationError(
            _("The boundary encloses %(area).1f km², more than the %(max)d km² a site can "
              "plausibly cover; check the coordinates."),
            code="site_too_large", params={"area": area / 1e6, "max": round(MAX_SITE_AREA_M2 / 1e6)},
        )
    # RFC 7946: exterior rings counter-clockwise, holes clockwise.
    if isinstance(geometry, Polygon):
        geometry = orient(geometry, 1.0)
    else:
        geometry = MultiPolygon([orient(p, 1.0) for p in geometry.geoms])
    anchor: Point = geometry.centroid
    if not geometry.covers(anchor):
        # A crescent or L-shaped site: its centroid falls outside; use a point that is inside.
        anchor = geometry.representative_point()
    stored = json.loads(json.dumps(mapping(geometry)))
    return SiteBoundary(
        geojson=stored,
        geometry=geometry,
        anchor_lon_e6=round(anchor.x * 1_000_000),
        anchor_lat_e6=round(anchor.y * 1_000_000),
        district=district,
        area_m2=round(area),
    )


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    return list(getattr(geometry, "geoms", []))
