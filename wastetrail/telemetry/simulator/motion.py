"""A muck truck's day, second by second: loading at a project, driving, traffic stops, unloading.

`Truck` steps through an endless list of activities (a dwell at a place, or a drive along a
route) in whole simulated seconds and exposes what its terminal would read at any moment:
position, speed, heading, ACC, load, the cover/lift sensors, the odometer, and whether the
mobile network reaches it. Times are simulated epoch seconds (UTC); nothing here waits.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from wastetrail.telemetry.simulator.geo import Point, distance_m, offset
from wastetrail.telemetry.simulator.route import Route

# Cruise speeds drawn between these (km/h); accelerations in m/s².
CRUISE_KMH = (20.0, 60.0)
ACCEL_EMPTY = 0.9
ACCEL_LOADED = 0.6
BRAKE_PLANNED = 1.2  # how drivers brake towards a stop they see coming
BRAKE_MAX = 2.0  # never more than this between two seconds
CRUISE_CHANGE_S = (20, 90)  # seconds between changes of the driver's chosen speed
STOP_EVERY_M = 2_500.0  # on average one traffic stop (lights, queue) per this distance
STOP_HOLD_S = (30, 120)
LOADING_S = (10 * 60, 25 * 60)
UNLOADING_S = (5 * 60, 15 * 60)
ILLEGAL_STOP_S = (3 * 60, 7 * 60)
LIFT_S = (60, 180)  # how long the body stays lifted while dumping
SIGNAL_LOSS_S = (60, 300)
EXPECTED_SPEED_MS = 9.0  # to place a signal loss inside a drive before it is stepped


class Phase:
    LOADING = "loading"
    DRIVING_LOADED = "driving_loaded"
    DRIVING_EMPTY = "driving_empty"
    UNLOADING = "unloading"
    ILLEGAL_DUMP = "illegal_dump"


@dataclass(frozen=True)
class Place:
    """A project (where trucks load) or a receiving site (where they unload)."""

    kind: str  # "project" | "site"
    id: int
    name: str
    point: Point
    radius_m: float = 0.0  # trucks stop somewhere within this of the point


@dataclass(frozen=True)
class DumpRecord:
    """One lift up → lift down, as the terminal reports it in item 0xE3 (PROTOCOL.md §7)."""

    abnormal: bool  # 0xE3 result: 0 = inside a permitted area, 1 = outside
    start: float  # simulated epoch seconds
    end: float


@dataclass(frozen=True)
class DumpEvent:
    """Ground truth: a dump that happened (legit unloading at a site, or an illegal dump)."""

    kind: str  # "unloading" | "illegal_dump"
    point: Point
    stop_start: float
    stop_end: float
    lift_start: float
    lift_end: float
    site: Place | None
    project: Place | None


@dataclass
class Dwell:
    """Standing at a place; the lift (if any) goes up and down inside the dwell."""

    phase: str
    point: Point
    duration: float
    loaded_after: bool
    acc_off: tuple[float, float] | None = None  # offsets (s) during which the engine is off
    lift: tuple[float, float] | None = None  # offsets (s) lift up → lift down
    cover: tuple[float, float] | None = None  # offsets (s) cover open
    permitted: bool = True  # dumping here is allowed (site) or not (anywhere else)
    site: Place | None = None
    project: Place | None = None


@dataclass
class Drive:
    phase: str
    route: Route
    start_s: float = 0.0  # metres along the route where the truck is when the drive begins
    start_speed: float = 0.0  # m/s
    signal_loss: tuple[float, float] | None = None  # (fraction of the expected duration, seconds)


@dataclass
class TruckState:
    """What the terminal reads from the truck at one second."""

    time: float
    point: Point
    speed_kmh: float
    heading: int
    altitude_m: int
    acc: bool
    loaded: bool
    cover_outside: bool  # 0xE4 bit 0: cover open outside a permitted area
    lift_outside: bool  # 0xE4 bit 1: body lifted outside a permitted area
    odometer_m: float
    phase: str
    signal: bool  # the mobile network reaches the truck
    fixed: bool = True  # the GNSS receiver has a fix
    alarm: int = 0  # alarm bits (JT/T 808 table 24)

    @property
    def moment(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time, tz=dt.UTC)


@dataclass
class Truck:
    """Steps its activities in whole seconds; `advance_to` is cheap while standing still."""

    activities: Iterator[Dwell | Drive]
    time: float
    odometer_m: float = 0.0
    altitude_m: float = 12.0
    rng: random.Random = field(default_factory=random.Random)
    point: Point = (0.0, 0.0)
    speed: float = 0.0  # m/s
    heading: int = 0
    acc: bool = True
    loaded: bool = False
    cover_outside: bool = False
    lift_outside: bool = False
    phase: str = Phase.LOADING
    signal_losses: list[tuple[float, float]] = field(default_factory=list)
    dump_records: list[DumpRecord] = field(default_factory=list)  # not yet reported (0xE3)
    events: list[DumpEvent] = field(default_factory=list)  # ground truth not yet written
    _activity: Dwell | Drive | None = None
    _began: float = 0.0
    # drive state
    _s: float = 0.0
    _cruise: float = 0.0
    _next_cruise_change: float = 0.0
    _stops: list[tuple[float, float]] = field(default_factory=list)  # (position m, hold s)
    _hold_until: float | None = None

    def __post_init__(self) -> None:
        self._begin_next(self.time)

    # --- what the terminal reads -----------------------------------------------------------
    def signal_at(self, moment: float) -> bool:
        return not any(start <= moment < end for start, end in self.signal_losses)

    def state(self) -> TruckState:
        return TruckState(
            time=self.time, point=self.point, speed_kmh=self.speed * 3.6, heading=self.heading,
            altitude_m=int(round(self.altitude_m)), acc=self.acc, loaded=self.loaded,
            cover_outside=self.cover_outside, lift_outside=self.lift_outside, odometer_m=self.odometer_m,
            phase=self.phase, signal=self.signal_at(self.time),
        )

    def next_change_after(self, moment: float) -> float:
        """The next moment a sensor switches (ACC, cover, lift, load) while standing; inf while driving."""
        activity = self._activity
        if not isinstance(activity, Dwell):
            return math.inf
        marks = [self._began + activity.duration]
        for window in (activity.acc_off, activity.lift, activity.cover):
            if window:
                marks.extend(self._began + offset_s for offset_s in window)
        return min((mark for mark in marks if mark > moment), default=math.inf)

    def advance_to(self, moment: float) -> TruckState:
        while self.time < moment:
            activity = self._activity
            if isinstance(activity, Dwell):
                self._dwell_to(activity, moment)
            else:
                self._drive_step(activity)
        return self.state()

    # --- activities --------------------------------------------------------------------------
    def _begin_next(self, moment: float) -> None:
        activity = next(self.activities)
        self._activity, self._began = activity, moment
        self.phase = activity.phase
        if isinstance(activity, Dwell):
            self.point, self.speed = activity.point, 0.0
            self._apply_dwell(activity, 0.0)
            return
        self.acc, self.cover_outside, self.lift_outside = True, False, False
        self.loaded = activity.phase == Phase.DRIVING_LOADED
        self._s = activity.start_s
        self.speed = activity.start_speed
        self.point, self.heading = activity.route.at(self._s)
        self._hold_until = None
        self._cruise = self._draw_cruise()
        self._next_cruise_change = moment + self.rng.uniform(*CRUISE_CHANGE_S)
        self._stops = self._draw_stops(activity.route, activity.start_s)
        if activity.signal_loss:
            fraction, duration = activity.signal_loss
            expected = (activity.route.length - activity.start_s) / EXPECTED_SPEED_MS
            start = float(math.floor(moment + fraction * expected))
            self.signal_losses.append((start, start + duration))

    def _apply_dwell(self, dwell: Dwell, elapsed: float) -> None:
        def within(window: tuple[float, float] | None) -> bool:
            return window is not None and window[0] <= elapsed < window[1]

        self.acc = not within(dwell.acc_off)
        lifted = within(dwell.lift)
        self.lift_outside = lifted and not dwell.permitted
        self.cover_outside = within(dwell.cover) and not dwell.permitted
        if dwell.lift is not None and elapsed >= dwell.lift[1]:
            self.loaded = dwell.loaded_after
        elif dwell.lift is None and elapsed >= dwell.duration:
            self.loaded = dwell.loaded_after

    def _dwell_to(self, dwell: Dwell, moment: float) -> None:
        end = self._began + dwell.duration
        # Stop at each moment something changes so that sensors switch at the right second.
        self.time = min(moment, self.next_change_after(self.time))
        self._apply_dwell(dwell, self.time - self._began)
        if dwell.lift and self._began + dwell.lift[1] == self.time:
            self.dump_records.append(DumpRecord(abnormal=not dwell.permitted,
                                                start=self._began + dwell.lift[0], end=self.time))
        if self.time >= end:
            if dwell.lift:
                self.events.append(DumpEvent(
                    kind="unloading" if dwell.permitted else "illegal_dump", point=dwell.point,
                    stop_start=self._began, stop_end=end, lift_start=self._began + dwell.lift[0],
                    lift_end=self._began + dwell.lift[1], site=dwell.site, project=dwell.project,
                ))
            self.loaded = dwell.loaded_after
            self._begin_next(end)

    def _drive_step(self, drive: Drive) -> None:
        """One second of driving: accelerate towards the chosen speed, brake for stops and the end."""
        self.time += 1
        if self._hold_until is not None:
            if self.time < self._hold_until:
                return
            self._hold_until = None
        if self.time >= self._next_cruise_change:
            self._cruise = self._draw_cruise()
            self._next_cruise_change = self.time + self.rng.uniform(*CRUISE_CHANGE_S)
        route = drive.route
        goal = self._stops[0][0] if self._stops else route.length
        gap = max(goal - self._s, 0.0)
        accel = ACCEL_LOADED if self.loaded else ACCEL_EMPTY
        wanted = min(self.speed + accel, self._cruise, _stoppable(self.speed, gap))
        speed = max(wanted, self.speed - BRAKE_MAX)
        travelled = (self.speed + speed) / 2
        if travelled >= gap - 0.05:
            # Reached the stop line or the destination (close enough and slow enough to stop).
            travelled = gap
            speed = 0.0
        self._s += travelled
        self.odometer_m += travelled
        self.speed = speed
        self.point, heading = route.at(self._s)
        if travelled > 0.1:
            self.heading = heading
        self.altitude_m = min(max(self.altitude_m + self.rng.uniform(-0.3, 0.3), 2.0), 60.0)
        if speed == 0.0:
            if self._stops and self._s >= self._stops[0][0] - 0.5:
                self._hold_until = self.time + self._stops.pop(0)[1]
            elif self._s >= route.length - 0.5:
                self._begin_next(self.time)

    def _draw_cruise(self) -> float:
        return self.rng.uniform(*CRUISE_KMH) / 3.6

    def _draw_stops(self, route: Route, start_s: float) -> list[tuple[float, float]]:
        remaining = route.length - start_s
        count = int(remaining / STOP_EVERY_M * self.rng.uniform(0.5, 1.5))
        positions = sorted(start_s + self.rng.uniform(0.1, 0.95) * remaining for _ in range(count))
        stops: list[tuple[float, float]] = []
        for position in positions:
            if not stops or position - stops[-1][0] >= 300:
                stops.append((position, float(self.rng.randint(*STOP_HOLD_S))))
        return stops


def _stoppable(speed: float, gap: float) -> float:
    """The highest speed for the next second from which the truck can still stop within `gap` metres.

    Travelling (v + v')/2 this second and then braking at BRAKE_PLANNED needs
    (v + v')/2 + v'²/(2b) <= gap, i.e. v'² + b·v' - (2b·gap - b·v) <= 0.
    """
    b = BRAKE_PLANNED
    discriminant = b * b + 4 * (2 * b * gap - b * speed)
    if discriminant <= 0:
        return 0.0
    return max(0.0, (-b + math.sqrt(discriminant)) / 2)


# --- a truck's plan: endless trips between its projects and sites ------------------------------


@dataclass
class TripPlan:
    pairs: list[tuple[Place, Place]]  # (project, site) the truck shuttles between
    illegal_trips: frozenset[int] = frozenset()  # trip numbers (from 0) that end in an illegal dump
    signal_loss_chance: float = 0.0


def standing_point(rng: random.Random, place: Place) -> Point:
    """Where a truck stops inside the place (a project's gate, a spot on the site's tipping area)."""
    if place.radius_m <= 0:
        return place.point
    angle = rng.uniform(0, 2 * math.pi)
    radius = place.radius_m * math.sqrt(rng.random())
    return offset(place.point, radius * math.cos(angle), radius * math.sin(angle))


def trips(rng: random.Random, plan: TripPlan, *, router, dump_spot, warm_start: bool) -> Iterator[Dwell | Drive]:
    """The activities of one truck, trip after trip, starting at the first pair's project.

    `router(a, b)` plans a `Route`; `dump_spot(route)` picks where an illegal dump happens off a
    loaded route. With `warm_start` the truck begins somewhere inside its first trip (mid-loading or
    mid-drive) so that a fleet is spread over the cycle as soon as the simulation starts.
    """
    trip = 0
    pair_index = rng.randrange(len(plan.pairs))
    project, site = plan.pairs[pair_index]
    here = standing_point(rng, project)
    first = True
    while True:
        illegal = trip in plan.illegal_trips
        loss = _signal_loss(rng, plan.signal_loss_chance)
        loading = _loading(rng, here, project)
        if first and (illegal or warm_start):
            # Start at the end of loading (illegal trucks: so that the dump happens soon).
            keep = rng.uniform(30, 180) if illegal else rng.uniform(30, loading.duration)
            loading = _shifted(loading, loading.duration - keep)
        start_on_road = first and warm_start and not illegal and rng.random() < 0.5
        if not start_on_road:
            yield loading
        target = dump_spot(router(here, site.point)) if illegal else standing_point(rng, site)
        route = router(here, target)
        drive = Drive(Phase.DRIVING_LOADED, route, signal_loss=loss[:2] if loss and loss[2] == 0 else None)
        if start_on_road:
            drive.start_s = rng.uniform(0, route.length * 0.8)
            drive.start_speed = rng.uniform(*CRUISE_KMH) / 3.6 * 0.8
        first = False
        yield drive
        yield _dumping(rng, target, illegal=illegal, site=None if illegal else site, project=project)
        if len(plan.pairs) > 1 and rng.random() < 0.3:
            pair_index = rng.randrange(len(plan.pairs))
        project, site = plan.pairs[pair_index]
        back = standing_point(rng, project)
        yield Drive(Phase.DRIVING_EMPTY, router(target, back), signal_loss=loss[:2] if loss and loss[2] == 1 else None)
        here = back
        trip += 1


def _signal_loss(rng: random.Random, chance: float) -> tuple[float, float, int] | None:
    """(fraction into the drive, duration s, which drive: 0 loaded, 1 empty) or None."""
    if chance <= 0 or rng.random() >= chance:
        return None
    return (rng.uniform(0.05, 0.8), float(rng.randint(*SIGNAL_LOSS_S)), rng.randrange(2))


def _loading(rng: random.Random, point: Point, project: Place) -> Dwell:
    duration = float(rng.randint(*LOADING_S))
    acc_off = None
    if rng.random() < 0.5:  # engine off while waiting for the excavator
        acc_off = (60.0, duration - 60.0)
    return Dwell(Phase.LOADING, point, duration, loaded_after=True, acc_off=acc_off,
                 cover=(30.0, duration - 30.0), project=project)


def _shifted(dwell: Dwell, skip: float) -> Dwell:
    """The same dwell with its first `skip` seconds already past (windows moved accordingly)."""
    skip = float(int(skip))

    def moved(window):
        if window is None or window[1] - skip <= 0:
            return None
        return (max(window[0] - skip, 0.0), window[1] - skip)

    return Dwell(dwell.phase, dwell.point, dwell.duration - skip, dwell.loaded_after, acc_off=moved(dwell.acc_off),
                 lift=moved(dwell.lift), cover=moved(dwell.cover), permitted=dwell.permitted, site=dwell.site,
                 project=dwell.project)


def _dumping(rng: random.Random, point: Point, *, illegal: bool, site: Place | None, project: Place) -> Dwell:
    duration = float(rng.randint(*(ILLEGAL_STOP_S if illegal else UNLOADING_S)))
    lift_time = float(rng.randint(*LIFT_S))
    lift_start = float(int(rng.uniform(30, max(31.0, duration - lift_time - 30))))
    lift = (lift_start, lift_start + lift_time)
    cover = (lift_start - 20, lift_start + lift_time + 20)
    return Dwell(Phase.ILLEGAL_DUMP if illegal else Phase.UNLOADING, point, duration, loaded_after=False,
                 lift=lift, cover=cover, permitted=not illegal, site=site, project=project)


def far_from_all(point: Point, places: list[Place], minimum_m: float) -> bool:
    return all(distance_m(point, place.point) - place.radius_m >= minimum_m for place in places)
