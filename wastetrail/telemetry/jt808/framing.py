"""Framing: delimiters, escaping, XOR checksum, the 2011/2013 and 2019 headers.

Wire form: ``7E | header | body | checksum | 7E`` with 7E/7D escaped as 7D 02 / 7D 01 inside.
`FrameSplitter` turns a TCP byte stream into un-escaped frames (delimiters removed, checksum
byte kept); `parse_frame` reads the header of one; `encode_frame` builds the wire form.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import BodyError, CodecError, FrameError

DELIMITER = 0x7E
MAX_BODY = 0x3FF  # the body-length field has 10 bits

_ATTR_LENGTH = 0x03FF
_ATTR_ENCRYPTION = 0x1C00
_ATTR_PACKET = 0x2000
_ATTR_VERSION = 0x4000

_HEAD_2013 = struct.Struct(">HH6sH")  # id, attributes, BCD[6] phone, serial
_HEAD_2019 = struct.Struct(">HHB10sH")  # id, attributes, version, BCD[10] phone, serial
_PACKET = struct.Struct(">HH")  # total packets, index (from 1)
PHONE_BYTES_2013 = 6
PHONE_BYTES_2019 = 10


# --- escaping and checksum ------------------------------------------------------------------

def unescape(data: bytes) -> bytes:
    """7D 02 -> 7E, 7D 01 -> 7D. Only called when a 7D is present (the common frame has none)."""
    return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")


def escape(data: bytes) -> bytes:
    """7D -> 7D 01 first (so the 7Ds the second step inserts are not escaped again), 7E -> 7D 02."""
    if b"\x7d" in data:
        data = data.replace(b"\x7d", b"\x7d\x01")
    if b"\x7e" in data:
        data = data.replace(b"\x7e", b"\x7d\x02")
    return data


def _fold_shifts(length: int) -> tuple[int, ...]:
    width = 8
    while width < length * 8:
        width *= 2
    shifts = []
    width //= 2
    while width >= 8:
        shifts.append(width)
        width //= 2
    return tuple(shifts)


# XOR of n bytes without a Python loop per byte: read them as one integer and fold it onto itself,
# halving the width each time (the low half of v ^ (v >> w) is the XOR of the two halves; the high
# garbage is never read). log2(n) big-int operations instead of n byte operations.
_SHIFTS = [_fold_shifts(n) for n in range(4096)]


def checksum(data: bytes) -> int:
    """XOR of every byte of data (header and body, un-escaped)."""
    n = len(data)
    value = int.from_bytes(data, "little")
    for shift in _SHIFTS[n] if n < 4096 else _fold_shifts(n):
        value ^= value >> shift
    return value & 0xFF


# --- splitting a stream into frames ---------------------------------------------------------

_OUTSIDE, _INSIDE, _DISCARDING = 0, 1, 2


class FrameSplitter:
    """Cuts a connection's byte stream into frames, whatever the read boundaries.

    ``feed(data)`` returns the frames completed by these bytes: un-escaped, without the 7E
    delimiters, checksum byte included. A partial frame waits for the next read. Bytes outside
    frames (before the first 7E, between frames) are junk: counted, and once more than
    ``max_junk`` have been seen, ``junk_exceeded`` asks the connection to close (it is not
    talking JT/T 808). A frame longer than ``max_frame`` escaped bytes is dropped and counted;
    the splitter then skips to its closing delimiter. Two 7E in a row are read as a closing and an
    opening delimiter, or, after junk, as a stray delimiter followed by an opening one.
    """

    __slots__ = ("max_frame", "max_junk", "junk_bytes", "oversized_frames", "frames", "_buf", "_state")

    def __init__(self, max_frame: int = 4096, max_junk: int = 4096):
        self.max_frame = max_frame
        self.max_junk = max_junk
        self.junk_bytes = 0
        self.oversized_frames = 0
        self.frames = 0
        self._buf = bytearray()
        self._state = _OUTSIDE

    @property
    def junk_exceeded(self) -> bool:
        return self.junk_bytes > self.max_junk

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame waiting for the next read."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        # Fast path, the usual read: exactly one whole frame and nothing pending.
        if (type(data) is bytes and not self._buf and self._state == _OUTSIDE and len(data) > 2
                and data[0] == DELIMITER
                and data[-1] == DELIMITER and data.count(DELIMITER) == 2 and len(data) - 2 <= self.max_frame):
            frame = data[1:-1]
            if 0x7D in frame:
                frame = unescape(frame)
            self.frames += 1
            return [frame]
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        state = self._state
        max_frame = self.max_frame
        while pos < size:
            if state == _INSIDE:
                end = buf.find(DELIMITER, pos)
                if end < 0:
                    if size - pos > max_frame:
                        self.oversized_frames += 1
                        state = _DISCARDING
                        pos = size
                    break
                if end == pos:  # 7E 7E: this one opens the frame
                    pos += 1
                    continue
                if end - pos > max_frame:
                    self.oversized_frames += 1
                else:
                    frame = bytes(buf[pos:end])
                    if 0x7D in frame:
                        frame = unescape(frame)
                    out.append(frame)
                pos = end + 1
                state = _OUTSIDE
            elif state == _OUTSIDE:
                start = buf.find(DELIMITER, pos)
                if start < 0:
                    self.junk_bytes += size - pos
                    pos = size
                    break
                self.junk_bytes += start - pos
                pos = start + 1
                state = _INSIDE
            else:  # the tail of an oversized frame, up to its closing delimiter
                end = buf.find(DELIMITER, pos)
                if end < 0:
                    pos = size
                    break
                pos = end + 1
                state = _OUTSIDE
        del buf[:pos]
        self._state = state
        self.frames += len(out)
        return out


# --- header ---------------------------------------------------------------------------------

class Header(NamedTuple):
    msg_id: int
    version: int | None  # None: 2011/2013 header; the protocol-version byte of a 2019 header
    phone: str  # canonical: BCD digits without left zero padding (hex when not BCD)
    phone_raw: bytes  # the bytes as sent, echoed in replies
    serial: int
    encrypted: int  # encryption bits 10-12 (0 = plain, 1 = RSA)
    packet: tuple[int, int] | None  # (total, index from 1) when sub-packaged
    body_length: int  # the length field of the attributes (the actual body may differ)
    size: int = 12  # header bytes (12/16 for 2013, 17/21 for 2019)


class Frame(NamedTuple):
    header: Header
    body: bytes
    checksum_ok: bool
    length_ok: bool


_phones: dict[bytes, str] = {}
_new = tuple.__new__


def phone_from_raw(raw: bytes) -> str:
    """BCD digits without the left zero padding ("0" for all zeros); the hex digits when not BCD."""
    phone = _phones.get(raw)
    if phone is None:
        digits = raw.hex()
        phone = (digits.lstrip("0") or "0") if digits.isdigit() else digits
        if len(_phones) > 100_000:  # a bound, not an LRU: the cache only saves a hex() per frame
            _phones.clear()
        _phones[raw] = phone
    return phone


def phone_to_raw(phone: str, version: int | None = None) -> bytes:
    """A terminal phone number as the BCD[6] (2013) or BCD[10] (2019) of a header."""
    size = PHONE_BYTES_2013 if version is None else PHONE_BYTES_2019
    digits = phone.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > size * 2:
        raise CodecError(f"phone {phone!r}: a {'2019' if version is not None else '2013'} header holds "
                         f"up to {size * 2} decimal digits")
    return bytes.fromhex(digits.rjust(size * 2, "0"))


def parse_frame(frame: bytes) -> Frame:
    """Read the header of an un-escaped frame (checksum byte last). Bad checksums and length
    fields are reported in the result, not raised: the caller decides what to accept."""
    try:
        msg_id, attrs, phone_raw, serial = _HEAD_2013.unpack_from(frame)
    except struct.error:
        raise FrameError(f"frame of {len(frame)} bytes is shorter than a header") from None
    version = None
    size = 12
    if attrs & _ATTR_VERSION:
        if len(frame) < 17:
            raise FrameError(f"2019 frame of {len(frame)} bytes is shorter than its 17-byte header")
        msg_id, attrs, version, phone_raw, serial = _HEAD_2019.unpack_from(frame)
        size = 17
    packet = None
    if attrs & _ATTR_PACKET:
        if len(frame) < size + 4:
            raise FrameError(f"sub-packaged frame of {len(frame)} bytes is shorter than its header")
        packet = _PACKET.unpack_from(frame, size)
        size += 4
    if len(frame) <= size:
        raise FrameError(f"frame of {len(frame)} bytes has a {size}-byte header and no checksum byte")
    body = frame[size:-1]
    body_length = attrs & _ATTR_LENGTH
    phone = _phones.get(phone_raw) or phone_from_raw(phone_raw)
    # tuple.__new__ skips the NamedTuples' generated __new__ (a Python call each, on the hot path)
    header = _new(Header, (msg_id, version, phone, phone_raw, serial, (attrs & _ATTR_ENCRYPTION) >> 10, packet,
                           body_length, size))
    return _new(Frame, (header, body, checksum(frame) == 0, len(body) == body_length))


# checksum(header+body+checksum) == 0 exactly when the checksum byte equals the XOR of the rest.


# --- encoding -------------------------------------------------------------------------------

def frame_bytes(msg_id: int, body: bytes, *, phone_raw: bytes, serial: int, version: int | None = None,
                packet: tuple[int, int] | None = None, encrypted: int = 0) -> bytes:
    """The un-escaped frame (header, body, checksum byte) — what FrameSplitter yields."""
    length = len(body)
    if length > MAX_BODY:
        raise BodyError(f"message 0x{msg_id:04X}: a body of {length} bytes exceeds {MAX_BODY}; sub-package it")
    attrs = length | ((encrypted & 0x7) << 10)
    if packet is not None:
        attrs |= _ATTR_PACKET
    try:
        if version is None:
            if len(phone_raw) != PHONE_BYTES_2013:
                raise CodecError(f"a 2013 header carries a {PHONE_BYTES_2013}-byte phone, not {len(phone_raw)}")
            head = _HEAD_2013.pack(msg_id, attrs, phone_raw, serial & 0xFFFF)
        else:
            if len(phone_raw) != PHONE_BYTES_2019:
                raise CodecError(f"a 2019 header carries a {PHONE_BYTES_2019}-byte phone, not {len(phone_raw)}")
            head = _HEAD_2019.pack(msg_id, attrs | _ATTR_VERSION, version, phone_raw, serial & 0xFFFF)
        if packet is not None:
            head += _PACKET.pack(*packet)
    except struct.error as exc:
        raise CodecError(f"header of message 0x{msg_id:04X}: {exc}") from None
    data = head + body
    return data + bytes((checksum(data),))


def wire(frame: bytes) -> bytes:
    """Escape an un-escaped frame and add the delimiters."""
    return b"\x7e" + escape(frame) + b"\x7e"


def encode_frame(msg_id: int, body: bytes, *, phone_raw: bytes, serial: int, version: int | None = None,
                 packet: tuple[int, int] | None = None, encrypted: int = 0) -> bytes:
    """The wire form of one message: header, body and checksum, escaped, between 7E delimiters."""
    return wire(frame_bytes(msg_id, body, phone_raw=phone_raw, serial=serial, version=version, packet=packet,
                            encrypted=encrypted))


def encode_packets(msg_id: int, body: bytes, *, phone_raw: bytes, first_serial: int, version: int | None = None,
                   packet_size: int = MAX_BODY) -> list[bytes]:
    """A long body as sub-packages with consecutive serials (one wire frame each); a body that
    fits one frame is still one frame, without the packet item."""
    if len(body) <= packet_size:
        return [encode_frame(msg_id, body, phone_raw=phone_raw, serial=first_serial, version=version)]
    if not 0 < packet_size <= MAX_BODY:
        raise CodecError(f"packet size {packet_size} is not 1..{MAX_BODY}")
    pieces = [body[i:i + packet_size] for i in range(0, len(body), packet_size)]
    if len(pieces) > 0xFFFF:
        raise CodecError(f"{len(pieces)} packets exceed the 65535 a header can number")
    return [
        encode_frame(msg_id, piece, phone_raw=phone_raw, serial=(first_serial + i) & 0xFFFF, version=version,
                     packet=(len(pieces), i + 1))
        for i, piece in enumerate(pieces)
    ]
