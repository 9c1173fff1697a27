"""Message bodies and replies: known frames of other implementations, round trips, hostile input."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.telemetry.jt808 import (
    BATCH_BLIND_AREA,
    REGISTER_OK,
    RESULT_OK,
    Authentication,
    BodyError,
    CodecError,
    Header,
    Heartbeat,
    LocationBatch,
    Logout,
    RawBody,
    Register,
    TerminalResponse,
    body_json,
    decode_body,
    encode_message,
    general_reply,
    make_location,
    parse_frame,
    profiles,
    register_reply,
    unescape,
)
from wastetrail.telemetry.jt808 import messages as m

UTC = dt.UTC


def _frame(wire_hex: str):
    return parse_frame(unescape(bytes.fromhex(wire_hex)[1:-1]))


def _decode(wire_hex: str):
    frame = _frame(wire_hex)
    assert frame.checksum_ok and frame.length_ok
    return frame.header, decode_body(frame.header, frame.body)


# Frames from cuteLittleDevil/go-jt808's tests (terminal 012345678901 / 17299841738).
REGISTER_2011 = "7e010000200123456789010000001f007363640000007777772e3830382e3736353433323101b2e24131323334a17e"
REGISTER_2013 = ("7e0100002c0123456789010000001f007363640000007777772e3830382e636f6d0000000000000000003736353433"
                 "323101b2e24131323334cc7e")
AUTH_2013 = "7e0102000b01234567890100003137323939383431373338b57e"
AUTH_2019 = ("7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435332e372e"
             "31350000000000000000000000000000227e")


def test_register_2011_layout():
    _, body = _decode(REGISTER_2011)
    assert body == Register(31, 115, "cd", "www.808.", "7654321", 1, "测A1234", "2011")


def test_register_2013_layout_with_a_gbk_plate():
    _, body = _decode(REGISTER_2013)
    assert body == Register(31, 115, "cd", "www.808.com", "7654321", 1, "测A1234", "2013")


def test_register_2019_layout():
    register = Register(31, 115, "cd", "www.808.com", "7654321", 1, "测A1234", "2019")
    wire = encode_message(register, phone_raw=bytes.fromhex("00000000017299841738"), serial=0, version=1)
    header, body = _decode(wire.hex())
    assert header.version == 1 and body == register
    assert len(register.encode()) == 2 + 2 + 11 + 30 + 30 + 1 + 7


def test_authentication_2013_and_2019():
    _, body = _decode(AUTH_2013)
    assert body == Authentication("17299841738")
    _, body = _decode(AUTH_2019)
    assert body == Authentication("17299841738", "123456789012345", "3.7.15", "2019")


def test_general_reply_echoes_the_header_of_2013_and_2019_terminals():
    # go-jt808 reply_test.go: the 0x8001 answers to its 0x0102 frames (2013 result 1, 2019 result 0).
    header, _ = _decode(AUTH_2013)
    assert general_reply(header, 1, 0).hex() == "7e80010005012345678901000000000102010e7e"
    header, _ = _decode(AUTH_2019)
    assert general_reply(header, RESULT_OK, 0).hex() == "7e80014005010000000001729984173800000000010200877e"
    reply = _frame(general_reply(header, RESULT_OK, 0).hex())
    assert decode_body(reply.header, reply.body) == m.PlatformResponse(0, 0x0102, 0)


def test_register_reply_matches_go_jt808():
    header, _ = _decode(REGISTER_2013)
    assert register_reply(header, REGISTER_OK, "12345678901", 0).hex() == (
        "7e8100000e01234567890100000000003132333435363738393031377e")


def test_register_reply_without_success_carries_no_auth_code():
    header, _ = _decode(REGISTER_2013)
    reply = _frame(register_reply(header, m.REGISTER_NO_TERMINAL, "ignored", 5).hex())
    assert reply.body == bytes.fromhex("000004")


def test_a_message_id_without_a_decoder_is_kept_raw():
    body = decode_body(0x0F01, b"\x01\x02")
    assert body == RawBody(0x0F01, b"\x01\x02")


def test_a_truncated_body_raises_body_error_naming_the_field():
    with pytest.raises(BodyError, match="result"):
        decode_body(0x0001, bytes.fromhex("00010200"))
    with pytest.raises(BodyError, match="location 2 of 2"):
        location = m.location_bytes(make_location(time=dt.datetime(2025, 1, 1, tzinfo=UTC), lat_e6=1, lon_e6=2))
        decode_body(0x0704, bytes.fromhex("000200") + len(location).to_bytes(2, "big") + location + b"\x00\x1c")


def test_blind_area_batch_keeps_its_kind_and_every_location():
    locations = [make_location(time=dt.datetime(2025, 1, 1, 0, i, tzinfo=UTC), lat_e6=i, lon_e6=i) for i in range(3)]
    batch = decode_body(0x0704, LocationBatch(BATCH_BLIND_AREA, locations).encode())
    assert batch == LocationBatch(BATCH_BLIND_AREA, locations)


# --- round trips ----------------------------------------------------------------------------

texts = st.text(alphabet=st.sampled_from("abcXYZ0189-测试粤京渣土车 "), max_size=8)
u8s, u16s, u32s = st.integers(0, 255), st.integers(0, 65535), st.integers(0, 2**32 - 1)
digits = st.text(alphabet="0123456789", max_size=7)
moments = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30), timezones=st.just(UTC))
locations = st.builds(lambda t, lat, lon, items: make_location(time=t, lat_e6=lat, lon_e6=lon, items=items),
                      moments, st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000),
                      st.dictionaries(u8s, st.binary(max_size=8), max_size=3))
params = st.lists(st.tuples(u32s, st.binary(max_size=12)), max_size=5)


def _register(layout):
    # Plate colours are 0-9: where the colour byte sits is how 2011 and 2013 bodies are told apart.
    return st.builds(Register, u16s, u16s, st.text(alphabet="abc12", max_size=5),
                     st.text(alphabet="abc-12", max_size=8), st.text(alphabet="ABC123", max_size=7), st.integers(0, 9),
                     texts.map(lambda s: s.strip(" ")), st.just(layout))


BODIES = {
    "0x0001": st.builds(TerminalResponse, u16s, u16s, u8s),
    "0x0002": st.builds(Heartbeat, st.binary(max_size=4)),
    "0x0003": st.builds(Logout),
    "0x0100/2013": _register("2013"),
    "0x0100/2019": _register("2019"),
    "0x0102/2013": st.builds(Authentication, texts.filter(lambda s: s == s.rstrip("\x00"))),
    "0x0102/2019": st.builds(Authentication, texts, digits, st.text(alphabet="0123.v", max_size=20), st.just("2019")),
    "0x0704": st.builds(LocationBatch, st.integers(0, 1), st.lists(locations, max_size=4)),
    "0x0104": st.builds(m.ParameterReply, u16s, params),
    "0x0201": st.builds(m.LocationQueryReply, u16s, locations),
    "0x0800": st.builds(m.MediaEvent, u32s, u8s, u8s, u8s, u8s),
    "0x0801": st.builds(m.MediaData, u32s, u8s, u8s, u8s, u8s, locations.map(lambda loc: loc._replace(items={})),
                        st.binary(max_size=64)),
    "0x0900": st.builds(m.Passthrough, u8s, st.binary(max_size=20)),
    "0x8001": st.builds(m.PlatformResponse, u16s, u16s, u8s),
    "0x8003/2013": st.builds(m.ResendRequest, u16s, st.lists(u16s, max_size=10), st.just("2013")),
    "0x8003/2019": st.builds(m.ResendRequest, u16s, st.lists(u16s, max_size=10), st.just("2019")),
    "0x8100": st.builds(m.RegisterResponse, u16s, st.just(0), texts),
    "0x8100/refused": st.builds(m.RegisterResponse, u16s, st.integers(1, 4), st.just("")),
    "0x8103": st.builds(m.SetParameters, params),
    "0x8104": st.builds(m.QueryParameters),
    "0x8202": st.builds(m.TemporaryTracking, st.integers(1, 65535), u32s),
    "0x8202/stop": st.builds(m.TemporaryTracking, st.just(0), st.just(0)),
    "0x8300/2013": st.builds(m.TextMessage, u8s, texts, st.just(0), st.just("2013")),
    "0x8300/2019": st.builds(m.TextMessage, u8s, texts, u8s, st.just("2019")),
    "0x8800": st.builds(m.MediaResponse, u32s, st.lists(u16s, max_size=6)),
    "0x8801": st.builds(m.TakePhoto, u8s, u16s, u16s, u8s, u8s, u8s, u8s, u8s, u8s, u8s),
    "0x8900": st.builds(m.DownlinkPassthrough, u8s, st.binary(max_size=20)),
}


def _version_for(kind: str, obj) -> int | None:
    return 1 if kind.endswith("/2019") else None


@pytest.mark.parametrize("kind", sorted(BODIES))
@given(data=st.data(), serial=u16s, phone=st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_every_body_round_trips_through_a_wire_frame(kind, data, serial, phone):
    obj = data.draw(BODIES[kind])
    version = _version_for(kind, obj)
    if version is None and data.draw(st.booleans()) and not kind.endswith("/2013"):
        version = 1  # an edition-independent body behaves the same under a 2019 header
    size = 6 if version is None else 10
    phone_raw = bytes.fromhex(phone.rjust(size * 2, "0"))
    frame = _frame(encode_message(obj, phone_raw=phone_raw, serial=serial, version=version).hex())
    assert frame.checksum_ok and frame.length_ok
    assert (frame.header.msg_id, frame.header.serial, frame.header.version) == (m.msg_id_of(obj), serial, version)
    assert frame.header.phone == (phone.lstrip("0") or "0")
    assert decode_body(frame.header, frame.body) == obj


def test_2011_register_round_trips():
    register = Register(31, 115, "cd", "M-8", "7654321", 2, "粤J12345", "2011")
    assert decode_body(0x0100, register.encode()) == register


# --- hostile input --------------------------------------------------------------------------

def test_mutated_frames_raise_only_codec_errors():
    rng = random.Random(808)
    seeds = [bytes.fromhex(h)[1:-1] for h in (REGISTER_2011, REGISTER_2013, AUTH_2013, AUTH_2019)]
    batch = LocationBatch(0, [make_location(time=dt.datetime(2025, 1, 1, tzinfo=UTC), lat_e6=1, lon_e6=2,
                                            items={0x01: b"\x00\x00\x00\x01"})] * 2)
    seeds.append(unescape(encode_message(batch, phone_raw=bytes(6), serial=1)[1:-1]))
    for msg_id in [*m.BODY_TYPES, 0x0200]:
        seeds.append(msg_id.to_bytes(2, "big") + bytes(10) + bytes(rng.randrange(256) for _ in range(40)) + b"\x00")
    for _ in range(20_000):
        frame = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            if op == 0 and frame:
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            elif op == 1 and frame:
                del frame[rng.randrange(len(frame)):]
            else:
                frame.insert(rng.randrange(len(frame) + 1), rng.randrange(256))
        try:
            parsed = parse_frame(bytes(frame))
            decoded = decode_body(parsed.header, parsed.body)
            if hasattr(decoded, "extras"):
                decoded.extras()
        except CodecError:
            pass


@pytest.mark.parametrize("version", [None, 1])
@given(msg_id=st.sampled_from([*m.BODY_TYPES, 0x0200, 0x0F01]), body=st.binary(max_size=120))
def test_any_body_bytes_decode_to_json_or_raise_body_error(version, msg_id, body):
    header = Header(msg_id, version, "1", bytes(6 if version is None else 10), 0, 0, None, len(body))
    try:
        decoded = decode_body(header, body)
    except BodyError:
        return
    json.dumps(body_json(decoded, profiles.MUCK_TRUCK))
