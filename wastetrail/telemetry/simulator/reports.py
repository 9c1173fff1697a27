"""What a terminal reports: a truck's state as a JT/T 808 location (0x0200 body / 0x0704 element)."""

from __future__ import annotations

import datetime as dt
import struct

from wastetrail.telemetry.jt808 import STATUS_ACC, STATUS_FIXED, Location, make_location
from wastetrail.telemetry.simulator.motion import DumpRecord, TruckState

STATUS_LOADED = 0b11 << 8  # bits 8-9: 11 full (00 empty)
STATUS_GPS = 1 << 18
STATUS_BEIDOU = 1 << 19
ITEM_ODOMETER = 0x01  # DWORD, 1/10 km
ITEM_SIGNAL = 0x30  # BYTE, wireless signal strength
ITEM_SATELLITES = 0x31  # BYTE, GNSS satellites in use
ITEM_DUMP = 0xE3  # muck-truck profile: result + start BCD[6] + end BCD[6] (PROTOCOL.md §7)
ITEM_COVER_LIFT = 0xE4  # muck-truck profile: DWORD, bit 0 cover open / bit 1 lifted outside a permitted area
COVER_OUTSIDE = 1 << 0
LIFT_OUTSIDE = 1 << 1
_U32 = struct.Struct(">I")
_BEIJING = dt.timezone(dt.timedelta(hours=8))


def status_bits(state: TruckState) -> int:
    status = STATUS_GPS | STATUS_BEIDOU
    if state.acc:
        status |= STATUS_ACC
    if state.fixed:
        status |= STATUS_FIXED
    if state.loaded:
        status |= STATUS_LOADED
    return status


def muck_bits(state: TruckState) -> int:
    return (COVER_OUTSIDE if state.cover_outside else 0) | (LIFT_OUTSIDE if state.lift_outside else 0)


def bcd_time(moment: float) -> bytes:
    """Epoch seconds as the protocol's BCD[6] YYMMDDhhmmss in Beijing time."""
    return bytes.fromhex(dt.datetime.fromtimestamp(int(moment), tz=_BEIJING).strftime("%y%m%d%H%M%S"))


def dump_item(record: DumpRecord) -> bytes:
    return bytes((1 if record.abnormal else 0,)) + bcd_time(record.start) + bcd_time(record.end)


def location_for(state: TruckState, dump: DumpRecord | None = None, *, alarm: int = 0) -> Location:
    """The 0x0200 location for a state; `dump` adds the one-off 0xE3 record of a finished dump."""
    moment = int(state.time)
    items = {
        ITEM_ODOMETER: _U32.pack(int(state.odometer_m // 100) & 0xFFFFFFFF),
        ITEM_SIGNAL: bytes((20 + moment % 9 if state.signal else 0,)),
        ITEM_SATELLITES: bytes((9 + (moment // 60) % 8 if state.fixed else 0,)),
        ITEM_COVER_LIFT: _U32.pack(muck_bits(state)),
    }
    if dump is not None:
        items[ITEM_DUMP] = dump_item(dump)
    lon, lat = state.point
    return make_location(
        time=dt.datetime.fromtimestamp(moment, tz=dt.UTC), lat_e6=int(round(lat * 1e6)), lon_e6=int(round(lon * 1e6)),
        alarm=alarm | state.alarm, status=status_bits(state), altitude_m=state.altitude_m,
        speed_dkmh=min(int(round(state.speed_kmh * 10)), 0xFFFF), heading=state.heading % 360, items=items,
    )
