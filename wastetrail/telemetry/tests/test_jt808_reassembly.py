"""Sub-packaged messages: reassembly in any order, resend requests after a timeout, bounded memory."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.telemetry.jt808 import (
    FrameSplitter,
    MediaData,
    ResendRequest,
    decode_body,
    encode_message_packets,
    encode_packets,
    frame_bytes,
    make_location,
    parse_frame,
    resend_request,
)
from wastetrail.telemetry.jt808.reassembly import Reassembler

PHONE = bytes.fromhex("013912344323")


def _frames(wires: list[bytes]):
    splitter = FrameSplitter(max_frame=4096)
    return [parse_frame(raw) for wire in wires for raw in splitter.feed(wire)]


@given(body=st.binary(min_size=1, max_size=3000), size=st.integers(50, 1023), first=st.integers(0, 65535),
       order=st.randoms(use_true_random=False), version=st.sampled_from([None, 1]))
def test_packets_in_any_order_give_back_the_whole_body(body, size, first, order, version):
    phone = PHONE if version is None else bytes(4) + PHONE
    frames = _frames(encode_packets(0x0801, body, phone_raw=phone, first_serial=first, version=version,
                                    packet_size=size))
    order.shuffle(frames)
    reassembler = Reassembler()
    results = [reassembler.add(f.header, f.body, now=0.0) for f in frames]
    assert [r for r in results if r is not None] == [body]
    assert results[-1] == body  # complete exactly when the last packet arrives
    assert reassembler.open_messages == 0 and reassembler.open_bytes == 0


def test_a_frame_that_is_not_sub_packaged_passes_through():
    frame = _frames(encode_packets(0x0200, b"x" * 10, phone_raw=PHONE, first_serial=5))[0]
    assert frame.header.packet is None
    assert Reassembler().add(frame.header, frame.body, now=0.0) == b"x" * 10


def test_missing_packets_are_listed_after_the_timeout_then_dropped():
    frames = _frames(encode_packets(0x0104, bytes(3000), phone_raw=PHONE, first_serial=65534, packet_size=1000))
    reassembler = Reassembler(timeout=10, max_requests=2)
    reassembler.add(frames[1].header, frames[1].body, now=0.0)  # serial 65535 wraps to 0 next
    assert reassembler.due(now=5.0) == []
    (pending,) = reassembler.due(now=10.0)
    assert (pending.msg_id, pending.first_serial, pending.total, pending.missing) == (0x0104, 65534, 3, [1, 3])
    assert pending.phone == "13912344323" and pending.version is None
    assert reassembler.due(now=15.0) == []  # asked again only after another timeout
    assert len(reassembler.due(now=20.0)) == 1
    assert reassembler.due(now=30.0) == [] and reassembler.dropped_incomplete == 1
    assert reassembler.open_messages == 0


def test_the_resend_request_carries_the_missing_indexes_in_the_terminals_edition():
    for version, count in ((None, "02"), (1, "0002")):
        phone = PHONE if version is None else bytes(4) + PHONE
        header = _frames(encode_packets(0x0801, bytes(2000), phone_raw=phone, first_serial=7, version=version,
                                        packet_size=500))[0].header
        reply = _frames([resend_request(header, 7, [2, 4], platform_serial=9)])[0]
        assert reply.header.msg_id == 0x8003 and reply.header.version == version
        assert reply.body.hex() == "0007" + count + "00020004"
        assert decode_body(reply.header, reply.body) == ResendRequest(7, [2, 4], "2013" if version is None else "2019")


def test_a_media_upload_reports_its_media_id_when_packet_one_arrived():
    media = MediaData(4242, 0, 0, 1, 1, make_location(time=dt.datetime(2025, 1, 1), lat_e6=1, lon_e6=1), bytes(1500))
    frames = _frames(encode_message_packets(media, phone_raw=PHONE, first_serial=100, packet_size=512))
    reassembler = Reassembler(timeout=1)
    reassembler.add(frames[0].header, frames[0].body, now=0.0)
    (pending,) = reassembler.due(now=1.0)
    assert pending.media_id == 4242 and pending.missing == [2, 3]
    for frame in frames[1:]:
        body = reassembler.add(frame.header, frame.body, now=2.0)
    assert decode_body(frames[0].header, body) == media


def test_open_messages_are_capped_and_the_oldest_dropped():
    reassembler = Reassembler(max_messages=2)
    for first in (0, 10, 20):
        frame = _frames(encode_packets(0x0801, bytes(100), phone_raw=PHONE, first_serial=first, packet_size=50))[0]
        reassembler.add(frame.header, frame.body, now=float(first))
    assert reassembler.open_messages == 2 and reassembler.dropped_overflow == 1
    assert sorted(p.first_serial for p in reassembler.due(now=1000.0)) == [10, 20]


def test_buffered_bytes_are_capped():
    reassembler = Reassembler(max_bytes=1500)
    for first in (0, 10):
        frames = _frames(encode_packets(0x0801, bytes(3000), phone_raw=PHONE, first_serial=first, packet_size=1000))
        for frame in frames[:2]:
            reassembler.add(frame.header, frame.body, now=0.0)
    assert reassembler.open_bytes <= 1500 and reassembler.dropped_overflow >= 1


@pytest.mark.parametrize("packet", [(3, 0), (3, 4)])
def test_an_impossible_packet_index_is_counted_not_stored(packet):
    frame = parse_frame(frame_bytes(0x0801, b"abc", phone_raw=PHONE, serial=1, packet=packet))
    reassembler = Reassembler()
    assert reassembler.add(frame.header, frame.body, now=0.0) is None
    assert reassembler.bad_packets == 1 and reassembler.open_messages == 0
