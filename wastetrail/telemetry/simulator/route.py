"""Routes on "roads-free geometry": there is no road network, so a trip follows a plausible polyline.

The straight line between the two ends is first bent back onto land where it leaves Jiangmen
(a path along a coast or around a bay), then jittered with a few waypoints so that it is about
1.2-1.4 times as long as the crow flies, which is what trucks on real roads drive.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from wastetrail.telemetry.simulator.geo import Land, LocalFrame, Point, bearing_deg, distance_m, sample_polyline

DETOUR_RANGE = (1.2, 1.4)
WAYPOINT_SPACING_M = 1_500.0
CHECK_STEP_M = 100.0


class NoRoute(Exception):
    """The two ends are not on the same piece of land (no bridge, no ferry in the simulator)."""


@dataclass
class Route:
    points: list[Point]
    cumulative: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            self.cumulative.append(self.cumulative[-1] + distance_m(a, b))

    @property
    def length(self) -> float:
        return self.cumulative[-1]

    @property
    def start(self) -> Point:
        return self.points[0]

    @property
    def end(self) -> Point:
        return self.points[-1]

    def at(self, s: float) -> tuple[Point, int]:
        """The point `s` metres along the route and the heading there."""
        if len(self.points) == 1:
            return self.points[0], 0
        s = min(max(s, 0.0), self.length)
        i = min(bisect.bisect_right(self.cumulative, s) - 1, len(self.points) - 2)
        a, b = self.points[i], self.points[i + 1]
        seg = self.cumulative[i + 1] - self.cumulative[i]
        f = 0.0 if seg <= 0 else (s - self.cumulative[i]) / seg
        return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f), bearing_deg(a, b)


def plan_route(rng: random.Random, start: Point, end: Point, land: Land) -> Route:
    """A jittered polyline from start to end that stays on the land both ends are on."""
    index = land.component(start)
    if index is None or land.component(end) != index:
        raise NoRoute(f"{start} and {end} are not on the same piece of Jiangmen's land")
    base = _on_land(land, index, start, end, depth=0)
    straight = distance_m(start, end)
    if straight < 300:
        return Route(base)
    target = rng.uniform(*DETOUR_RANGE)
    frame = LocalFrame(start)
    shape = _waypoint_shape(rng, base, frame)
    scale = _scale_for(target, straight, base, shape, frame)
    # Jitter that would leave land is shrunk until the path stays on it (at worst: no jitter).
    for _ in range(8):
        points = _jittered(base, shape, scale, frame)
        if land.component_contains_all(index, sample_polyline(points, CHECK_STEP_M)):
            return Route(points)
        scale /= 2
    return Route(base)


def _on_land(land: Land, index: int, a: Point, b: Point, *, depth: int) -> list[Point]:
    """a → b, bent through interior points wherever the straight segment leaves the land."""
    if depth >= 8 or land.component_contains_all(index, sample_polyline([a, b], CHECK_STEP_M)):
        return [a, b]
    middle = land.pull_inside(index, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    if middle in (a, b):
        return [a, b]
    first = _on_land(land, index, a, middle, depth=depth + 1)
    second = _on_land(land, index, middle, b, depth=depth + 1)
    return first + second[1:]


def _waypoint_shape(rng: random.Random, base: list[Point], frame: LocalFrame) -> list[list[tuple[float, float]]]:
    """Per base segment: (fraction along, unit sideways offset) for each inserted waypoint."""
    shape = []
    for a, b in zip(base, base[1:], strict=False):
        length = distance_m(a, b)
        n = max(1, int(length // WAYPOINT_SPACING_M))
        marks, side = [], 0.0
        for i in range(1, n + 1):
            fraction = (i + rng.uniform(-0.3, 0.3)) / (n + 1)
            side = 0.6 * side + rng.gauss(0.0, 1.0)  # correlated, so the path winds rather than zigzags
            marks.append((fraction, side))
        shape.append(marks)
    return shape


def _jittered(base: list[Point], shape: list, scale: float, frame: LocalFrame) -> list[Point]:
    points = [base[0]]
    for (a, b), marks in zip(zip(base, base[1:], strict=False), shape, strict=False):
        ax, ay = frame.to_xy(a)
        bx, by = frame.to_xy(b)
        dx, dy = bx - ax, by - ay
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        nx, ny = -dy / length, dx / length  # unit normal
        for fraction, side in marks:
            sideways = side * scale * length
            points.append(frame.to_point(ax + dx * fraction + nx * sideways, ay + dy * fraction + ny * sideways))
        points.append(b)
    return points


def _length(points: list[Point]) -> float:
    return sum(distance_m(a, b) for a, b in zip(points, points[1:], strict=False))


def _scale_for(target: float, straight: float, base: list[Point], shape: list, frame: LocalFrame) -> float:
    """The sideways scale that makes the jittered path `target` times the straight distance."""
    if _length(base) >= target * straight:
        return 0.0
    low, high = 0.0, 0.05
    while _length(_jittered(base, shape, high, frame)) < target * straight and high < 5:
        high *= 2
    for _ in range(30):
        middle = (low + high) / 2
        if _length(_jittered(base, shape, middle, frame)) < target * straight:
            low = middle
        else:
            high = middle
    return (low + high) / 2
