"""The durable batch write of positions, and the day partitions they live in (decision 0004).

`write_positions(records)` is what the gateway's writer thread (in-process hand-off) and
`wastetrail processor` (NATS) call; when it returns, the positions are committed and the
terminals may be acknowledged. One transaction per batch:

1. which vehicles exist, and each one's live state (the reference for the jump check): one query;
2. flags (plausibility.py); positions of vehicles not in the registry are rejected (counted and
   logged, not stored: the gateway only sends bound vehicles, so this is a deleted vehicle);
3. the positions: PostgreSQL `COPY` into a session's temporary staging table, then one
   `INSERT ... SELECT ... ON CONFLICT DO NOTHING` into the partitioned table; SQLite one
   `executemany` of `INSERT ... ON CONFLICT DO NOTHING`. A resent position (same vehicle and
   device time) is stored once;
4. the live state: one upsert per vehicle, moving the last position only forward in device time
   and only to a trusted position (plausibility.UNTRUSTED), and `last_frame_at` forward always.

Plain SQL on this path, built once per database from the models' metadata: the ORM's per-row
cost is what decision 0003 measured on the manifest path, and here there are thousands of rows
a second.

PostgreSQL partitions: one per local day (settings.TIME_ZONE) on device time, named
`telemetry_position_pYYYYMMDD`, created by the writer for the days of a batch inside
[today - POSITION_RETENTION_DAYS, today + 2] (tomorrow's ahead of time), and a default partition for
device times outside it (which plausibility flags BAD_TIME / FUTURE_TIME). `positions_prune`
drops whole days past the retention.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connections, transaction

from wastetrail.core.audit.services import audit_record
from wastetrail.telemetry import plausibility
from wastetrail.telemetry.models import LoadState, Position, VehicleLiveState
from wastetrail.telemetry.plausibility import Fix, Track
from wastetrail.telemetry.records import PositionFlag, PositionRecord

logger = logging.getLogger(__name__)

UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
TABLE = Position._meta.db_table
STAGING = "telemetry_position_staging"
DEFAULT_PARTITION = f"{TABLE}_default"
PARTITION_PREFIX = f"{TABLE}_p"
PARTITIONS_AHEAD = 2  # days after today that get their own partition
PARTITION_LOCK_TIMEOUT = "2s"
PARTITION_RETRY_AFTER = 60  # seconds, after the table was too busy to add a partition
_PARTITION_NAME = re.compile(rf"^{PARTITION_PREFIX}(\d{{8}})$")

POSITION_COLUMNS = ("vehicle_id", "device_time", "received_at", "lat_e6", "lon_e6", "altitude_m", "speed_dkmh",
                    "heading", "alarm", "status", "extras", "source", "flags")
LIVE_POSITION_COLUMNS = ("device_time", "received_at", "lat_e6", "lon_e6", "altitude_m", "speed_dkmh", "heading",
                         "alarm", "status", "acc_on", "load", "cover_open", "body_lifted", "flags")
_IMPOSSIBLE_JUMP = int(PositionFlag.IMPOSSIBLE_JUMP)
_LOADS = {0b00: LoadState.EMPTY.value, 0b01: LoadState.HALF.value, 0b11: LoadState.FULL.value}


@dataclass(frozen=True)
class WriteResult:
    stored: int = 0  # new positions
    duplicates: int = 0  # already stored (a resend), or repeated within the batch
    rejected: int = 0  # positions of vehicles not in the registry: not stored


# --- the write -------------------------------------------------------------------------------

def write_positions(records: Sequence[PositionRecord]) -> WriteResult:
    """Store a batch of positions durably and update the vehicles' live state, in one transaction."""
    if not records:
        return WriteResult()
    for r in records:
        # A naive time would be read in some server's zone and miss its own resend: a caller's bug.
        if r.device_time.tzinfo is None or r.received_at.tzinfo is None:
            raise ValueError(f"position of vehicle {r.vehicle_id}: device_time and received_at must be aware "
                             f"(UTC), got {r.device_time!r} and {r.received_at!r}")
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy that looks it up on each use
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if db.vendor == "postgresql":
        partitions_ensure(days={r.device_time.astimezone(zone).date() for r in records})
    with transaction.atomic(using=db.alias):
        references = _vehicles_with_reference(db, {r.vehicle_id for r in records})
        accepted = [r for r in records if r.vehicle_id in references]
        flags, tracks = _flags(accepted, references)
        stored = _insert_positions(db, accepted, flags) if accepted else 0
        if accepted:
            _upsert_live(db, accepted, flags)
        transaction.on_commit(lambda: _remember_suspects(tracks), using=db.alias)
    rejected = len(records) - len(accepted)
    if rejected:
        unknown = sorted({r.vehicle_id for r in records} - references.keys())
        logger.warning("positions of %d vehicle(s) not in the registry rejected (%d positions): %s",
                       len(unknown), rejected, unknown[:20])
    return WriteResult(stored=stored, duplicates=len(accepted) - stored, rejected=rejected)


