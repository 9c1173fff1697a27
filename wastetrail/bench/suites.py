"""The benchmark suites: audit appends and district look-ups (the foundation), manifest
lifecycles (issue 3, in bench/manifests.py), the JT/T 808 codec, position storage and the gateway
end to end (issue 4, in bench/telemetry_*.py)."""

from __future__ import annotations

import random
from pathlib import Path

from django.db import connection, transaction

from wastetrail.bench.harness import Figure, rate_per_second, record
from wastetrail.bench.manifests import manifest_lifecycles
from wastetrail.bench.workorders import workorder_pages
from wastetrail.core.audit.services import audit_record
from wastetrail.core.districts import district_at, districts

BATCH = 500


def audit_appends(out_dir: Path) -> Figure:
    """Audit rows appended per second, one transaction each (how services write them), against
    the baseline of inserting the same-sized row into a plain table in one transaction each."""
    with connection.cursor() as cursor:
        key = "BIGSERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY"
        cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_plain (id {key}, action TEXT, data TEXT)")

    def chained() -> int:
        for i in range(BATCH):
            with transaction.atomic():
                audit_record(actor=None, action="bench.event", object_type="bench", object_id=str(i),
                             data={"i": i, "category": "excavated_soil", "quantity_m3": "18.5"})
        return BATCH

    def plain() -> int:
        for i in range(BATCH):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_plain (action, data) VALUES (%s, %s)",
                               ["bench.event", f'{{"i": {i}, "category": "excavated_soil"}}'])
        return BATCH

    baseline = rate_per_second(plain)
    value = rate_per_second(chained)
    return record(f"audit_appends_per_s_{connection.vendor}", value, "rows/s", baseline, out_dir)


def district_lookups(out_dir: Path) -> Figure:
    """Point-in-district look-ups per second (every project and, later, every position needs one),
    against the baseline of a bounding-box test of the same points."""
    rng = random.Random(7)
    bounds = [d.geometry.bounds for d in districts()]
    min_lon = min(b[0] for b in bounds)
    min_lat = min(b[1] for b in bounds)
    max_lon = max(b[2] for b in bounds)
    max_lat = max(b[3] for b in bounds)
    points = [(rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)) for _ in range(5000)]

    def lookups() -> int:
        for lon, lat in points:
            district_at(lon=lon, lat=lat)
        return len(points)

    def bbox_only() -> int:
        for lon, lat in points:
            any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in bounds)
        return len(points)

    baseline = rate_per_second(bbox_only)
    value = rate_per_second(lookups)
    return record("district_lookups_per_s", value, "lookups/s", baseline, out_dir)


def jt808_decode(out_dir: Path) -> Figure:
    from wastetrail.bench.telemetry_codec import jt808_decode as measure

    return measure(out_dir)


def positions_bulk_insert(out_dir: Path) -> Figure:
    from wastetrail.bench.telemetry_store import bulk_insert_positions

    return bulk_insert_positions(out_dir)


def gateway_end_to_end(out_dir: Path) -> Figure:
    from wastetrail.bench.telemetry_gateway import gateway_positions

    return gateway_positions(out_dir)


def gateway_connections(out_dir: Path) -> list[Figure]:
    # Memory per connection does not depend on the database: measured once, in the SQLite run.
    if connection.vendor != "sqlite":
        return []
    from wastetrail.bench.telemetry_gateway import gateway_connections as measure

    return [measure(out_dir)]


# By name, for `python -m wastetrail.bench --suite NAME`.
DATABASE_SUITES = {"audit": audit_appends, "manifests": manifest_lifecycles, "positions": positions_bulk_insert,
                   "gateway": gateway_end_to_end, "connections": gateway_connections,
                   "workorders": workorder_pages}
PURE_SUITES = {"districts": district_lookups, "jt808": jt808_decode}


def run_database_suites(out_dir: Path, only: str | None = None) -> list[Figure]:
    figures: list[Figure] = []
    for name, suite in DATABASE_SUITES.items():
        if only in (None, name):
            found = suite(out_dir)  # a figure, or several (the manifests: machine and one process)
            figures += found if isinstance(found, list) else [found]
    return figures


def run_pure_suites(out_dir: Path, only: str | None = None) -> list[Figure]:
    return [suite(out_dir) for name, suite in PURE_SUITES.items() if only in (None, name)]
