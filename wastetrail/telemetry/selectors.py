"""Reads for the live map, vehicle tracks and the terminals' connection status, scoped by the acting
user (telemetry.policy). Each read costs a fixed number of queries, however many trucks or points.

- ``live_trucks``: every visible truck's live state (or only those changed since a cursor) in one
  query, each with its state for the map's colours (``truck_state``).
- ``vehicle_track``: a vehicle's positions in a period, read by the positions' key (vehicle, device
  time), at most ``TRACK_POINT_CAP`` of them (evenly thinned beyond, flagged and alarm points kept),
  with the stops and alarms found in them.
- ``terminal_status_list``: registry terminals with the gateway's view of their connection.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Count, F, FilteredRelation, Q, QuerySet, Value, When, Window
from django.db.models.functions import Mod, RowNumber
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound
from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.telemetry import live, policy
from wastetrail.telemetry.models import LoadState, Position, VehicleLiveState
from wastetrail.telemetry.records import PositionFlag

UTC = dt.UTC

# --- states and labels ----------------------------------------------------------------------
# Below this a GNSS speed is the jitter of a standing truck (1/10 km/h, as the protocol counts).
MOVING_MIN_DKMH = 30


class TruckState(models.TextChoices):
    """The live map's colours, in the order they win: offline hides everything else, and any alarm
    or distrusted position outranks the load."""

    OFFLINE = "offline", gettext_lazy("Offline")
    ALARM = "alarm", gettext_lazy("Alarm or doubtful position")
    LOADED = "loaded", gettext_lazy("Loaded")
    MOVING = "moving", gettext_lazy("Moving")
    STOPPED = "stopped", gettext_lazy("Stopped")


STATE_COLOURS = {
    TruckState.OFFLINE: "#868e96",
    TruckState.ALARM: "#e03131",
    TruckState.LOADED: "#f08c00",
    TruckState.MOVING: "#2f9e44",
    TruckState.STOPPED: "#1c7ed6",
}
STATE_HELP = {
    TruckState.OFFLINE: gettext_lazy("Not connected, or silent for over %(minutes)d minutes"),
    TruckState.ALARM: gettext_lazy("The terminal reports an alarm, or its last position was flagged as doubtful"),
    TruckState.LOADED: gettext_lazy("The load sensor says loaded, or (without a sensor) an open manifest has departed"),
    TruckState.MOVING: gettext_lazy("Online, faster than 3 km/h"),
    TruckState.STOPPED: gettext_lazy("Online, standing"),
}

# JT/T 808-2013 table 24 (2019 names bits 15-17); see /docs and PROTOCOL.md §3.
ALARM_BIT_NAMES = {
    0: gettext_lazy("Emergency (SOS)"), 1: gettext_lazy("Over-speed"), 2: gettext_lazy("Fatigue driving"),
    3: gettext_lazy("Danger warning"), 4: gettext_lazy("GNSS module fault"), 5: gettext_lazy("GNSS antenna open"),
    6: gettext_lazy("GNSS antenna short-circuited"), 7: gettext_lazy("Main power under-voltage"),
    8: gettext_lazy("Main power lost"), 9: gettext_lazy("Display fault"), 10: gettext_lazy("TTS module fault"),
    11: gettext_lazy("Camera fault"), 12: gettext_lazy("IC card module fault"),
    13: gettext_lazy("Over-speed pre-warning"), 14: gettext_lazy("Fatigue driving pre-warning"),
    15: gettext_lazy("Illegal driving pre-warning"), 16: gettext_lazy("Tyre pressure pre-warning"),
    17: gettext_lazy("Right-turn blind spot warning"), 18: gettext_lazy("Daily driving time exceeded"),
    19: gettext_lazy("Parked too long"), 20: gettext_lazy("Entered or left an area"),
    21: gettext_lazy("Entered or left a route"), 22: gettext_lazy("Road section driven too fast or too slow"),
    23: gettext_lazy("Route deviation"), 24: gettext_lazy("Speed sensor (VSS) fault"),
    25: gettext_lazy("Fuel level abnormal"), 26: gettext_lazy("Vehicle stolen"), 27: gettext_lazy("Illegal ignition"),
    28: gettext_lazy("Illegal displacement"), 29: gettext_lazy("Collision warning"),
    30: gettext_lazy("Rollover warning"), 31: gettext_lazy("Illegal door opening"),
}
FLAG_NAMES = {
    PositionFlag.NOT_FIXED: gettext_lazy("No satellite fix"),
    PositionFlag.ZERO: gettext_lazy("Position 0, 0"),
    PositionFlag.OUT_OF_RANGE: gettext_lazy("Coordinates out of range"),
    PositionFlag.IMPOSSIBLE_JUMP: gettext_lazy("Impossible jump"),
    PositionFlag.BAD_TIME: gettext_lazy("Device time missing or invalid"),
    PositionFlag.FUTURE_TIME: gettext_lazy("Device time in the future"),
}


def state_legend() -> list[dict[str, str]]:
    """Each state's label (in the request's language), colour and meaning: the live map's legend."""
    minutes = {"minutes": round(live.offline_after().total_seconds() / 60)}
    return [{"value": value, "label": str(label), "colour": STATE_COLOURS[value],
             "help": str(STATE_HELP[value]) % minutes if value == TruckState.OFFLINE else str(STATE_HELP[value])}
            for value, label in TruckState.choices]


