"""`wastetrail jt808 decode`: one JSON object per input line, never a traceback."""

from __future__ import annotations

import datetime as dt
import io
import json

from django.core.management import call_command

from wastetrail.telemetry.jt808 import encode_frame, encode_packets, location_bytes, make_location

HEARTBEAT = "7e0002000001234567890100008a7e"


def _run(text: str, *args: str) -> list[dict]:
    out = io.StringIO()
    call_command("jt808", "decode", *args, stdin=io.StringIO(text), stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_decodes_each_line_and_skips_blank_lines_and_comments():
    results = _run(f"# a heartbeat\n\n{HEARTBEAT}\n  {' '.join(HEARTBEAT[i:i + 2] for i in range(0, 30, 2))}\n")
    assert len(results) == 2
    assert results[0] == results[1]
    assert results[0]["ok"] and results[0]["header"]["msg_id"] == "0x0002"
    assert results[0]["header"]["phone"] == "12345678901" and results[0]["checksum_ok"]
    assert results[0]["body"] == {"type": "Heartbeat", "extra": ""}


def test_a_location_shows_utc_time_and_profile_items():
    location = make_location(time=dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC), lat_e6=22_600_000,
                             lon_e6=113_100_000, items={0xE4: bytes.fromhex("00000001")})
    wire = encode_frame(0x0200, location_bytes(location), phone_raw=bytes.fromhex("013912344323"), serial=3).hex()
    (plain,) = _run(wire + "\n")
    (muck,) = _run(wire + "\n", "--profile", "ZT-808G")
    assert plain["body"]["time_utc"] == "2025-03-01T10:00:00+00:00"
    assert plain["body"]["time_local"] == "2025-03-01T18:00:00"
    assert plain["body"]["extras"] == {"0xE4": "00000001"}
    assert muck["body"]["extras"]["cover_open"] is True and muck["body"]["extras"]["body_lifted"] is False


def test_bad_lines_give_a_reason_not_a_traceback():
    bad_checksum = HEARTBEAT[:-4] + "00" + "7e"
    results = _run("\n".join(["zz", "7e0001", bad_checksum, "7e000100020123456789010000aaaa" + "7e"]) + "\n")
    assert [r["ok"] for r in results] == [False, False, True, False]
    assert "hexadecimal" in results[0]["error"]
    assert "shorter than a header" in results[1]["error"]
    assert results[2]["checksum_ok"] is False
    assert "0x0001" in results[3]["error"] and results[3]["header"]["msg_id"] == "0x0001"


def test_an_id_without_a_decoder_prints_its_header_and_raw_body():
    wire = encode_frame(0x0F10, b"\x01\x02", phone_raw=bytes(6), serial=1).hex()
    (result,) = _run(wire)
    assert result["ok"] and result["body"] == {"type": "RawBody", "msg_id": "0x0F10", "data": "0102"}


def test_a_sub_package_piece_is_shown_raw_with_a_note():
    first = encode_packets(0x0801, bytes(300), phone_raw=bytes(6), first_serial=1, packet_size=100)[1].hex()
    (result,) = _run(first)
    assert result["ok"] and result["header"]["packet"] == [3, 2] and "packet 2 of 3" in result["note"]
