"""Position storage throughput: rows per second through `store.write_positions`, against a bare bulk
insert of the same rows measured the same way.

The figure `bulk_insert_positions_per_s_sqlite` / `_postgres` is the store's rate; its baseline is the bare
insert (PostgreSQL: binary `COPY` straight into a plain table with no key, no partitions, no staging;
SQLite: `executemany` into a plain table with no key), both in batches of ``BATCH`` rows, one
transaction per batch. The ratio is therefore the share of the raw insert speed that is left once
the store does its job: vehicle check, plausibility flags, de-duplication on the primary key,
the day partition, and the live-state upsert.

`store_write_rate(rows)` and `bare_insert_rate(rows)` are the two measurements on their own, for
the gateway's benchmark to use as its baseline. Rows must not be stored yet (a stored row is a
duplicate, which costs less); `fresh_positions` makes new ones each call.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.bench.harness import Figure, rate_per_second, record
from wastetrail.registry.models import Vehicle
from wastetrail.telemetry.records import PositionRecord
from wastetrail.telemetry.store import POSITION_COLUMNS, POSITION_TYPES, write_positions

FLEET = 1_000  # vehicles reporting
BATCH = 1_000  # rows per write: about one flush of a busy gateway's writer
ROUND = 20_000  # rows per timed run
BARE_TABLE = "bench_position_plain"
STATUS = 0b11 | (0b11 << 8) | (1 << 18)  # ACC on, fixed, full, GPS
EXTRAS = {"mileage_km": 18234.5, "signal_strength": 24, "satellites": 11, "cover_open": False, "body_lifted": False}


def bench_fleet(count: int = FLEET) -> list[int]:
    """Vehicle ids for benchmark positions (created once: the store rejects unknown vehicles)."""
    company, _ = Organisation.objects.get_or_create(uscc="91440704MABENCH01X", defaults={
        "name": "基准测试运输有限公司", "kind": OrganisationKind.TRANSPORT_COMPANY})
    have = Vehicle.objects.filter(company=company).count()
    Vehicle.objects.bulk_create([Vehicle(plate=f"粤B{i:05d}", vin=f"LBENCH{i:011d}", company=company, capacity_m3=18)
                                 for i in range(have, count)], batch_size=1000)
    return list(Vehicle.objects.filter(company=company).order_by("pk").values_list("pk", flat=True)[:count])


_clock = itertools.count()  # seconds handed out so far: every call's rows are later than the last's


def fresh_positions(vehicle_ids: Sequence[int], count: int) -> list[PositionRecord]:
    """`count` new positions, one per vehicle per second in turn, each vehicle driving a slow circle
    around Jiangmen (nothing is flagged). Times end just before now, so they fall in today's or
    yesterday's partition."""
    rounds = math.ceil(count / len(vehicle_ids))
    received = timezone.now().replace(microsecond=0)
    first = next(_clock)
    for _ in range(rounds - 1):
        next(_clock)
    # Start far enough back that `rounds` seconds fit before now, and after earlier calls' rows.
    base = received - dt.timedelta(hours=6) + dt.timedelta(seconds=first)
    rows = []
    for step in range(rounds):
        device_time = base + dt.timedelta(seconds=step)
        for n, vehicle_id in enumerate(vehicle_ids):
            angle = (first + step) / 600 + n
            rows.append(PositionRecord(
                vehicle_id=vehicle_id, terminal_phone=f"1380000{n:04d}", device_time=device_time, received_at=received,
                lat_e6=22_578_000 + int(20_000 * math.sin(angle)), lon_e6=113_081_000 + int(20_000 * math.cos(angle)),
                altitude_m=12, speed_dkmh=350, heading=(first + step) % 360, alarm=0, status=STATUS, extras=EXTRAS))
    return rows[:count]


def _batches(rows: Sequence[PositionRecord]) -> Iterator[Sequence[PositionRecord]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def store_write_rate(rows: Sequence[PositionRecord]) -> float:
    """Rows per second through store.write_positions, in batches of BATCH."""
    started = time.perf_counter()
    for batch in _batches(rows):
        write_positions(batch)
    return len(rows) / (time.perf_counter() - started)


def _bare_table() -> None:
    if connection.vendor == "postgresql":
        types = dict(zip(POSITION_COLUMNS, POSITION_TYPES, strict=True))  # the store's column types
    else:
        types = {"device_time": "DATETIME", "received_at": "DATETIME", "extras": "TEXT"}
    definition = ", ".join(f"{name} {types.get(name, 'BIGINT')} NOT NULL" for name in POSITION_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} ({definition})")


def bare_insert_rate(rows: Sequence[PositionRecord]) -> float:
    """Rows per second of the plainest bulk insert of the same rows into a plain table, in the same
    batches and transactions: COPY on PostgreSQL, executemany on SQLite."""
    _bare_table()
    columns = ", ".join(POSITION_COLUMNS)
    postgres = connection.vendor == "postgresql"
    started = time.perf_counter()
    for batch in _batches(rows):
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                with cursor.cursor.copy(f"COPY {BARE_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(POSITION_TYPES)  # binary, as the store copies
                    for r in batch:
                        copy.write_row((r.vehicle_id, r.device_time, r.received_at, r.lat_e6, r.lon_e6, r.altitude_m,
                                        r.speed_dkmh, r.heading, r.alarm, r.status, r.extras, int(r.source),
                                        int(r.flags)))
            else:
                cursor.executemany(
                    f"INSERT INTO {BARE_TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(POSITION_COLUMNS))})",
                    [(r.vehicle_id, _sqlite_time(r.device_time), _sqlite_time(r.received_at), r.lat_e6, r.lon_e6,
                      r.altitude_m, r.speed_dkmh, r.heading, r.alarm, r.status, json.dumps(r.extras), r.source,
                      r.flags) for r in batch])
    return len(rows) / (time.perf_counter() - started)


def _sqlite_time(moment: dt.datetime) -> str:
    return str(moment.astimezone(dt.UTC).replace(tzinfo=None))


def bulk_insert_positions(out_dir: Path, *, repeats: int = 5) -> Figure:
    vehicle_ids = bench_fleet()
    write_positions(fresh_positions(vehicle_ids, BATCH))  # warm up: partitions, staging table, live rows
    # Rows made before the clock starts: only the writes are timed.
    store_rounds = iter([fresh_positions(vehicle_ids, ROUND) for _ in range(repeats)])
    bare_rounds = iter([fresh_positions(vehicle_ids, ROUND) for _ in range(repeats)])

    def timed(write, rounds):
        def work() -> int:  # rate_per_second times it and divides the rows by the time
            rows = next(rounds)
            write(rows)
            return len(rows)
        return work

    baseline = rate_per_second(timed(bare_insert_rate, bare_rounds), repeats=repeats)
    value = rate_per_second(timed(store_write_rate, store_rounds), repeats=repeats)
    vendor = "postgres" if connection.vendor == "postgresql" else connection.vendor
    return record(f"bulk_insert_positions_per_s_{vendor}", value, "rows/s", baseline, out_dir)
