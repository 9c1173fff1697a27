"""Conformance with real implementations: every row of ../shared/jt808/vectors.jsonl.

Each row is a frame (or a stream of frames) from the test suite of Traccar, go-jt808, EMQX,
xtream-codec or jt808-server-go, with what that test asserts about it. For every frame this
test compares the header with the researcher's `header` decode, decodes the body, and compares
every value the source test asserts that maps onto this codec's fields:

* go-jt808 `fields: &T0x....{...}` struct literals, its annotated simulator dumps and its
  request -> reply pairs (our 0x8001/0x8100/0x8800 must be byte-identical);
* EMQX's expected maps (header, location fields, standard additional items);
* xtream-codec's encoder tests (our re-encoding of the decoded frame must be byte-identical,
  and the entity setters with literal values must match the decoded fields);
* Traccar's `verifyPosition` sanity checks and the `verifyAttribute` keys that come from
  standard fields (satellites, signal, odometer, fuel, alarm bits, ignition...);
* jt808-server-go's header and body bytes.

An assertion about something this codec deliberately does not decode (a vendor's private item
or message, a JT/T 1078 video message) is counted as "not applicable" with its reason; where a
source rejects a frame that this codec accepts (it keeps raw what others validate) it is
counted as "lenient". Neither is silently skipped: the summary prints every count.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from wastetrail.telemetry.jt808 import (
    BodyError,
    FrameError,
    FrameSplitter,
    Location,
    LocationBatch,
    LocationQueryReply,
    MediaData,
    RawBody,
    decode_body,
    encode_message,
    general_reply,
    media_reply,
    parse_frame,
    register_reply,
    unescape,
    wire,
)
from wastetrail.telemetry.jt808.location import location_bytes
from wastetrail.telemetry.jt808.reassembly import Reassembler

# ../shared/jt808/vectors.jsonl beside the checkout (JT808_VECTORS overrides it)
VECTORS = Path(os.environ.get("JT808_VECTORS", Path(__file__).resolve().parents[4] / "shared/jt808/vectors.jsonl"))

pytestmark = pytest.mark.skipif(not VECTORS.exists(), reason=f"conformance vectors not found at {VECTORS}")


@dataclass
class Decoded:
    row: dict
    frame: object  # Frame
    wire: bytes
    body: object | None
    error: str | None


@dataclass
class Report:
    rows: int = 0
    frames: int = 0
    compared: Counter = field(default_factory=Counter)  # what -> values found equal
    failures: list[str] = field(default_factory=list)
    not_applicable: Counter = field(default_factory=Counter)  # reason -> assertions not comparable
    lenient: Counter = field(default_factory=Counter)  # reason -> frames a source rejects, we accept
    flagged: Counter = field(default_factory=Counter)  # bad checksum / length / no header
    info: Counter = field(default_factory=Counter)

    def same(self, row: dict, what: str, ours, theirs) -> bool:
        if ours == theirs:
            self.compared[what] += 1
            return True
        self.failures.append(f"{row['source']}: {what}: ours {ours!r} != theirs {theirs!r}")
        return False

    def fail(self, row: dict, what: str) -> None:
        self.failures.append(f"{row['source']}: {what}")

    def summary(self) -> str:
        lines = [f"JT/T 808 conformance: {self.rows} rows, {self.frames} frames; "
                 f"{sum(self.compared.values())} asserted values equal, {len(self.failures)} failures"]
        lines.append("  flagged frames: " + ", ".join(f"{k} {v}" for k, v in sorted(self.flagged.items())))
        lines.append("  values compared: " + ", ".join(f"{k} {v}" for k, v in sorted(self.compared.items())))
        lines.append(f"  not applicable ({sum(self.not_applicable.values())}):")
        lines += [f"    {v:4d}  {k}" for k, v in self.not_applicable.most_common()]
        lines.append(f"  lenient ({sum(self.lenient.values())}):")
        lines += [f"    {v:4d}  {k}" for k, v in self.lenient.most_common()]
        lines.append("  other: " + ", ".join(f"{k} {v}" for k, v in sorted(self.info.items())))
        lines += [f"  FAIL {f}" for f in self.failures]
        return "\n".join(lines)


def _impl(row: dict) -> str:
    return row["source"].split(":", 1)[0]


def _source_file(row: dict) -> str:
    return row["source"].rsplit(":", 1)[0]


def _hex(value: int) -> str:
    return f"0x{value:04X}"


def _locations(body) -> list[Location] | None:
    if isinstance(body, Location):
        return [body]
    if isinstance(body, LocationBatch):
        return body.locations
    if isinstance(body, LocationQueryReply | MediaData):
        return [body.location]
    return None


def _expected_error(row: dict) -> str | None:
    """What the source test expects to go wrong with this frame, if anything."""
    asserts = row["asserts"]
    match = re.search(r"(?:wantErr|err): (protocol\.\w+)", asserts)
    if match:
        return match.group(1)
    if re.search(r"wantErr: true", asserts):
        return "an error"
    return None


# --- framing, headers, bodies ---------------------------------------------------------------

def _compare_header(row: dict, frame, wire_bytes: bytes, report: Report) -> None:
    header = frame.header
    ours = {
        "version": "2019" if header.version is not None else "2011/2013",
        "protocol_version": header.version,
        "phone": header.phone_raw.hex(),
        "serial": header.serial,
        "subpackage": header.packet is not None,
        "pkg_total": header.packet[0] if header.packet else None,
        "pkg_index": header.packet[1] if header.packet else None,
        "checksum_ok": frame.checksum_ok,
        "length_ok": frame.length_ok,
        "body_len_field": header.body_length,
        "encryption": header.encrypted,
        # whether the hex as given carries escape sequences (Traccar's rows are given un-escaped)
        "escaped": "input_form" not in row and re.search(rb"\x7d[\x01\x02]", wire_bytes[1:-1]) is not None,
    }
    for key, theirs in row["header"].items():
        if key == "encryption" and isinstance(theirs, str):
            theirs = int(theirs, 0)
        report.same(row, f"header.{key}", ours[key], theirs)
    if row.get("msg_id") and row["msg_id"].startswith("0x"):
        report.same(row, "msg_id", _hex(header.msg_id), row["msg_id"].upper().replace("0X", "0x"))


def _decode_frame(row: dict, raw: bytes, wire_bytes: bytes, report: Report, ctx: dict) -> Decoded | None:
    try:
        frame = parse_frame(raw)
    except FrameError as exc:
        report.flagged["no header (FrameError)"] += 1
        if _expected_error(row) or "header" not in row:
            report.compared["rejected as the source expects"] += 1
        else:
            report.fail(row, f"no header: {exc.reason}")
        return None
    report.frames += 1
    report.flagged["bad checksum"] += not frame.checksum_ok
    report.flagged["bad length field"] += not frame.length_ok
    if "header" in row:
        _compare_header(row, frame, wire_bytes, report)
    body = error = None
    if frame.header.packet and frame.header.packet[0] > 1:
        ctx["packets"][_source_file(row)].append(frame)
        report.info["sub-package pieces (header compared; joined below when complete)"] += 1
    else:
        try:
            body = decode_body(frame.header, frame.body)
        except BodyError as exc:
            error = exc.reason
            report.flagged["body error (BodyError)"] += 1
    decoded = Decoded(row, frame, wire_bytes, body, error)
    expected = _expected_error(row)
    if expected:
        locations = _locations(body) or []
        if not frame.checksum_ok or not frame.length_ok or error or any(loc.trailing for loc in locations):
            report.compared["flagged or rejected as the source expects"] += 1
        else:
            report.lenient[f"{_impl(row)} expects {expected}: {_LENIENT_REASONS.get(row['msg_id'], '?')}"] += 1
    elif error:
        if _asserts_nothing_about_body(row):
            report.info["body errors on frames whose source asserts nothing about the body"] += 1
        else:
            report.fail(row, f"the source decodes it, we raise BodyError: {error}")
    return decoded


_LENIENT_REASONS = {
    "0x0104": "go-jt808 checks parameter lengths against its parameter table; this codec keeps values raw",
    "0x0200": "go-jt808 rejects an item whose length disagrees with its table; this codec keeps the item raw",
}


def _asserts_nothing_about_body(row: dict) -> bool:
    """An empty annotated dump, or another implementation's reply that its test only compares as
    bytes (checked in _compare_reply)."""
    return row["asserts"].strip() == "annotated dump:" or "frames: []string{" in row["asserts"] or bool(
        re.search(r"result(2011|2013|2019): \"<this frame>\"", row["asserts"]))


# --- per-source assertions ------------------------------------------------------------------

def _time_text(location: Location) -> str | None:
    return location.time_local.strftime("%Y-%m-%d %H:%M:%S") if location.time_local else None


LOCATION_GETTERS = {
    "alarm": lambda loc: loc.alarm,
    "status": lambda loc: loc.status,
    "lat_abs": lambda loc: abs(loc.lat_e6),
    "lon_abs": lambda loc: abs(loc.lon_e6),
    "altitude": lambda loc: loc.altitude_m,
    "speed": lambda loc: loc.speed_dkmh,
    "heading": lambda loc: loc.heading,
    "time": _time_text,
}

GO_LOCATION_KEYS = {"AlarmSign": "alarm", "StatusSign": "status", "Latitude": "lat_abs", "Longitude": "lon_abs",
                    "Altitude": "altitude", "Speed": "speed", "Direction": "heading", "DateTime": "time"}
GO_VERSIONS = {"consts.JT808Protocol2011": "2011", "consts.JT808Protocol2013": "2013",
               "consts.JT808Protocol2019": "2019"}
GO_BODY_KEYS = {
    "T0x0100": {"ProvinceID": "province", "CityID": "city", "ManufacturerID": "manufacturer",
                "TerminalModel": "model", "TerminalID": "terminal_id", "PlateColor": "plate_color",
                "LicensePlateNumber": "plate", "Version": "layout"},
    "T0x0102": {"AuthCode": "auth_code", "TerminalIMEI": "imei", "SoftwareVersion": "software_version",
                "Version": "layout"},
    "P0x8001": {"RespondSerialNumber": "reply_serial", "RespondID": "reply_id", "Result": "result"},
    "P0x8100": {"RespondSerialNumber": "reply_serial", "Result": "result", "AuthCode": "auth_code"},
    "P0x8300": {"Text": "text"},
    "T0x0201": {"RespondSerialNumber": "reply_serial"},
    "T0x0704": {"Num": None, "LocationType": "kind", "Len": None},
    "T0x0200": {}, "P0x8104": {}, "P0x8201": {},
}
_GO_VALUE = r'"(?:[^"\\]|\\.)*"|-?\d+|true|false|consts\.\w+|(?:uint8|byte)\(len\("[^"]*"\)\)'


def _go_value(text: str):
    if text.startswith('"'):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("consts."):
        return GO_VERSIONS.get(text, text)
    match = re.fullmatch(r'(?:uint8|byte)\(len\("([^"]*)"\)\)', text)
    if match:
        return len(match.group(1).encode())
    return int(text)


def _check_go_fields(dec: Decoded, report: Report) -> None:
    row, asserts = dec.row, dec.row["asserts"]
    match = re.search(r"fields: &(\w+)\{", asserts)
    struct = match.group(1)
    pairs = [(k, _go_value(v)) for k, v in re.findall(rf"(\w+): ({_GO_VALUE})", asserts[match.end():])]
    if struct not in GO_BODY_KEYS:
        report.not_applicable[f"go-jt808 {struct}: a JT/T 1078 or active-safety message, outside this codec"] += \
            max(1, len(pairs))
        return
    theirs: dict[str, list] = defaultdict(list)
    for key, value in pairs:
        theirs[key].append(value)
    body, locations = dec.body, _locations(dec.body) or []
    for key, values in theirs.items():
        if key in GO_LOCATION_KEYS:
            getter = LOCATION_GETTERS[GO_LOCATION_KEYS[key]]
            report.same(row, f"go-jt808 {key}", [getter(loc) for loc in locations], values)
        elif key == "Num":
            report.same(row, "go-jt808 Num", [len(locations)], values)
        elif key == "Len":
            report.same(row, "go-jt808 Len", [len(location_bytes(loc)) for loc in locations], values)
        elif key == "AuthCodeLen":
            if body.layout == "2019":
                report.same(row, "go-jt808 AuthCodeLen", [len(body.auth_code.encode("gbk"))], values)
            else:
                report.not_applicable["go-jt808 AuthCodeLen of a 2013 0x0102: no such field on the wire"] += 1
        elif key in GO_BODY_KEYS[struct]:
            report.same(row, f"go-jt808 {key}", [getattr(body, GO_BODY_KEYS[struct][key])], values)
        elif key == "Flag" and struct == "P0x8300":
            report.not_applicable["go-jt808 P0x8300.Flag: its struct field stays 0, the wire flag is in its "
                                  "details (checked as the text here)"] += 1
        else:
            report.not_applicable[f"go-jt808 {struct}.{key}: a derived detail, not a wire field"] += 1


def _check_go_reply_pair(dec: Decoded, report: Report) -> None:
    """reply_test.go: the reply go-jt808 sends to a request must be what we send (given the same
    result code and platform serial, which are policy)."""
    row, asserts = dec.row, dec.row["asserts"]
    match = re.search(r"result(2011|2013|2019): \"<this frame>\"", asserts)
    if not match:
        return
    request_hex = re.search(rf"msg{match.group(1)}: \"([^\"]*)\"", asserts).group(1)
    if "…" in request_hex:
        report.not_applicable["go-jt808 reply pair: the request is truncated in the vector"] += 1
        return
    _compare_reply(row, bytes.fromhex(request_hex), dec, report)


def _compare_reply(row: dict, request_wire: bytes, dec: Decoded, report: Report) -> None:
    request = parse_frame(FrameSplitter().feed(request_wire)[0])
    theirs, reply = dec.frame, dec.body
    serial = theirs.header.serial
    if reply is None:
        report.info[f"strict: {_impl(row)}'s {_hex(theirs.header.msg_id)} to {_hex(request.header.msg_id)} has "
                    f"no standard body; we report BodyError ({dec.error})"] += 1
        return
    if theirs.header.msg_id == 0x8001:
        ours = general_reply(request.header, reply.result, serial)
    elif theirs.header.msg_id == 0x8100:
        ours = register_reply(request.header, reply.result, reply.auth_code, serial)
    elif theirs.header.msg_id == 0x8800:
        media_id = decode_body(request.header, request.body).media_id
        ours = media_reply(request.header, media_id, reply.missing, serial)
    else:
        report.not_applicable[f"reply {_hex(theirs.header.msg_id)}: a JT/T 1078 reply, outside this codec"] += 1
        return
    report.same(row, f"reply {_hex(theirs.header.msg_id)} bytes", ours.hex(), dec.wire.hex())


DUMP_KEYS = {
    "省域ID": "province", "市县域ID": "city", "车牌颜色": "plate_color", "车牌号": "plate",
    "鉴权码": "auth_code", "终端IMEI": "imei", "软件版本号": "software_version",
    "应答流水号": "reply_serial", "应答消息ID": "reply_id", "应答ID": "reply_id", "结果": "result",
    "报警标志": "alarm", "状态标志": "status", "纬度": "lat_abs", "经度": "lon_abs", "海拔高度": "altitude",
    "速度": "speed", "方向": "heading", "时间": "time", "数据项个数": "count", "位置汇报类型": "kind",
}


def _dump_value(key: str, text: str):
    if key in ("plate", "auth_code", "imei", "software_version", "time"):
        return text
    if text.isdigit():
        return int(text)
    return text


def _check_go_dump(dec: Decoded, report: Report) -> None:
    row = dec.row
    entries = re.findall(r"\[([0-9a-fA-F]*)\] ([^\[\];:]+?):\[([^\]]*)\]", row["asserts"])
    body, locations = dec.body, _locations(dec.body)
    seen: dict[str, list] = defaultdict(list)
    for _raw, name, value in entries:
        name = name.strip()
        base = re.sub(r"\(\d+\)$", "", name)
        if base in ("制造商ID", "终端型号", "终端ID"):
            seen[{"制造商ID": "manufacturer", "终端型号": "model", "终端ID": "terminal_id"}[base]].append(value)
        elif base in DUMP_KEYS:
            key = DUMP_KEYS[base]
            seen[key].append(_dump_value(key, value))
        elif base == "终端手机号":
            report.same(row, "dump phone", dec.frame.header.phone_raw.hex(), value)
        elif base == "消息流水号":
            report.same(row, "dump serial", dec.frame.header.serial, int(value))
        elif base in ("校验码", "协议版本号(2019)", "协议版本号"):
            continue  # header/checksum already compared from the header decode
        else:
            report.not_applicable[f"go-jt808 dump field {base}: covered by the header comparison"] += 1
    if "count" in seen and locations is not None:
        count = seen["count"][0]
        report.same(row, "dump count", len(locations), count)
        extra = sum(len(v) - count for k, v in seen.items() if k in LOCATION_GETTERS)
        if extra > 0:
            report.not_applicable[f"go-jt808 dump lists more locations than its own count ({count}) and the "
                                  "frame hold; the extra ones"] += extra
        seen = {k: (v[:count] if k in LOCATION_GETTERS else v) for k, v in seen.items() if k != "count"}
    for key, values in seen.items():
        if locations is not None and key in LOCATION_GETTERS:
            report.same(row, f"dump {key}", [LOCATION_GETTERS[key](loc) for loc in locations], values)
        elif key == "reply_id":
            report.same(row, "dump reply_id", [body.reply_id], values)
        else:
            report.same(row, f"dump {key}", [getattr(body, key)], values)


# EMQX expected maps: a small reader for Erlang terms #{<<"k">> => V, ...}, [..], <<"s">>, ints.
# The vectors cut long assertions short, so a term ends where the text ends: whatever was read
# whole is compared, the cut-off remainder is not.
_ERL_TOKEN = re.compile(r'\s*(#\{|\}|\[|\]|=>|,|<<"((?:[^"\\]|\\.)*)">>|-?\d+|true|false)')


def _erlang_term(text: str, pos: int = 0):
    match = _ERL_TOKEN.match(text, pos)
    if match is None:
        return None, len(text)
    token = match.group(1)
    if token in ("#{", "["):
        is_map = token == "#{"
        out, pos = ({} if is_map else []), match.end()
        while True:
            nxt = _ERL_TOKEN.match(text, pos)
            if nxt is None:
                return out, len(text)
            if nxt.group(1) in ("}", "]"):
                return out, nxt.end()
            if nxt.group(1) == ",":
                pos = nxt.end()
                continue
            first, pos = _erlang_term(text, pos)
            if not is_map:
                if first is not None:
                    out.append(first)
                continue
            arrow = _ERL_TOKEN.match(text, pos)
            if arrow is None:
                return out, len(text)
            value, pos = _erlang_term(text, arrow.end())
            if value is None:
                return out, len(text)
            out[first] = value
    if match.group(2) is not None:
        return match.group(2), match.end()
    if token in ("true", "false"):
        return token == "true", match.end()
    return int(token), match.end()


def _u(raw: bytes | None) -> int | None:
    return None if raw is None else int.from_bytes(raw, "big")


def _emqx_location(loc: Location) -> dict:
    items = loc.items
    signals = _u(items.get(0x25))
    names = ["low_beam", "high_beam", "right_turn", "left_turn", "brake", "reverse", "fog", "side_marker", "horn",
             "air_conditioner", "neutral", "retarder", "abs", "heater", "cluth"]
    analog, io = _u(items.get(0x2B)), _u(items.get(0x2A))
    extra = {
        "mileage": _u(items.get(0x01)), "speed": _u(items.get(0x03)), "rssi": _u(items.get(0x30)),
        "gnss_sat_num": _u(items.get(0x31)),
        "analog": None if analog is None else {"ad0": analog & 0xFFFF, "ad1": analog >> 16},
        "io_status": None if io is None else {"deep_sleep": io & 1, "sleep": (io >> 1) & 1},
        "signal": None if signals is None else {n: (signals >> i) & 1 for i, n in enumerate(names)},
    }
    return {"alarm": loc.alarm, "status": loc.status, "latitude": abs(loc.lat_e6), "longitude": abs(loc.lon_e6),
            "altitude": loc.altitude_m, "speed": loc.speed_dkmh, "direction": loc.heading,
            "time": loc.time_bcd.hex(), "extra": {k: v for k, v in extra.items() if v is not None}}


def _check_emqx(dec: Decoded, report: Report) -> None:
    row, asserts = dec.row, dec.row["asserts"]
    start = asserts.find("?assertEqual( #{")
    if start < 0:
        report.compared["EMQX parses it (no value assertion in this test)"] += dec.error is None
        if re.search(r"maps:get\(<<\"(status|ic_result)\">>, Body\)", asserts):
            report.not_applicable[f"EMQX body fields of {row['msg_id']}: a message without a body class here"] += 1
        return
    expected, _ = _erlang_term(asserts, start + len("?assertEqual("))
    header = dec.frame.header
    for key, value in expected.get("header", {}).items():
        ours = {"encrypt": header.encrypted, "len": header.body_length, "msg_id": header.msg_id,
                "msg_sn": header.serial, "phone": header.phone_raw.hex()}[key]
        report.same(row, f"EMQX header.{key}", ours, value)
    body = expected["body"]
    if "location" in body:
        report.same(row, "EMQX length", len(dec.body.locations), body["length"])
        expected_locations, ours = body["location"], [_emqx_location(loc) for loc in dec.body.locations]
    else:
        expected_locations, ours = [body], [_emqx_location(dec.body)]
    for mine, theirs in zip(ours, expected_locations, strict=False):  # the vector may cut the list short
        for key, value in theirs.items():
            if key == "extra":
                for item, item_value in value.items():
                    report.same(row, f"EMQX extra.{item}", mine["extra"].get(item), item_value)
            else:
                report.same(row, f"EMQX {key}", mine[key], value)


XTREAM_SETTERS = {
    "setAlarmFlag": ("locations", "alarm"), "setStatus": ("locations", "status"),
    "setLatitude": ("locations", "lat_abs"), "setLongitude": ("locations", "lon_abs"),
    "setAltitude": ("locations", "altitude"), "setSpeed": ("locations", "speed"),
    "setDirection": ("locations", "heading"),
    "setFlowId": ("body", "reply_serial"), "setType": ("body", "kind"), "setCount": ("count", None),
    "setMultimediaDataID": ("body", "media_id"), "setTimeDurationInSeconds": ("body", "interval_s"),
    "setTraceValidityDurationInSeconds": ("body", "validity_s"), "setIdentifier": ("body", "flag"),
    "setText": ("body", "text"), "setTextType": ("body", "text_type"),
    "setAuthenticationCode": ("body", "auth_code"), "setImei": ("body", "imei"),
    "setParameterCount": ("params", None), "setCommandWord": ("body", "command"),
}


def _check_encoder_output(dec: Decoded, report: Report, who: str) -> None:
    """The frame is another implementation's encoder output: re-encoding what we decoded must
    give the same bytes."""
    if dec.body is None:
        return
    if isinstance(dec.body, RawBody):
        report.not_applicable[f"{who} encoder test of {_hex(dec.frame.header.msg_id)}: no body class here "
                              "(header compared, bytes kept raw)"] += 1
        return
    header = dec.frame.header
    ours = encode_message(dec.body, phone_raw=header.phone_raw, serial=header.serial, version=header.version)
    report.same(dec.row, f"{who} encoder bytes", ours.hex(), dec.wire.hex())


def _check_xtream(dec: Decoded, report: Report) -> None:
    row = dec.row
    if "assertEquals(1 + byteBufList.size()" in row["asserts"]:
        return  # UDP splitter test: the packets are joined and decoded below
    _check_encoder_output(dec, report, "xtream-codec")
    if dec.body is None or isinstance(dec.body, RawBody):
        return
    for setter, literal in re.findall(r"entity\.(set\w+)\(\(?(?:short|int|long)?\)?\s*([^;|]*?)\)\s*(?:;|\||$)",
                                      row["asserts"]):
        literal = literal.strip()
        value_match = re.fullmatch(r'(?:\((?:short|int|long)\)\s*)?(-?\d+)L?|"((?:[^"\\]|\\.)*)"', literal)
        if not value_match:
            report.not_applicable[f"xtream-codec {setter}: not a literal value (checked through the encoder "
                                  "bytes)"] += 1
            continue
        if setter not in XTREAM_SETTERS:
            report.not_applicable[f"xtream-codec {setter}: no field of that name here (checked through the "
                                  "encoder bytes)"] += 1
            continue
        number, text = value_match.groups()
        theirs = int(number) if number is not None else json.loads(f'"{text}"')
        where, name = XTREAM_SETTERS[setter]
        if where == "locations":
            locations = _locations(dec.body)
            report.same(row, f"xtream-codec {setter}", LOCATION_GETTERS[name](locations[0]), theirs)
        elif where == "count":
            report.same(row, f"xtream-codec {setter}", len(_locations(dec.body)), theirs)
        elif where == "params":
            report.same(row, f"xtream-codec {setter}", len(dec.body.params), theirs)
        elif setter == "setTraceValidityDurationInSeconds" and dec.body.interval_s == 0:
            report.not_applicable["xtream-codec 0x8202 validity with interval 0: not sent on the wire"] += 1
        else:
            report.same(row, f"xtream-codec {setter}", getattr(dec.body, name), theirs)


# Traccar: which alarms it derives from the standard alarm DWORD (its decodeAlarm), per model.
def _traccar_alarms(alarm: int, model: str | None) -> set[str]:
    bit = lambda n: bool(alarm >> n & 1)  # noqa: E731
    if model in ("G-360P", "G-508P"):
        return {name for name, on in (("ALARM_REMOVING", bit(0) or bit(4)), ("ALARM_TAMPERING", bit(1))) if on}
    if model in ("AL300", "GL100"):
        return {"ALARM_MOVEMENT"} if bit(16) else set()
    table = (("ALARM_SOS", bit(0)), ("ALARM_OVERSPEED", bit(1)), ("ALARM_FATIGUE_DRIVING", bit(2)),
             ("ALARM_GPS_ANTENNA_CUT", bit(5) or bit(6)), ("ALARM_FAULT", bit(4) or bit(9) or bit(10) or bit(11)),
             ("ALARM_LOW_BATTERY", bit(7) or bit(18)), ("ALARM_POWER_OFF", bit(8)), ("ALARM_VIBRATION", bit(15)),
             ("ALARM_TAMPERING", bit(16) or bit(17)), ("ALARM_PARKING", bit(19)), ("ALARM_GEOFENCE", bit(20)),
             ("ALARM_GENERAL", bit(26)), ("ALARM_MOVEMENT", bit(28)),
             ("ALARM_ACCIDENT", (bit(29) or bit(30)) and model != "VL300"))
    return {name for name, on in table if on}


def _traccar_standard_attribute(key: str, loc: Location):
    """Traccar's value for a standard field, or None when Traccar takes it from elsewhere."""
    items = loc.items
    if key == "Position.KEY_SATELLITES" and 0x31 in items:
        return items[0x31][0]
    if key == "Position.KEY_RSSI" and 0x30 in items:
        return items[0x30][0]
    if key == "Position.KEY_ODOMETER" and len(items.get(0x01, b"")) == 4:
        return _u(items[0x01]) * 100
    if key == "Position.KEY_FUEL" and len(items.get(0x02, b"")) == 2 and not items[0x02][0] & 0x80:
        return _u(items[0x02]) / 10
    if key == "Position.KEY_INPUT" and len(items.get(0x25, b"")) == 4:
        return _u(items[0x25])
    if key == "Position.KEY_IGNITION":
        return bool(loc.status & 1)
    if key == "Position.KEY_BLOCKED":
        return bool(loc.status >> 10 & 1)
    if key == "Position.KEY_CHARGE" and loc.status >> 26 & 1:
        return True
    return None