def live_position_moves(flags: int) -> bool:
    """May a position with these flags become the vehicle's live position?"""
    return not flags & plausibility.UNTRUSTED


def load_from_status(status: int) -> str:
    return _LOADS.get((status >> 8) & 0b11, LoadState.UNKNOWN.value)


def _max_age() -> dt.timedelta | None:
    days = settings.POSITION_RETENTION_DAYS
    return dt.timedelta(days=days) if days > 0 else None


def _flags(records: Sequence[PositionRecord], references: dict[int, Fix | None]) -> tuple[list[int], dict[int, Track]]:
    """Each record's flags (its own, the place's, the time's, jumps), and each vehicle's track after the batch."""
    max_age = _max_age()
    flags = []
    checkable: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        f = (int(r.flags) | plausibility.place_flags(lat_e6=r.lat_e6, lon_e6=r.lon_e6, status=r.status)
             | plausibility.time_flags(device_time=r.device_time, received_at=r.received_at, max_age=max_age))
        flags.append(f)
        if not f & plausibility.UNCHECKABLE:
            checkable[r.vehicle_id].append(i)
    tracks = {}
    for vehicle_id, indexes in checkable.items():
        suspect, suspects = _suspects.get(vehicle_id, (None, 0))
        track = Track(reference=references.get(vehicle_id), suspect=suspect, suspects=suspects)
        fixes = [Fix(records[i].device_time, records[i].lat_e6, records[i].lon_e6) for i in indexes]
        jumps, tracks[vehicle_id] = plausibility.check_jumps(track, fixes)
        for i, jump in zip(indexes, jumps, strict=True):
            if jump:
                flags[i] |= _IMPOSSIBLE_JUMP
    return flags, tracks


# Vehicles whose last positions were flagged as jumps, with the last of them and how many in a
# row agree (plausibility.follow). The reference itself is the live state, read in the batch's
# transaction, so several writer processes agree on it; only these streaks stay in memory.
_SUSPECTS_MAX = 20_000
_suspects: dict[int, tuple[Fix, int]] = {}


def _remember_suspects(tracks: dict[int, Track]) -> None:
    for vehicle_id, track in tracks.items():
        _suspects.pop(vehicle_id, None)
        if track.suspects:
            _suspects[vehicle_id] = (track.suspect, track.suspects)
    while len(_suspects) > _SUSPECTS_MAX:
        del _suspects[next(iter(_suspects))]  # the longest-standing streak goes first


def forget_suspects() -> None:
    """Tests: start from a clean slate (the database under them was rolled back)."""
    _suspects.clear()


@cache
def _reference_sql(vendor: str) -> str:
    vehicles = Position._meta.get_field("vehicle").related_model._meta.db_table
    live = VehicleLiveState._meta.db_table
    if vendor == "postgresql":
        # The time as integer microseconds: parsing a thousand timestamps' text per batch in
        # Python cost more than the query.
        return (f"SELECT v.id, (EXTRACT(EPOCH FROM l.device_time) * 1000000)::int8, l.lat_e6, l.lon_e6 "
                f"FROM {vehicles} v LEFT JOIN {live} l ON l.vehicle_id = v.id WHERE v.id = ANY(%s)")
    return (f"SELECT v.id, l.device_time, l.lat_e6, l.lon_e6 FROM {vehicles} v "
            f"LEFT JOIN {live} l ON l.vehicle_id = v.id WHERE v.id IN (SELECT value FROM json_each(%s))")


