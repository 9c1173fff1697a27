"""The mutation engine the fuzz tests share (no tests here): seed frames and how they are damaged.

Seeds are the real frames of /work/shared/jt808/vectors.jsonl (public implementations' test
suites; skipped when the file is absent) plus frames the encoder builds for every message id the
codec knows, in 2013 and 2019 headers, sub-packaged and not. Each fuzzed frame is a seed with one
to eight damages — bit flips, bytes replaced, inserted, deleted or duplicated, truncation, another
seed spliced in, wrong or maximal body-length fields, header flags toggled (2019 version, packet,
encryption), another message id, stray 7D/7E bytes, long tails — and then, more often than not,
a checksum made right again so that the damage reaches the body decoders instead of stopping at
the checksum. On the wire, escapes are damaged too (7D at the end, 7D followed by neither 01 nor
02, doubled delimiters, a missing delimiter) and junk goes between frames; the stream is cut into
reads at random places.

A plain `random.Random` loop rather than hypothesis: a million examples must run in about a
minute, and there is nothing to shrink (a failure prints the frame's hex, which is the reproducer).
`WASTETRAIL_FUZZ_SEED` changes the seed (default 808), `WASTETRAIL_FUZZ_FRAMES` the count.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import traceback
from pathlib import Path

from wastetrail.telemetry.jt808 import (
    BATCH_BLIND_AREA,
    BATCH_NORMAL,
    MAX_BODY,
    Authentication,
    CodecError,
    DownlinkPassthrough,
    Heartbeat,
    LocationBatch,
    LocationQueryReply,
    Logout,
    MediaData,
    MediaEvent,
    MediaResponse,
    ParameterReply,
    Passthrough,
    PlatformResponse,
    QueryParameters,
    RawBody,
    Register,
    RegisterResponse,
    ResendRequest,
    SetParameters,
    TakePhoto,
    TemporaryTracking,
    TerminalResponse,
    TextMessage,
    checksum,
    encode_body,
    encode_packets,
    escape,
    frame_bytes,
    make_location,
    msg_id_of,
    parse_frame,
    unescape,
)
from wastetrail.telemetry.jt808.messages import BODY_TYPES, TerminalControl

SEED = int(os.environ.get("WASTETRAIL_FUZZ_SEED", "808"))
FRAMES = int(os.environ.get("WASTETRAIL_FUZZ_FRAMES", "1000000"))
VECTORS = Path("/work/shared/jt808/vectors.jsonl")
MAX_FAILURES_SHOWN = 5


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# --- seeds -------------------------------------------------------------------------------------

def vector_frames() -> list[bytes]:
    """The vectors' frames, un-escaped, without delimiters (checksum byte last)."""
    if not VECTORS.exists():
        return []
    frames = []
    for line in VECTORS.read_text().splitlines():
        vector = json.loads(line)
        wire = bytes.fromhex(vector.get("wire_hex") or vector["hex"])
        inner = wire.strip(b"\x7e")
        frames.append(unescape(inner) if b"\x7d" in inner else inner)
    return frames


MOMENT = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)


def rich_location():
    """A location with every standard item and the muck-truck profile's vendor items."""
    items = {0x01: (123456).to_bytes(4, "big"), 0x02: b"\x01\x02", 0x03: b"\x00\x50", 0x04: b"\x00\x07",
             0x05: bytes(range(30)), 0x06: b"\x80\x12", 0x11: b"\x01\x00\x00\x00\x09",
             0x12: b"\x01\x00\x00\x00\x09\x01", 0x13: b"\x00\x00\x00\x09\x00\x10\x01", 0x25: bytes(4),
             0x2A: b"\x00\x01", 0x2B: b"\x00\x01\x00\x02", 0x30: b"\x1c", 0x31: b"\x0b",
             0xE3: b"\x01" + bytes.fromhex("260504101010") + bytes.fromhex("260504101510"),
             0xE4: b"\x00\x00\x00\x03", 0xEE: b"vendor"}
    return make_location(time=MOMENT, lat_e6=22_578_000, lon_e6=113_081_000, status=0x303, speed_dkmh=350, heading=90,
                         altitude_m=12, items=items)


