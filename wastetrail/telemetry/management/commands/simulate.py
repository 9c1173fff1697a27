"""`wastetrail simulate`: the demo fleet's terminals driving Jiangmen against a gateway (docs/simulator.md).

Also `--replay PATH` (real trajectories moved onto Jiangmen) and `--load` (the benchmark load
generator). A client of the gateway: it reads the fleet from the database once and never writes.
"""

from __future__ import annotations

import math
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wastetrail.core.aio import run_until_signalled

MAX_SPEED = 3600.0


class Command(BaseCommand):
    help = ("Simulate the demo fleet's JT/T 808 terminals (register, authenticate, report, lose signal, "
            "dump illegally on request) against a gateway; or replay real trajectories; or generate load.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="where the gateway listens (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="gateway port (default JT808_PORT)")
        parser.add_argument("--terminals", type=int, default=10, metavar="N",
                            help="how many of the demo's trucks with terminals to drive (default 10)")
        parser.add_argument("--interval", type=int, default=10, metavar="S",
                            help="seconds between reports while driving, 1-30 (default 10; 5 during an alarm)")
        parser.add_argument("--speed", type=float, default=1.0, metavar="F",
                            help="simulated time runs F times faster than real time (default 1)")
        parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                            help="stop after this many real seconds (default: run until stopped)")
        parser.add_argument("--illegal-dumps", type=int, default=0, metavar="K",
                            help="K trips end with an illegal dump away from any site (needs --truth)")
        parser.add_argument("--truth", type=Path, default=None, metavar="FILE",
                            help="write every dump (illegal and legit unloadings) as JSON lines here")
        parser.add_argument("--replay", type=Path, default=None, metavar="PATH",
                            help="replay real trajectories (a file or folder of them) instead of simulating trips")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same trips (default 0)")
        parser.add_argument("--signal-loss", type=float, default=0.0, metavar="P",
                            help="chance per trip (0-1) of losing the mobile signal for 1-5 minutes")
        parser.add_argument("--ack-timeout", type=float, default=10.0, metavar="S",
                            help="seconds before an unacknowledged message is sent again (default 10)")
        parser.add_argument("--retries", type=int, default=3, metavar="N",
                            help="retransmissions before a terminal reconnects (default 3)")
        parser.add_argument("--heartbeat", type=float, default=30.0, metavar="S",
                            help="seconds of silence before a heartbeat (default 30)")
        parser.add_argument("--summary-every", type=float, default=5.0, metavar="S",
                            help="seconds between summary lines (default 5)")
        load = parser.add_argument_group("load generator (benchmarks)")
        load.add_argument("--load", action="store_true",
                          help="send pre-encoded reports as fast as the window allows instead of driving trucks")
        load.add_argument("--reports", type=int, default=100, metavar="M", help="reports per terminal (default 100)")
        load.add_argument("--window", type=int, default=16, metavar="W",
                          help="unacknowledged reports per connection (default 16)")
        load.add_argument("--processes", type=int, default=1, metavar="P",
                          help="child processes the connections run in (0: this process; default 1)")

    def handle(self, *args, **options):
        self._check(options)
        from wastetrail.telemetry.simulator.fleet import FleetError, load_fleet
        from wastetrail.telemetry.simulator.geo import jiangmen

        land = jiangmen()
        try:
            fleet = load_fleet(land=land, seed=options["seed"])
        except FleetError as error:
            raise CommandError(str(error)) from None
        if options["terminals"] > len(fleet.trucks):
            # `wastetrail run --simulate 150` means "the whole demo fleet", a few of whose trucks lack a terminal.
            self._report(f"only {len(fleet.trucks)} vehicles have a terminal: simulating those "
                         f"(--terminals {options['terminals']})")
            options["terminals"] = len(fleet.trucks)
        port = options["port"] if options["port"] is not None else settings.JT808_PORT
        if options["load"]:
            self._load(options, fleet, port)
            return
        trajectories = self._trajectories(options["replay"])
        self._simulate(options, fleet, land, port, trajectories)

    def _check(self, options: dict) -> None:
        """Every argument error before anything starts (and before the truth file is created)."""
        problems = []
        port = options["port"]
        if port is not None and not 1 <= port <= 65535:
            problems.append("--port must be 1 to 65535")
        if options["terminals"] < 1:
            problems.append("--terminals must be at least 1")
        if not 1 <= options["interval"] <= 30:
            problems.append("--interval must be 1 to 30 seconds")
        speed = options["speed"]
        if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
            problems.append(f"--speed must be greater than 0 and at most {MAX_SPEED:g}")
        duration = options["duration"]
        if duration is not None and not (math.isfinite(duration) and duration > 0):
            problems.append("--duration must be a positive number of seconds")
        if options["illegal_dumps"] < 0:
            problems.append("--illegal-dumps must be 0 or more")
        if options["illegal_dumps"] and options["truth"] is None:
            problems.append("--illegal-dumps needs --truth FILE (where the ground truth is written)")
        if options["illegal_dumps"] and options["replay"] is not None:
            problems.append("--illegal-dumps cannot be combined with --replay (a replay drives recorded tracks)")
        if not 0 <= options["signal_loss"] <= 1:
            problems.append("--signal-loss is a chance per trip: 0 to 1")
        for name in ("ack_timeout", "heartbeat", "summary_every"):
            value = options[name]
            if not (math.isfinite(value) and value > 0):
                problems.append(f"--{name.replace('_', '-')} must be a positive number of seconds")
        if options["retries"] < 0:
            problems.append("--retries must be 0 or more")
        if options["load"]:
            if options["reports"] < 1:
                problems.append("--reports must be at least 1")
            if options["window"] < 1:
                problems.append("--window must be at least 1")
            if options["processes"] < 0:
                problems.append("--processes must be 0 or more")
            if options["replay"] is not None or options["illegal_dumps"]:
                problems.append("--load sends synthetic reports: no --replay or --illegal-dumps with it")
        truth = options["truth"]
        if truth is not None and not truth.parent.is_dir():
            problems.append(f"--truth {truth}: the folder {truth.parent} does not exist")
        if options["replay"] is not None and not options["replay"].exists():
            problems.append(f"--replay {options['replay']}: no such file or folder")
        if problems:
            raise CommandError("; ".join(problems))

    def _trajectories(self, path: Path | None):
        if path is None:
            return None
        from wastetrail.telemetry.simulator.replay import ReplayError, read_trajectories

        try:
            trajectories = read_trajectories(path)
        except ReplayError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"replay: {len(trajectories)} trajectories read from {path}")
        return trajectories

    def _report(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _simulate(self, options: dict, fleet, land, port: int, trajectories) -> None:
        from wastetrail.telemetry.simulator.runner import SimulationOptions, simulate
        from wastetrail.telemetry.simulator.terminal import ClientConfig

        client = ClientConfig(interval=options["interval"], heartbeat_s=options["heartbeat"],
                              ack_timeout_s=options["ack_timeout"], retries=options["retries"])
        run_options = SimulationOptions(
            host=options["host"], port=port, terminals=options["terminals"], interval=options["interval"],
            speed=options["speed"], duration=options["duration"], illegal_dumps=options["illegal_dumps"],
            truth=options["truth"], seed=options["seed"], signal_loss=options["signal_loss"], client=client,
            summary_every_s=options["summary_every"],
        )
        run_until_signalled(lambda stop: simulate(run_options, fleet, land=land, trajectories=trajectories, stop=stop,
                                   report=self._report))

    def _load(self, options: dict, fleet, port: int) -> None:
        from wastetrail.telemetry.simulator.loadgen import LoadOptions, run_load

        load_options = LoadOptions(host=options["host"], port=port, reports=options["reports"],
                                   window=options["window"], ack_timeout_s=options["ack_timeout"],
                                   deadline_s=options["duration"] or 300.0, seed=options["seed"])
        identities = [truck.identity for truck in fleet.trucks[:options["terminals"]]]
        self._report(f"load: {len(identities)} terminals x {options['reports']} reports, window "
                     f"{options['window']}, against {options['host']}:{port}")
        result = run_load(load_options, identities, processes=options["processes"])
        self._report(result.line())
        if not result.complete:
            raise CommandError(f"only {result.acked} of {result.terminals * result.reports_per_terminal} reports "
                               "were acknowledged before the deadline")
