"""Replaying real trajectories: the readers, the move onto Jiangmen (translation, scaling only when
needed) and the time shift, and a replayed trajectory reported over the wire as it was recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import math
from pathlib import Path

import pytest

from wastetrail.telemetry.simulator.clock import SimClock
from wastetrail.telemetry.simulator.geo import distance_m, jiangmen
from wastetrail.telemetry.simulator.replay import (
    JIANGMEN_CENTRE,
    Fix,
    ReplayError,
    Trajectory,
    read_trajectories,
    replay_sources,
)
from wastetrail.telemetry.simulator.terminal import ClientConfig, FleetStats, Terminal, TerminalIdentity
from wastetrail.telemetry.tests.test_simulator_support import Platform

SHARED_GPS = Path(__file__).resolve().parents[4] / "shared" / "data" / "gps"
START = 1_800_000_000

JERSEY = """\
40.6635|-74.19887|E-7|200 Division St Elizabeth NJ|2015-12-10T10:00:00
40.6638|-74.1983|E-7|Division St Elizabeth NJ|2015-12-10T10:01:00
40.6638|-74.1983|E-7|Division St Elizabeth NJ|2015-12-10T10:01:00
40.66443|-74.19807|E-7|Division St Elizabeth NJ|2015-12-10T10:02:00
40.66863|-74.11277|536|23 E 30th St Bayonne NJ|2015-12-10T10:00:30
40.66900|-74.11200|536|23 E 30th St Bayonne NJ|2015-12-10T10:01:30
40.70000|-74.10000|519|stale last position|2015-12-09T12:19:00
"""
AUSTIN = """\
vehicle_id,timestamp,speed,route_id,trip_id,latitude,longitude,trip_headsign
8928,2017-04-18T22:31:40-05:00,4.91744,1,1723912,30.417902,-97.66719,1-SB
8928,2017-04-18T22:33:39-05:00,6.7056,1,1723912,0,0,1-SB
8928,2017-04-18T22:35:39-05:00,13.4112,1,1723912,30.425657,-97.674255,1-SB
"""
LIVERPOOL = """\
"id","vehicle_id","trip_id","timestamp","latitude","longitude","bearing","origin","destination","route_name"
1,"4716","1091","2026-01-26 15:57:02",53.44451,-2.925173,,A,B,"14"
2,"4716","1091","2026-01-26 15:57:24",53.445026,-2.923543,53,A,B,"14"
"""
GEOLIFE = """\
lat,lng,datetime,uid
39.984094,116.319236,2008-10-23 05:53:05,001
39.984198,116.319322,2008-10-23 05:53:06,001
39.984224,116.319402,2008-10-23 05:53:11,001
39.990000,116.320000,2009-03-01 08:00:00,001
39.990100,116.320100,2009-03-01 08:00:05,001
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_the_jersey_format_is_read_in_us_eastern_time_deduplicated_and_stale_single_fixes_dropped(tmp_path):
    trajectories = read_trajectories(write(tmp_path, "trucks.csv", JERSEY))
    assert sorted((t.vehicle, len(t.fixes)) for t in trajectories) == [("536", 2), ("E-7", 3)]
    e7 = next(t for t in trajectories if t.vehicle == "E-7")
    # 10:00 in New York in December is 15:00 UTC.
    assert e7.start == int(dt.datetime(2015, 12, 10, 15, 0, tzinfo=dt.UTC).timestamp())


def test_austin_liverpool_and_geolife_formats_are_read(tmp_path):
    write(tmp_path, "austin.csv", AUSTIN)
    write(tmp_path, "route14.csv", LIVERPOOL)
    write(tmp_path, "geolife.txt.gz", GEOLIFE)
    write(tmp_path, "notes.txt", "nothing to see\n")
    trajectories = read_trajectories(tmp_path)
    by_dataset = {t.dataset: t for t in trajectories}
    assert sorted(by_dataset) == ["austin", "geolife", "liverpool"]
    austin = by_dataset["austin"]
    assert austin.start == int(dt.datetime(2017, 4, 19, 3, 31, 40, tzinfo=dt.UTC).timestamp())
    assert austin.fixes[0].speed_kmh == pytest.approx(4.91744 * 3.6)
    assert austin.fixes[1].zero  # the source's glitch is kept
    assert by_dataset["liverpool"].start == int(dt.datetime(2026, 1, 26, 15, 57, 2, tzinfo=dt.UTC).timestamp())
    # GeoLife's person: two journeys months apart are two trajectories.
    assert [len(t.fixes) for t in trajectories if t.dataset == "geolife"] == [3, 2]


def test_an_unsupported_or_missing_path_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ReplayError, match="no such file"):
        read_trajectories(tmp_path / "missing.csv")
    with pytest.raises(ReplayError, match="no supported trajectory file"):
        read_trajectories(write(tmp_path, "other.csv", "a,b,c\n1,2,3\n"))


