"""A simulation run end to end against the test platform: the ground truth of every dump matches
what the terminals sent; the demo fleet as read from the database; the command's argument errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import random
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from wastetrail.telemetry.jt808 import profiles
from wastetrail.telemetry.simulator.fleet import Fleet, FleetTruck, assign_pairs, load_fleet
from wastetrail.telemetry.simulator.geo import distance_m, jiangmen
from wastetrail.telemetry.simulator.motion import Place
from wastetrail.telemetry.simulator.runner import SimulationOptions, simulate
from wastetrail.telemetry.simulator.terminal import ClientConfig, TerminalIdentity
from wastetrail.telemetry.tests.test_simulator_support import Platform

LAND = jiangmen()
MUCK = profiles.for_model("ZT-808G")


def small_fleet(count: int) -> Fleet:
    """Trucks shuttling over a few kilometres in Pengjiang, so that trips end quickly."""
    project = Place("project", 1, "工地", (113.060, 22.600), 60)
    site = Place("site", 2, "消纳场", (113.095, 22.615), 80)
    trucks = [
        FleetTruck(TerminalIdentity(phone=f"1390000{n:04d}", protocol="2019", terminal_id=f"JM{n:05d}",
                                    manufacturer_id="70111", model="ZT-808G", plate=f"粤J{n:05d}",
                                    auth_code="AUTH-42", vehicle_id=n),
                   vehicle_id=n, plate=f"粤J{n:05d}", company_id=1, pairs=[(project, site)])
        for n in range(1, count + 1)
    ]
    return Fleet(trucks, [project], [site])


def truth_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_ground_truth_of_every_dump_matches_what_the_terminals_sent(tmp_path):
    truth_path = tmp_path / "truth.jsonl"
    fleet = small_fleet(3)

    async def scenario():
        platform = await Platform().start()
        stop = asyncio.Event()
        options = SimulationOptions(port=platform.port, terminals=3, speed=300, illegal_dumps=2, truth=truth_path,
                                    seed=4, client=ClientConfig(interval=5, ack_timeout_s=2.0), summary_every_s=60)

        async def until_dumped():
            while True:
                kinds = [line["kind"] for line in truth_lines(truth_path)]
                if kinds.count("illegal_dump") >= 2 and kinds.count("unloading") >= 2:
                    stop.set()
                    return
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(until_dumped())
        try:
            result = await asyncio.wait_for(simulate(options, fleet, land=LAND, stop=stop, report=lambda line: None),
                                            120)
        finally:
            watcher.cancel()
            await platform.stop()
        return platform, result

    platform, result = asyncio.run(scenario())
    truth = truth_lines(truth_path)
    illegal = [t for t in truth if t["kind"] == "illegal_dump"]
    assert len(illegal) == 2 and len({t["plate"] for t in illegal}) == 2  # one truck each
    assert result.truth["illegal_dump"] == 2 and result.stats.acked == result.stats.sent
    reports: dict[str, list] = {}
    for message in platform.messages:
        reports.setdefault(message.phone, []).extend(message.locations)
    for record in truth:
        sent = reports[record["terminal_phone"]]
        start, end = dt.datetime.fromisoformat(record["start"]), dt.datetime.fromisoformat(record["end"])
        # The terminal's dump record (0xE3) carries the same lift times and says whether it was abnormal.
        dumps = [MUCK.extras(location.items)["dump"] for location in sent if 0xE3 in location.items]
        assert {"abnormal": record["kind"] == "illegal_dump", "result": int(record["kind"] == "illegal_dump"),
                "start_utc": start.isoformat(), "end_utc": end.isoformat()} in dumps
        during = [location for location in sent if start <= location.time_utc < end]
        assert during, "the terminal reported while the body was lifted"
        for location in during:
            assert location.speed_dkmh == 0
            assert distance_m((location.lon_e6 / 1e6, location.lat_e6 / 1e6), (record["lon"], record["lat"])) < 1
            assert MUCK.extras(location.items)["body_lifted"] is (record["kind"] == "illegal_dump")
        if record["kind"] == "illegal_dump":
            places = small_fleet(1).places
            assert all(distance_m((record["lon"], record["lat"]), p.point) > 1_000 for p in places)
            assert record["site_id"] is None and record["duration_s"] == (end - start).total_seconds()
        else:
            assert record["site_id"] == 2
    # Outside the illegal dumps no report says the body is lifted outside a permitted area.
    windows = [(t["terminal_phone"], dt.datetime.fromisoformat(t["start"]), dt.datetime.fromisoformat(t["end"]))
               for t in illegal]
    for phone, sent in reports.items():
        for location in sent:
            lifted = MUCK.extras(location.items)["body_lifted"]
            inside = any(p == phone and s <= location.time_utc < e for p, s, e in windows)
            assert lifted is inside


def test_pairs_come_from_the_trucks_manifests_then_its_companys_then_the_nearest_site():
    projects = {1: Place("project", 1, "a", (113.06, 22.60)), 2: Place("project", 2, "b", (112.95, 22.55)),
                3: Place("project", 3, "c", (113.10, 22.70))}
    sites = {10: Place("site", 10, "near c", (113.095, 22.68)), 11: Place("site", 11, "near b", (112.96, 22.56))}
    island = LAND.components[1].representative_point()
    sites[12] = Place("site", 12, "island", (island.x, island.y))

    def truck(vehicle_id: int, company_id: int) -> FleetTruck:
        return FleetTruck(TerminalIdentity(phone=str(vehicle_id)), vehicle_id, "", company_id, [])

    trucks = [truck(1, 100), truck(2, 100), truck(3, 200)]
    manifests = [(1, 100, 1, 10), (1, 100, 1, 12)]  # the island site cannot be driven to
    assign_pairs(trucks, projects, sites, manifests, land=LAND, rng=random.Random(0))
    assert [(p.id, s.id) for p, s in trucks[0].pairs] == [(1, 10)]  # its own manifests
    assert [(p.id, s.id) for p, s in trucks[1].pairs] == [(1, 10)]  # its company's
    [(project, site)] = trucks[2].pairs  # none: a project and the nearest site on the same land
    assert site == min((s for s in sites.values() if s.id != 12), key=lambda s: distance_m(s.point, project.point))


@pytest.mark.django_db
def test_the_demo_fleet_is_read_with_its_terminals_and_drivable_pairs():
    from wastetrail.registry.models import Terminal
    from wastetrail.scenario.build import build_scenario

    build_scenario(seed=11, loads=False)
    fleet = load_fleet(land=LAND, seed=0)
    terminals = Terminal.objects.filter(vehicle__isnull=False)
    assert len(fleet.trucks) == terminals.count() > 100
    first = fleet.trucks[0]
    terminal = terminals.order_by("vehicle_id").first()
    assert (first.identity.phone, first.identity.plate, first.identity.model, first.identity.protocol) == (
        terminal.phone, terminal.vehicle.plate, "ZT-808G", terminal.protocol)
    assert first.identity.phone.startswith("139")  # 0139XXXXXXXX without its BCD padding
    for truck in fleet.trucks:
        assert truck.pairs
        for project, site in truck.pairs:
            assert LAND.component(project.point) == LAND.component(site.point) is not None


@pytest.mark.django_db
def test_the_command_says_there_is_nothing_to_simulate_on_an_empty_database():
    with pytest.raises(CommandError, match="no vehicle has a terminal"):
        call_command("simulate", "--duration", "1")


@pytest.mark.parametrize(("arguments", "message"), [
    (["--terminals", "0"], "--terminals must be at least 1"),
    (["--interval", "31"], "--interval must be 1 to 30 seconds"),
    (["--interval", "0"], "--interval must be 1 to 30 seconds"),
    (["--speed", "0"], "--speed must be greater than 0"),
    (["--speed", "nan"], "--speed must be greater than 0"),
    (["--duration", "-5"], "--duration must be a positive number"),
    (["--illegal-dumps", "3"], "--illegal-dumps needs --truth FILE"),
    (["--illegal-dumps", "-1"], "--illegal-dumps must be 0 or more"),
    (["--signal-loss", "1.5"], "--signal-loss is a chance per trip: 0 to 1"),
    (["--port", "70000"], "--port must be 1 to 65535"),
    (["--interval", "fast"], "invalid int value: 'fast'"),
    (["--replay", "/nonexistent/trajectories.csv"], "no such file or folder"),
    (["--load", "--window", "0"], "--window must be at least 1"),
    (["--load", "--reports", "0"], "--reports must be at least 1"),
])
def test_bad_arguments_get_a_clear_message(arguments, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("simulate", *arguments)


def test_several_bad_arguments_are_reported_together_and_no_truth_file_is_created(tmp_path):
    truth = tmp_path / "truth.jsonl"
    with pytest.raises(CommandError) as error:
        call_command("simulate", "--interval", "40", "--illegal-dumps", "2", "--truth", str(truth), "--replay",
                     str(tmp_path))
    assert "--interval must be 1 to 30" in str(error.value)
    assert "--illegal-dumps cannot be combined with --replay" in str(error.value)
    assert not truth.exists()
    with pytest.raises(CommandError, match="does not exist"):
        call_command("simulate", "--truth", str(tmp_path / "missing" / "truth.jsonl"))


@pytest.fixture
def platform_in_thread():
    """The test platform served from its own thread, for commands that run their own event loop."""
    loop = asyncio.new_event_loop()
    platform = Platform()
    started = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(platform.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    yield platform
    asyncio.run_coroutine_threadsafe(platform.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.mark.django_db
def test_the_command_drives_the_demo_fleet_and_generates_load(platform_in_thread, tmp_path):
    from wastetrail.scenario.build import build_scenario

    build_scenario(seed=5, loads=False)
    out = io.StringIO()
    truth = tmp_path / "truth.jsonl"
    call_command("simulate", "--port", str(platform_in_thread.port), "--terminals", "3", "--speed", "10",
                 "--duration", "2", "--interval", "1", "--illegal-dumps", "1", "--truth", str(truth),
                 "--summary-every", "1", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("simulating 3 terminals against 127.0.0.1:")
    assert lines[-1].startswith("final: connected 0/3") and "unacknowledged 0" in lines[-1]
    assert truth.exists()  # written as dumps happen (two real seconds may see none)
    phones = {m.phone for m in platform_in_thread.messages}
    assert len(phones) == 3 and len(platform_in_thread.registrations) == 3
    assert platform_in_thread.positions()

    out = io.StringIO()
    call_command("simulate", "--load", "--port", str(platform_in_thread.port), "--terminals", "2", "--reports", "10",
                 "--window", "4", "--processes", "0", stdout=out)
    assert "sent 20, acked 20, resent 0" in out.getvalue()
