"""Is a reported position believable? Pure functions, no Django, no I/O.

The store flags what fails (records.PositionFlag) and keeps it: a flagged position is evidence
too (a terminal that keeps reporting 0,0 is a broken terminal, or a tampered one).

Jumps: a position is an IMPOSSIBLE_JUMP when it is farther from the vehicle's last trusted fix
than a truck can drive in the time between them (plus a tolerance for GNSS noise). Two rules
keep one bad fix from doing lasting harm:

- the reference is the last *trusted* fix, so one spike is flagged and the next real position,
  near the old one, is not;
- when ``JUMP_CONFIRMATIONS`` positions in a row are flagged yet agree with each other, the
  vehicle really is there (the reference itself was wrong, or the terminal was off while the
  truck was carried): the last of them is accepted and becomes the reference. The earlier
  ones keep their flag.

Out-of-order positions (a 0x0704 blind-area upload arriving after newer live reports) are not
compared with the live reference, which is newer than they are; they are checked against their
neighbours in the same batch, in time order, and the oldest of them is not checked at all. They
never change the reference.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from wastetrail.telemetry.records import PositionFlag

MAX_TRUCK_SPEED_KMH = 150  # a loaded muck truck does not go faster; a spike usually implies far more
JUMP_TOLERANCE_M = 500.0  # GNSS noise and multipath near tall buildings: never a jump below this
JUMP_CONFIRMATIONS = 3  # consecutive mutually consistent "jumps" that move the reference
CLOCK_TOLERANCE = dt.timedelta(minutes=10)  # device clock ahead of the gateway's before FUTURE_TIME
EARLIEST_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # JT/T 808 years are 20YY: anything before is junk

EARTH_RADIUS_M = 6_371_008.8
_METRES_PER_MICRODEGREE = EARTH_RADIUS_M * math.pi / 180 / 1_000_000
MAX_LAT_E6 = 90_000_000
MAX_LON_E6 = 180_000_000
STATUS_FIXED = 1 << 1  # status bit 1: the receiver has a fix

# Plain ints on the hot path: IntFlag arithmetic costs a microsecond an operation, per row.
_NOT_FIXED, _ZERO, _OUT_OF_RANGE = int(PositionFlag.NOT_FIXED), int(PositionFlag.ZERO), int(PositionFlag.OUT_OF_RANGE)
_BAD_TIME, _FUTURE_TIME = int(PositionFlag.BAD_TIME), int(PositionFlag.FUTURE_TIME)

# A position with one of these flags says nothing reliable about where the vehicle is *now*: it
# is not jump-checked against, does not become the reference and does not move the live state.
UNTRUSTED = int(PositionFlag.ZERO | PositionFlag.OUT_OF_RANGE | PositionFlag.IMPOSSIBLE_JUMP
                | PositionFlag.BAD_TIME | PositionFlag.FUTURE_TIME)
# Flags that make the jump check meaningless (no place, or no time, to compare).
UNCHECKABLE = int(PositionFlag.ZERO | PositionFlag.OUT_OF_RANGE | PositionFlag.BAD_TIME | PositionFlag.FUTURE_TIME)


def haversine_m(lat1_e6: int, lon1_e6: int, lat2_e6: int, lon2_e6: int) -> float:
    """Great-circle distance in metres between two points in micro-degrees."""
    lat1, lon1, lat2, lon2 = (math.radians(v / 1_000_000) for v in (lat1_e6, lon1_e6, lat2_e6, lon2_e6))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def place_flags(*, lat_e6: int, lon_e6: int, status: int) -> int:
    """PositionFlag bits (as an int) for the place: NOT_FIXED, ZERO, OUT_OF_RANGE."""
    flags = 0 if status & STATUS_FIXED else _NOT_FIXED
    if lat_e6 == 0 and lon_e6 == 0:
        flags |= _ZERO
    elif abs(lat_e6) > MAX_LAT_E6 or abs(lon_e6) > MAX_LON_E6:
        flags |= _OUT_OF_RANGE
    return flags


def time_flags(*, device_time: dt.datetime, received_at: dt.datetime, max_age: dt.timedelta | None,
               tolerance: dt.timedelta = CLOCK_TOLERANCE) -> int:
    """PositionFlag bits (as an int) for the time. FUTURE_TIME: the device's clock is ahead of the
    gateway's by more than `tolerance`. BAD_TIME: older than `max_age` before it was received (or
    before 2000): a reset clock, not a blind-area buffer. `max_age` None: no age limit."""
    if device_time > received_at + tolerance:
        return _FUTURE_TIME
    if device_time < EARLIEST_TIME or (max_age is not None and device_time < received_at - max_age):
        return _BAD_TIME
    return 0


@dataclass(frozen=True, slots=True)
class Fix:
    time: dt.datetime
    lat_e6: int
    lon_e6: int


def plausible_move(a: Fix, b: Fix, *, max_speed_kmh: float = MAX_TRUCK_SPEED_KMH,
                   tolerance_m: float = JUMP_TOLERANCE_M) -> bool:
    """Could a truck get from a to b in the time between them?"""
    reach_m = tolerance_m + max_speed_kmh / 3.6 * abs((b.time - a.time).total_seconds())
    # Cheap bound first (almost every fix passes it): along the meridian, then along the parallel,
    # is never shorter than the great circle, and a parallel's degree is at most a meridian's.
    if (abs(b.lat_e6 - a.lat_e6) + abs(b.lon_e6 - a.lon_e6)) * _METRES_PER_MICRODEGREE <= reach_m:
        return True
    return haversine_m(a.lat_e6, a.lon_e6, b.lat_e6, b.lon_e6) <= reach_m


@dataclass(frozen=True, slots=True)
class Track:
    """What the jump check remembers of one vehicle between positions."""

    reference: Fix | None = None  # the last trusted fix
    suspect: Fix | None = None  # the last fix flagged as a jump
    suspects: int = 0  # flagged fixes in a row that agree with each other, ending with `suspect`


def follow(track: Track, fix: Fix) -> tuple[bool, Track]:
    """(is this fix an impossible jump?, the track after it). Fixes must come in time order."""
    if track.reference is None or plausible_move(track.reference, fix):
        return False, Track(reference=fix)
    if track.suspect is not None and plausible_move(track.suspect, fix):
        suspects = track.suspects + 1
    else:
        suspects = 1
    if suspects >= JUMP_CONFIRMATIONS:
        return False, Track(reference=fix)
    return True, Track(reference=track.reference, suspect=fix, suspects=suspects)


def check_jumps(track: Track, fixes: Sequence[Fix]) -> tuple[list[bool], Track]:
    """Jump flags for one vehicle's checkable fixes in a batch (any order; the answer is in the
    same order), and the vehicle's track after the newest of them.

    Fixes newer than the reference continue the track; the others (blind-area uploads) are
    checked only against each other, oldest first, and leave the track alone.
    """
    jumps = [False] * len(fixes)
    order = sorted(range(len(fixes)), key=lambda i: fixes[i].time)
    newest = track.reference.time if track.reference is not None else None
    late = [i for i in order if newest is not None and fixes[i].time <= newest]
    onward = [i for i in order if newest is None or fixes[i].time > newest]
    backfill = Track()
    for i in late:
        jumps[i], backfill = follow(backfill, fixes[i])
    for i in onward:
        jumps[i], track = follow(track, fixes[i])
    return jumps, track
