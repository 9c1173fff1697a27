"""Whole messages in wire form: any body object, and the platform's replies to a terminal.

Replies echo the terminal's header edition and phone bytes (a 2019 terminal gets a 2019 header).
"""

from __future__ import annotations

from .framing import Header, encode_frame, encode_packets
from .messages import (
    RESULT_OK,
    MediaResponse,
    PlatformResponse,
    RegisterResponse,
    ResendRequest,
    encode_body,
    msg_id_of,
)


def encode_message(obj: object, *, phone_raw: bytes, serial: int, version: int | None = None) -> bytes:
    """One message object as a wire frame."""
    return encode_frame(msg_id_of(obj), encode_body(obj), phone_raw=phone_raw, serial=serial, version=version)


def encode_message_packets(obj: object, *, phone_raw: bytes, first_serial: int, version: int | None = None,
                           packet_size: int = 1023) -> list[bytes]:
    """A message object as wire frames, sub-packaged when its body exceeds `packet_size`."""
    return encode_packets(msg_id_of(obj), encode_body(obj), phone_raw=phone_raw, first_serial=first_serial,
                          version=version, packet_size=packet_size)


def general_reply(header: Header, result: int = RESULT_OK, platform_serial: int = 0) -> bytes:
    """0x8001 answering the message whose header is given."""
    body = PlatformResponse(header.serial, header.msg_id, result).encode()
    return encode_frame(0x8001, body, phone_raw=header.phone_raw, serial=platform_serial, version=header.version)


def register_reply(header: Header, result: int, auth_code: str = "", platform_serial: int = 0) -> bytes:
    """0x8100 answering a 0x0100 registration; the auth code is sent only when result is 0."""
    body = RegisterResponse(header.serial, result, auth_code).encode()
    return encode_frame(0x8100, body, phone_raw=header.phone_raw, serial=platform_serial, version=header.version)


def resend_request(header: Header, first_serial: int, indexes: list[int], platform_serial: int = 0) -> bytes:
    """0x8003 asking the terminal for the missing packets of a sub-packaged message."""
    layout = "2013" if header.version is None else "2019"
    body = ResendRequest(first_serial, list(indexes), layout).encode()
    return encode_frame(0x8003, body, phone_raw=header.phone_raw, serial=platform_serial, version=header.version)


def media_reply(header: Header, media_id: int, missing: list[int] | None = None, platform_serial: int = 0) -> bytes:
    """0x8800 answering a 0x0801 upload: all received (no list) or the packets to resend."""
    body = MediaResponse(media_id, list(missing or [])).encode()
    return encode_frame(0x8800, body, phone_raw=header.phone_raw, serial=platform_serial, version=header.version)
