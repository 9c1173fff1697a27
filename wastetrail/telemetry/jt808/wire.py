"""Field-level helpers shared by the bodies: a bounds-checked reader, BCD and GBK strings.

Every failure becomes a `BodyError`, so a decoder built on `Reader` cannot leak an IndexError,
struct.error or UnicodeDecodeError whatever the input.
"""

from __future__ import annotations

import datetime as dt
import struct

from .errors import BodyError

UTC = dt.UTC
CHINA_OFFSET = dt.timedelta(hours=8)  # JT/T 808 times are Beijing time (GMT+8) throughout

# BCD byte -> its two-digit value, or None when a nibble is not a decimal digit.
BCD_VALUE: tuple[int | None, ...] = tuple(
    (hi * 10 + lo) if hi < 10 and lo < 10 else None for hi, lo in ((b >> 4, b & 0x0F) for b in range(256))
)

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Reader:
    """Reads big-endian fields from a body, raising BodyError (with the field's name) past the end."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0):
        self.data = data
        self.pos = pos
        self.what = what

    def _take(self, n: int, field: str) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise BodyError(
                f"{self.what}: body ends at byte {len(self.data)}, {field} needs bytes {self.pos}..{end - 1}"
            )
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self, field: str) -> int:
        return self._take(1, field)[0]

    def u16(self, field: str) -> int:
        return _U16.unpack(self._take(2, field))[0]

    def u32(self, field: str) -> int:
        return _U32.unpack(self._take(4, field))[0]

    def raw(self, n: int, field: str) -> bytes:
        return self._take(n, field)

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def fixed_text(self, n: int, field: str) -> str:
        return decode_text(self._take(n, field).rstrip(b"\x00 "))

    def text(self, n: int, field: str) -> str:
        return decode_text(self._take(n, field))

    def rest_text(self) -> str:
        return decode_text(self.rest())


def decode_text(raw: bytes) -> str:
    """GBK (the standard's STRING); undecodable bytes become U+FFFD rather than failing the message."""
    return raw.decode("gbk", errors="replace")


def encode_text(text: str, field: str) -> bytes:
    try:
        return text.encode("gbk")
    except UnicodeEncodeError as exc:
        raise BodyError(f"{field}: {text!r} cannot be written in GBK ({exc.reason})") from None


def fixed_bytes(text: str, size: int, field: str, pad: bytes = b"\x00") -> bytes:
    raw = encode_text(text, field)
    if len(raw) > size:
        raise BodyError(f"{field}: {len(raw)} bytes in GBK, the field holds {size}")
    return raw + pad * (size - len(raw))


def u8(value: int) -> bytes:
    return _U8.pack(value)


def u16(value: int) -> bytes:
    return _U16.pack(value)


def u32(value: int) -> bytes:
    return _U32.pack(value)


def bcd_time_local(raw: bytes) -> dt.datetime | None:
    """BCD[6] YYMMDDhhmmss as a naive Beijing-time datetime, or None when it is not a date."""
    if len(raw) != 6:
        return None
    values = [BCD_VALUE[b] for b in raw]
    if None in values:
        return None
    try:
        return dt.datetime(2000 + values[0], values[1], values[2], values[3], values[4], values[5])
    except ValueError:
        return None


def local_to_utc(local: dt.datetime | None) -> dt.datetime | None:
    return None if local is None else (local - CHINA_OFFSET).replace(tzinfo=UTC)


def bcd_time_bytes(moment: dt.datetime) -> bytes:
    """An aware datetime (any zone) or a naive Beijing time as BCD[6] in Beijing time."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None) + CHINA_OFFSET
    if not 2000 <= moment.year <= 2099:
        raise BodyError(f"time {moment.isoformat()}: BCD[6] holds years 2000-2099 only")
    return bytes.fromhex(moment.strftime("%y%m%d%H%M%S"))
