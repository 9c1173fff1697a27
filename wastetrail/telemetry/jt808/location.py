"""The 0x0200 location report, the hot path: a 28-byte basic block and additional items.

The same block is the element of 0x0704 batches, the tail of 0x0201 and the head of 0x0801.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import TYPE_CHECKING, NamedTuple

from .errors import BodyError
from .wire import BCD_VALUE, UTC, bcd_time_bytes

if TYPE_CHECKING:
    from .profiles import Profile

# alarm, status, lat, lon, altitude, speed, heading, time. Altitude is the standard's unsigned
# WORD (as go-jt808, EMQX and xtream-codec read it; Traccar reads it signed): a terminal that
# sends a negative altitude in two's complement shows up as >= 32768 m.
BASIC = struct.Struct(">IIIIHHH6s")
BASIC_SIZE = BASIC.size  # 28

STATUS_ACC = 1 << 0
STATUS_FIXED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3
STATUS_LOAD_SHIFT = 8  # bits 8-9: 00 empty, 01 half, 11 full

_EIGHT_HOURS = dt.timedelta(hours=8)
_datetime = dt.datetime


class Location(NamedTuple):
    """One decoded location. lat_e6/lon_e6 are signed (hemisphere bits applied)."""

    alarm: int
    status: int
    lat_e6: int
    lon_e6: int
    altitude_m: int
    speed_dkmh: int  # 1/10 km/h
    heading: int
    time_utc: dt.datetime | None  # aware UTC (the terminal sends Beijing time); None when not a date
    items: dict[int, bytes]  # additional items, raw, by id
    time_bcd: bytes = b"\x00" * 6  # the BCD[6] as sent (kept for a faithful re-encoding)
    trailing: bytes = b""  # bytes after the last whole item (a truncated item): kept, not an error

    @property
    def time_local(self) -> dt.datetime | None:
        """The time as the terminal sent it: naive Beijing time (GMT+8)."""
        return None if self.time_utc is None else (self.time_utc + _EIGHT_HOURS).replace(tzinfo=None)

    @property
    def acc_on(self) -> bool:
        return bool(self.status & STATUS_ACC)

    @property
    def fixed(self) -> bool:
        return bool(self.status & STATUS_FIXED)

    @property
    def load(self) -> int:
        """Status bits 8-9: 0 empty, 1 half, 2 reserved, 3 full."""
        return (self.status >> STATUS_LOAD_SHIFT) & 0x3

    def extras(self, profile: Profile | None = None) -> dict:
        """Additional items as a JSON-able dict: standard ids under named keys with units, the
        profile's vendor ids as it decodes them, anything else as {"0xNN": "hex"}."""
        from .profiles import STANDARD

        return (profile or STANDARD).extras(self.items)


_new_location = tuple.__new__  # NamedTuple's generated __new__ costs a Python call per location
_unpack_basic = BASIC.unpack_from


def decode_location(body: bytes, offset: int = 0, end: int | None = None) -> Location:
    """Decode a location block starting at `offset`; additional items run to `end` (default: the
    end of body). Raises BodyError when the basic block is truncated."""
    if end is None:
        end = len(body)
    elif end > len(body):
        raise BodyError(f"location: ends at byte {end}, past the {len(body)}-byte body")
    if offset < 0 or end - offset < BASIC_SIZE:
        raise BodyError(f"location: {max(0, end - offset)} bytes, the basic block needs 28")
    alarm, status, lat, lon, altitude, speed, heading, time_bcd = _unpack_basic(body, offset)
    if status & 0x0C:  # south / west
        if status & STATUS_SOUTH:
            lat = -lat
        if status & STATUS_WEST:
            lon = -lon
    bcd = BCD_VALUE
    try:
        utc = _datetime(2000 + bcd[time_bcd[0]], bcd[time_bcd[1]], bcd[time_bcd[2]], bcd[time_bcd[3]],
                        bcd[time_bcd[4]], bcd[time_bcd[5]], tzinfo=UTC) - _EIGHT_HOURS
    except (TypeError, ValueError):  # a nibble above 9 (None) or not a calendar date
        utc = None
    items: dict[int, bytes] = {}
    pos = offset + BASIC_SIZE
    trailing = b""
    while pos < end:
        item_end = pos + 2
        if item_end > end or (item_end := item_end + body[pos + 1]) > end:
            trailing = body[pos:end]
            break
        items[body[pos]] = body[pos + 2:item_end]
        pos = item_end
    return _new_location(Location, (alarm, status, lat, lon, altitude, speed, heading, utc, items, time_bcd,
                                    trailing))


def location_bytes(location: Location) -> bytes:
    """Encode a location block (the whole 0x0200 body)."""
    status = location.status
    lat, lon = location.lat_e6, location.lon_e6
    # The hemisphere bits follow the signs; a zero coordinate keeps whatever bit was given.
    if lat < 0:
        status |= STATUS_SOUTH
    elif lat > 0:
        status &= ~STATUS_SOUTH
    if lon < 0:
        status |= STATUS_WEST
    elif lon > 0:
        status &= ~STATUS_WEST
    time_bcd = location.time_bcd if location.time_utc is None else bcd_time_bytes(location.time_utc)
    try:
        parts = [BASIC.pack(location.alarm, status & 0xFFFFFFFF, abs(lat), abs(lon), location.altitude_m,
                            location.speed_dkmh, location.heading, time_bcd)]
    except struct.error as exc:
        raise BodyError(f"location: {exc}") from None
    for item_id, value in location.items.items():
        if not 0 <= item_id <= 0xFF or len(value) > 0xFF:
            raise BodyError(f"location item 0x{item_id:X}: id must be a byte and its value at most 255 bytes")
        parts.append(bytes((item_id, len(value))) + value)
    parts.append(location.trailing)
    return b"".join(parts)


def make_location(*, time: dt.datetime, lat_e6: int, lon_e6: int, alarm: int = 0, status: int = STATUS_FIXED,
                  altitude_m: int = 0, speed_dkmh: int = 0, heading: int = 0,
                  items: dict[int, bytes] | None = None) -> Location:
    """A Location built from values (what a terminal or the simulator reports). `time` is aware
    (any zone) or naive Beijing time; it is truncated to the second like the protocol."""
    if time.tzinfo is None:
        local = time.replace(microsecond=0)
    else:
        local = (time.astimezone(UTC).replace(tzinfo=None) + _EIGHT_HOURS).replace(microsecond=0)
    time_bcd = bcd_time_bytes(local)
    status &= ~(STATUS_SOUTH | STATUS_WEST)
    status |= (STATUS_SOUTH if lat_e6 < 0 else 0) | (STATUS_WEST if lon_e6 < 0 else 0)
    return Location(alarm, status, lat_e6, lon_e6, altitude_m, speed_dkmh, heading,
                    local.replace(tzinfo=UTC) - _EIGHT_HOURS, dict(items or {}), time_bcd)