def _traccar_value(text: str):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("Position.ALARM_"):
        return {part.strip().removeprefix("Position.") for part in text.split('+ "," +')}
    return float(text.rstrip("L")) if re.fullmatch(r"-?[\d.]+L?", text) else text


def _check_traccar(dec: Decoded, report: Report) -> None:
    row, kind = dec.row, row_kind(dec.row)
    msg = _hex(dec.frame.header.msg_id)
    locations = _locations(dec.body)
    if kind == "verifyFrame":
        _check_encoder_output(dec, report, "Traccar")
    elif kind == "verifyNull":
        report.same(row, "Traccar verifyNull: decodes without a position", (dec.error, locations), (None, None))
    elif kind in ("verifyPosition", "verifyPositions", "verifyNotNull", "verifyAttributes"):
        if locations is None:
            report.not_applicable[f"Traccar position from {msg}: a vendor message/payload (Traccar's own "
                                  "per-vendor decoding)"] += 1
            return
        now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        for loc in locations:
            sane = (loc.time_utc is not None and dt.datetime(2000, 1, 1, tzinfo=dt.UTC) < loc.time_utc < now
                    and abs(loc.lat_e6) <= 90_000_000 and abs(loc.lon_e6) <= 180_000_000
                    and 0 <= loc.heading <= 360 and loc.speed_dkmh >= 0)
            report.same(row, "Traccar position sanity", sane, True)
    elif kind == "verifyAttribute":
        match = re.search(r"verifyAttribute\(decoder, binary\(<frame>\), (.+?), (.+)\)\s*$", row["asserts"])
        key, theirs = match.group(1), _traccar_value(match.group(2))
        if locations is None:
            report.not_applicable[f"Traccar {key} from {msg}: a vendor message/payload"] += 1
            return
        loc = locations[0]  # Traccar's verifyAttribute reads the first position of a batch
        if key == "Position.KEY_ALARM":
            # Every alarm Traccar would read from the alarm DWORD we decoded must be among the expected
            # ones; the expected alarms left over come from vendor items (0x57, 0xE7, 0xEB...).
            derived = _traccar_alarms(loc.alarm, row.get("model_override"))
            if derived:
                report.same(row, "Traccar alarms from the alarm DWORD", derived & theirs, derived)
            if theirs - derived:
                report.not_applicable["Traccar alarm from a vendor item (not the standard alarm bits)"] += \
                    len(theirs - derived)
            return
        ours = _traccar_standard_attribute(key, loc)
        if ours is None:
            report.not_applicable[f"Traccar {key}: a vendor-specific item or field"] += 1
        else:
            report.same(row, f"Traccar {key}", ours, theirs)