def alarm_names(alarm: int) -> list[str]:
    return [str(ALARM_BIT_NAMES[bit]) for bit in range(32) if alarm >> bit & 1]


def flag_names(flags: int) -> list[str]:
    return [str(label) for flag, label in FLAG_NAMES.items() if flags & flag]


def truck_state(*, online: bool, last_frame_at: dt.datetime | None, speed_dkmh: int | None, load: str,
                alarm: int, flags: int, carrying: bool, now: dt.datetime) -> str:
    """The live map's colour for a truck (see TruckState for the order). Online is live.is_online:
    connected, and heard from within VEHICLE_OFFLINE_AFTER."""
    if not live.is_online(online=online, last_frame_at=last_frame_at, now=now):
        return TruckState.OFFLINE
    if alarm or flags:
        return TruckState.ALARM
    if load in (LoadState.HALF, LoadState.FULL) or (load == LoadState.UNKNOWN and carrying):
        return TruckState.LOADED
    if (speed_dkmh or 0) >= MOVING_MIN_DKMH:
        return TruckState.MOVING
    return TruckState.STOPPED


def epoch_seconds(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


# --- the live map ---------------------------------------------------------------------------
# A change is looked for this far before the cursor: a row is stamped with the gateway's clock
# before its batch commits, and that clock may run a little ahead of this server's.
CURSOR_OVERLAP = dt.timedelta(seconds=15)
# Changes since a cursor older than this come back as a full answer.
CURSOR_MAX_AGE = dt.timedelta(minutes=10)


class LiveTruck(NamedTuple):
    """One truck on the live map. A tuple, so that the API sends it as a compact JSON array (the
    field names go once, as its columns): a city has about 2,000 trucks, refreshed every 5 s."""

    id: int
    plate: str
    company: int  # id; the names go once per answer
    lat: float | None  # WGS-84 degrees
    lon: float | None
    time: int | None  # device time of the position, seconds since the epoch
    speed: float | None  # km/h
    heading: int | None
    state: str  # TruckState
    online: bool
    last_frame: int | None  # seconds since the epoch
    acc: bool | None
    load: str  # LoadState
    cover: bool | None
    lift: bool | None
    alarm: int
    flags: int
    manifest_id: int | None  # the open manifest (departed, not yet received), if any
    manifest_number: str | None


# The columns a LiveTruck is built from, relative to VehicleLiveState; a query from Vehicle
# prefixes them with "live_state__".
_LIVE_COLUMNS = ("lat_e6", "lon_e6", "device_time", "speed_dkmh", "heading", "online", "last_frame_at", "acc_on",
                 "load", "cover_open", "body_lifted", "alarm", "flags")


def _degrees(value: int | None) -> float | None:
    return None if value is None else value / 1_000_000


def _live_truck(vehicle_id: int, plate: str, company_id: int, manifest_id: int | None, manifest_number: str | None,
                manifest_status: str | None, columns: Sequence[Any], now: dt.datetime) -> LiveTruck:
    lat_e6, lon_e6, device_time, speed, heading, online, last_frame_at, acc, load, cover, lift, alarm, flags = columns
    load = load or LoadState.UNKNOWN
    state = truck_state(online=online, last_frame_at=last_frame_at, speed_dkmh=speed, load=load, alarm=alarm or 0,
                        flags=flags or 0, carrying=manifest_status in policy.OPEN_MANIFEST_STATUSES, now=now)
    return LiveTruck(
        id=vehicle_id, plate=plate, company=company_id, lat=_degrees(lat_e6), lon=_degrees(lon_e6),
        time=epoch_seconds(device_time), speed=None if speed is None else round(speed / 10, 1), heading=heading,
        state=state, online=live.is_online(online=online, last_frame_at=last_frame_at, now=now),
        last_frame=epoch_seconds(last_frame_at), acc=acc, load=load, cover=cover, lift=lift, alarm=alarm or 0,
        flags=flags or 0, manifest_id=manifest_id, manifest_number=manifest_number,
    )


def _open_manifest(relation: str) -> FilteredRelation:
    return FilteredRelation(relation, condition=Q(**{f"{relation}__status__in": policy.OPEN_MANIFEST_STATUSES}))


def _scoped(qs: QuerySet, visibility: Q | None) -> QuerySet:
    return qs if visibility is None else qs.filter(visibility)


@dataclass
class LiveAnswer:
    trucks: list[LiveTruck]
    companies: dict[int, str]
    cursor: str  # give it back as `since` to get what changed after this answer
    full: bool  # everything the actor may see (the map drops the trucks that are not in it)


def cursor_for(moment: dt.datetime) -> str:
    """An opaque cursor: microseconds since the epoch."""
    return str(int(moment.timestamp() * 1_000_000))


def parse_cursor(value: str) -> dt.datetime:
    """The moment a cursor stands for; ValidationError({"since": ...}) when it is not a cursor."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 16:  # 10^16 µs: the year 2286, well inside datetime's range
        raise ValidationError({"since": _("Not a cursor: give back the `cursor` of an earlier answer.")})
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=int(text))


def live_trucks(*, actor: Actor, since: dt.datetime | None = None, now: dt.datetime | None = None) -> LiveAnswer:
    """The trucks the actor may see that have a live state; with ``since`` only those whose state
    may have changed after it (a new frame, an online change, or going silent: live.offline_after).
    One query. Trucks that never reported are not on the map."""
    now = now or timezone.now()
    full = since is None or now - since > CURSOR_MAX_AGE
    qs = VehicleLiveState.objects.annotate(**{policy.OPEN_MANIFEST: _open_manifest("vehicle__manifests")})
    qs = _scoped(qs, policy.live_visibility(actor))
    if not full:
        after, silence = since - CURSOR_OVERLAP, live.offline_after()
        qs = qs.filter(Q(last_frame_at__gt=after) | Q(online_changed_at__gt=after)
                       # went silent since the last answer: now shown offline
                       | Q(last_frame_at__gt=after - silence, last_frame_at__lte=now - silence))
    rows = qs.order_by("vehicle_id").values_list(
        "vehicle_id", "vehicle__plate", "vehicle__company_id", "vehicle__company__name",
        f"{policy.OPEN_MANIFEST}__id", f"{policy.OPEN_MANIFEST}__number", f"{policy.OPEN_MANIFEST}__status",
        *_LIVE_COLUMNS,
    )
    trucks, companies = [], {}
    for vehicle_id, plate, company_id, company_name, manifest_id, number, status, *columns in rows:
        companies[company_id] = company_name
        trucks.append(_live_truck(vehicle_id, plate, company_id, manifest_id, number, status, columns, now))
    return LiveAnswer(trucks=trucks, companies=companies, cursor=cursor_for(now), full=full)


@dataclass
class VehicleLive:
    truck: LiveTruck
    company_name: str
    has_reported: bool


def vehicle_live(*, actor: Actor, vehicle_id: Any, now: dt.datetime | None = None) -> VehicleLive:
    """One visible vehicle's live state (offline and without a position if it never reported)."""
    now = now or timezone.now()
    qs = Vehicle.objects.annotate(**{policy.OPEN_MANIFEST: _open_manifest("manifests")})
    qs = _scoped(qs, policy.live_visibility(actor, vehicle_path=""))
    try:
        row = qs.values_list(
            "pk", "plate", "company_id", "company__name", f"{policy.OPEN_MANIFEST}__id",
            f"{policy.OPEN_MANIFEST}__number", f"{policy.OPEN_MANIFEST}__status", "live_state__vehicle_id",
            *(f"live_state__{column}" for column in _LIVE_COLUMNS),
        ).get(pk=vehicle_id)
    except (Vehicle.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    pk, plate, company_id, company_name, manifest_id, number, status, live_id, *columns = row
    return VehicleLive(truck=_live_truck(pk, plate, company_id, manifest_id, number, status, columns, now),
                       company_name=company_name, has_reported=live_id is not None)


# --- tracks ---------------------------------------------------------------------------------
TRACK_MAX_PERIOD = dt.timedelta(days=7)
TRACK_POINT_CAP = 5_000
# A truck standing this long is a stop worth listing (traffic lights and queues are shorter).
STOP_MIN_DURATION = dt.timedelta(minutes=3)


def track_period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """The period asked for, checked: both ends given, the end after the start, at most
    TRACK_MAX_PERIOD long. A time without a zone is the server's local time. Errors name the
    query's fields, ``from`` and ``to``."""
    errors: dict[str, str] = {}
    if start is None:
        errors["from"] = _("Give the start of the period.")
    if end is None:
        errors["to"] = _("Give the end of the period.")
    if errors:
        raise ValidationError(errors)
    start, end = (timezone.make_aware(moment) if timezone.is_naive(moment) else moment for moment in (start, end))
    if end <= start:
        raise ValidationError({"to": _("The end of the period must be after its start.")})
    if end - start > TRACK_MAX_PERIOD:
        raise ValidationError({"to": _("A track covers at most %(days)d days; choose a shorter period.")
                               % {"days": TRACK_MAX_PERIOD.days}})
    return start, end


class TrackPoint(NamedTuple):
    """One position of a track: a tuple, sent as a JSON array (see TRACK_COLUMNS)."""

    t: int  # device time, seconds since the epoch
    lat: float
    lon: float
    speed: float  # km/h
    heading: int
    flags: int  # PositionFlag bits: a doubtful position, drawn apart from the line
    alarm: int


@dataclass(frozen=True)
class Stop:
    start: int  # seconds since the epoch
    end: int
    lat: float
    lon: float

    @property
    def minutes(self) -> int:
        return round((self.end - self.start) / 60)


@dataclass(frozen=True)
class AlarmEpisode:
    start: int
    end: int
    alarm: int
    names: list[str]
    lat: float
    lon: float


@dataclass
class Track:
    vehicle_id: int
    plate: str
    company_name: str
    start: dt.datetime  # the period asked for (``shown_from`` may cut its beginning)
    end: dt.datetime
    total: int  # positions stored in the period (as far as the actor may see them)
    flagged_total: int
    points: list[TrackPoint]
    downsampled: bool
    shown_from: dt.datetime | None = None  # set when the actor sees the track only since a departure
    stops: list[Stop] = field(default_factory=list)
    alarms: list[AlarmEpisode] = field(default_factory=list)


def find_stops(points: Sequence[TrackPoint], *, min_duration: dt.timedelta = STOP_MIN_DURATION) -> list[Stop]:
    """Runs of trusted points slower than MOVING_MIN_DKMH lasting at least ``min_duration``.
    Flagged points neither start nor break a run: their speed and place are not trusted."""
    stops: list[Stop] = []
    run: list[TrackPoint] = []

    def close_run() -> None:
        if run and run[-1].t - run[0].t >= min_duration.total_seconds():
            stops.append(Stop(start=run[0].t, end=run[-1].t, lat=run[0].lat, lon=run[0].lon))

    for point in points:
        if point.flags:
            continue
        if point.speed * 10 < MOVING_MIN_DKMH:
            run.append(point)
        else:
            if run:
                run.append(point)  # the stop lasted until this point set off
            close_run()
            run = []
    close_run()
    return stops


def find_alarm_episodes(points: Sequence[TrackPoint]) -> list[AlarmEpisode]:
    """Consecutive points reporting the same alarm bits, as one episode each."""
    episodes: list[AlarmEpisode] = []
    current: list[TrackPoint] = []
    for point in [*points, None]:
        if current and (point is None or point.alarm != current[0].alarm):
            first = current[0]
            episodes.append(AlarmEpisode(start=first.t, end=current[-1].t, alarm=first.alarm,
                                         names=alarm_names(first.alarm), lat=first.lat, lon=first.lon))
            current = []
        if point is not None and point.alarm:
            current.append(point)
    return episodes


def visible_vehicle(*, actor: Actor, vehicle_id: Any) -> dict:
    """The vehicle (pk, plate, company_id, company__name, its open manifest's departure) if the actor may
    see it on the live map; NotFound otherwise."""
    qs = Vehicle.objects.annotate(**{policy.OPEN_MANIFEST: _open_manifest("manifests")})
    qs = _scoped(qs, policy.live_visibility(actor, vehicle_path=""))
    try:
        return qs.values("pk", "plate", "company_id", "company__name",
                         f"{policy.OPEN_MANIFEST}__departed_at").get(pk=vehicle_id)
    except (Vehicle.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def _stride(total: int, kept_anyway: int, cap: int) -> tuple[int, bool]:
    """Every how many points one is kept, and whether flagged and alarm points are kept besides
    (only while they are a minority: a terminal flagging every point must not defeat the cap)."""
    if total <= cap:
        return 1, False
    if kept_anyway <= cap // 2:
        return max(1, math.ceil((total - kept_anyway) / (cap - kept_anyway))), True
    return math.ceil(total / cap), False


def vehicle_track(*, actor: Actor, vehicle_id: Any, start: dt.datetime, end: dt.datetime,
                  cap: int = TRACK_POINT_CAP) -> Track:
    """The vehicle's positions with start <= device time < end (check the period with track_period
    first), oldest first. Three queries: the vehicle, the period's counts, the points."""
    vehicle = visible_vehicle(actor=actor, vehicle_id=vehicle_id)
    shown_from = None
    if policy.track_from_manifest_only(actor, vehicle["company_id"]):
        # Seen because of the load it carries: only the load's journey.
        departed = vehicle[f"{policy.OPEN_MANIFEST}__departed_at"]
        if departed is None:
            raise NotFound
        if departed > start:
            start = shown_from = departed
    track = Track(vehicle_id=vehicle["pk"], plate=vehicle["plate"], company_name=vehicle["company__name"],
                  start=start, end=end, total=0, flagged_total=0, points=[], downsampled=False,
                  shown_from=shown_from)
    if start >= end:
        return track
    period = Position.objects.filter(vehicle_id=vehicle["pk"], device_time__gte=start, device_time__lt=end)
    exceptional = Q(flags__gt=0) | ~Q(alarm=0)
    counts = period.aggregate(total=Count("device_time"), flagged=Count("device_time", filter=Q(flags__gt=0)),
                              exceptional=Count("device_time", filter=exceptional))
    track.total, track.flagged_total = counts["total"], counts["flagged"]
    stride, keep_exceptional = _stride(track.total, counts["exceptional"], cap)
    rows = period.order_by("device_time")
    if stride > 1:
        # Thinned in the database: one point in `stride` (counted in time order), the last one (its
        # number is the count just taken) and, while few, every flagged or alarm point.
        position = Window(RowNumber(), order_by=F("device_time").asc())
        always = [When(GreaterThanOrEqual(position, Value(track.total)), then=Value(0))]
        if keep_exceptional:
            always.append(When(exceptional, then=Value(0)))
        keep = Case(*always, default=Mod(position - Value(1), Value(stride)), output_field=models.IntegerField())
        rows = rows.annotate(keep=keep).filter(keep=0)
        track.downsampled = True
    track.points = [
        TrackPoint(t=int(device_time.timestamp()), lat=lat / 1_000_000, lon=lon / 1_000_000,
                   speed=round(speed / 10, 1), heading=heading, flags=flags, alarm=alarm)
        for device_time, lat, lon, speed, heading, flags, alarm in rows.values_list(
            "device_time", "lat_e6", "lon_e6", "speed_dkmh", "heading", "flags", "alarm")
    ]
    track.stops = find_stops(track.points)
    track.alarms = find_alarm_episodes(track.points)
    return track


# --- terminals ------------------------------------------------------------------------------
class Connection(models.TextChoices):
    ONLINE = "online", gettext_lazy("Online")
    OFFLINE = "offline", gettext_lazy("Offline")
    NEVER = "never", gettext_lazy("Never connected")


class TerminalOrder(models.TextChoices):
    LAST_FRAME_DESC = "-last_frame", gettext_lazy("Last frame, newest first")
    LAST_FRAME_ASC = "last_frame", gettext_lazy("Last frame, oldest first")
    PHONE = "phone", gettext_lazy("Terminal phone number")


# The gateway's view of a terminal, as plain attributes of each Terminal a list returns (null and
# zero before its first connection, when it has no TerminalStatus row).
TERMINAL_STATUS_COLUMNS = ("online", "connected_at", "disconnected_at", "last_frame_at", "remote_address",
                           "imei", "software_version", "last_error", "last_error_at", "reports", "bad_checksum",
                           "bad_frames")


def terminal_status_list(*, actor: Actor, connection: str | None = None, search: str = "",
                         company: int | None = None, order: str = TerminalOrder.LAST_FRAME_DESC) -> QuerySet[Terminal]:
    """Registry terminals the actor may see, each with its connection (``connection``: online,
    offline, never) and the TERMINAL_STATUS_COLUMNS. One query per page."""
    qs = _scoped(Terminal.objects.all(), policy.terminal_visibility(actor))
    qs = qs.annotate(
        **{column: F(f"status__{column}") for column in TERMINAL_STATUS_COLUMNS},
        connection=Case(When(status__connected_at__isnull=True, then=Value(Connection.NEVER.value)),
                        When(status__online=True, then=Value(Connection.ONLINE.value)),
                        default=Value(Connection.OFFLINE.value)),
    )
    if connection:
        qs = qs.filter(connection=connection)
    if search:
        qs = qs.filter(Q(phone__icontains=search) | Q(terminal_id__icontains=search)
                       | Q(vehicle__plate__icontains=search))
    if company:
        qs = qs.filter(company_id=company)
    last_frame = F("last_frame_at")
    ordering = {
        TerminalOrder.LAST_FRAME_ASC: [last_frame.asc(nulls_last=True), "phone"],
        TerminalOrder.PHONE: ["phone"],
    }.get(order, [last_frame.desc(nulls_last=True), "phone"])
    return qs.select_related("company", "vehicle").order_by(*ordering)