def sample_messages() -> list[object]:
    """One message object per message id the codec knows (both layouts where they differ), plus
    ids it keeps raw and a location with many items (the profiles' decoders)."""
    location = rich_location()
    south_west = make_location(time=MOMENT, lat_e6=-33_000_000, lon_e6=-70_000_000, items={0x01: bytes(4)})
    messages: list[object] = [
        TerminalResponse(7, 0x8103, 0), Heartbeat(), Heartbeat(b"\x01\x02"), Logout(),
        Register(44, 703, "WTRL", "ZT-808G", "T000001", 2, "粤J12345", "2013"),
        Register(44, 703, "WTRL", "ZT-808G", "T000001", 2, "粤J12345", "2011"),
        Register(44, 703, "WTRL00000AB", "ZT-808G", "T0000000000000000000000000001", 1, "粤J12345", "2019"),
        Authentication("ABCDEF0123456789"), Authentication("CODE", "860000000000001", "1.0", "2019"),
        ParameterReply(3, [(0x0001, b"\x00\x00\x00\x1e"), (0x0013, b"10.0.0.1")]),
        LocationQueryReply(9, location), LocationBatch(BATCH_NORMAL, [location, south_west]),
        LocationBatch(BATCH_BLIND_AREA, [location] * 3), MediaEvent(1, 0, 0, 1, 1),
        MediaData(1, 0, 0, 1, 1, location, b"\xff\xd8" + bytes(64) + b"\xff\xd9"), Passthrough(0x41, b"abc"),
        DownlinkPassthrough(0x41, b"abc"), PlatformResponse(3, 0x0200, 0), ResendRequest(5, [2, 3], "2013"),
        ResendRequest(5, [2, 3], "2019"), RegisterResponse(1, 0, "CODE"), RegisterResponse(1, 3),
        SetParameters([(0x0001, b"\x00\x00\x00\x1e")]), QueryParameters(), TerminalControl(4),
        TemporaryTracking(10, 3600), TextMessage(0x08, "请减速"), TextMessage(0x08, "slow", 1, "2019"),
        MediaResponse(1, [2, 5]), TakePhoto(1, 1, 0, 0, 1, 5, 128, 64, 64, 128), location,
        RawBody(0x0900, b"\x41hello"), RawBody(0x0800, bytes(8)), RawBody(0x0004, b""), RawBody(0x0005, b"\x00\x01"),
        RawBody(0x0301, b"\x01"), RawBody(0x0701, b"\x00\x00\x00\x02ab"), RawBody(0x0702, b"\x01"),
        RawBody(0x0104, b"\x00\x01\x00"), RawBody(0x0107, bytes(20)), RawBody(0x0805, bytes(7)), RawBody(0x0608, b""),
    ]
    for body_type in BODY_TYPES.values():  # a new message class without a sample here is a gap: fail loudly
        assert any(type(m) is body_type for m in messages), f"no sample for {body_type.__name__}"
    return messages


def encoder_frames(phone_raws: dict[int | None, bytes]) -> list[bytes]:
    """Every sample message, for each header version given ({version: phone bytes}), as an
    un-escaped frame; a long batch also sub-packaged."""
    frames = []
    for version, phone_raw in phone_raws.items():
        for serial, message in enumerate(sample_messages()):
            frames.append(frame_bytes(msg_id_of(message), encode_body(message), phone_raw=phone_raw, serial=serial,
                                      version=version))
        long_batch = encode_body(LocationBatch(BATCH_BLIND_AREA, [rich_location()] * 30))
        for wire in encode_packets(0x0704, long_batch, phone_raw=phone_raw, first_serial=100, version=version,
                                   packet_size=400):
            frames.append(unescape(wire[1:-1]))
    return frames


def rehead(frames: list[bytes], phone_raws: dict[int | None, bytes]) -> list[bytes]:
    """The vectors' frames with this terminal's phone (so that an authenticated connection takes
    them as its own); frames whose header cannot be read are kept as they are."""
    out = []
    for raw in frames:
        try:
            header = parse_frame(raw).header
        except CodecError:
            out.append(raw)
            continue
        body = raw[header.size:-1]
        if len(body) > MAX_BODY:
            out.append(raw)
            continue
        phone_raw = phone_raws[None] if header.version is None else phone_raws[1]
        out.append(frame_bytes(header.msg_id, body, phone_raw=phone_raw, serial=header.serial, version=header.version,
                               packet=header.packet, encrypted=header.encrypted))
    return out


# --- damage ------------------------------------------------------------------------------------

_IDS = sorted({*BODY_TYPES, 0x0200, 0x0704, 0x0201, 0x0102, 0x0100, 0x0002, 0x0003, 0x0001, 0x0004, 0x0900, 0x0800,
               0x0801, 0x0301, 0x0303, 0x0701, 0x0702, 0x0705, 0x0104, 0x0107, 0x0302, 0x0500, 0x0805, 0x0608, 0xFFFF,
               0x0000})


