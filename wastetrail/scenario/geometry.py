"""Random but reproducible places inside Jiangmen's districts."""

from __future__ import annotations

import math
import random

from shapely.geometry import Point, Polygon, mapping

from wastetrail.core.districts import districts

METRES_PER_DEGREE_LAT = 111_320.0


def _district(adcode: int):
    for district in districts():
        if district.adcode == adcode:
            return district
    raise KeyError(adcode)


def random_point_in_district(rng: random.Random, adcode: int, *, margin_m: float = 0.0) -> tuple[float, float]:
    """A (lon, lat) inside the district, at least `margin_m` from its border, rounded to 1e-6°."""
    district = _district(adcode)
    area = district.geometry
    if margin_m:
        area = area.buffer(-margin_m / METRES_PER_DEGREE_LAT)
        if area.is_empty:
            area = district.geometry
    min_lon, min_lat, max_lon, max_lat = area.bounds
    for _ in range(10_000):
        lon = round(rng.uniform(min_lon, max_lon), 6)
        lat = round(rng.uniform(min_lat, max_lat), 6)
        if area.covers(Point(lon, lat)):
            return lon, lat
    raise RuntimeError(f"could not place a point in district {adcode}")


def square_around(lon: float, lat: float, side_m: float, rng: random.Random) -> dict:
    """A slightly irregular quadrilateral of about side_m × side_m as a GeoJSON Polygon."""
    half_lat = side_m / 2 / METRES_PER_DEGREE_LAT
    half_lon = side_m / 2 / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        jitter = rng.uniform(0.75, 1.15)
        corners.append((round(lon + sx * half_lon * jitter, 6), round(lat + sy * half_lat * jitter, 6)))
    return mapping(Polygon(corners))
