"""Framing: escaping, checksum, splitting a byte stream, headers of every edition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.telemetry.jt808 import (
    FrameError,
    FrameSplitter,
    checksum,
    encode_frame,
    escape,
    frame_bytes,
    parse_frame,
    phone_to_raw,
    unescape,
    wire,
)

PHONE_2013 = bytes.fromhex("013912344323")
PHONE_2019 = bytes.fromhex("00000000013912344329")


def test_escaping_matches_the_worked_example_of_the_standard():
    # JT/T 808-2013 §4.4.2: 30 7E 08 7D 55 is sent as 7E 30 7D 02 08 7D 01 55 7E.
    assert escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    assert unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")


def test_escape_of_an_escape_sequence_unescapes_to_itself():
    # 7D 02 in the payload must come back as 7D 02, not as 7E.
    assert unescape(escape(b"\x7d\x02\x7d\x01")) == b"\x7d\x02\x7d\x01"


@given(st.binary(max_size=600))
def test_escaping_round_trips_and_leaves_no_delimiter(payload):
    escaped = escape(payload)
    assert b"\x7e" not in escaped
    assert unescape(escaped) == payload


@given(st.binary(max_size=5000))
def test_checksum_is_the_xor_of_every_byte(payload):
    expected = 0
    for byte in payload:
        expected ^= byte
    assert checksum(payload) == expected


def test_parse_frame_reads_a_2013_header():
    frame = parse_frame(bytes.fromhex("800100050139123443230000007b02000083"))
    header = frame.header
    assert (header.msg_id, header.version, header.phone, header.serial) == (0x8001, None, "13912344323", 0)
    assert header.phone_raw == PHONE_2013 and header.packet is None and header.body_length == 5
    assert frame.body == bytes.fromhex("007b020000")
    assert frame.checksum_ok and frame.length_ok


def test_parse_frame_reads_a_2019_header():
    frame = parse_frame(bytes.fromhex("8001400501000000000139123443290000006f020000dc"))
    header = frame.header
    assert (header.msg_id, header.version, header.phone, header.serial) == (0x8001, 1, "13912344329", 0)
    assert header.phone_raw == PHONE_2019 and header.size == 17
    assert frame.checksum_ok and frame.length_ok


def test_parse_frame_reads_the_packet_item_of_a_sub_packaged_frame():
    raw = frame_bytes(0x0801, b"abc", phone_raw=PHONE_2013, serial=7, packet=(3, 2))
    header = parse_frame(raw).header
    assert header.packet == (3, 2) and header.size == 16
    assert parse_frame(raw).body == b"abc"


def test_a_bad_checksum_or_length_is_reported_not_raised():
    good = bytes.fromhex("800100050139123443230000007b02000083")
    bad_checksum = parse_frame(good[:-1] + b"\x00")
    assert not bad_checksum.checksum_ok and bad_checksum.length_ok
    bad_length = parse_frame(bytes.fromhex("8001000601391234432300") + bytes.fromhex("00007b020000"))
    assert not bad_length.length_ok


@pytest.mark.parametrize("raw", ["", "80", "8001000501391234432300", "8001400501000000000139123443"])
def test_a_frame_without_a_whole_header_raises_frame_error(raw):
    with pytest.raises(FrameError):
        parse_frame(bytes.fromhex(raw))


def test_encode_frame_builds_the_wire_form_other_implementations_expect():
    # xtream-codec's 0x8001 test vector (2013 and 2019).
    body = bytes.fromhex("007b020000")
    assert encode_frame(0x8001, body, phone_raw=PHONE_2013, serial=0).hex() == (
        "7e800100050139123443230000007b020000837e")
    body = bytes.fromhex("006f020000")
    assert encode_frame(0x8001, body, phone_raw=PHONE_2019, serial=0, version=1).hex() == (
        "7e8001400501000000000139123443290000006f020000dc7e")


def test_phone_to_raw_pads_bcd_and_refuses_what_is_not_digits():
    assert phone_to_raw("13912344323") == PHONE_2013
    assert phone_to_raw("13912344329", version=1) == PHONE_2019
    with pytest.raises(ValueError):
        phone_to_raw("1391234432x")
    with pytest.raises(ValueError):
        phone_to_raw("1" * 13)


# --- the splitter ---------------------------------------------------------------------------

FRAME_A = frame_bytes(0x0002, b"", phone_raw=PHONE_2013, serial=1)
FRAME_B = frame_bytes(0x0200, bytes(range(0x70, 0x80)) * 3, phone_raw=PHONE_2013, serial=2)  # has 7D and 7E


def test_splitter_drops_junk_before_the_first_delimiter_and_counts_it():
    splitter = FrameSplitter(max_frame=1024, max_junk=16)
    assert splitter.feed(b"$$" + wire(FRAME_A)) == [FRAME_A]
    assert splitter.junk_bytes == 2 and not splitter.junk_exceeded


def test_splitter_returns_several_frames_of_one_read():
    splitter = FrameSplitter()
    assert splitter.feed(wire(FRAME_A) + wire(FRAME_B) + wire(FRAME_A)) == [FRAME_A, FRAME_B, FRAME_A]


def test_splitter_keeps_a_partial_frame_until_the_next_read_even_after_an_escape_byte():
    data = wire(FRAME_B)
    cut = data.index(b"\x7d") + 1  # right after 7D: the escape pair straddles the reads
    splitter = FrameSplitter()
    assert splitter.feed(data[:cut]) == []
    assert splitter.feed(data[cut:]) == [FRAME_B]


def test_splitter_reads_a_shared_delimiter_pair_and_a_stray_delimiter():
    splitter = FrameSplitter()
    assert splitter.feed(b"\x7e" + wire(FRAME_A) + wire(FRAME_B)) == [FRAME_A, FRAME_B]


def test_splitter_flags_a_stream_that_is_not_jt808():
    splitter = FrameSplitter(max_frame=1024, max_junk=100)
    splitter.feed(b"GET / HTTP/1.1\r\nHost: example\r\n" * 5)
    assert splitter.junk_exceeded


def test_splitter_drops_an_oversized_frame_and_resynchronises():
    splitter = FrameSplitter(max_frame=64, max_junk=10_000)
    assert splitter.feed(b"\x7e" + b"\x01" * 100) == []
    assert splitter.oversized_frames == 1
    assert splitter.feed(b"\x01" * 50 + b"\x7e" + wire(FRAME_A)) == [FRAME_A]
    assert splitter.pending == 0


@given(
    junk=st.binary(max_size=20).map(lambda b: b.replace(b"\x7e", b"")),
    frames=st.lists(st.binary(min_size=13, max_size=80), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_splitter_yields_the_same_frames_whatever_the_read_boundaries(junk, frames, cuts):
    stream = junk + b"".join(wire(frame) for frame in frames)
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    splitter = FrameSplitter(max_frame=1024, max_junk=1024)
    out = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    assert out == frames
    assert splitter.junk_bytes == len(junk)


def test_splitter_accepts_memoryview_and_bytearray_reads():
    data = wire(FRAME_B) + wire(FRAME_A)
    assert FrameSplitter().feed(memoryview(data)) == [FRAME_B, FRAME_A]
    assert FrameSplitter().feed(bytearray(wire(FRAME_B))) == [FRAME_B]
    assert FrameSplitter().feed(memoryview(wire(FRAME_B))) == [FRAME_B]