def row_kind(row: dict) -> str | None:
    return row.get("test_kind")


def _check_go(dec: Decoded, report: Report, ctx: dict) -> None:
    row, asserts = dec.row, dec.row["asserts"]
    if "fields: &" in asserts and dec.body is not None:
        _check_go_fields(dec, report)
    elif re.search(r"result(2011|2013|2019): \"<this frame>\"", asserts):
        _check_go_reply_pair(dec, report)
    elif row.get("role") == "terminal simulator request/reply pair dump":
        if dec.body is not None:
            _check_go_dump(dec, report)
        ctx["dumps"][_source_file(row)].append(dec)
    elif "want: want{ path: \"./testdata/" in asserts:
        report.not_applicable["go-jt808 expected values in a testdata file not in vectors.jsonl (decoded only)"] += 1
    elif re.search(r'want: "<this frame>"', asserts) and "Test_escape" in row.get("test", ""):
        payload = bytes.fromhex(re.search(r'args: "([0-9a-f]+)"', asserts).group(1))
        report.same(row, "go-jt808 escape", wire(payload).hex(), dec.wire.hex())
    elif "Test_unescape" in row.get("test", ""):
        want = re.search(r'want: "([0-9a-f]+)"', asserts).group(1)
        report.same(row, "go-jt808 unescape", unescape(dec.wire[1:-1]).hex(), want)
    elif "frames: []string{" in asserts:
        _check_go_frame_list(row, report)


