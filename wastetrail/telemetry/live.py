"""Live vehicle state: online/offline, and the rule pages use to show it.

A vehicle is shown online when the gateway saw its terminal authenticate (and no disconnect
since) *and* a frame arrived within VEHICLE_OFFLINE_AFTER seconds: a connection that died without
a FIN (a truck in a tunnel, a gateway that crashed) would otherwise stay "online" for ever.

The position columns of the live state are written by store.write_positions; this module writes
only the connection's side, with race-free upserts (the store may be inserting the same vehicle's
row at the same moment).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField, Case, Q, Value, When

from wastetrail.registry.models import Vehicle
from wastetrail.telemetry.models import LoadState, VehicleLiveState


def offline_after() -> dt.timedelta:
    return dt.timedelta(seconds=settings.VEHICLE_OFFLINE_AFTER)


def is_online(*, online: bool, last_frame_at: dt.datetime | None, now: dt.datetime,
              silence: dt.timedelta | None = None) -> bool:
    """The rule, for one row already in memory."""
    silence = offline_after() if silence is None else silence
    return bool(online) and last_frame_at is not None and now - last_frame_at <= silence


def online_q(*, now: dt.datetime, prefix: str = "", silence: dt.timedelta | None = None) -> Q:
    """The rule as a filter: `VehicleLiveState.objects.filter(online_q(now=now))`, or on vehicles
    with `prefix="live_state__"` (a vehicle without a live row never matches: it is offline)."""
    silence = offline_after() if silence is None else silence
    return Q(**{f"{prefix}online": True, f"{prefix}last_frame_at__gte": now - silence})


def online_expression(*, now: dt.datetime, prefix: str = "", silence: dt.timedelta | None = None):
    """The rule as an annotation: `.annotate(is_online=online_expression(now=now))`; False, never
    NULL, for a vehicle without a live row."""
    return Case(When(online_q(now=now, prefix=prefix, silence=silence), then=Value(True)), default=Value(False),
                output_field=BooleanField())


def vehicle_online(*, vehicle_id: int, at: dt.datetime) -> bool:
    """The vehicle's terminal authenticated at `at`: online, and that counts as a frame. False when
    the vehicle is not in the registry (nothing written). An older event than the last change
    (a late call from a previous connection) changes nothing."""
    return _connection_change(vehicle_id=vehicle_id, at=at, online=True)


def vehicle_offline(*, vehicle_id: int, at: dt.datetime, connected_at: dt.datetime | None = None) -> bool:
    """The vehicle's connection closed at `at`. With `connected_at` (the session's authentication
    time), only when that session is still the latest: a terminal that reconnected meanwhile, here
    or on another gateway, stays online. False when nothing changed."""
    return _connection_change(vehicle_id=vehicle_id, at=at, online=False, connected_at=connected_at)


@cache
def _connection_sql(online: bool, by_session: bool) -> str:
    table = VehicleLiveState._meta.db_table
    vehicles = Vehicle._meta.db_table
    frame = "%s" if online else "NULL"
    # Only forward in time; an offline bound to a session only while that session is the last change.
    guard = (f"{table}.online_changed_at = %s" if by_session
             else f"({table}.online_changed_at IS NULL OR {table}.online_changed_at <= excluded.online_changed_at)")
    last_frame = (f"CASE WHEN {table}.last_frame_at IS NULL OR excluded.last_frame_at > {table}.last_frame_at "
                  f"THEN excluded.last_frame_at ELSE {table}.last_frame_at END") if online else f"{table}.last_frame_at"
    return (f"INSERT INTO {table} (vehicle_id, online, online_changed_at, last_frame_at, alarm, status, load, flags) "
            f"SELECT id, {'TRUE' if online else 'FALSE'}, %s, {frame}, 0, 0, '{LoadState.UNKNOWN.value}', 0 "
            f"FROM {vehicles} WHERE id = %s "
            f"ON CONFLICT (vehicle_id) DO UPDATE SET online = excluded.online, "
            f"online_changed_at = excluded.online_changed_at, last_frame_at = {last_frame} WHERE {guard}")


def _connection_change(*, vehicle_id: int, at: dt.datetime, online: bool,
                       connected_at: dt.datetime | None = None) -> bool:
    db = connections[DEFAULT_DB_ALIAS]
    when = db.ops.adapt_datetimefield_value
    params = [when(at)] + ([when(at)] if online else []) + [vehicle_id]
    if connected_at is not None:
        params.append(when(connected_at))
    with db.cursor() as cursor:
        cursor.execute(_connection_sql(online, connected_at is not None), params)
        return cursor.rowcount > 0