def test_a_fleet_is_moved_onto_jiangmen_keeping_distances_and_its_clock_shifted_to_the_start(tmp_path):
    trajectories = read_trajectories(write(tmp_path, "trucks.csv", JERSEY))
    sources = replay_sources(trajectories, 10, start=START)
    assert len(sources) == 2
    first = min(t.start for t in trajectories)
    for source in sources:
        assert source.scale == 1.0  # a city fleet fits: translated, not scaled
        # One shift for the whole fleet: the earliest fix is reported at the start, the rest keep their offsets.
        assert source.shift == START - first
        for lat, lon in source.points:
            assert distance_m((lon, lat), JIANGMEN_CENTRE) < 10_000
        fixes, points = source.trajectory.fixes, source.points
        original = distance_m((fixes[0].lon, fixes[0].lat), (fixes[-1].lon, fixes[-1].lat))
        moved = distance_m((points[0][1], points[0][0]), (points[-1][1], points[-1][0]))
        assert moved == pytest.approx(original, rel=0.01)
    assert jiangmen().contains_all([(lon, lat) for s in sources for lat, lon in s.points])


def test_a_fleet_replay_starts_when_a_tenth_of_its_trajectories_have_begun():
    day = 1_449_763_200  # 2015-12-10 16:00 UTC
    night_shift = Trajectory("jersey", "night", [Fix(day - 7 * 3600 + 60 * i, 40.70, -74.05) for i in range(500)])
    others = [Trajectory("jersey", f"v{n}", [Fix(day + 60 * n, 40.71, -74.06), Fix(day + 60 * n + 30, 40.72, -74.06)])
              for n in range(19)]
    sources = replay_sources([night_shift, *others], 20, start=START)
    assert {source.shift for source in sources} == {START - (day + 60)}  # the third of twenty starts
    night = next(source for source in sources if source.trajectory.vehicle == "night")
    first = night.first_report(START)
    assert first == START and night.advance_to(first).time == START  # joined in progress, earlier fixes unsent


def test_a_zero_fix_stays_zero_and_is_reported_without_a_fix(tmp_path):
    [source] = replay_sources(read_trajectories(write(tmp_path, "austin.csv", AUSTIN)), 5, start=START)
    assert source.points[1] == (0.0, 0.0)
    first = source.advance_to(source.first_report(START))
    glitch = source.advance_to(source.next_report(first.time, first, ClientConfig()))
    assert glitch.point == (0.0, 0.0) and not glitch.fixed
    assert glitch.time - first.time == 119  # recorded 22:31:40 and 22:33:39


def test_trajectories_of_a_multi_day_dataset_each_start_at_the_replay_start(tmp_path):
    sources = replay_sources(read_trajectories(write(tmp_path, "g.txt.gz", GEOLIFE)), 5, start=START)
    assert sorted(s.trajectory.start + s.shift for s in sources) == [START, START]


def test_a_replayed_trajectory_is_reported_fix_by_fix_at_its_shifted_times(tmp_path):
    clock = SimClock(speed=50, horizon_s=5)
    trajectories = read_trajectories(write(tmp_path, "route14.csv", LIVERPOOL))
    # Begin 100 simulated seconds (2 s of real time) ahead: the first fix must not pass while the
    # platform starts on a busy machine (a fix whose time has passed at start-up is not replayed).
    [source] = replay_sources(trajectories, 1, start=math.ceil(clock.now()) + 100)

    async def scenario():
        platform = await Platform().start()
        terminal = Terminal(TerminalIdentity(phone="13900000009", auth_code="AUTH-42"), source, clock=clock,
                            host="127.0.0.1", port=platform.port, config=ClientConfig(ack_timeout_s=1.0),
                            stats=FleetStats())
        try:
            await asyncio.wait_for(terminal.run(), 30)
        finally:
            await platform.stop()
        return platform

    platform = asyncio.run(scenario())
    received = sorted(platform.positions(), key=lambda p: p[0])
    expected = [(dt.datetime.fromtimestamp(fix.time + source.shift, tz=dt.UTC), round(lat * 1e6))
                for fix, (lat, _) in zip(source.trajectory.fixes, source.points, strict=True)]
    assert received == expected


@pytest.mark.skipif(not SHARED_GPS.is_dir(), reason="../shared/data/gps is not here (CI has it)")
def test_the_shared_datasets_are_read_and_all_placed_inside_jiangmen():
    trajectories = read_trajectories(SHARED_GPS)
    assert {t.dataset for t in trajectories} == {"jersey", "austin", "liverpool", "geolife"}
    sources = replay_sources(trajectories, 200, start=START)
    points = [(lon, lat) for s in sources for lat, lon in s.points if (lat, lon) != (0, 0)]
    inside = sum(jiangmen().contains(point) for point in points[::50])
    assert inside / len(points[::50]) > 0.95
