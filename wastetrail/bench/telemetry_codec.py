"""Issue 4's codec benchmark: 0x0200 location reports decoded per second on one core.

A decode is what the gateway does per report: cut the frame out of the connection's stream
(FrameSplitter), un-escape, verify the XOR checksum, read the header and decode the location
(28-byte basic block, GMT+8 time to UTC, additional items). The frames are realistic: 2,000
distinct reports from 500 terminals, each with odometer, signal, satellites and analog items
(61-62 bytes on the wire; some need un-escaping), one report per read, one splitter per
terminal connection. The baseline is the floor: the same number of bare
``struct.unpack_from`` calls of the 28-byte basic block, nothing else.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from pathlib import Path

from wastetrail.bench.harness import Figure, rate_per_second, record
from wastetrail.telemetry.jt808 import (
    STATUS_ACC,
    STATUS_FIXED,
    FrameSplitter,
    decode_location,
    encode_frame,
    location_bytes,
    make_location,
    parse_frame,
    phone_to_raw,
)

FRAMES = 2_000
TERMINALS = 500
ROUNDS = 10  # each timed run decodes FRAMES * ROUNDS reports
LOCATION_REPORT = 0x0200


def _frames() -> list[tuple[int, bytes]]:
    rng = random.Random(808)
    start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
    out = []
    for i in range(FRAMES):
        terminal = i % TERMINALS
        location = make_location(
            time=start + dt.timedelta(seconds=10 * i + rng.randrange(10)), lat_e6=22_500_000 + rng.randrange(300_000),
            lon_e6=112_900_000 + rng.randrange(400_000), status=STATUS_ACC | STATUS_FIXED, altitude_m=rng.randrange(80),
            speed_dkmh=rng.randrange(900), heading=rng.randrange(360),
            items={0x01: rng.randrange(2_000_000).to_bytes(4, "big"), 0x30: bytes([rng.randrange(32)]),
                   0x31: bytes([rng.randrange(4, 20)]), 0x2B: rng.randrange(2**32).to_bytes(4, "big")},
        )
        wire = encode_frame(LOCATION_REPORT, location_bytes(location), phone_raw=phone_to_raw(f"1390000{terminal:04d}"),
                            serial=i & 0xFFFF)
        out.append((terminal, wire))
    return out


def jt808_decode(out_dir: Path) -> Figure:
    """Whole receive path per report, against the floor of bare basic-block unpacks."""
    frames = _frames()
    bodies = [parse_frame(FrameSplitter().feed(wire)[0]).body for _, wire in frames]
    splitters = [FrameSplitter(max_frame=4096, max_junk=4096) for _ in range(TERMINALS)]

    def decode() -> int:
        done = 0
        for _ in range(ROUNDS):
            for terminal, wire in frames:
                for raw in splitters[terminal].feed(wire):
                    frame = parse_frame(raw)
                    if frame.checksum_ok and frame.header.msg_id == LOCATION_REPORT:
                        decode_location(frame.body)
                        done += 1
        return done

    value = rate_per_second(decode)
    baseline = rate_per_second(_floor(bodies))
    return record("jt808_decode_per_s", value, "frames/s", baseline, out_dir)


def jt808_decode_location(out_dir: Path) -> Figure:
    """decode_location alone on the same bodies (already framed and checked)."""
    bodies = [parse_frame(FrameSplitter().feed(wire)[0]).body for _, wire in _frames()]

    def decode() -> int:
        for _ in range(ROUNDS):
            for body in bodies:
                decode_location(body)
        return ROUNDS * len(bodies)

    value = rate_per_second(decode)
    baseline = rate_per_second(_floor(bodies))
    return record("jt808_decode_location_per_s", value, "locations/s", baseline, out_dir)


def _floor(bodies: list[bytes]):
    unpack = struct.Struct(">IIIIHHH6s").unpack_from

    def floor() -> int:
        for _ in range(ROUNDS):
            for body in bodies:
                unpack(body)
        return ROUNDS * len(bodies)

    return floor
