"""`wastetrail positions prune|partitions`: retention by whole days (partitions on PostgreSQL, chunked
deletes on SQLite), one audit row per prune, nothing changed by a dry run or bad input."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from wastetrail.core.audit.models import AuditEntry
from wastetrail.telemetry import store
from wastetrail.telemetry.models import Position
from wastetrail.telemetry.store import write_positions
from wastetrail.telemetry.tests.test_store_support import (
    forget_caches,
    make_vehicles,
    now,
    position,
)

pytestmark = pytest.mark.django_db
AGES = (0, 3, 9, 10, 11, 40)  # days before today (local) of the stored positions


@pytest.fixture(autouse=True)
def clean():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def history(settings):
    """One truck with two positions on each local day of AGES (received today: a blind-area upload)."""
    settings.POSITION_RETENTION_DAYS = 400
    truck, = make_vehicles(1)
    today = store.local_today()
    elapsed_today = now() - store.day_bounds(today)[0]
    records = []
    for age in AGES:
        start = store.day_bounds(today - dt.timedelta(days=age))[0]
        # 00:30 and 23:30 local: both ends of the day, so a UTC-day mistake would split them.
        for index, offset in enumerate((dt.timedelta(minutes=30), dt.timedelta(hours=23, minutes=30))):
            moment = start + offset
            if moment >= now():
                # Today's hour has not come yet (CI runs round midnight Beijing time): another
                # moment of today that has passed, so every day of AGES holds positions.
                moment = start + elapsed_today * (index + 1) / 3
            records.append(position(truck.id, moment, received_at=now()))
    write_positions(records)
    return truck


def run(*args) -> str:
    out = io.StringIO()
    call_command("positions", *args, stdout=out)
    return out.getvalue()


def stored_days() -> set[int]:
    today = store.local_today()
    zone = store.day_bounds(today)[0].tzinfo
    return {(today - p.device_time.astimezone(zone).date()).days for p in Position.objects.all()}


def prune_audits() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="position.prune"))


def test_prune_removes_the_days_past_the_retention_and_keeps_the_rest(history):
    output = run("prune", "--days", "10")
    assert stored_days() == {0, 3, 9, 10}
    assert "keeping 10 days" in output and "removed 4 position(s)" in output
    [audit] = prune_audits()
    assert audit.data["retention_days"] == 10 and audit.data["rows_removed"] == 4
    assert audit.data["first_kept"] == (store.local_today() - dt.timedelta(days=10)).isoformat()


def test_prune_takes_the_retention_setting_by_default(history, settings):
    settings.POSITION_RETENTION_DAYS = 5
    run("prune")
    assert stored_days() == {0, 3}


def test_a_dry_run_says_what_would_go_and_removes_nothing(history):
    before = Position.objects.count()
    output = run("prune", "--days", "10", "--dry-run")
    assert "would remove 4 position(s)" in output
    assert Position.objects.count() == before
    assert prune_audits() == []


def test_a_prune_with_nothing_to_remove_writes_no_audit_row(history):
    assert "removed 0 position(s)" in run("prune", "--days", "100")
    assert prune_audits() == []


def test_a_retention_of_zero_keeps_everything(history):
    before = Position.objects.count()
    assert "nothing to prune" in run("prune", "--days", "0")
    assert Position.objects.count() == before


def test_a_negative_retention_is_refused_and_changes_nothing(history):
    before = Position.objects.count()
    with pytest.raises(CommandError, match="--days"):
        run("prune", "--days", "-1")
    assert Position.objects.count() == before


def test_partitions_lists_the_stored_days_with_their_rows(history):
    output = run("partitions", "--exact")
    for age in AGES[1:]:
        day = store.local_today() - dt.timedelta(days=age)
        [line] = [line for line in output.splitlines() if f"{day:%Y-%m-%d}" in line]
        assert line.split()[-2] == "2"


def test_partitions_on_an_empty_store():
    output = run("partitions", "--exact")
    if connection.vendor == "postgresql":
        assert output.split() == [store.DEFAULT_PARTITION, "default", "(other", "days)", "0", "rows"]
    else:
        assert output.strip() == "no positions stored"


@pytest.mark.postgres
def test_postgresql_prune_drops_whole_partitions_and_the_default_partitions_old_rows(history, settings):
    today = store.local_today()
    existing = store.partitions_existing()
    assert {today - dt.timedelta(days=age) for age in AGES} <= existing.keys()
    # A row far in the past sits in the default partition (outside the window when it was written).
    settings.POSITION_RETENTION_DAYS = 30
    ancient = now() - dt.timedelta(days=100)
    write_positions([position(history.id, ancient, received_at=now())])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {store.DEFAULT_PARTITION}")
        assert cursor.fetchone()[0] == 1

    output = run("prune", "--days", "10")
    left = store.partitions_existing()
    assert {today - dt.timedelta(days=age) for age in (11, 40)}.isdisjoint(left)
    assert {today - dt.timedelta(days=age) for age in (0, 3, 9, 10)} <= left.keys()
    assert stored_days() == {0, 3, 9, 10}
    assert "and 2 partition(s)" in output
    [audit] = prune_audits()
    assert audit.data["rows_removed"] == 5
    assert sorted(audit.data["partitions_dropped"]) == sorted(
        store.partition_name(today - dt.timedelta(days=age)) for age in (11, 40))


@pytest.mark.postgres
def test_postgresql_a_writer_that_still_believes_in_a_dropped_partition_loses_nothing(history, monkeypatch):
    """Another process's memory of partitions is not cleared by this prune: its rows for a dropped
    day are routed to the default partition."""
    run("prune", "--days", "10")
    dropped = store.local_today() - dt.timedelta(days=11)
    monkeypatch.setattr(store._partitions, "known", {dropped, store.local_today(),
                                                      store.local_today() + dt.timedelta(days=1)})
    late = store.day_bounds(dropped)[0] + dt.timedelta(hours=2)
    assert write_positions([position(history.id, late, received_at=now())]).stored == 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {store.DEFAULT_PARTITION} WHERE device_time = %s", [late])
        assert cursor.fetchone()[0] == 1


@pytest.mark.postgres
def test_postgresql_partitions_lists_partitions_and_the_default_with_estimates(history):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE telemetry_position")
    output = run("partitions")
    assert store.DEFAULT_PARTITION in output
    today = store.local_today()
    [line] = [line for line in output.splitlines() if store.partition_name(today - dt.timedelta(days=3)) in line]
    assert line.split()[-2] == "~2"
    assert store.partition_name(store.local_today() - dt.timedelta(days=40)) in output