def _check_go_frame_list(row: dict, report: Report) -> None:
    asserts = row["asserts"]
    args = re.search(r'args: "([0-9a-f]+)"', asserts)
    if args is None or len(args.group(1)) % 2:
        report.not_applicable["go-jt808 frame-reader stream: args truncated in the vector (frame checked)"] += 1
        return
    frames = FrameSplitter().feed(bytes.fromhex(args.group(1)))
    listed = re.search(r"frames: \[\]string\{([^}]*)\}", asserts).group(1)
    theirs = [row["hex"] if f == "<this frame>" else f for f in re.findall(r'"([^"]*)"', listed)]
    report.same(row, "go-jt808 frame reader", [wire(f).hex() for f in frames], theirs)


def _check_stream(row: dict, report: Report) -> None:
    """A read holding several frames: the same number of frames come out, the valid ones
    decode to the listed ids, the invalid ones are flagged, and nothing raises."""
    raws = FrameSplitter().feed(bytes.fromhex(row["hex"]))
    report.same(row, "stream frame count", len(raws), len(row["stream_frames"]))
    for raw, expected in zip(raws, row["stream_frames"], strict=False):
        try:
            frame = parse_frame(raw)
            ok = frame.checksum_ok and frame.length_ok
            msg_id = _hex(frame.header.msg_id) if ok else None
        except FrameError:
            msg_id = None
            report.flagged["no header (FrameError)"] += 1
        report.same(row, "stream frame id", msg_id, expected)