class Mutator:
    def __init__(self, seeds: list[bytes], seed: int) -> None:
        self.seeds = [s for s in seeds if s]
        self.rng = random.Random(seed)

    def frame(self) -> bytes:
        """A damaged copy of a random seed (un-escaped, checksum byte last)."""
        rng = self.rng
        rand = rng.random
        data = bytearray(self.seeds[int(rand() * len(self.seeds))])
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 8))):
            op = int(rand() * 13)
            n = len(data)
            if op == 0 and n:
                data[int(rand() * n)] ^= 1 << int(rand() * 8)
            elif op == 1 and n:
                data[int(rand() * n)] = int(rand() * 256)
            elif op == 2:
                data[int(rand() * (n + 1)):0] = rng.randbytes(1 + int(rand() * 4))
            elif op == 3 and n:
                start = int(rand() * n)
                del data[start:start + 1 + int(rand() * 8)]
            elif op == 4:
                del data[int(rand() * (n + 1)):]
            elif op == 5 and n >= 4:  # the body-length field: 0, the 10-bit maximum, off by one, anything
                body = max(0, n - 13)
                length = rng.choice((0, 0x3FF, body + 1, max(0, body - 1), int(rand() * 0x400)))
                data[2] = (data[2] & 0xFC) | (length >> 8)
                data[3] = length & 0xFF
            elif op == 6 and n >= 4:  # version (0x40), packet (0x20) or encryption (0x04-0x10) flag
                data[2] ^= rng.choice((0x40, 0x20, 0x04, 0x08, 0x10, 0x80))
            elif op == 7 and n >= 2:
                msg_id = rng.choice(_IDS)
                data[0], data[1] = msg_id >> 8, msg_id & 0xFF
            elif op == 8 and n:
                start = int(rand() * n)
                data[int(rand() * n):0] = data[start:start + 1 + int(rand() * 16)]
            elif op == 9:
                other = self.seeds[int(rand() * len(self.seeds))]
                data = data[:int(rand() * (n + 1))] + other[int(rand() * (len(other) + 1)):]
            elif op == 10:
                data[int(rand() * (n + 1)):0] = rng.choice((b"\x7d", b"\x7e", b"\x7d\x7d", b"\x7e\x7e", b"\x7d\x02",
                                                              b"\x7d\x01"))
            elif op == 11:  # a long tail: items past the body length, now and then past the frame cap
                data += rng.randbytes(int(rand() * 300) if rand() < 0.95 else 4000 + int(rand() * 1000))
            elif op == 12 and n >= 13:  # 2013 header read as 2019 and the other way round, length kept
                data[2] ^= 0x40
        if data and rand() < 0.6:
            data[-1] = checksum(bytes(data[:-1]))
        return bytes(data)

    def wire(self, frames: list[bytes]) -> bytes:
        """The frames on the wire: escaped and delimited, with damaged escapes and junk between."""
        rng = self.rng
        rand = rng.random
        parts = []
        for frame in frames:
            escaped = escape(frame)
            roll = rand()
            if roll < 0.03:
                escaped += b"\x7d"  # a dangling escape before the delimiter
            elif roll < 0.06 and escaped:
                at = int(rand() * len(escaped))
                escaped = escaped[:at] + b"\x7d" + bytes((int(rand() * 256),)) + escaped[at:]
            elif roll < 0.08 and b"\x7d" in escaped:
                escaped = escaped.replace(b"\x7d\x01", b"\x7d\x7d\x01", 1)  # a duplicated escape byte
            roll = rand()
            if roll < 0.03:
                parts.append(b"\x7e" + escaped)  # the closing delimiter lost
            elif roll < 0.06:
                parts.append(b"\x7e\x7e" + escaped + b"\x7e\x7e")
            else:
                parts.append(b"\x7e" + escaped + b"\x7e")
            if rand() < 0.05:
                parts.append(rng.randbytes(int(rand() * 40)))  # junk between frames
        return b"".join(parts)

    def reads(self, stream: bytes) -> list[bytes]:
        """The stream cut into reads at random places (a frame split across reads, or many in one)."""
        rng = self.rng
        if rng.random() < 0.5:
            return [stream]
        cuts = sorted(rng.randrange(len(stream) + 1) for _ in range(rng.randrange(1, 6)))
        return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True) if b > a]


class Failures:
    """Unexpected exceptions, kept with the input that caused them (the first few in full)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def add(self, where: str, data: bytes, error: BaseException) -> None:
        self.count += 1
        if len(self.shown) < MAX_FAILURES_SHOWN:
            self.shown.append(f"{where}: {type(error).__name__}: {error}\n  input hex: {data.hex()}\n"
                              + "".join(traceback.format_exception(error)[-3:]))

    def report(self) -> str:
        return f"{self.count} unexpected exception(s) (seed {SEED}); the first:\n" + "\n".join(self.shown)
