"""The codec benchmark runs and records its figures (speed itself is measured by `make bench`)."""

from __future__ import annotations

import json

from wastetrail.bench import telemetry_codec
from wastetrail.telemetry.jt808 import FrameSplitter, decode_location, parse_frame


def test_the_decode_benchmark_records_a_figure_against_its_floor(tmp_path, monkeypatch):
    monkeypatch.setattr(telemetry_codec, "ROUNDS", 1)
    figure = telemetry_codec.jt808_decode(tmp_path)
    saved = json.loads((tmp_path / "jt808_decode_per_s.json").read_text())
    assert saved["name"] == "jt808_decode_per_s" and saved["unit"] == "frames/s"
    assert figure.value > 0 and figure.baseline > 0


def test_every_benchmark_frame_splits_checks_and_decodes():
    # The timed loop counts only frames that split, pass the checksum and decode: all of them must.
    frames = telemetry_codec._frames()
    assert len(frames) == telemetry_codec.FRAMES
    for _, wire in frames:
        (raw,) = FrameSplitter().feed(wire)
        frame = parse_frame(raw)
        assert frame.checksum_ok and decode_location(frame.body).time_utc is not None
    assert any(b"\x7d" in wire[1:-1] for _, wire in frames)  # some need un-escaping, as on a real link
