"""store.write_positions: durable, idempotent batches; flags kept; live state moved only forward and
only by trusted positions. Both databases; `postgres` tests exercise the COPY path and partitions."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import DatabaseError, connection

from wastetrail.telemetry import store
from wastetrail.telemetry.models import LoadState, Position, VehicleLiveState
from wastetrail.telemetry.records import PositionFlag as F
from wastetrail.telemetry.records import PositionSource
from wastetrail.telemetry.store import WriteResult, write_positions
from wastetrail.telemetry.tests.test_store_support import (
    ACC_ON,
    FIXED,
    JIANGMEN,
    forget_caches,
    make_vehicles,
    north,
    now,
    position,
)

pytestmark = pytest.mark.django_db
LAT, LON = JIANGMEN


@pytest.fixture(autouse=True)
def clean():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def truck():
    return make_vehicles(1)[0]


def stored(vehicle) -> list[Position]:
    return list(Position.objects.filter(vehicle=vehicle).order_by("device_time"))


def live(vehicle) -> VehicleLiveState:
    return VehicleLiveState.objects.get(vehicle=vehicle)


# --- storage and idempotency ------------------------------------------------------------------

def test_a_batch_is_stored_with_every_column_as_sent(truck):
    t = now() - dt.timedelta(minutes=1)
    received = now()
    record = position(truck.id, t, received_at=received, alarm=(1 << 31) | 1, status=FIXED | ACC_ON | (1 << 30),
                      extras={"mileage_km": 1234.5, "0xE3": "00aa", "cover_open": False},
                      source=PositionSource.BLIND_AREA)
    assert write_positions([record]) == WriteResult(stored=1, duplicates=0)
    [row] = stored(truck)
    assert (row.device_time, row.received_at) == (t, received)
    assert (row.lat_e6, row.lon_e6, row.altitude_m, row.speed_dkmh, row.heading) == (LAT, LON, 12, 300, 90)
    assert row.alarm == (1 << 31) | 1 and row.status == FIXED | ACC_ON | (1 << 30)  # DWORDs kept whole
    assert row.extras == {"mileage_km": 1234.5, "0xE3": "00aa", "cover_open": False}
    assert row.source == PositionSource.BLIND_AREA
    assert row.flags == 0


def test_the_same_batch_twice_is_stored_once(truck):
    batch = [position(truck.id, now() - dt.timedelta(seconds=30 * i)) for i in range(5)]
    assert write_positions(batch) == WriteResult(stored=5, duplicates=0)
    assert write_positions(batch) == WriteResult(stored=0, duplicates=5)
    assert len(stored(truck)) == 5


def test_a_resend_in_a_later_batch_is_a_duplicate_and_the_new_ones_are_stored(truck):
    t = now() - dt.timedelta(minutes=10)
    first = [position(truck.id, t + dt.timedelta(seconds=10 * i)) for i in range(3)]
    write_positions(first)
    resent = first[2]._replace(received_at=now(), speed_dkmh=999)  # the same report, read again later
    later = [resent, position(truck.id, t + dt.timedelta(seconds=40))]
    assert write_positions(later) == WriteResult(stored=1, duplicates=1)
    rows = stored(truck)
    assert len(rows) == 4
    assert rows[2].speed_dkmh == 300  # the first copy stays


def test_duplicates_inside_one_batch_are_stored_once(truck):
    t = now() - dt.timedelta(minutes=1)
    batch = [position(truck.id, t), position(truck.id, t), position(truck.id, t + dt.timedelta(seconds=1))]
    assert write_positions(batch) == WriteResult(stored=2, duplicates=1)


def test_same_time_for_two_vehicles_is_two_positions():
    a, b = make_vehicles(2)
    t = now() - dt.timedelta(minutes=1)
    assert write_positions([position(a.id, t), position(b.id, t)]).stored == 2


def test_an_empty_batch_does_nothing():
    assert write_positions([]) == WriteResult()


def test_positions_of_a_vehicle_not_in_the_registry_are_rejected_and_the_rest_of_the_batch_is_stored(truck, caplog):
    t = now() - dt.timedelta(minutes=1)
    missing = truck.id + 1000
    result = write_positions([position(truck.id, t), position(missing, t), position(missing, t + dt.timedelta(1))])
    assert result == WriteResult(stored=1, duplicates=0, rejected=2)
    assert Position.objects.filter(vehicle_id=missing).count() == 0
    assert not VehicleLiveState.objects.filter(vehicle_id=missing).exists()
    assert live(truck).device_time == t
    assert str(missing) in caplog.text


def test_a_naive_time_is_refused_with_a_clear_message_and_nothing_is_stored(truck):
    t = now() - dt.timedelta(minutes=1)
    naive = position(truck.id, t)._replace(device_time=t.replace(tzinfo=None))
    with pytest.raises(ValueError, match="must be aware"):
        write_positions([position(truck.id, t - dt.timedelta(seconds=1)), naive])
    assert stored(truck) == []


def test_a_batch_that_fails_stores_nothing_and_moves_no_live_state(truck):
    """One transaction per batch: a value no column can hold fails the whole batch, rows written
    before it included (SQLite's executemany has inserted the first row when the second fails)."""
    t = now() - dt.timedelta(minutes=1)
    good = position(truck.id, t)
    bad = position(truck.id, t + dt.timedelta(seconds=1), alarm=2**64)
    with pytest.raises((DatabaseError, OverflowError)):
        write_positions([good, bad])
    assert stored(truck) == []
    assert not VehicleLiveState.objects.filter(vehicle=truck).exists()


# --- flags: kept, never dropped ----------------------------------------------------------------

@pytest.mark.parametrize(("change", "flag"), [
    ({"lat_e6": 0, "lon_e6": 0}, F.ZERO),
    ({"lat_e6": 91_000_000}, F.OUT_OF_RANGE),
    ({"lon_e6": -181_000_000}, F.OUT_OF_RANGE),
    ({"status": ACC_ON}, F.NOT_FIXED),
    ({"device_time_offset": dt.timedelta(hours=2)}, F.FUTURE_TIME),
    ({"device_time_offset": -dt.timedelta(days=500)}, F.BAD_TIME),
    ({"flags": int(F.BAD_TIME)}, F.BAD_TIME),  # the gateway's own flag (no date in the report) is kept
])
def test_an_implausible_position_is_stored_with_its_flag(truck, change, flag):
    change = dict(change)
    received = now()
    t = received + change.pop("device_time_offset", -dt.timedelta(minutes=1))
    write_positions([position(truck.id, t, received_at=received, **change)])
    [row] = stored(truck)
    assert row.flags == flag


def test_an_impossible_jump_is_stored_flagged_and_leaves_the_live_position(truck):
    t = now() - dt.timedelta(minutes=5)
    write_positions([position(truck.id, t)])
    far = position(truck.id, t + dt.timedelta(seconds=60), lat_e6=north(LAT, 100_000))  # 100 km in a minute
    write_positions([far])
    rows = stored(truck)
    assert [r.flags for r in rows] == [0, F.IMPOSSIBLE_JUMP]
    state = live(truck)
    assert (state.device_time, state.lat_e6) == (t, LAT)
    assert state.last_frame_at == far.received_at


def test_a_drive_at_truck_speed_is_not_a_jump(truck):
    t = now() - dt.timedelta(minutes=10)
    drive = [position(truck.id, t + dt.timedelta(seconds=30 * i), lat_e6=north(LAT, 600 * i)) for i in range(10)]
    write_positions(drive[:5])
    write_positions(drive[5:])  # the second batch is checked against the live state the first left
    assert {r.flags for r in stored(truck)} == {0}
    assert live(truck).device_time == drive[-1].device_time


def test_a_spike_inside_a_batch_is_flagged_and_the_positions_after_it_are_not(truck):
    t = now() - dt.timedelta(minutes=5)
    batch = [position(truck.id, t), position(truck.id, t + dt.timedelta(seconds=10), lat_e6=north(LAT, 30_000)),
             position(truck.id, t + dt.timedelta(seconds=20), lat_e6=north(LAT, 200))]
    write_positions(batch)
    assert [r.flags for r in stored(truck)] == [0, F.IMPOSSIBLE_JUMP, 0]
    assert live(truck).lat_e6 == north(LAT, 200)


def test_blind_area_positions_older_than_the_live_one_are_not_judged_against_it(truck):
    t = now()
    # The truck is 60 km away now; an hour-old blind-area upload from near the start arrives after.
    write_positions([position(truck.id, t - dt.timedelta(minutes=1), lat_e6=north(LAT, 60_000))])
    backfill = [position(truck.id, t - dt.timedelta(minutes=60) + dt.timedelta(seconds=10 * i),
                         lat_e6=north(LAT, 100 * i), source=PositionSource.BLIND_AREA) for i in range(5)]
    backfill[2] = backfill[2]._replace(lat_e6=north(LAT, 40_000))  # with one spike among them
    write_positions(backfill)
    flags = [r.flags for r in stored(truck)]
    assert flags == [0, 0, F.IMPOSSIBLE_JUMP, 0, 0, 0]
    assert live(truck).lat_e6 == north(LAT, 60_000)  # older positions never move the live state


def test_three_consistent_jumps_in_a_row_move_the_vehicle(truck, django_capture_on_commit_callbacks):
    """A wrong reference (or a truck carried while its terminal was off) does not freeze the map."""
    t = now() - dt.timedelta(minutes=5)
    write_positions([position(truck.id, t)])
    moved = [position(truck.id, t + dt.timedelta(seconds=10 * (i + 1)), lat_e6=north(LAT, 80_000 + 50 * i))
             for i in range(3)]
    for record in moved:  # one batch each: the streak is remembered between batches (after commit)
        with django_capture_on_commit_callbacks(execute=True):
            write_positions([record])
    assert [r.flags for r in stored(truck)] == [0, F.IMPOSSIBLE_JUMP, F.IMPOSSIBLE_JUMP, 0]
    assert live(truck).lat_e6 == north(LAT, 80_100)


# --- live state ----------------------------------------------------------------------------------

def test_live_state_takes_the_newest_position_of_a_batch_whatever_the_order(truck):
    t = now() - dt.timedelta(minutes=5)
    batch = [position(truck.id, t + dt.timedelta(seconds=s), lat_e6=north(LAT, s)) for s in (20, 40, 10, 30)]
    write_positions(batch)
    state = live(truck)
    assert (state.device_time, state.lat_e6) == (t + dt.timedelta(seconds=40), north(LAT, 40))


def test_an_older_batch_arriving_later_does_not_move_the_live_position_but_counts_as_a_frame(truck):
    t = now() - dt.timedelta(minutes=5)
    write_positions([position(truck.id, t, received_at=t + dt.timedelta(seconds=1))])
    late = position(truck.id, t - dt.timedelta(minutes=3), lat_e6=north(LAT, 300), received_at=now(),
                    source=PositionSource.BLIND_AREA)
    write_positions([late])
    state = live(truck)
    assert (state.device_time, state.lat_e6) == (t, LAT)
    assert state.last_frame_at == late.received_at


def test_last_frame_time_never_goes_back(truck):
    t = now() - dt.timedelta(minutes=5)
    first_received = now()
    write_positions([position(truck.id, t, received_at=first_received)])
    # A newer position read earlier (another gateway's batch, processed late) is a frame of the past.
    write_positions([position(truck.id, t + dt.timedelta(seconds=1), received_at=t + dt.timedelta(seconds=2))])
    state = live(truck)
    assert state.last_frame_at == first_received
    assert state.device_time == t + dt.timedelta(seconds=1)


@pytest.mark.parametrize(("change", "flag"), [
    ({"lat_e6": 0, "lon_e6": 0}, F.ZERO),
    ({"lat_e6": 95_000_000}, F.OUT_OF_RANGE),
    ({"device_time_offset": dt.timedelta(days=1)}, F.FUTURE_TIME),
])
def test_an_untrusted_position_does_not_move_the_live_state_but_updates_the_last_frame(truck, change, flag):
    t = now() - dt.timedelta(minutes=5)
    write_positions([position(truck.id, t, status=FIXED)])
    change = dict(change)
    received = now()
    later = received + change.pop("device_time_offset", -dt.timedelta(seconds=30))
    bad = position(truck.id, later, received_at=received, status=FIXED | ACC_ON, **change)
    write_positions([bad])
    assert stored(truck)[-1].flags & flag
    state = live(truck)
    assert (state.device_time, state.lat_e6, state.acc_on) == (t, LAT, False)
    assert state.last_frame_at == received


def test_a_not_fixed_position_still_moves_the_live_state(truck):
    """No fix: the terminal repeats its last place, and its status bits (ACC, load) are current."""
    t = now() - dt.timedelta(minutes=1)
    write_positions([position(truck.id, t, status=ACC_ON)])
    state = live(truck)
    assert state.device_time == t and state.flags == F.NOT_FIXED and state.acc_on is True


def test_a_first_report_with_nothing_trusted_creates_a_live_row_without_a_position(truck):
    write_positions([position(truck.id, now() - dt.timedelta(seconds=5), lat_e6=0, lon_e6=0)])
    state = live(truck)
    assert state.device_time is None and state.lat_e6 is None
    assert state.last_frame_at is not None and state.online is False


@pytest.mark.parametrize(("bits", "load"), [
    (0b00, LoadState.EMPTY), (0b01, LoadState.HALF), (0b10, LoadState.UNKNOWN), (0b11, LoadState.FULL)])
def test_live_load_comes_from_status_bits_8_and_9(truck, bits, load):
    write_positions([position(truck.id, now() - dt.timedelta(seconds=5), status=FIXED | (bits << 8))])
    assert live(truck).load == load


def test_live_state_carries_acc_cover_and_lift_of_the_newest_position(truck):
    t = now() - dt.timedelta(minutes=1)
    write_positions([
        position(truck.id, t, status=FIXED | ACC_ON, extras={"cover_open": False, "body_lifted": False}),
        position(truck.id, t + dt.timedelta(seconds=10), status=FIXED, extras={"cover_open": True, "body_lifted": True},
                 alarm=4),
    ])
    state = live(truck)
    assert (state.acc_on, state.cover_open, state.body_lifted, state.alarm) == (False, True, True, 4)
    write_positions([position(truck.id, t + dt.timedelta(seconds=20), extras={"cover_open": "yes"})])
    state = live(truck)
    assert (state.cover_open, state.body_lifted) == (None, None)  # absent or not a boolean: unknown


def test_writing_positions_leaves_online_alone(truck):
    write_positions([position(truck.id, now() - dt.timedelta(seconds=5))])
    assert live(truck).online is False  # online is what the gateway saw (live.vehicle_online)
    VehicleLiveState.objects.filter(vehicle=truck).update(online=True)
    write_positions([position(truck.id, now() - dt.timedelta(seconds=1))])
    assert live(truck).online is True


# --- PostgreSQL: COPY and day partitions -------------------------------------------------------

def partition_of(vehicle_id: int, device_time: dt.datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM telemetry_position WHERE vehicle_id = %s "
                       "AND device_time = %s", [vehicle_id, device_time])
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_postgresql_writes_through_the_copy_staging_table(truck):
    write_positions([position(truck.id, now() - dt.timedelta(seconds=5))])
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.telemetry_position_staging') IS NOT NULL")
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT count(*) FROM telemetry_position_staging")
        assert cursor.fetchone()[0] == 0  # emptied as the rows move


@pytest.mark.postgres
def test_postgresql_puts_each_local_day_in_its_own_partition_and_creates_tomorrows(truck):
    today = store.local_today()
    three_days_ago = store.day_bounds(today - dt.timedelta(days=3))[0] + dt.timedelta(hours=1)
    recent = now() - dt.timedelta(seconds=5)
    write_positions([position(truck.id, three_days_ago), position(truck.id, recent)])
    assert partition_of(truck.id, three_days_ago) == store.partition_name(today - dt.timedelta(days=3))
    assert partition_of(truck.id, recent) == store.partition_name(recent.astimezone(store.day_bounds(today)[0].tzinfo)
                                                                  .date())
    assert today + dt.timedelta(days=1) in store.partitions_existing()


@pytest.mark.postgres
def test_postgresql_partition_days_are_local_days(truck, settings):
    # 23:30 UTC is 07:30 the next morning in China.
    today = store.local_today()
    t = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(23, 30), tzinfo=dt.UTC)
    write_positions([position(truck.id, t)])
    assert partition_of(truck.id, t) == store.partition_name(today - dt.timedelta(days=1))


