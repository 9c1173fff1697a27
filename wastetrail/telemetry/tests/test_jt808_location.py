"""The 0x0200 location block: signed coordinates, GMT+8 time to UTC, additional items, profiles."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.telemetry.jt808 import (
    STATUS_FIXED,
    STATUS_SOUTH,
    STATUS_WEST,
    BodyError,
    Location,
    decode_location,
    location_bytes,
    make_location,
    parse_frame,
    profiles,
)
from wastetrail.telemetry.jt808.location import BASIC

UTC = dt.UTC

# Traccar's Jt808ProtocolDecoderTest: a terminal in Shenzhen (frame as its test feeds it).
SHENZHEN = bytes.fromhex(
    "02000048051160004464000d00000000000c00020159885e06cbf34400000000000020080718072201040000000130011c310109e4"
    "020063e50100e60100e7080000000000000000ee0a01cc01262c009a6743001e"
)


def _basic(*, alarm=0, status=STATUS_FIXED, lat=22_644_830, lon=114_029_380, alt=12, speed=456, heading=90,
           time="200807180722") -> bytes:
    return BASIC.pack(alarm, status, lat, lon, alt, speed, heading, bytes.fromhex(time))


def test_decodes_a_real_terminal_report():
    frame = parse_frame(SHENZHEN)
    assert frame.checksum_ok and frame.length_ok
    location = decode_location(frame.body)
    assert (location.lat_e6, location.lon_e6) == (22_644_830, 114_029_380)
    assert location.time_local == dt.datetime(2020, 8, 7, 18, 7, 22)
    assert location.time_utc == dt.datetime(2020, 8, 7, 10, 7, 22, tzinfo=UTC)
    assert location.status == 0x000C0002 and location.fixed and not location.acc_on
    assert location.items[0x01] == bytes.fromhex("00000001")
    extras = location.extras()
    assert extras["odometer_km"] == 0.1 and extras["signal"] == 28 and extras["satellites"] == 9
    assert extras["0xEE"] == "01cc01262c009a674300" and extras["0xE4"] == "0063"


def test_south_and_west_bits_make_coordinates_negative():
    location = decode_location(_basic(status=STATUS_FIXED | STATUS_SOUTH | STATUS_WEST))
    assert (location.lat_e6, location.lon_e6) == (-22_644_830, -114_029_380)


def test_time_utc_is_eight_hours_before_beijing_time_across_midnight():
    location = decode_location(_basic(time="250101030000"))
    assert location.time_utc == dt.datetime(2024, 12, 31, 19, 0, tzinfo=UTC)
    assert location.time_utc.tzinfo is UTC


@pytest.mark.parametrize("time", ["000000000000", "2513010a0000", "250230120000", "ffffffffffff"])
def test_a_time_that_is_not_a_date_decodes_to_none(time):
    location = decode_location(_basic(time=time))
    assert location.time_utc is None and location.time_local is None
    assert location.time_bcd == bytes.fromhex(time)


def test_a_truncated_basic_block_raises_body_error_with_a_reason():
    with pytest.raises(BodyError, match="basic block needs 28"):
        decode_location(_basic()[:27])


def test_a_truncated_trailing_item_is_kept_not_raised():
    location = decode_location(_basic() + bytes.fromhex("3102") + b"\x08")  # says 2 bytes, has 1
    assert location.items == {} and location.trailing == bytes.fromhex("310208")
    location = decode_location(_basic() + bytes.fromhex("310108") + b"\x01")  # a lone id byte
    assert location.items == {0x31: b"\x08"} and location.trailing == b"\x01"


def test_decode_location_reads_from_an_offset_to_an_end():
    body = b"\xff\xff" + _basic() + bytes.fromhex("310108") + b"\xee"
    location = decode_location(body, 2, len(body) - 1)
    assert location.items == {0x31: b"\x08"} and location.trailing == b""


def test_extras_are_json_with_units_and_unknown_ids_as_hex():
    items = {0x01: (123456).to_bytes(4, "big"), 0x02: (805).to_bytes(2, "big"), 0x03: (600).to_bytes(2, "big"),
             0x06: bytes.fromhex("8005"), 0x2B: bytes.fromhex("00020001"), 0x30: b"\x1f", 0x31: b"\x0c",
             0x12: bytes.fromhex("0100000007" "01"), 0x99: b"\x01\x02"}
    location = decode_location(_basic() + b"".join(bytes((k, len(v))) + v for k, v in items.items()))
    extras = location.extras()
    assert extras == {
        "odometer_km": 12345.6, "fuel_l": 80.5, "tacho_speed_kmh": 60.0, "compartment_temp_c": -5,
        "analog_ad0": 1, "analog_ad1": 2, "signal": 31, "satellites": 12,
        "area_event": {"type": 1, "id": 7, "direction": "out"}, "0x99": "0102",
    }
    json.dumps(extras)


def test_a_standard_item_of_the_wrong_length_is_kept_as_hex():
    location = decode_location(_basic() + bytes.fromhex("0102abcd"))
    assert location.extras() == {"0x01": "abcd"}


def test_muck_truck_profile_decodes_cover_lift_and_dump_items():
    muck = profiles.for_model("ZT-808G")
    assert muck is profiles.MUCK_TRUCK
    dump = bytes.fromhex("01" "250301101500" "250301101730")
    location = decode_location(_basic() + bytes.fromhex("e40400000003") + b"\xe3\x0d" + dump)
    extras = location.extras(muck)
    assert extras["cover_open"] is True and extras["body_lifted"] is True
    assert extras["dump"] == {"abnormal": True, "result": 1, "start_utc": "2025-03-01T02:15:00+00:00",
                              "end_utc": "2025-03-01T02:17:30+00:00"}
    json.dumps(extras)
    # Without the profile the same items are vendor bytes, kept raw.
    assert location.extras()["0xE4"] == "00000003"


def test_cover_closed_and_body_down_decode_as_false():
    location = decode_location(_basic() + bytes.fromhex("e40400000000"))
    assert location.extras(profiles.MUCK_TRUCK)["cover_open"] is False
    assert location.extras(profiles.MUCK_TRUCK)["body_lifted"] is False


def test_unknown_models_get_the_standard_profile():
    assert profiles.for_model("SOMETHING-ELSE") is profiles.STANDARD
    assert profiles.for_model(None) is profiles.STANDARD
    assert profiles.for_model(" zt-808g ") is profiles.MUCK_TRUCK


locations = st.builds(
    lambda alarm, status, lat, lon, alt, speed, heading, moment, items: make_location(
        time=moment, lat_e6=lat, lon_e6=lon, alarm=alarm, status=status, altitude_m=alt, speed_dkmh=speed,
        heading=heading, items=items),
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(-90_000_000, 90_000_000),
    st.integers(-180_000_000, 180_000_000), st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 359),
    st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30), timezones=st.just(UTC)),
    st.dictionaries(st.integers(0, 255), st.binary(max_size=40), max_size=6),
)


@given(locations)
def test_location_round_trips(location: Location):
    decoded = decode_location(location_bytes(location))
    assert decoded == location
    assert decoded.time_utc == location.time_utc


def test_make_location_converts_an_aware_time_to_beijing_time():
    location = make_location(time=dt.datetime(2025, 6, 1, 23, 30, tzinfo=UTC), lat_e6=1, lon_e6=2)
    assert location.time_local == dt.datetime(2025, 6, 2, 7, 30)
    assert location_bytes(location)[22:28] == bytes.fromhex("250602073000")
