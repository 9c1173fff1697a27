"""Replay real vehicle trajectories as if Jiangmen's trucks drove them (`wastetrail simulate --replay`).

Readers for the public datasets described in ../shared/data/README.md (Jersey City garbage trucks,
Austin buses, Liverpool buses, GeoLife); the product never needs those files, the option takes
a path. Each vehicle's fixes are split into trajectories at gaps of more than an hour; a
trajectory of a single fix (a stale "last known position") is dropped. The fleet is moved onto
Jiangmen by translating the centre of its bounding box (2nd-98th percentile, so that zeros and
wild fixes do not stretch it) onto the city centre, in metres, and shrunk only when it would not
fit the urban area. Times are shifted so that the replay starts when a tenth of a fleet's
trajectories have begun (a dataset spanning days: each trajectory starts then). Implausible jumps and zero
coordinates stay as they are: the storage flags them.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from wastetrail.telemetry.simulator.geo import LocalFrame, Point, bearing_deg, distance_m
from wastetrail.telemetry.simulator.motion import DumpEvent, DumpRecord, TruckState

# Where a replayed fleet is put: the centre of Jiangmen's urban districts, and the box it must fit.
JIANGMEN_CENTRE: Point = (113.06, 22.59)
TARGET_EXTENT_M = (20_000.0, 20_000.0)
SPLIT_GAP_S = 3600
MULTI_DAY_S = 36 * 3600


class ReplayError(Exception):
    """The path is not a trajectory file (or folder of them) the simulator can read."""


@dataclass
class Fix:
    time: int  # epoch seconds, UTC
    lat: float
    lon: float
    speed_kmh: float | None = None  # when the source gives it

    @property
    def zero(self) -> bool:
        return self.lat == 0 and self.lon == 0


@dataclass
class Trajectory:
    dataset: str
    vehicle: str
    fixes: list[Fix] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.fixes[0].time

    @property
    def end(self) -> int:
        return self.fixes[-1].time


# --- readers -----------------------------------------------------------------------------------

def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _jersey(lines: Iterator[str]) -> Iterator[tuple[str, Fix]]:
    """`lat|lon|vehicle|address|time`, time in local US-Eastern without a zone."""
    eastern = ZoneInfo("America/New_York")
    for row in csv.reader(lines, delimiter="|"):
        if len(row) < 5:
            continue
        moment = dt.datetime.fromisoformat(row[4]).replace(tzinfo=eastern)
        yield row[2], Fix(int(moment.timestamp()), float(row[0]), float(row[1]))


def _austin(lines: Iterator[str]) -> Iterator[tuple[str, Fix]]:
    """`vehicle_id,timestamp(ISO with offset),speed(m/s),route_id,trip_id,latitude,longitude,...`."""
    for row in csv.DictReader(lines):
        speed = row.get("speed")
        yield row["vehicle_id"], Fix(int(dt.datetime.fromisoformat(row["timestamp"]).timestamp()),
                                     float(row["latitude"]), float(row["longitude"]),
                                     float(speed) * 3.6 if speed else None)


def _liverpool(lines: Iterator[str]) -> Iterator[tuple[str, Fix]]:
    """UK Bus Open Data extract: `"id","vehicle_id","trip_id","timestamp"(UTC),"latitude","longitude",...`."""
    for row in csv.DictReader(lines):
        moment = dt.datetime.fromisoformat(row["timestamp"]).replace(tzinfo=dt.UTC)
        yield row["vehicle_id"], Fix(int(moment.timestamp()), float(row["latitude"]), float(row["longitude"]))


def _geolife(lines: Iterator[str]) -> Iterator[tuple[str, Fix]]:
    """scikit-mobility's GeoLife sample: `lat,lng,datetime(GMT),uid`."""
    for row in csv.DictReader(lines):
        moment = dt.datetime.fromisoformat(row["datetime"]).replace(tzinfo=dt.UTC)
        yield row["uid"], Fix(int(moment.timestamp()), float(row["lat"]), float(row["lng"]))


FORMATS = {"jersey": _jersey, "austin": _austin, "liverpool": _liverpool, "geolife": _geolife}