@pytest.mark.postgres
def test_postgresql_device_times_outside_the_window_go_to_the_default_partition_flagged(truck, settings):
    settings.POSITION_RETENTION_DAYS = 10
    received = now()
    old = received - dt.timedelta(days=20)
    future = received + dt.timedelta(days=5)
    write_positions([position(truck.id, old, received_at=received), position(truck.id, future, received_at=received)])
    assert partition_of(truck.id, old) == store.DEFAULT_PARTITION
    assert partition_of(truck.id, future) == store.DEFAULT_PARTITION
    assert [r.flags for r in stored(truck)] == [F.BAD_TIME, F.FUTURE_TIME]
    assert store.local_today() - dt.timedelta(days=20) not in store.partitions_existing()


@pytest.mark.postgres
def test_postgresql_a_day_that_enters_the_window_moves_its_rows_out_of_the_default_partition(truck, settings):
    """PostgreSQL refuses to create a partition for rows the default partition holds: the store
    moves them into the new day's partition."""
    settings.POSITION_RETENTION_DAYS = 10
    received = now()
    old = received - dt.timedelta(days=20)
    write_positions([position(truck.id, old, received_at=received)])
    assert partition_of(truck.id, old) == store.DEFAULT_PARTITION

    settings.POSITION_RETENTION_DAYS = 30  # now that day is inside the window
    other, = make_vehicles(1)
    write_positions([position(other.id, old + dt.timedelta(seconds=1), received_at=received)])
    day = store.partition_name(old.astimezone(store.day_bounds(store.local_today())[0].tzinfo).date())
    assert partition_of(truck.id, old) == day
    assert partition_of(other.id, old + dt.timedelta(seconds=1)) == day
    assert len(stored(truck)) == 1  # moved, not copied
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {store.DEFAULT_PARTITION}")
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
def test_postgresql_a_partition_is_created_once(truck):
    today = store.local_today()
    assert store.partitions_ensure(days=[today], today=today) == [today, today + dt.timedelta(days=1)]
    assert store.partitions_ensure(days=[today], today=today) == []


