"""Message bodies: one dataclass per message id, `decode_body` and `encode_body`.

Each class has ``MSG_ID``, ``decode(body, version)`` (``version`` is the header's: None for a
2011/2013 header) and ``encode()``. Where a layout differs between protocol editions the object
carries it in ``layout`` ("2011", "2013" or "2019") so that it encodes back the way it came.
A message id without a class decodes to `RawBody`, which is not an error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from .errors import BodyError, CodecError
from .framing import Header
from .location import BASIC_SIZE, Location, decode_location, location_bytes
from .wire import Reader, encode_text, fixed_bytes, u8, u16, u32


def _layout(version: int | None) -> str:
    return "2013" if version is None else "2019"


# --- terminal -> platform -------------------------------------------------------------------

@dataclass
class TerminalResponse:
    """0x0001 terminal general response. result: 0 ok, 1 failure, 2 message error, 3 unsupported."""

    MSG_ID: ClassVar[int] = 0x0001
    reply_serial: int
    reply_id: int
    result: int

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> TerminalResponse:
        r = Reader(body, f"0x{cls.MSG_ID:04X}")
        return cls(r.u16("reply serial"), r.u16("reply id"), r.u8("result"))

    def encode(self) -> bytes:
        return u16(self.reply_serial) + u16(self.reply_id) + u8(self.result)


@dataclass
class Heartbeat:
    """0x0002, empty (some vendors append battery/signal bytes: kept in `extra`)."""

    MSG_ID: ClassVar[int] = 0x0002
    extra: bytes = b""

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> Heartbeat:
        return cls(bytes(body))

    def encode(self) -> bytes:
        return self.extra


@dataclass
class Logout:
    """0x0003, empty."""

    MSG_ID: ClassVar[int] = 0x0003
    extra: bytes = b""

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> Logout:
        return cls(bytes(body))

    def encode(self) -> bytes:
        return self.extra


# 0x0100 field sizes per edition: manufacturer, model, terminal id (model padding: 2011 spaces).
_REGISTER_SIZES = {"2011": (5, 8, 7), "2013": (5, 20, 7), "2019": (11, 30, 30)}


@dataclass
class Register:
    """0x0100 terminal registration (three layouts; 2011 and 2013 share a header and are told
    apart by where a plausible plate colour byte (0-9) sits: offset 36 in 2013, 24 in 2011)."""

    MSG_ID: ClassVar[int] = 0x0100
    province: int
    city: int
    manufacturer: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str  # the VIN when plate_color is 0
    layout: str = "2013"

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> Register:
        if version is not None:
            layout = "2019"
        elif len(body) >= 37 and body[36] <= 9:
            layout = "2013"
        elif 25 <= len(body) and body[24] <= 9:
            layout = "2011"
        else:
            layout = "2013"
        maker, model, terminal = _REGISTER_SIZES[layout]
        r = Reader(body, f"0x0100 ({layout})")
        return cls(r.u16("province"), r.u16("city"), r.fixed_text(maker, "manufacturer"),
                   r.fixed_text(model, "model"), r.fixed_text(terminal, "terminal id"), r.u8("plate colour"),
                   r.rest_text().rstrip("\x00"), layout)

    def encode(self) -> bytes:
        if self.layout not in _REGISTER_SIZES:
            raise BodyError(f"0x0100: unknown layout {self.layout!r}")
        maker, model, terminal = _REGISTER_SIZES[self.layout]
        pad = b" " if self.layout == "2011" else b"\x00"
        return (u16(self.province) + u16(self.city) + fixed_bytes(self.manufacturer, maker, "manufacturer")
                + fixed_bytes(self.model, model, "model", pad) + fixed_bytes(self.terminal_id, terminal, "terminal id")
                + u8(self.plate_color) + encode_text(self.plate, "plate"))


@dataclass
class Authentication:
    """0x0102. 2011/2013: the auth code is the whole body. 2019: length-prefixed code, IMEI
    BYTE[15], software version BYTE[20]."""

    MSG_ID: ClassVar[int] = 0x0102
    auth_code: str
    imei: str = ""
    software_version: str = ""
    layout: str = "2013"

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> Authentication:
        if version is None:
            return cls(Reader(body, "0x0102").rest_text().rstrip("\x00"))
        r = Reader(body, "0x0102 (2019)")
        code = r.text(r.u8("auth code length"), "auth code")
        return cls(code, r.fixed_text(15, "IMEI"), r.fixed_text(20, "software version"), "2019")

    def encode(self) -> bytes:
        code = encode_text(self.auth_code, "auth code")
        if self.layout != "2019":
            return code
        if len(code) > 0xFF:
            raise BodyError("0x0102: a 2019 auth code has at most 255 bytes")
        return u8(len(code)) + code + fixed_bytes(self.imei, 15, "IMEI") + fixed_bytes(
            self.software_version, 20, "software version")


def _read_params(r: Reader, count: int) -> list[tuple[int, bytes]]:
    params = []
    for _ in range(count):
        param_id = r.u32("parameter id")
        params.append((param_id, r.raw(r.u8("parameter length"), f"parameter 0x{param_id:04X}")))
    return params


def _params_bytes(params: list[tuple[int, bytes]]) -> bytes:
    if len(params) > 0xFF:
        raise BodyError(f"{len(params)} parameters exceed the 255 a count byte holds")
    out = [u8(len(params))]
    for param_id, value in params:
        if len(value) > 0xFF:
            raise BodyError(f"parameter 0x{param_id:04X}: a value has at most 255 bytes")
        out.append(u32(param_id) + u8(len(value)) + value)
    return b"".join(out)


@dataclass
class ParameterReply:
    """0x0104, the answer to 0x8104/0x8106: reply serial, then (id, raw value) pairs."""

    MSG_ID: ClassVar[int] = 0x0104
    reply_serial: int
    params: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> ParameterReply:
        r = Reader(body, "0x0104")
        serial = r.u16("reply serial")
        return cls(serial, _read_params(r, r.u8("parameter count")))

    def encode(self) -> bytes:
        return u16(self.reply_serial) + _params_bytes(self.params)


@dataclass
class LocationQueryReply:
    """0x0201, the answer to 0x8201: reply serial, then a location block."""

    MSG_ID: ClassVar[int] = 0x0201
    reply_serial: int
    location: Location

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> LocationQueryReply:
        r = Reader(body, "0x0201")
        return cls(r.u16("reply serial"), decode_location(body, 2))

    def encode(self) -> bytes:
        return u16(self.reply_serial) + location_bytes(self.location)


BATCH_NORMAL = 0
BATCH_BLIND_AREA = 1


@dataclass
class LocationBatch:
    """0x0704: count WORD, type BYTE (0 normal batch, 1 blind-area resend), then each location
    as length WORD + block."""

    MSG_ID: ClassVar[int] = 0x0704
    kind: int
    locations: list[Location]

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> LocationBatch:
        r = Reader(body, "0x0704")
        count = r.u16("count")
        kind = r.u8("type")
        locations = []
        for index in range(count):
            size = r.u16(f"length of location {index + 1}")
            start = r.pos
            r.raw(size, f"location {index + 1} of {count}")
            locations.append(decode_location(body, start, start + size))
        return cls(kind, locations)

    def encode(self) -> bytes:
        out = [u16(len(self.locations)) + u8(self.kind)]
        for location in self.locations:
            block = location_bytes(location)
            out.append(u16(len(block)) + block)
        return b"".join(out)


_MEDIA_HEAD = struct.Struct(">IBBBB")


@dataclass
class MediaEvent:
    """0x0800 multimedia event: media id, type (0 image, 1 audio, 2 video), format (0 JPEG, 1 TIF,
    2 MP3, 3 WAV, 4 WMV), event code, channel."""

    MSG_ID: ClassVar[int] = 0x0800
    media_id: int
    media_type: int
    media_format: int
    event: int
    channel: int

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> MediaEvent:
        return cls(*_MEDIA_HEAD.unpack(Reader(body, "0x0800").raw(8, "event")))

    def encode(self) -> bytes:
        return _MEDIA_HEAD.pack(self.media_id, self.media_type, self.media_format, self.event, self.channel)


@dataclass
class MediaData:
    """0x0801 multimedia data (usually sub-packaged; decode the reassembled body): the 0x0800
    fields, the 28-byte basic location block, then the media bytes."""

    MSG_ID: ClassVar[int] = 0x0801
    media_id: int
    media_type: int
    media_format: int
    event: int
    channel: int
    location: Location
    data: bytes

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> MediaData:
        head = _MEDIA_HEAD.unpack(Reader(body, "0x0801").raw(8, "media fields"))
        location = decode_location(body, 8, min(len(body), 8 + BASIC_SIZE))
        return cls(*head, location, body[8 + BASIC_SIZE:])

    def encode(self) -> bytes:
        block = location_bytes(self.location._replace(items={}, trailing=b""))
        return _MEDIA_HEAD.pack(self.media_id, self.media_type, self.media_format, self.event,
                                self.channel) + block + self.data


@dataclass
class Passthrough:
    """0x0900 uplink / 0x8900 downlink passthrough: type (0x00 GNSS detail, 0x0B IC card, 0x41/0x42
    serial ports, 0xF0-0xFF user-defined) and content."""

    MSG_ID: ClassVar[int] = 0x0900
    kind: int
    content: bytes

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> Passthrough:
        r = Reader(body, f"0x{cls.MSG_ID:04X}")
        return cls(r.u8("type"), r.rest())

    def encode(self) -> bytes:
        return u8(self.kind) + self.content


@dataclass
class DownlinkPassthrough(Passthrough):
    MSG_ID: ClassVar[int] = 0x8900


# --- platform -> terminal -------------------------------------------------------------------

RESULT_OK = 0
RESULT_FAILURE = 1
RESULT_MESSAGE_ERROR = 2
RESULT_UNSUPPORTED = 3
RESULT_ALARM_CONFIRMED = 4  # 0x8001 only


@dataclass
class PlatformResponse(TerminalResponse):
    """0x8001 platform general response (result 4 = alarm handling confirmed)."""

    MSG_ID: ClassVar[int] = 0x8001


@dataclass
class ResendRequest:
    """0x8003: the platform asks for missing packets of a sub-packaged message. The count is a
    BYTE in 2013 and a WORD in 2019."""

    MSG_ID: ClassVar[int] = 0x8003
    first_serial: int
    indexes: list[int]
    layout: str = "2013"

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> ResendRequest:
        layout = _layout(version)
        r = Reader(body, f"0x8003 ({layout})")
        first = r.u16("first packet serial")
        count = r.u16("count") if layout == "2019" else r.u8("count")
        return cls(first, [r.u16("packet index") for _ in range(count)], layout)

    def encode(self) -> bytes:
        limit = 0xFFFF if self.layout == "2019" else 0xFF
        if len(self.indexes) > limit:
            raise BodyError(f"0x8003: {len(self.indexes)} packets exceed the {limit} the count holds")
        count = u16(len(self.indexes)) if self.layout == "2019" else u8(len(self.indexes))
        return u16(self.first_serial) + count + b"".join(u16(i) for i in self.indexes)


REGISTER_OK = 0
REGISTER_VEHICLE_TAKEN = 1
REGISTER_NO_VEHICLE = 2
REGISTER_TERMINAL_TAKEN = 3
REGISTER_NO_TERMINAL = 4


@dataclass
class RegisterResponse:
    """0x8100: reply serial, result (0 ok, 1 vehicle already registered, 2 no such vehicle,
    3 terminal already registered, 4 no such terminal), auth code (only when result is 0)."""

    MSG_ID: ClassVar[int] = 0x8100
    reply_serial: int
    result: int
    auth_code: str = ""

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> RegisterResponse:
        r = Reader(body, "0x8100")
        return cls(r.u16("reply serial"), r.u8("result"), r.rest_text())

    def encode(self) -> bytes:
        code = encode_text(self.auth_code, "auth code") if self.result == REGISTER_OK else b""
        return u16(self.reply_serial) + u8(self.result) + code


@dataclass
class SetParameters:
    """0x8103: (parameter id, raw value) pairs; see `parameter_value` for the known types."""

    MSG_ID: ClassVar[int] = 0x8103
    params: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> SetParameters:
        r = Reader(body, "0x8103")
        return cls(_read_params(r, r.u8("parameter count")))

    def encode(self) -> bytes:
        return _params_bytes(self.params)


@dataclass
class QueryParameters:
    """0x8104 query all parameters (empty body); the terminal answers 0x0104."""

    MSG_ID: ClassVar[int] = 0x8104

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> QueryParameters:
        return cls()

    def encode(self) -> bytes:
        return b""


@dataclass
class TerminalControl:
    """0x8105: command BYTE (1 upgrade, 2 connect to a server, 3 power off, 4 reset, 5 factory
    reset, 6 close data link, 7 close all wireless), then the ';'-separated parameters of commands
    1 and 2. Kept as bytes: the standard mixes GBK text with binary WORD ports in that list."""

    MSG_ID: ClassVar[int] = 0x8105
    command: int
    parameters: bytes = b""

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> TerminalControl:
        r = Reader(body, "0x8105")
        return cls(r.u8("command"), r.rest())

    def encode(self) -> bytes:
        return u8(self.command) + self.parameters


@dataclass
class TemporaryTracking:
    """0x8202: report every `interval_s` seconds (0 = stop, and nothing follows) for `validity_s`."""

    MSG_ID: ClassVar[int] = 0x8202
    interval_s: int
    validity_s: int = 0

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> TemporaryTracking:
        r = Reader(body, "0x8202")
        interval = r.u16("interval")
        return cls(interval, r.u32("validity") if interval or r.remaining() >= 4 else 0)

    def encode(self) -> bytes:
        return u16(self.interval_s) + (u32(self.validity_s) if self.interval_s else b"")


@dataclass
class TextMessage:
    """0x8300: flag BYTE (bit 0 urgent, 2 display, 3 TTS, 4 advertising screen, 5 CAN fault code),
    2019 adds a text type BYTE (1 notice, 2 service); then GBK text."""

    MSG_ID: ClassVar[int] = 0x8300
    flag: int
    text: str
    text_type: int = 0
    layout: str = "2013"

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> TextMessage:
        layout = _layout(version)
        r = Reader(body, f"0x8300 ({layout})")
        flag = r.u8("flag")
        text_type = r.u8("text type") if layout == "2019" else 0
        return cls(flag, r.rest_text(), text_type, layout)

    def encode(self) -> bytes:
        text = encode_text(self.text, "text")
        if len(text) > 1024:
            raise BodyError(f"0x8300: {len(text)} bytes of text exceed 1024")
        return u8(self.flag) + (u8(self.text_type) if self.layout == "2019" else b"") + text


@dataclass
class MediaResponse:
    """0x8800, the answer to a 0x0801 upload: media id, then the packet indexes to resend
    (none: everything arrived)."""

    MSG_ID: ClassVar[int] = 0x8800
    media_id: int
    missing: list[int] = field(default_factory=list)

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> MediaResponse:
        r = Reader(body, "0x8800")
        media_id = r.u32("media id")
        if not r.remaining():
            return cls(media_id)
        count = r.u8("count")
        return cls(media_id, [r.u16("packet index") for _ in range(count)])

    def encode(self) -> bytes:
        if not self.missing:
            return u32(self.media_id)
        if len(self.missing) > 0xFF:
            raise BodyError(f"0x8800: {len(self.missing)} packets exceed the 255 a count byte holds")
        return u32(self.media_id) + u8(len(self.missing)) + b"".join(u16(i) for i in self.missing)


_PHOTO = struct.Struct(">BHHBBBBBBB")


@dataclass
class TakePhoto:
    """0x8801 take a photo / record now: channel, command (0 stop, 0xFFFF record video, n photos),
    interval or recording time in seconds, save flag (1 save, 0 upload), resolution, quality
    (1 best .. 10), brightness, contrast, saturation, hue."""

    MSG_ID: ClassVar[int] = 0x8801
    channel: int
    command: int
    interval_s: int
    save: int
    resolution: int
    quality: int
    brightness: int
    contrast: int
    saturation: int
    hue: int

    @classmethod
    def decode(cls, body: bytes, version: int | None = None) -> TakePhoto:
        return cls(*_PHOTO.unpack(Reader(body, "0x8801").raw(_PHOTO.size, "photo command")))

    def encode(self) -> bytes:
        try:
            return _PHOTO.pack(self.channel, self.command, self.interval_s, self.save, self.resolution,
                               self.quality, self.brightness, self.contrast, self.saturation, self.hue)
        except struct.error as exc:
            raise BodyError(f"0x8801: {exc}") from None


@dataclass
class RawBody:
    """A message id the codec has no decoder for: the header says what it is, the bytes are kept."""

    msg_id: int
    data: bytes

    def encode(self) -> bytes:
        return self.data


BODY_TYPES: dict[int, type] = {
    cls.MSG_ID: cls
    for cls in (TerminalResponse, Heartbeat, Logout, Register, Authentication, ParameterReply, LocationQueryReply,
                LocationBatch, MediaEvent, MediaData, Passthrough, DownlinkPassthrough, PlatformResponse,
                ResendRequest, RegisterResponse, SetParameters, QueryParameters, TerminalControl, TemporaryTracking,
                TextMessage,
                MediaResponse, TakePhoto)
}
LOCATION_REPORT = 0x0200

# Whatever a decoder trips over on hostile input is turned into a BodyError.
_DECODE_FAILURES = (IndexError, KeyError, struct.error, UnicodeError, ValueError, TypeError, OverflowError)


def decode_body(header: Header | int, body: bytes) -> object:
    """The body as the dataclass of its message id (a Location for 0x0200, RawBody for an id
    without a decoder). Raises BodyError, and only BodyError, when the bytes do not fit."""
    msg_id, version = (header, None) if isinstance(header, int) else (header.msg_id, header.version)
    if not isinstance(header, int) and header.encrypted:
        return RawBody(msg_id, bytes(body))  # an RSA-encrypted body is opaque without the key
    try:
        if msg_id == LOCATION_REPORT:
            return decode_location(body)
        body_type = BODY_TYPES.get(msg_id)
        if body_type is None:
            return RawBody(msg_id, bytes(body))
        return body_type.decode(body, version)
    except CodecError:
        raise
    except _DECODE_FAILURES as exc:
        raise BodyError(f"0x{msg_id:04X}: {type(exc).__name__}: {exc}") from None


def encode_body(obj: object) -> bytes:
    """The body bytes of a message object (a Location encodes as a 0x0200 body)."""
    try:
        if isinstance(obj, Location):
            return location_bytes(obj)
        encode = getattr(obj, "encode", None)
        if encode is None:
            raise BodyError(f"{type(obj).__name__} is not a JT/T 808 message body")
        return encode()
    except CodecError:
        raise
    except (struct.error, ValueError, TypeError, OverflowError, AttributeError) as exc:
        raise BodyError(f"{type(obj).__name__}: {exc}") from None


def msg_id_of(obj: object) -> int:
    if isinstance(obj, Location):
        return LOCATION_REPORT
    if isinstance(obj, RawBody):
        return obj.msg_id
    return obj.MSG_ID  # type: ignore[attr-defined]
