"""`wastetrail demo`: load the reproducible Jiangmen demo scenario and print the logins."""

from __future__ import annotations

import argparse
import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from wastetrail.accounts.models import Organisation


def _moment(text: str) -> dt.datetime:
    """An ISO date and time; without a zone, the local time of the city."""
    moment = parse_datetime(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"not a date and time: {text!r} (e.g. 2026-11-29T15:20)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Build the demo scenario (a realistic Jiangmen) from a seed. Never run it on production data."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2024, help="same seed, same city (default 2024)")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the database already has organisations")
        parser.add_argument("--now", type=_moment, default=None,
                            help="the moment the demo's manifests lead up to, e.g. 2026-11-29T15:20 "
                                 "(default: now); with the same seed, the same demo to the minute")
        parser.add_argument("--live", action="store_true",
                            help="then run the platform (web, gateway) with the demo fleet driving: its "
                                 "simulated terminals report over JT/T 808, so trucks move on the live map")
        parser.add_argument("--port", type=int, default=8000, help="web port with --live (default 8000)")
        parser.add_argument("--trucks", type=int, default=150,
                            help="simulated trucks with --live (default 150: the whole demo fleet)")

    def handle(self, *args, seed: int, if_empty: bool, now: dt.datetime | None, live: bool, port: int,
               trucks: int, **options):
        if Organisation.objects.exists():
            if not if_empty:
                raise CommandError("the database already has organisations; the demo needs an empty one")
            self.stdout.write("demo: the database already has data; leaving it as it is")
        else:
            self._build(seed, now)
        if live:
            call_command("run", port=port, simulate=trucks)

    def _build(self, seed: int, now: dt.datetime | None) -> None:
        from wastetrail.scenario.build import DEMO_PASSWORD, build_scenario

        scenario = build_scenario(seed=seed, now=now)
        counts = ", ".join(f"{key} {value}" for key, value in scenario.counts.items())
        self.stdout.write(f"demo scenario (seed {seed}) loaded: {counts}")
        if scenario.manifest_statuses:
            statuses = ", ".join(f"{key} {value}" for key, value in scenario.manifest_statuses.items())
            self.stdout.write(f"manifests by status: {statuses}")
        if scenario.workorder_statuses:
            statuses = ", ".join(f"{key} {value}" for key, value in scenario.workorder_statuses.items())
            self.stdout.write(f"work orders by status: {statuses}")
        self.stdout.write(f"logins (password {DEMO_PASSWORD}):")
        for login in scenario.logins:
            self.stdout.write(f"  {login.username:<14} {login.role:<14} {login.organisation}")
