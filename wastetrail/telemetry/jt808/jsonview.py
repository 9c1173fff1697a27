"""Decoded messages as JSON-able dicts (the `wastetrail jt808 decode` output, logs, debugging)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from .framing import Header
from .location import Location
from .profiles import Profile

# Parameter ids whose value is a GBK string (JT/T 808-2013 table 12); the rest are read as
# unsigned integers when 1, 2 or 4 bytes long, else shown as hex.
STRING_PARAMETERS = frozenset([
    0x0010, 0x0011, 0x0012, 0x0013, 0x0014, 0x0015, 0x0016, 0x0017, 0x001A, 0x001D,
    0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0048, 0x0049, 0x0083,
])


def parameter_value(param_id: int, raw: bytes) -> str | int:
    if param_id in STRING_PARAMETERS:
        return raw.rstrip(b"\x00").decode("gbk", errors="replace")
    if len(raw) in (1, 2, 4):
        return int.from_bytes(raw, "big")
    return raw.hex()


def header_json(header: Header) -> dict:
    return {
        "msg_id": f"0x{header.msg_id:04X}",
        "version": "2019" if header.version is not None else "2011/2013",
        "protocol_version": header.version,
        "phone": header.phone,
        "phone_raw": header.phone_raw.hex(),
        "serial": header.serial,
        "encrypted": header.encrypted,
        "packet": list(header.packet) if header.packet else None,
        "body_length": header.body_length,
    }


def location_json(location: Location, profile: Profile | None = None) -> dict:
    return {
        "type": "Location",
        "alarm": location.alarm,
        "status": location.status,
        "lat": location.lat_e6 / 1e6,
        "lon": location.lon_e6 / 1e6,
        "lat_e6": location.lat_e6,
        "lon_e6": location.lon_e6,
        "altitude_m": location.altitude_m,
        "speed_kmh": location.speed_dkmh / 10,
        "heading": location.heading,
        "time_local": location.time_local.isoformat() if location.time_local else None,
        "time_utc": location.time_utc.isoformat() if location.time_utc else None,
        "time_bcd": location.time_bcd.hex(),
        "acc_on": location.acc_on,
        "fixed": location.fixed,
        "load": location.load,
        "extras": location.extras(profile),
        **({"trailing": location.trailing.hex()} if location.trailing else {}),
    }


def _value(value, profile: Profile | None):
    if isinstance(value, Location):
        return location_json(value, profile)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_value(v, profile) for v in value]
    return value


def body_json(body: object, profile: Profile | None = None) -> dict:
    if isinstance(body, Location):
        return location_json(body, profile)
    out = {"type": type(body).__name__}
    for f in dataclasses.fields(body):  # type: ignore[arg-type]
        value = getattr(body, f.name)
        if f.name == "params":
            value = [{"id": f"0x{pid:04X}", "value": parameter_value(pid, raw), "hex": raw.hex()} for pid, raw in value]
        elif f.name == "msg_id":
            value = f"0x{value:04X}"
        out[f.name] = _value(value, profile)
    return out




def decode_wire_hex(text: str, profile: Profile | None = None) -> dict:
    """One operator-supplied frame in wire form (hex, spaces allowed, 7E delimiters optional) as
    the JSON object `wastetrail jt808 decode` prints: header, body and checks, or the reason it
    could not be decoded."""
    from .errors import CodecError
    from .framing import FrameSplitter, parse_frame
    from .messages import RawBody, decode_body

    compact = "".join(text.split())
    try:
        data = bytes.fromhex(compact)
    except ValueError:
        return {"ok": False, "error": "not hexadecimal (give one frame per line, like 7e0002...7e)"}
    if not data.startswith(b"\x7e"):
        data = b"\x7e" + data
    if not data.endswith(b"\x7e") or len(data) == 1:
        data = data + b"\x7e"
    splitter = FrameSplitter(max_frame=len(data), max_junk=len(data))
    frames = splitter.feed(data)
    if not frames:
        return {"ok": False, "error": "no frame between 7E delimiters"}
    if len(frames) > 1:
        return {"ok": False, "error": f"{len(frames)} frames on one line; give one frame per line"}
    try:
        frame = parse_frame(frames[0])
    except CodecError as exc:
        return {"ok": False, "error": exc.reason}
    out: dict = {"ok": True, "header": header_json(frame.header), "checksum_ok": frame.checksum_ok,
                 "length_ok": frame.length_ok}
    if frame.header.packet and frame.header.packet[0] > 1:
        total, index = frame.header.packet
        out["body"] = body_json(RawBody(frame.header.msg_id, frame.body))
        out["note"] = f"packet {index} of {total} of a sub-packaged message: decodable once all are joined"
        return out
    try:
        out["body"] = body_json(decode_body(frame.header, frame.body), profile)
    except CodecError as exc:
        out.update(ok=False, error=exc.reason)
    return out
