"""A million damaged frames through the codec: only the codec's own errors (CodecError) come out, and
memory stays bounded. See test_fuzz_support.py for the seeds and the damage."""

from __future__ import annotations

from wastetrail.telemetry.jt808 import (
    CodecError,
    FrameSplitter,
    Location,
    LocationBatch,
    LocationQueryReply,
    MediaData,
    decode_body,
    decode_location,
    parse_frame,
    phone_to_raw,
    profiles,
)
from wastetrail.telemetry.tests.test_fuzz_support import (
    FRAMES,
    SEED,
    Failures,
    Mutator,
    encoder_frames,
    rss_bytes,
    vector_frames,
)

MAX_FRAME = 4096
MAX_JUNK = 4096
# The muck-truck profile decodes every standard item as well as its vendor items.
PROFILE = profiles.MUCK_TRUCK
# RSS may grow after the first tenth of the run by at most this much. The codec's only cache (phone
# numbers, at most 100,000 entries, about 15 MB when full) may fill meanwhile; a leak of one small
# object per frame (56 bytes or more) over the 900,000 frames that follow would exceed it.
RSS_GROWTH_LIMIT = 48 * 2**20


def decode_everything(raw: bytes) -> None:
    """What a platform may do with a frame: header, body, locations and their items with every profile.
    Only CodecError may escape."""
    frame = parse_frame(raw)
    header = frame.header
    try:
        location = decode_location(frame.body)  # the hot path reads any body as a location when asked
    except CodecError:
        pass
    else:
        location.extras(PROFILE)
    body = decode_body(header, frame.body)
    if isinstance(body, Location):
        locations = [body]
    elif isinstance(body, LocationBatch):
        locations = body.locations
    elif isinstance(body, LocationQueryReply | MediaData):
        locations = [body.location]
    else:
        return
    for location in locations:
        location.extras(PROFILE)


def test_a_million_damaged_frames_raise_only_codec_errors_and_memory_stays_bounded():
    seeds = vector_frames() + encoder_frames({None: phone_to_raw("13900000001"), 1: phone_to_raw("13900000001", 1)})
    mutator = Mutator(seeds, SEED)
    failures = Failures()
    splitter = FrameSplitter(max_frame=MAX_FRAME, max_junk=MAX_JUNK)
    counts = {"frames": 0, "split": 0, "parsed": 0, "codec_errors": 0, "splitters": 1}
    rss_after_warm_up = None
    batch = 16
    while counts["frames"] < FRAMES:
        frames = [mutator.frame() for _ in range(batch)]
        counts["frames"] += batch
        # (1) each damaged frame straight to the decoders
        # (2) the same frames on the wire, damaged again, cut into reads, through the splitter
        stream = mutator.wire(frames)
        for read in mutator.reads(stream):
            try:
                frames.extend(splitter.feed(read))
            except Exception as error:  # noqa: BLE001 - the splitter must take any bytes
                failures.add("FrameSplitter.feed", read, error)
                splitter = FrameSplitter(max_frame=MAX_FRAME, max_junk=MAX_JUNK)
            assert splitter.pending <= MAX_FRAME, "the splitter buffers more than a frame"
            if splitter.junk_exceeded:  # a connection would close here: start a new one
                splitter = FrameSplitter(max_frame=MAX_FRAME, max_junk=MAX_JUNK)
                counts["splitters"] += 1
        counts["split"] += len(frames) - batch
        for raw in frames:
            try:
                decode_everything(raw)
                counts["parsed"] += 1
            except CodecError:
                counts["codec_errors"] += 1
            except Exception as error:  # noqa: BLE001 - the point: nothing else may escape
                failures.add("decode", raw, error)
        if rss_after_warm_up is None and counts["frames"] >= FRAMES // 10:
            rss_after_warm_up = rss_bytes()

    print(counts)
    assert not failures.count, failures.report()
    growth = rss_bytes() - rss_after_warm_up
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB after warm-up ({counts})"
    # The damage must not be so heavy that nothing gets decoded, nor so light that nothing fails.
    assert counts["parsed"] > FRAMES // 4 and counts["codec_errors"] > FRAMES // 20, counts
    assert counts["split"] > FRAMES // 2, counts
