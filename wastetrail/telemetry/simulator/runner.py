"""A simulation run: N terminals on the demo fleet's trucks (or replayed trajectories), a summary
line every few seconds, ground truth of every dump written as it happens."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wastetrail.telemetry.simulator.clock import SimClock
from wastetrail.telemetry.simulator.fleet import Fleet, FleetTruck
from wastetrail.telemetry.simulator.geo import Land, offset
from wastetrail.telemetry.simulator.motion import DumpEvent, Place, TripPlan, Truck, far_from_all, trips
from wastetrail.telemetry.simulator.replay import Trajectory, replay_sources
from wastetrail.telemetry.simulator.route import Route, plan_route
from wastetrail.telemetry.simulator.sources import TruckSource
from wastetrail.telemetry.simulator.terminal import ClientConfig, FleetStats, Terminal, TerminalIdentity

log = logging.getLogger("wastetrail.simulator")

DUMP_AWAY_FROM_PLACES_M = 2_000.0


@dataclass
class SimulationOptions:
    host: str = "127.0.0.1"
    port: int = 7808
    terminals: int = 10
    interval: int = 10  # simulated seconds between reports (1-30)
    speed: float = 1.0  # simulated seconds per real second
    duration: float | None = None  # real seconds; None: until stopped (or the replay ends)
    illegal_dumps: int = 0
    truth: Path | None = None
    seed: int = 0
    signal_loss: float = 0.0  # chance per trip of a 1-5 min signal loss
    start: float | None = None  # simulated clock start (epoch s); default: see SimClock
    client: ClientConfig = field(default_factory=ClientConfig)
    summary_every_s: float = 5.0
    grace_s: float = 10.0  # real seconds, after the end, to deliver what is still unacknowledged


@dataclass
class SimulationResult:
    stats: FleetStats
    truth: Counter
    terminals: list[Terminal]


class TruthWriter:
    """Ground truth for detection tests: one JSON line per dump (legit unloading or illegal dump)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.counts: Counter = Counter()
        self._handle = path.open("w", encoding="utf-8") if path else None

    def write(self, identity: TerminalIdentity, events: list[DumpEvent]) -> None:
        for event in events:
            self.counts[event.kind] += 1
            if self._handle is not None:
                self._handle.write(json.dumps(truth_record(identity, event), ensure_ascii=False) + "\n")
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).isoformat()


def truth_record(identity: TerminalIdentity, event: DumpEvent) -> dict:
    """start/end: the body lifted and lowered (what 0xE3 reports); stop_start/stop_end: standing still."""
    lon, lat = event.point
    return {
        "kind": event.kind, "plate": identity.plate, "terminal_phone": identity.phone,
        "vehicle_id": identity.vehicle_id, "start": _iso(event.lift_start), "end": _iso(event.lift_end),
        "duration_s": int(event.lift_end - event.lift_start), "stop_start": _iso(event.stop_start),
        "stop_end": _iso(event.stop_end), "lat": round(lat, 6), "lon": round(lon, 6),
        "site_id": event.site.id if event.site else None, "site": event.site.name if event.site else None,
        "project_id": event.project.id if event.project else None,
    }


def dump_spot_picker(rng: random.Random, land: Land, places: list[Place]) -> Callable[[Route], tuple]:
    """Where an illegal dump happens: off the loaded route, on the same land, away from every project
    and site (2 km, relaxed to 1 km, else a point of the route itself)."""

    def pick(route: Route):
        component = land.component(route.start)
        for attempt in range(80):
            point, heading = route.at(rng.uniform(0.25, 0.6) * route.length)
            angle = math.radians(heading + rng.choice((-90, 90)))
            distance = rng.uniform(300, 1_500)
            candidate = offset(point, distance * math.sin(angle), distance * math.cos(angle))
            minimum = DUMP_AWAY_FROM_PLACES_M if attempt < 40 else DUMP_AWAY_FROM_PLACES_M / 2
            if land.component(candidate) == component and far_from_all(candidate, places, minimum):
                return candidate
        return route.at(route.length * 0.4)[0]

    return pick


