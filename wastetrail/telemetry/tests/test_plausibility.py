"""The plausibility rules on their own (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from wastetrail.telemetry.plausibility import (
    CLOCK_TOLERANCE,
    JUMP_TOLERANCE_M,
    Fix,
    Track,
    check_jumps,
    follow,
    haversine_m,
    place_flags,
    plausible_move,
    time_flags,
)
from wastetrail.telemetry.records import PositionFlag as F

T0 = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)
LAT, LON = 22_578_000, 113_081_000
FIXED = 2


def at(seconds: float, metres_north: float = 0.0) -> Fix:
    return Fix(T0 + dt.timedelta(seconds=seconds), LAT + round(metres_north / 0.11119), LON)


def test_haversine_gives_one_degree_of_latitude_as_about_111_km():
    assert haversine_m(0, 0, 1_000_000, 0) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(LAT, LON, LAT, LON) == 0


def test_haversine_across_the_antimeridian_is_short():
    assert haversine_m(0, 179_999_000, 0, -179_999_000) == pytest.approx(222.4, rel=1e-2)


@pytest.mark.parametrize(("lat", "lon", "status", "expected"), [
    (LAT, LON, FIXED, F(0)),
    (LAT, LON, 0, F.NOT_FIXED),
    (0, 0, FIXED, F.ZERO),
    (0, 0, 0, F.ZERO | F.NOT_FIXED),
    (0, LON, FIXED, F(0)),  # on the equator, not "nothing yet"
    (90_000_001, LON, FIXED, F.OUT_OF_RANGE),
    (-90_000_001, LON, FIXED, F.OUT_OF_RANGE),
    (LAT, 180_000_001, FIXED, F.OUT_OF_RANGE),
    (LAT, -180_000_000, FIXED, F(0)),
    (4_294_967_295, LON, FIXED, F.OUT_OF_RANGE),  # a DWORD's worth of junk
])
def test_place_flags(lat, lon, status, expected):
    assert place_flags(lat_e6=lat, lon_e6=lon, status=status) == expected


@pytest.mark.parametrize(("device_offset", "expected"), [
    (dt.timedelta(0), F(0)),
    (-dt.timedelta(days=29), F(0)),  # a blind-area buffer a month old
    (-dt.timedelta(days=31), F.BAD_TIME),  # older than the limit
    (CLOCK_TOLERANCE, F(0)),
    (CLOCK_TOLERANCE + dt.timedelta(seconds=1), F.FUTURE_TIME),
])
def test_time_flags(device_offset, expected):
    received = T0
    assert time_flags(device_time=received + device_offset, received_at=received,
                      max_age=dt.timedelta(days=30)) == expected


def test_times_before_2000_are_bad_even_without_an_age_limit():
    assert time_flags(device_time=dt.datetime(1999, 12, 31, tzinfo=dt.UTC), received_at=T0, max_age=None) == F.BAD_TIME
    assert time_flags(device_time=T0 - dt.timedelta(days=3000), received_at=T0, max_age=None) == F(0)


def test_noise_below_the_tolerance_is_never_a_jump_even_in_the_same_second():
    assert plausible_move(at(0), at(0, JUMP_TOLERANCE_M - 5))
    assert not plausible_move(at(0), at(1, JUMP_TOLERANCE_M + 100))


def test_a_jump_is_judged_by_the_speed_it_implies():
    # 10 minutes at 150 km/h is 25 km (plus the tolerance).
    assert plausible_move(at(0), at(600, 25_000))
    assert not plausible_move(at(0), at(600, 27_000))
    assert plausible_move(at(600, 25_000), at(0))  # the order of the two does not matter


def test_a_spike_is_flagged_and_the_next_real_fix_is_judged_against_the_last_trusted_one():
    track = Track(reference=at(0))
    jumps, track = check_jumps(track, [at(10, 50_000), at(20, 100)])
    assert jumps == [True, False]
    assert track.reference == at(20, 100)


def test_the_first_fix_of_a_vehicle_is_trusted():
    jump, track = follow(Track(), at(0, 9_999_999))
    assert not jump and track.reference == at(0, 9_999_999)


def test_consistent_jumps_in_a_row_move_the_reference_on_the_third():
    """The reference itself was wrong (or the truck was carried): the vehicle is not stuck for ever."""
    track = Track(reference=at(0))
    jumps, track = check_jumps(track, [at(10, 80_000), at(20, 80_100), at(30, 80_200), at(40, 80_300)])
    assert jumps == [True, True, False, False]
    assert track.reference == at(40, 80_300)


def test_inconsistent_jumps_do_not_add_up():
    track = Track(reference=at(0))
    jumps, track = check_jumps(track, [at(10, 80_000), at(20, -80_000), at(30, 80_000)])
    assert jumps == [True, True, True]
    assert track.reference == at(0)


def test_fixes_of_one_batch_are_checked_in_time_order_whatever_order_they_came_in():
    track = Track(reference=at(0))
    jumps, track = check_jumps(track, [at(30, 300), at(10, 100), at(20, 50_000)])
    assert jumps == [False, False, True]
    assert track.reference == at(30, 300)


def test_blind_area_fixes_older_than_the_reference_are_checked_only_against_each_other():
    # The vehicle is now 60 km north; the backfill is from an hour ago, near the origin.
    track = Track(reference=at(3600, 60_000))
    backfill = [at(0), at(10, 100), at(20, 40_000), at(30, 200)]
    jumps, after = check_jumps(track, backfill)
    assert jumps == [False, False, True, False]  # the oldest is not checked; the spike among them is
    assert after == track  # and they leave the live reference alone