def detect_format(first_line: str) -> str | None:
    line = first_line.strip().lstrip("\ufeff")
    if line.startswith("vehicle_id,timestamp,speed"):
        return "austin"
    if line.replace('"', "").startswith("id,vehicle_id,trip_id,timestamp"):
        return "liverpool"
    if line.startswith("lat,lng,datetime,uid"):
        return "geolife"
    if line.count("|") >= 4:
        return "jersey"
    return None


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise ReplayError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix in (".csv", ".txt") or p.name.endswith(
        ".txt.gz")))


def read_trajectories(path: Path | str) -> list[Trajectory]:
    """Every trajectory in a file, or in the supported files of a folder (others are skipped)."""
    path = Path(path)
    trajectories: list[Trajectory] = []
    recognised = 0
    for file in _files(path):
        try:
            with _open_text(file) as handle:
                first = handle.readline()
                kind = detect_format(first)
                if kind is None:
                    continue
                recognised += 1
                rows = FORMATS[kind](_with_first(first, handle))
                trajectories.extend(_split(kind, file.parent.name, rows))
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
            raise ReplayError(f"{file}: cannot read it as a trajectory file ({exc})") from None
    if not recognised:
        raise ReplayError(f"{path}: no supported trajectory file (Jersey City |-separated, Austin or Liverpool "
                          "bus CSV, GeoLife lat,lng,datetime,uid)")
    if not trajectories:
        raise ReplayError(f"{path}: no trajectory with at least two fixes")
    return trajectories


def _with_first(first: str, handle) -> Iterator[str]:
    yield first
    yield from handle


def _split(kind: str, folder: str, rows: Iterator[tuple[str, Fix]]) -> list[Trajectory]:
    by_vehicle: dict[str, dict[int, Fix]] = defaultdict(dict)
    for vehicle, fix in rows:
        by_vehicle[vehicle].setdefault(fix.time, fix)  # one fix per second: a repeat is the same fix
    trajectories = []
    for vehicle in sorted(by_vehicle):
        fixes = [by_vehicle[vehicle][moment] for moment in sorted(by_vehicle[vehicle])]
        current: list[Fix] = []
        for fix in fixes:
            if current and fix.time - current[-1].time > SPLIT_GAP_S:
                trajectories.append(Trajectory(kind, vehicle, current))
                current = []
            current.append(fix)
        trajectories.append(Trajectory(kind, vehicle, current))
    return [trajectory for trajectory in trajectories if len(trajectory.fixes) >= 2]


# --- onto Jiangmen ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """Source metres around `source_centre`, times `scale`, are put around `target_centre`."""

    source_centre: Point
    target_centre: Point
    scale: float

    def apply(self, lat: float, lon: float) -> tuple[float, float]:
        if lat == 0 and lon == 0:
            return 0.0, 0.0  # a receiver's "no fix yet" stays what it is
        x, y = LocalFrame(self.source_centre).to_xy((lon, lat))
        lon2, lat2 = LocalFrame(self.target_centre).to_point(x * self.scale, y * self.scale)
        return lat2, lon2


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))]


def placement_for(trajectories: list[Trajectory], *, target: Point = JIANGMEN_CENTRE,
                  extent_m: tuple[float, float] = TARGET_EXTENT_M) -> Placement:
    fixes = [fix for trajectory in trajectories for fix in trajectory.fixes if not fix.zero]
    if not fixes:
        return Placement(target, target, 1.0)
    lats = [fix.lat for fix in fixes]
    lons = [fix.lon for fix in fixes]
    south, north = _percentile(lats, 0.02), _percentile(lats, 0.98)
    west, east = _percentile(lons, 0.02), _percentile(lons, 0.98)
    centre = ((west + east) / 2, (south + north) / 2)
    frame = LocalFrame(centre)
    width = abs(frame.to_xy((east, centre[1]))[0] - frame.to_xy((west, centre[1]))[0])
    height = abs(frame.to_xy((centre[0], north))[1] - frame.to_xy((centre[0], south))[1])
    scale = min(1.0, extent_m[0] / width if width else 1.0, extent_m[1] / height if height else 1.0)
    return Placement(centre, target, scale)