def illegal_trip_plan(rng: random.Random, trucks: int, dumps: int) -> dict[int, frozenset[int]]:
    """Spread `dumps` illegal trips over the trucks: one each (their first trip) before any gets a second."""
    if not trucks:
        return {}
    order = rng.sample(range(trucks), trucks)
    plan: dict[int, set[int]] = {}
    for k in range(dumps):
        plan.setdefault(order[k % trucks], set()).add(k // trucks)
    return {truck: frozenset(trip_numbers) for truck, trip_numbers in plan.items()}


def truck_sources(options: SimulationOptions, fleet: Fleet, trucks: list[FleetTruck], *, land: Land,
                  start: float) -> list[TruckSource]:
    rng = random.Random(options.seed)
    illegal = illegal_trip_plan(rng, len(trucks), options.illegal_dumps)
    places = fleet.places
    sources = []
    for index, truck in enumerate(trucks):
        truck_rng = random.Random(f"{options.seed}:{truck.vehicle_id}")

        def router(a, b, truck_rng=truck_rng):
            return plan_route(truck_rng, a, b, land)

        plan = TripPlan(truck.pairs, illegal_trips=illegal.get(index, frozenset()),
                        signal_loss_chance=options.signal_loss)
        activities = trips(truck_rng, plan, router=router, dump_spot=dump_spot_picker(truck_rng, land, places),
                           warm_start=True)
        sources.append(TruckSource(Truck(activities, time=float(math.floor(start)), rng=truck_rng,
                                         odometer_m=truck_rng.uniform(2e7, 3e8))))
    return sources


async def simulate(options: SimulationOptions, fleet: Fleet, *, land: Land,
                   trajectories: list[Trajectory] | None = None, stop: asyncio.Event | None = None,
                   report: Callable[[str], None] = print) -> SimulationResult:
    """Run until `options.duration` real seconds pass, `stop` is set, or every replayed trajectory
    has been reported; then give the terminals `grace_s` to deliver what is unacknowledged."""
    clock = SimClock(speed=options.speed, horizon_s=options.duration, start=options.start)
    trucks = fleet.trucks[:options.terminals]
    start = math.ceil(clock.now())
    if trajectories is not None:
        sources = replay_sources(trajectories, len(trucks), start=start)
        trucks = trucks[:len(sources)]
    else:
        sources = truck_sources(options, fleet, trucks, land=land, start=start)
    if not trucks:
        raise ValueError("nothing to simulate: no terminal")
    stats = FleetStats()
    truth = TruthWriter(options.truth)
    terminals = [
        Terminal(truck.identity, source, clock=clock, host=options.host, port=options.port, config=options.client,
                 stats=stats, rng=random.Random(f"{options.seed}:link:{truck.vehicle_id}"), on_events=truth.write)
        for truck, source in zip(trucks, sources, strict=True)
    ]
    report(f"simulating {len(terminals)} terminals against {options.host}:{options.port}, "
           f"simulated clock from {_iso(clock.start)} at x{options.speed:g}")
    tasks = [asyncio.create_task(terminal.run(), name=f"terminal {terminal.identity.phone}") for terminal in terminals]
    summary = asyncio.create_task(_summaries(stats, options.summary_every_s, report))
    waits = [asyncio.create_task(asyncio.wait(tasks))]
    if options.duration is not None:
        waits.append(asyncio.create_task(asyncio.sleep(options.duration)))
    if stop is not None:
        waits.append(asyncio.create_task(stop.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for terminal in terminals:
            terminal.finish()
        _, late = await asyncio.wait(tasks, timeout=options.grace_s) if tasks else (set(), set())
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in [*waits, summary]:
            task.cancel()
        await asyncio.gather(*waits, summary, return_exceptions=True)
        truth.close()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("terminal task failed", exc_info=task.exception())
    unacknowledged = sum(terminal.unacknowledged for terminal in terminals)
    dumps = ", ".join(f"{kind} {count}" for kind, count in sorted(truth.counts.items())) or "none"
    report(f"final: {stats.line()}, unacknowledged {unacknowledged}; dumps: {dumps}")
    return SimulationResult(stats, truth.counts, terminals)


async def _summaries(stats: FleetStats, every: float, report: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(every)
        report(stats.line())