@pytest.mark.postgres
def test_postgresql_a_busy_table_delays_the_partition_but_not_the_positions(truck, caplog):
    """A long read holds the table: creating a partition would stall every writer behind it. The
    store gives up after a moment and does not try again for a while (one wait, not one per
    batch); the rows go to the default partition, and a later batch creates the day's partition
    and moves them there."""
    day_start = store.day_bounds(store.local_today() - dt.timedelta(days=5))[0]
    settings_dict = connection.settings_dict
    reader = psycopg.connect(dbname=settings_dict["NAME"], user=settings_dict["USER"], host=settings_dict["HOST"],
                             port=settings_dict["PORT"] or 5432, password=settings_dict["PASSWORD"])
    busy = [position(truck.id, day_start + dt.timedelta(hours=h), received_at=now()) for h in (1, 2)]
    try:
        reader.execute("SELECT count(*) FROM telemetry_position")  # holds its lock until the transaction ends
        for record in busy:
            assert write_positions([record]).stored == 1
            assert partition_of(truck.id, record.device_time) == store.DEFAULT_PARTITION
    finally:
        reader.close()
    assert caplog.text.count("position partitions not created (table busy)") == 1

    store.forget_partitions()  # as when the back-off has passed
    later = position(truck.id, day_start + dt.timedelta(hours=3), received_at=now())
    assert write_positions([later]).stored == 1
    day = store.partition_name(store.local_today() - dt.timedelta(days=5))
    assert {partition_of(truck.id, r.device_time) for r in [*busy, later]} == {day}


@pytest.mark.postgres
def test_postgresql_binary_copy_types_match_the_tables():
    """Binary COPY sends each value as the declared type; a column changed in the model without its
    entry in store.POSITION_TYPES / LIVE_TYPES would garble or refuse every batch."""
    short = {"bigint": "int8", "integer": "int4", "smallint": "int2", "boolean": "bool", "jsonb": "jsonb",
             "timestamp with time zone": "timestamptz", "character varying(8)": "text"}

    def types(table, columns):
        with connection.cursor() as cursor:
            cursor.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = %s::regclass AND attnum > 0", [table])
            found = dict(cursor.fetchall())
        return tuple(short[found[column]] for column in columns)

    assert types("telemetry_position", store.POSITION_COLUMNS) == store.POSITION_TYPES
    assert types("telemetry_vehicle_live", store.LIVE_COLUMNS) == store.LIVE_TYPES