def replay_start(trajectories: list[Trajectory]) -> tuple[bool, int]:
    """(whether each trajectory starts at the replay's start, else the data time the replay starts at).

    A fleet's replay starts when a tenth of its trajectories have begun, so that one night-shift
    vehicle does not keep the whole fleet waiting for hours; the few that began earlier are joined
    in progress (their earlier fixes are not sent)."""
    starts = sorted(trajectory.start for trajectory in trajectories)
    last = max(trajectory.end for trajectory in trajectories)
    return last - starts[0] > MULTI_DAY_S, starts[len(starts) // 10]


class ReplaySource:
    """A trajectory as what a terminal reports from (`terminal.Source`): one report per fix."""

    def __init__(self, trajectory: Trajectory, placement: Placement, *, shift: int) -> None:
        self.trajectory = trajectory
        self.shift = shift
        self.points = [placement.apply(fix.lat, fix.lon) for fix in trajectory.fixes]
        self.scale = placement.scale
        self.index = -1
        self.odometer_m = 0.0
        self.heading = 0

    def first_report(self, moment: float) -> float | None:
        for fix in self.trajectory.fixes:
            if fix.time + self.shift >= moment:
                return float(fix.time + self.shift)
        return None

    def advance_to(self, moment: float) -> TruckState | None:
        fixes = self.trajectory.fixes
        while self.index + 1 < len(fixes) and fixes[self.index + 1].time + self.shift <= moment:
            self.index += 1
            self._moved(self.index)
        if self.index < 0:
            return None
        fix = fixes[self.index]
        lat, lon = self.points[self.index]
        return TruckState(time=float(fix.time + self.shift), point=(lon, lat), speed_kmh=self._speed(self.index),
                          heading=self.heading, altitude_m=10, acc=True, loaded=False, cover_outside=False,
                          lift_outside=False, odometer_m=self.odometer_m, phase="replay", signal=True,
                          fixed=not fix.zero)

    def _moved(self, index: int) -> None:
        if index == 0:
            return
        (lat1, lon1), (lat2, lon2) = self.points[index - 1], self.points[index]
        if (lat1, lon1) == (0, 0) or (lat2, lon2) == (0, 0):
            return
        travelled = distance_m((lon1, lat1), (lon2, lat2))
        self.odometer_m += travelled
        if travelled > 1:
            self.heading = bearing_deg((lon1, lat1), (lon2, lat2))

    def _speed(self, index: int) -> float:
        fix = self.trajectory.fixes[index]
        if fix.speed_kmh is not None:
            return max(0.0, fix.speed_kmh * self.scale)
        if index == 0 or fix.zero or self.trajectory.fixes[index - 1].zero:
            return 0.0
        previous = self.trajectory.fixes[index - 1]
        (lat1, lon1), (lat2, lon2) = self.points[index - 1], self.points[index]
        seconds = fix.time - previous.time
        return distance_m((lon1, lat1), (lon2, lat2)) / seconds * 3.6 if seconds > 0 else 0.0

    def next_report(self, last: float, state: TruckState, config) -> float | None:
        fixes = self.trajectory.fixes
        following = self.index + 1
        return float(fixes[following].time + self.shift) if following < len(fixes) else None

    def take_dump_record(self) -> DumpRecord | None:
        return None

    def take_events(self) -> list[DumpEvent]:
        return []


def replay_sources(trajectories: list[Trajectory], count: int, *, start: int) -> list[ReplaySource]:
    """Sources for the first `count` trajectories (longest first), placed on Jiangmen, their times
    shifted so that the replay begins at `start` (epoch seconds).

    A dataset of one working day is a fleet: one placement and one time shift for all its
    trajectories keep the vehicles where and when they were relative to each other. A dataset
    spanning days (GeoLife's people) is a set of separate journeys: each is placed and started
    on its own."""
    chosen = sorted(trajectories, key=lambda t: (-len(t.fixes), t.dataset, t.vehicle, t.start))[:count]
    by_dataset: dict[str, list[Trajectory]] = defaultdict(list)
    for trajectory in chosen:
        by_dataset[trajectory.dataset].append(trajectory)
    sources: dict[int, ReplaySource] = {}
    for group in by_dataset.values():
        each_alone, first = replay_start(group)
        shared = None if each_alone else placement_for(group)
        for trajectory in group:
            placement = shared or placement_for([trajectory])
            shift = start - (trajectory.start if each_alone else first)
            sources[id(trajectory)] = ReplaySource(trajectory, placement, shift=shift)
    return [sources[id(trajectory)] for trajectory in chosen]