def _vehicles_with_reference(db, vehicle_ids: set[int]) -> dict[int, Fix | None]:
    """The vehicles that exist, each with its live position (None before the first trusted one)."""
    ids = sorted(vehicle_ids)
    with db.cursor() as cursor:
        cursor.execute(_reference_sql(db.vendor), [ids if db.vendor == "postgresql" else json.dumps(ids)])
        rows = cursor.fetchall()
    if db.vendor == "postgresql":
        return {vid: (Fix(_EPOCH + dt.timedelta(microseconds=t), lat, lon) if t is not None else None)
                for vid, t, lat, lon in rows}
    return {vid: (Fix(_aware(t), lat, lon) if t is not None else None) for vid, t, lat, lon in rows}


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive UTC (Django's converter); PostgreSQL aware.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _time_adapter(db) -> Callable[[dt.datetime], object]:
    if db.vendor == "postgresql":
        return lambda moment: moment
    return _sqlite_time


def _sqlite_time(moment: dt.datetime) -> str:
    """As Django stores datetimes in SQLite (operations.adapt_datetimefield_value): naive UTC text.
    The same instant must give the same text, or the primary key would not see the resend."""
    if moment.tzinfo is UTC:  # what records carry: the text without its "+00:00" (no copy per row)
        return str(moment)[:-6]
    return str(moment.astimezone(UTC).replace(tzinfo=None))


# Extras as SQLite's JSON text: one encoder made once (json.dumps builds one per call with options).
_extras_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _position_rows(db, records: Sequence[PositionRecord], flags: Sequence[int]) -> Iterable[tuple]:
    if db.vendor == "postgresql":  # binary COPY: the driver sends datetimes and the extras (jsonb) itself
        for r, f in zip(records, flags, strict=True):
            yield (r.vehicle_id, r.device_time, r.received_at, r.lat_e6, r.lon_e6, r.altitude_m, r.speed_dkmh,
                   r.heading, r.alarm, r.status, r.extras, int(r.source), f)
        return
    received, received_text = None, ""
    for r, f in zip(records, flags, strict=True):
        if r.received_at is not received:  # one receive time per read from a socket: converted once
            received, received_text = r.received_at, _sqlite_time(r.received_at)
        yield (r.vehicle_id, _sqlite_time(r.device_time), received_text, r.lat_e6, r.lon_e6,
               r.altitude_m, r.speed_dkmh, r.heading, r.alarm, r.status, _extras_json(r.extras), int(r.source), f)


def _insert_positions(db, records: Sequence[PositionRecord], flags: Sequence[int]) -> int:
    """How many of the records were new."""
    rows = _position_rows(db, records, flags)
    with db.cursor() as cursor:
        if db.vendor != "postgresql":
            cursor.executemany(_sqlite_insert_sql(), list(rows))
            return cursor.rowcount
        cursor.execute(_staging_sql())
        _copy(db, cursor, STAGING, POSITION_COLUMNS, POSITION_TYPES, rows)
        cursor.execute(_move_sql())
        return cursor.rowcount


def _copy(db, cursor, table: str, columns: Sequence[str], types: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY in binary format (no text formatting and parsing of every value: a third less time per
    row than text). The driver's cursor (Django's wrapper has no COPY), its errors translated as
    Django's are."""
    with db.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                                                     "(FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


LIVE_STAGING = "telemetry_vehicle_live_staging"
LIVE_COLUMNS = ("vehicle_id", *LIVE_POSITION_COLUMNS, "last_frame_at")
# Binary COPY sends each value in its column's exact type (the tests check these against the tables).
POSITION_TYPES = ("int8", "timestamptz", "timestamptz", "int8", "int8", "int4", "int4", "int4", "int8", "int8",
                  "jsonb", "int2", "int2")
LIVE_TYPES = ("int8", "timestamptz", "timestamptz", "int8", "int8", "int4", "int4", "int4", "int8", "int8", "bool",
              "text", "bool", "bool", "int2", "timestamptz")


@cache
def _staging_sql() -> str:
    """The session's two temporary tables, created once per database session (no parameters: one
    round trip for both). ON COMMIT DELETE ROWS empties them at every commit."""
    live = VehicleLiveState._meta.db_table
    return (f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (LIKE {TABLE}) ON COMMIT DELETE ROWS; "
            # Without the live table's NOT NULLs: `online` is not staged.
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {LIVE_STAGING} ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(LIVE_COLUMNS)} FROM {live} WITH NO DATA")


@cache
def _move_sql() -> str:
    # Empties the staging table as it moves the rows, so that two batches in one outer
    # transaction (tests) do not see each other's rows.
    columns = ", ".join(POSITION_COLUMNS)
    # In key order: two batches inserting the same keys (a resend through another gateway) then
    # wait for each other in the same order instead of deadlocking.
    return (f"WITH moved AS (DELETE FROM {STAGING} RETURNING {columns}) "
            f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM moved ORDER BY vehicle_id, device_time "
            "ON CONFLICT DO NOTHING")


@cache
def _sqlite_insert_sql() -> str:
    return (f"INSERT INTO {TABLE} ({', '.join(POSITION_COLUMNS)}) VALUES ({', '.join(['%s'] * len(POSITION_COLUMNS))}) "
            "ON CONFLICT DO NOTHING")


@cache
def _live_upsert_sql(vendor: str) -> str:
    """PostgreSQL: one statement per batch from the COPY-filled staging table (a statement per
    vehicle cost 0.2 ms each, most of a batch's time); SQLite: the one-row form per vehicle,
    in-process."""
    table = VehicleLiveState._meta.db_table
    columns = ", ".join(LIVE_COLUMNS)
    newer = (f"excluded.device_time IS NOT NULL AND ({table}.device_time IS NULL "
             f"OR excluded.device_time > {table}.device_time)")
    moves = [f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {table}.{c} END" for c in LIVE_POSITION_COLUMNS]
    frame = (f"last_frame_at = CASE WHEN {table}.last_frame_at IS NULL OR excluded.last_frame_at > "
             f"{table}.last_frame_at THEN excluded.last_frame_at ELSE {table}.last_frame_at END")
    if vendor == "postgresql":
        source = (f"WITH moved AS (DELETE FROM {LIVE_STAGING} RETURNING {columns}) "
                  # Rows locked in vehicle order, whichever batch comes first: no deadlock between writers.
                  f"INSERT INTO {table} ({columns}, online) SELECT {columns}, FALSE FROM moved ORDER BY vehicle_id")
    else:
        source = f"INSERT INTO {table} ({columns}, online) VALUES ({', '.join(['%s'] * len(LIVE_COLUMNS))}, FALSE)"
    # A new row starts offline: online is the gateway's to say (live.vehicle_online).
    return f"{source} ON CONFLICT (vehicle_id) DO UPDATE SET {', '.join(moves)}, {frame}"


def _upsert_live(db, records: Sequence[PositionRecord], flags: Sequence[int]) -> None:
    newest: dict[int, int] = {}  # vehicle -> index of its newest trusted record
    last_frame: dict[int, dt.datetime] = {}
    for i, r in enumerate(records):
        if r.vehicle_id not in last_frame or r.received_at > last_frame[r.vehicle_id]:
            last_frame[r.vehicle_id] = r.received_at
        if live_position_moves(flags[i]):
            best = newest.get(r.vehicle_id)
            if best is None or r.device_time >= records[best].device_time:
                newest[r.vehicle_id] = i
    when = _time_adapter(db)
    rows = []
    for vehicle_id, frame_at in last_frame.items():
        i = newest.get(vehicle_id)
        if i is None:  # nothing trusted in this batch: only the frame time moves
            position = (None, None, None, None, None, None, None, 0, 0, None, LoadState.UNKNOWN.value, None, None, 0)
        else:
            r = records[i]
            position = (when(r.device_time), when(r.received_at), r.lat_e6, r.lon_e6, r.altitude_m, r.speed_dkmh,
                        r.heading, r.alarm, r.status, bool(r.status & 1), load_from_status(r.status),
                        _flag_item(r.extras, "cover_open"), _flag_item(r.extras, "body_lifted"), flags[i])
        rows.append((vehicle_id, *position, when(frame_at)))
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            _copy(db, cursor, LIVE_STAGING, LIVE_COLUMNS, LIVE_TYPES, rows)
            cursor.execute(_live_upsert_sql(db.vendor))
        else:
            cursor.executemany(_live_upsert_sql(db.vendor), rows)


def _flag_item(extras: dict, key: str) -> bool | None:
    value = extras.get(key) if isinstance(extras, dict) else None
    return value if isinstance(value, bool) else None


# --- day partitions (PostgreSQL) ---------------------------------------------------------------

def partition_name(day: dt.date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day [midnight, next midnight) as aware datetimes."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def partition_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The days that get their own partition; the rest go to the default partition."""
    days = settings.POSITION_RETENTION_DAYS
    first = today - dt.timedelta(days=days) if days > 0 else dt.date.min
    return first, today + dt.timedelta(days=PARTITIONS_AHEAD)


def local_today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


# Days known to have a partition in this process. Filled only after a commit: a partition created
# in a transaction that rolls back is gone. A stale entry (pruned since) is harmless: the rows of
# that day then go to the default partition.
@dataclass
class _PartitionMemory:
    known: set[dt.date] = field(default_factory=set)
    busy_until: float = 0.0  # time.monotonic() before which no partition is tried again


_partitions = _PartitionMemory()


def partitions_existing(db=None) -> dict[dt.date, str]:
    db = db or connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = %s::regclass", [TABLE])
        names = [row[0] for row in cursor.fetchall()]
    days = {}
    for name in names:
        match = _PARTITION_NAME.match(name)
        if match:
            days[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return days


def partitions_ensure(*, days: Iterable[dt.date], today: dt.date | None = None) -> list[dt.date]:
    """Create the day partitions that the given days need (inside the window, plus tomorrow's);
    returns the days created. PostgreSQL only."""
    db = connections[DEFAULT_DB_ALIAS]
    today = today or local_today()
    first, last = partition_window(today)
    wanted = {d for d in days if first <= d <= last} | {today + dt.timedelta(days=1)}
    if wanted <= _partitions.known or time.monotonic() < _partitions.busy_until:
        return []
    created = []
    try:
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            # Creating a partition locks the whole table for a moment; behind a long read (a page's
            # report), give up rather than stall every writer: the rows go to the default partition
            # meanwhile, and a later batch creates the partition and moves them (_partition_create).
            cursor.execute(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'")
            for day in sorted(wanted - partitions_existing(db).keys()):
                _partition_create(db, cursor, day)
                created.append(day)
            transaction.on_commit(lambda: _partitions.known.update(wanted), using=db.alias)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        _partitions.busy_until = time.monotonic() + PARTITION_RETRY_AFTER  # not one 2 s wait per batch
        logger.warning("position partitions not created (table busy), next try in %d s: %s",
                       PARTITION_RETRY_AFTER, exc)
        return []
    if created:
        logger.info("position partitions created: %s", ", ".join(f"{d:%Y-%m-%d}" for d in created))
    return created


def _partition_create(db, cursor, day: dt.date) -> None:
    start, end = day_bounds(day)
    name = partition_name(day)
    bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"  # dates we formatted: no injection
    try:
        with transaction.atomic(using=db.alias):
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} FOR VALUES {bounds}")
        return
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "23514":  # not "the default partition has rows of it"
            raise
    # The default partition holds rows of this day (written before the day entered the window,
    # e.g. a wrong device clock or a long blind-area buffer), and PostgreSQL refuses to create a
    # partition that would make them misplaced: move them into a new table and attach it.
    cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING ALL)")
    cursor.execute(f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE device_time >= %s AND device_time < %s "
                   f"RETURNING *) INSERT INTO {name} SELECT * FROM moved", [start, end])
    moved = cursor.rowcount
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES {bounds}")
    logger.info("position partition %s created with %d rows moved from the default partition", name, moved)


def forget_partitions() -> None:
    """Tests, and prune: the next write asks the database again (and tries at once if it was busy)."""
    _partitions.known.clear()
    _partitions.busy_until = 0.0


# --- retention ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartitionInfo:
    name: str  # the partition's table; on SQLite the day ("2026-11-29"), there are no partitions
    day: dt.date | None  # None: the default partition
    rows: int | None  # None: not known (PostgreSQL's estimate before the first ANALYZE)
    exact: bool


def partitions_list(*, exact: bool = False) -> list[PartitionInfo]:
    """The days stored, oldest first, with their row counts. PostgreSQL: one line per partition and
    the default one, counts estimated by the planner's statistics unless `exact` (a full count of
    every partition takes long on a big table). SQLite: one line per local day, counted."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return [PartitionInfo(name=f"{day:%Y-%m-%d}", day=day, rows=rows, exact=True)
                for day, rows in _sqlite_days(db)]
    tables = sorted(partitions_existing(db).items()) + [(None, DEFAULT_PARTITION)]
    infos = []
    with db.cursor() as cursor:
        for day, name in tables:
            if exact:
                cursor.execute(f"SELECT count(*) FROM {name}")
            else:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [name])
            rows = cursor.fetchone()[0]
            infos.append(PartitionInfo(name=name, day=day, rows=rows if rows >= 0 else None, exact=exact))
    return infos


def _sqlite_days(db) -> list[tuple[dt.date, int]]:
    # Grouped in Python by local day: SQLite has no time zones, and one pass over the column is
    # what a GROUP BY would cost anyway.
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    counts: dict[dt.date, int] = defaultdict(int)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT substr(device_time, 1, 13), count(*) FROM {TABLE} GROUP BY 1")
        for hour, rows in cursor.fetchall():
            start = dt.datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC)
            counts[start.astimezone(zone).date()] += rows
    return sorted(counts.items())


@dataclass(frozen=True)
class PruneResult:
    retention_days: int
    first_kept: dt.date | None  # the oldest local day kept; None when the retention keeps everything
    partitions: list[str]  # PostgreSQL: the day partitions dropped
    rows: int  # rows removed (in the dropped partitions, the default partition, or SQLite's table)
    dry_run: bool


PRUNE_CHUNK = 10_000  # SQLite rows per delete transaction: writers wait for each chunk, not for the whole prune


def positions_prune(*, days: int | None = None, dry_run: bool = False, today: dt.date | None = None) -> PruneResult:
    """Remove the positions of local days older than `days` (default POSITION_RETENTION_DAYS) before
    today: PostgreSQL drops whole day partitions (and deletes the default partition's old rows),
    SQLite deletes rows in chunks. One audit row, unless nothing was removed or `dry_run`."""
    days = settings.POSITION_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError(f"the retention must be 0 (keep everything) or a number of days, not {days}")
    if days == 0:
        return PruneResult(retention_days=0, first_kept=None, partitions=[], rows=0, dry_run=dry_run)
    first_kept = (today or local_today()) - dt.timedelta(days=days)
    cutoff = day_bounds(first_kept)[0]
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        partitions, rows = _prune_partitions(db, first_kept, cutoff, dry_run)
    else:
        partitions, rows = [], _prune_rows(db, cutoff, dry_run)
    result = PruneResult(retention_days=days, first_kept=first_kept, partitions=partitions, rows=rows,
                         dry_run=dry_run)
    if not dry_run and (rows or partitions):
        with transaction.atomic(using=db.alias):
            audit_record(actor=None, action="position.prune", object_type="telemetry.position",
                         data={"retention_days": days, "first_kept": first_kept.isoformat(),
                               "partitions_dropped": partitions, "rows_removed": rows})
    return result


def _prune_partitions(db, first_kept: dt.date, cutoff: dt.datetime, dry_run: bool) -> tuple[list[str], int]:
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        old = [name for day, name in sorted(partitions_existing(db).items()) if day < first_kept]
        rows = 0
        for name in old:
            cursor.execute(f"SELECT count(*) FROM {name}")
            rows += cursor.fetchone()[0]
        if dry_run:
            cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE device_time < %s", [cutoff])
            return old, rows + cursor.fetchone()[0]
        for name in old:
            cursor.execute(f"DROP TABLE {name}")
        cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE device_time < %s", [cutoff])
        rows += cursor.rowcount
    forget_partitions()
    return old, rows


def _prune_rows(db, cutoff: dt.datetime, dry_run: bool) -> int:
    before = _time_adapter(db)(cutoff)
    with db.cursor() as cursor:
        if dry_run:
            cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE device_time < %s", [before])
            return cursor.fetchone()[0]
        cursor.execute(f"SELECT DISTINCT vehicle_id FROM {TABLE}")
        vehicle_ids = [row[0] for row in cursor.fetchall()]
    removed = 0
    # Per vehicle, so that each delete walks the primary key (vehicle_id, device_time) instead of
    # scanning the table; in chunks, so that the gateway's writes are never held up for long.
    for vehicle_id in vehicle_ids:
        while True:
            with transaction.atomic(using=db.alias), db.cursor() as cursor:
                cursor.execute(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT rowid FROM {TABLE} "
                               f"WHERE vehicle_id = %s AND device_time < %s LIMIT {PRUNE_CHUNK})",
                               [vehicle_id, before])
                removed += cursor.rowcount
            if cursor.rowcount < PRUNE_CHUNK:
                break
    return removed
