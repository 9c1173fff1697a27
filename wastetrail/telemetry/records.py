"""What the gateway hands to position storage, whichever hand-off carries it (in-process or NATS).

A plain named tuple on purpose: the gateway builds tens of thousands a second, and the NATS
hand-off serialises them (see `as_wire` / `from_wire`), so they stay small, flat and picklable.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import NamedTuple

UTC = dt.UTC


class PositionSource(enum.IntEnum):
    """Which message carried the position."""

    LIVE = 0  # 0x0200 location report
    BATCH = 1  # 0x0704 type 0: a normal batch upload
    BLIND_AREA = 2  # 0x0704 type 1: positions buffered while the terminal had no signal
    QUERY_REPLY = 3  # 0x0201, the answer to the platform's 0x8201


class PositionFlag(enum.IntFlag):
    """Why a stored position is not trusted. Flagged positions are kept, never dropped."""

    NOT_FIXED = 1  # status bit 1 clear: the receiver had no fix
    ZERO = 2  # latitude and longitude both 0 (a receiver's "nothing yet")
    OUT_OF_RANGE = 4  # latitude beyond ±90° or longitude beyond ±180°
    IMPOSSIBLE_JUMP = 8  # farther from the previous position than a truck can drive in the time
    BAD_TIME = 16  # device time missing or not a date; received_at stands in for it
    FUTURE_TIME = 32  # device time later than the receive time by more than the clock tolerance


class PositionRecord(NamedTuple):
    vehicle_id: int
    terminal_phone: str
    device_time: dt.datetime  # aware, UTC (the terminal reports GMT+8; the codec converts)
    received_at: dt.datetime  # aware, UTC: when the gateway read the frame
    lat_e6: int  # WGS-84 micro-degrees, signed (south negative)
    lon_e6: int  # WGS-84 micro-degrees, signed (west negative)
    altitude_m: int
    speed_dkmh: int  # 1/10 km/h, as the protocol sends it
    heading: int  # 0-359, clockwise from north
    alarm: int  # alarm bits (JT/T 808 table 24)
    status: int  # status bits (table 25)
    extras: dict  # decoded additional items, JSON-able; unknown ids as {"0xNN": "hex"}
    source: int = PositionSource.LIVE
    flags: int = 0  # PositionFlag bits; storage adds IMPOSSIBLE_JUMP against the previous fix

    def as_wire(self) -> list:
        """A JSON-able list (times as integer microseconds since the epoch)."""
        return [self.vehicle_id, self.terminal_phone, _micros(self.device_time), _micros(self.received_at),
                self.lat_e6, self.lon_e6, self.altitude_m, self.speed_dkmh, self.heading, self.alarm,
                self.status, self.extras, int(self.source), int(self.flags)]

    @classmethod
    def from_wire(cls, values: list) -> PositionRecord:
        values = list(values)
        values[2] = _from_micros(values[2])
        values[3] = _from_micros(values[3])
        return cls(*values)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)
