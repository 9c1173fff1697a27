"""The gateway's precompiled 0x8001 encoder gives exactly the codec's bytes (escaping included)."""

from __future__ import annotations

import pytest

from wastetrail.telemetry.gateway.replies import ReplyEncoder
from wastetrail.telemetry.jt808 import Header, general_reply, parse_frame, phone_to_raw, unescape

# Phone bytes as terminals send them, some (non-BCD, vendor ids) holding the bytes that must be escaped.
PHONES = [(phone_to_raw("13912345678"), None), (phone_to_raw("13912345678", 1), 1),
          (bytes.fromhex("7e7d7e7d7e7d"), None), (bytes.fromhex("017e7d00000000000001"), 1)]


def header(phone_raw: bytes, version: int | None, serial: int, msg_id: int) -> Header:
    return Header(msg_id, version, "", phone_raw, serial, 0, None, 0)


@pytest.mark.parametrize(("raw", "version"), PHONES)
def test_every_reply_equals_the_codecs(raw, version):
    encoder = ReplyEncoder(raw, version)
    # Serials and ids around the escaped values 0x7D/0x7E in every byte position.
    for platform_serial, reply_serial, reply_id, result in [
        (0, 0, 0x0200, 0), (1, 0x7E7D, 0x0704, 1), (0x7E, 0x7D, 0x0002, 2), (0x7D7E, 0xFFFF, 0x7E7E, 3),
        (0xFFFF, 0x1234, 0x0102, 4), *[(n, n * 7 & 0xFFFF, 0x0200, n % 5) for n in range(300)],
    ]:
        encoder.serial = platform_serial - 1
        mine = encoder.general(reply_serial, reply_id, result)
        theirs = general_reply(header(raw, version, reply_serial, reply_id), result, platform_serial)
        assert mine == theirs, (platform_serial, reply_serial, reply_id, result)


def test_platform_serials_count_up_and_wrap():
    encoder = ReplyEncoder(phone_to_raw("13912345678"), None)
    encoder.serial = 0xFFFE
    serials = []
    for _ in range(3):
        frame = parse_frame(unescape(encoder.general(1, 0x0200)[1:-1]))
        assert frame.checksum_ok
        serials.append(frame.header.serial)
    assert serials == [0xFFFF, 0, 1]
