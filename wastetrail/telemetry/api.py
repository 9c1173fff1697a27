"""API for vehicle telemetry: the live map's trucks, one vehicle's live state and track, and the
terminals' connection status. Read-only; scoped by the acting user (telemetry.policy).

``GET /live`` is what the live map polls every few seconds: a compact answer (each truck an array,
the column names once, company names once) and a ``cursor``; sending it back as ``since`` returns
only the trucks whose state may have changed since. It and the track are gzipped when the client
accepts it (2,000 trucks: about 250 KB, 47 KB gzipped); neither carries a secret a compression
side channel could reveal.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.api import request_actor
from wastetrail.registry.models import Terminal
from wastetrail.telemetry import policy, selectors
from wastetrail.telemetry.selectors import Connection, LiveTruck, TerminalOrder, TrackPoint, TruckState

router = Router(tags=["telemetry"])

COMPACT_JSON = {"ensure_ascii": False, "separators": (",", ":")}


def _compact(payload: dict) -> JsonResponse:
    return JsonResponse(payload, json_dumps_params=COMPACT_JSON)


# --- schemas (for the documentation: the hot answers are written directly, see _compact) -----
class StateOut(Schema):
    value: TruckState
    label: str
    colour: str = Field(..., description="CSS colour of the state on the live map")
    help: str


class LiveOut(Schema):
    cursor: str = Field(..., description="Send it back as `since` to get only what changed after this answer")
    full: bool = Field(..., description="True: every truck you may see (drop the ones missing); false: changes only")
    columns: list[str] = Field(..., description="The names of each vehicle array's values, in order")
    vehicles: list[list[Any]] = Field(..., description="One array per truck; lat/lon WGS-84 degrees, times in "
                                                       "seconds since the epoch, speed km/h")
    companies: dict[int, str] = Field(..., description="Transport company id → name")
    states: list[StateOut]


class VehicleLiveOut(Schema):
    id: int
    plate: str
    company_id: int
    company_name: str
    has_reported: bool = Field(..., description="False: the terminal never sent a position")
    state: TruckState
    state_label: str
    colour: str
    online: bool = Field(..., description="Connected, and heard from in the last 10 minutes")
    lat: float | None = Field(None, description="WGS-84 latitude of the last trusted position")
    lon: float | None = None
    position_time: dt.datetime | None
    last_frame_at: dt.datetime | None
    speed_kmh: float | None
    heading: int | None
    acc_on: bool | None
    load: str
    cover_open: bool | None
    body_lifted: bool | None
    alarm: int
    alarm_names: list[str]
    flags: int
    flag_names: list[str]
    open_manifest_id: int | None
    open_manifest_number: str | None


class StopOut(Schema):
    start: dt.datetime
    end: dt.datetime
    minutes: int
    lat: float
    lon: float


class AlarmOut(Schema):
    start: dt.datetime
    end: dt.datetime
    alarm: int
    names: list[str]
    lat: float
    lon: float


class TrackOut(Schema):
    vehicle_id: int
    plate: str
    company_name: str
    start: dt.datetime = Field(..., alias="from")
    end: dt.datetime = Field(..., alias="to")
    shown_from: dt.datetime | None = Field(None, description="Set when you may see the track only since the "
                                                              "load departed")
    total_points: int = Field(..., description="Positions stored in the period")
    flagged_points: int = Field(..., description="Of which flagged as doubtful (kept, drawn apart)")
    downsampled: bool = Field(..., description="True: more than `cap` positions, evenly thinned (flagged and "
                                               "alarm points kept while they are few)")
    cap: int
    columns: list[str]
    points: list[list[Any]]
    stops: list[StopOut]
    alarms: list[AlarmOut]


class TerminalOut(Schema):
    id: int
    phone: str
    terminal_id: str
    company_id: int
    company_name: str = Field(..., alias="company.name")
    vehicle_id: int | None
    vehicle_plate: str | None
    connection: Connection = Field(..., description="online: connected now; offline: connected before; never")
    connected_at: dt.datetime | None
    disconnected_at: dt.datetime | None
    last_frame_at: dt.datetime | None
    remote_address: str
    imei: str = Field(..., description="Sent by JT/T 808-2019 terminals when they authenticate; empty otherwise")
    software_version: str
    last_error: str
    last_error_at: dt.datetime | None
    reports: int = Field(..., description="Location reports received")
    bad_checksum: int = Field(..., description="Frames with a bad checksum")
    bad_frames: int = Field(..., description="Unreadable frames")

    @staticmethod
    def resolve_vehicle_plate(obj: Terminal) -> str | None:
        return obj.vehicle.plate if obj.vehicle_id else None

    @staticmethod
    def resolve_remote_address(obj: Terminal) -> str:
        return obj.remote_address or ""

    @staticmethod
    def resolve_imei(obj: Terminal) -> str:
        return obj.imei or ""

    @staticmethod
    def resolve_software_version(obj: Terminal) -> str:
        return obj.software_version or ""

    @staticmethod
    def resolve_last_error(obj: Terminal) -> str:
        return obj.last_error or ""

    @staticmethod
    def resolve_reports(obj: Terminal) -> int:
        return obj.reports or 0

    @staticmethod
    def resolve_bad_checksum(obj: Terminal) -> int:
        return obj.bad_checksum or 0

    @staticmethod
    def resolve_bad_frames(obj: Terminal) -> int:
        return obj.bad_frames or 0


# `from` is a Python keyword: the period's parameters are named by alias.
FROM_QUERY = Query(None, alias="from", description="Start (inclusive), ISO 8601; without a zone: China time")
TO_QUERY = Query(None, alias="to", description="End (exclusive), at most 7 days after the start")


# --- operations -----------------------------------------------------------------------------
@router.get("/live", response=LiveOut, url_name="telemetry-live")
@decorate_view(gzip_page)
def live(request: HttpRequest, since: str | None = None):
    """The trucks you may see (regulators: all; a transport company: its fleet; a construction unit
    or site: the trucks carrying its open manifests). Trucks that never reported are left out."""
    actor = request_actor(request)
    answer = selectors.live_trucks(actor=actor, since=selectors.parse_cursor(since) if since is not None else None)
    return _compact({
        "cursor": answer.cursor, "full": answer.full, "columns": list(LiveTruck._fields),
        "vehicles": answer.trucks, "companies": answer.companies, "states": selectors.state_legend(),
    })


@router.get("/vehicles/{vehicle_id}/live", response=VehicleLiveOut, url_name="telemetry-vehicle-live")
def vehicle_live(request: HttpRequest, vehicle_id: int):
    found = selectors.vehicle_live(actor=request_actor(request), vehicle_id=vehicle_id)
    truck = found.truck
    return {
        "id": truck.id, "plate": truck.plate, "company_id": truck.company, "company_name": found.company_name,
        "has_reported": found.has_reported, "state": truck.state, "state_label": str(TruckState(truck.state).label),
        "colour": selectors.STATE_COLOURS[truck.state], "online": truck.online, "lat": truck.lat, "lon": truck.lon,
        "position_time": _moment(truck.time), "last_frame_at": _moment(truck.last_frame), "speed_kmh": truck.speed,
        "heading": truck.heading, "acc_on": truck.acc, "load": truck.load, "cover_open": truck.cover,
        "body_lifted": truck.lift, "alarm": truck.alarm, "alarm_names": selectors.alarm_names(truck.alarm),
        "flags": truck.flags, "flag_names": selectors.flag_names(truck.flags),
        "open_manifest_id": truck.manifest_id, "open_manifest_number": truck.manifest_number,
    }


def _moment(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _utc(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC, as the other operations answer (a period may be asked in China time)."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


@router.get("/vehicles/{vehicle_id}/track", response=TrackOut, by_alias=True, url_name="telemetry-vehicle-track")
@decorate_view(gzip_page)
def vehicle_track(request: HttpRequest, vehicle_id: int, start: dt.datetime | None = FROM_QUERY,
                  end: dt.datetime | None = TO_QUERY):
    """Positions with from <= device time < to, oldest first: at most 7 days, at most 5,000 points
    (evenly thinned beyond; `downsampled` says so). A time without a zone is China time."""
    start, end = selectors.track_period(start, end)
    track = selectors.vehicle_track(actor=request_actor(request), vehicle_id=vehicle_id, start=start, end=end)
    return _compact({
        "vehicle_id": track.vehicle_id, "plate": track.plate, "company_name": track.company_name,
        "from": _utc(track.start), "to": _utc(track.end), "shown_from": _utc(track.shown_from),
        "total_points": track.total, "flagged_points": track.flagged_total, "downsampled": track.downsampled,
        "cap": selectors.TRACK_POINT_CAP, "columns": list(TrackPoint._fields), "points": track.points,
        "stops": [{"start": _moment(s.start).isoformat(), "end": _moment(s.end).isoformat(), "minutes": s.minutes,
                   "lat": s.lat, "lon": s.lon} for s in track.stops],
        "alarms": [{"start": _moment(a.start).isoformat(), "end": _moment(a.end).isoformat(), "alarm": a.alarm,
                    "names": a.names, "lat": a.lat, "lon": a.lon} for a in track.alarms],
    })


@router.get("/terminals", response=list[TerminalOut], url_name="telemetry-terminals")
@paginate(LimitOffsetPagination)
def terminal_list(request: HttpRequest, connection: Connection | None = None, q: str = "", company: int | None = None,
                  order: TerminalOrder = TerminalOrder.LAST_FRAME_DESC):
    """Registry terminals with the gateway's view of their connection: online (connected now),
    offline (connected before) or never connected; sorted by last frame, newest first by default."""
    actor = request_actor(request)
    if not policy.can_see_terminals(actor):
        raise PermissionDenied(_("Only regulators and transport companies see terminals."))
    return selectors.terminal_status_list(actor=actor, connection=connection, search=q, company=company, order=order)