def _check_unframed(row: dict, report: Report) -> None:
    splitter = FrameSplitter(max_frame=4096, max_junk=4096)
    report.same(row, "not a JT/T 808 frame: no frame, counted as junk", (splitter.feed(bytes.fromhex(row["hex"])),
                splitter.junk_bytes), ([], len(row["hex"]) // 2))
    report.not_applicable["Traccar ASCII lock sentence '(...)': another protocol sharing the port"] += 1


def _check_synthetic(row: dict, report: Report) -> None:
    payload = bytes.fromhex("307e087d55")  # the standard's worked example
    if row.get("role") == "expected output":
        report.same(row, "standard escaping example", row["hex"], "7e" + payload.hex() + "7e")
    else:
        splitter = FrameSplitter()
        report.same(row, "standard escaping example", splitter.feed(bytes.fromhex(row["hex"])), [payload])


def _check_fakeyanss(dec: Decoded, report: Report) -> None:
    match = re.search(r'Body: hex\.Str2Byte\("([0-9A-Fa-f]+)"\)', dec.row["asserts"])
    if match:
        report.same(dec.row, "jt808-server-go body bytes", dec.frame.body.hex(), match.group(1).lower())
        report.same(dec.row, "jt808-server-go phone", dec.frame.header.phone_raw.hex(),
                    re.search(r'PhoneNumber: "(\d+)"', dec.row["asserts"]).group(1))


def _check_reassembled(ctx: dict, report: Report, rows_by_file: dict) -> None:
    for source, frames in ctx["packets"].items():
        reassembler = Reassembler()
        bodies = [b for f in frames if (b := reassembler.add(f.header, f.body, now=0.0)) is not None]
        if not bodies:
            report.info["sub-packaged messages incomplete in the vectors (pieces only)"] += 1
            continue
        for body in bodies:
            decoded = decode_body(frames[0].header, body)
            report.same(rows_by_file[source][0], "reassembled message decodes", type(decoded).__name__, "Register")
            report.info["sub-packaged messages reassembled and decoded"] += 1


def _check_dump_pairs(ctx: dict, report: Report) -> None:
    for decs in ctx["dumps"].values():
        requests = [d for d in decs if d.frame.header.msg_id < 0x8000]
        replies = [d for d in decs if d.frame.header.msg_id >= 0x8000 and d.body is not None]
        if len(requests) == 1:
            for reply in replies:
                _compare_reply(reply.row, requests[0].wire, reply, report)


@cache
def conformance() -> Report:
    report = Report()
    ctx = {"packets": defaultdict(list), "dumps": defaultdict(list)}
    rows = [json.loads(line) for line in VECTORS.read_text().splitlines() if line.strip()]
    rows_by_file: dict[str, list] = defaultdict(list)
    for row in rows:
        report.rows += 1
        rows_by_file[_source_file(row)].append(row)
        if row.get("framed") is False:
            _check_unframed(row, report)
            continue
        if "synthetic framing" in (row.get("note") or ""):
            _check_synthetic(row, report)
            continue
        if row["msg_id"] == "stream":
            _check_stream(row, report)
            continue
        wire_bytes = bytes.fromhex(row.get("wire_hex") or row["hex"])
        raws = FrameSplitter(max_frame=8192, max_junk=64).feed(wire_bytes)
        if len(raws) != 1:
            report.fail(row, f"{len(raws)} frames where the vector holds one")
            continue
        dec = _decode_frame(row, raws[0], wire_bytes, report, ctx)
        if dec is None:
            continue
        impl = _impl(row)
        if impl == "traccar/traccar":
            _check_traccar(dec, report)
        elif impl == "cuteLittleDevil/go-jt808":
            _check_go(dec, report, ctx)
        elif impl == "makeclan/xtream-codec":
            _check_xtream(dec, report)
        elif impl == "emqx/emqx":
            _check_emqx(dec, report)
        elif impl == "fakeyanss/jt808-server-go":
            _check_fakeyanss(dec, report)
        if dec.body is not None and not isinstance(dec.body, RawBody):
            report.info[f"decoded {type(dec.body).__name__}"] += 1
        elif isinstance(dec.body, RawBody):
            report.info["kept raw (no body class)"] += 1
    _check_reassembled(ctx, report, rows_by_file)
    _check_dump_pairs(ctx, report)
    return report


def test_every_vector_decodes_with_the_asserted_values(capsys):
    report = conformance()
    with capsys.disabled():
        print("\n" + report.summary())
    assert not report.failures, "\n".join(report.failures)


def test_the_whole_file_was_read_and_compared():
    report = conformance()
    assert report.rows == sum(1 for line in VECTORS.read_text().splitlines() if line.strip())
    assert report.frames >= 300 and sum(report.compared.values()) >= 1000


def test_bad_checksums_and_lengths_are_counted_and_still_decoded():
    report = conformance()
    assert report.flagged["bad checksum"] > 0 and report.flagged["bad length field"] > 0
