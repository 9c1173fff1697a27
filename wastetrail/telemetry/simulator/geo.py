"""Small-scale geometry for the simulator: distances, bearings, a local metric frame, and Jiangmen's land.

Points are (lon, lat) tuples in WGS-84 degrees. Over the few tens of kilometres a truck drives
in Jiangmen an equirectangular frame around a point is accurate to well under a metre per
kilometre, which is all a simulator needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import shapely
from shapely.geometry import Point as ShapelyPoint
from shapely.ops import nearest_points, unary_union

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = 111_320.0

Point = tuple[float, float]  # (lon, lat)


def distance_m(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Point, b: Point) -> int:
    """Initial bearing from a to b, 0-359, clockwise from north (the 0x0200 heading)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return int(round(math.degrees(math.atan2(y, x)))) % 360


@dataclass(frozen=True)
class LocalFrame:
    """East/north metres around an origin (equirectangular)."""

    origin: Point

    @property
    def _per_lon(self) -> float:
        return METRES_PER_DEGREE_LAT * math.cos(math.radians(self.origin[1]))

    def to_xy(self, point: Point) -> tuple[float, float]:
        return ((point[0] - self.origin[0]) * self._per_lon, (point[1] - self.origin[1]) * METRES_PER_DEGREE_LAT)

    def to_point(self, x: float, y: float) -> Point:
        return (self.origin[0] + x / self._per_lon, self.origin[1] + y / METRES_PER_DEGREE_LAT)


def offset(point: Point, east_m: float, north_m: float) -> Point:
    return LocalFrame(point).to_point(east_m, north_m)


class Land:
    """Jiangmen's territory (the union of its districts): mainland plus islands, each a component.

    A truck cannot drive from one component to another, so trips are only planned within one.
    """

    def __init__(self, geometry) -> None:
        self.geometry = geometry
        parts = list(getattr(geometry, "geoms", [geometry]))
        self.components = sorted(parts, key=lambda part: part.area, reverse=True)
        for part in self.components:
            shapely.prepare(part)
        shapely.prepare(self.geometry)
        # Interiors a little inside the coast, to pull a wandering path back onto land.
        self._cores = [part.buffer(-300 / METRES_PER_DEGREE_LAT) for part in self.components]

    def contains(self, point: Point) -> bool:
        return bool(shapely.contains_xy(self.geometry, point[0], point[1]))

    def contains_all(self, points: list[Point]) -> bool:
        if not points:
            return True
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        return bool(shapely.contains_xy(self.geometry, xs, ys).all())

    def component(self, point: Point) -> int | None:
        """Index of the component (0 = mainland) holding the point, or None at sea / outside."""
        for index, part in enumerate(self.components):
            if shapely.contains_xy(part, point[0], point[1]):
                return index
        return None

    def component_contains_all(self, index: int, points: list[Point]) -> bool:
        part = self.components[index]
        return bool(shapely.contains_xy(part, [p[0] for p in points], [p[1] for p in points]).all())

    def pull_inside(self, index: int, point: Point) -> Point:
        """The point itself if it lies in the component's interior, else the nearest interior point."""
        core = self._cores[index]
        if core.is_empty:
            core = self.components[index]
        if core.contains(ShapelyPoint(point)):
            return point
        nearest = nearest_points(core, ShapelyPoint(point))[0]
        return (nearest.x, nearest.y)


@cache
def jiangmen() -> Land:
    from wastetrail.core.districts import districts  # shapely only, no Django

    return Land(unary_union([district.geometry for district in districts()]))


def sample_polyline(points: list[Point], step_m: float) -> list[Point]:
    """Points every `step_m` metres along the polyline (its vertices included)."""
    samples: list[Point] = [points[0]]
    for a, b in zip(points, points[1:], strict=False):
        length = distance_m(a, b)
        n = max(1, int(length // step_m))
        for i in range(1, n + 1):
            f = i / n
            samples.append((a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f))
    return samples
