"""`wastetrail manifests overdue [--at YYYY-MM-DDTHH:MM]`: the overdue job, for cron or by hand.

Flags every manifest still on the road (issued or departed) after its expected arrival, one audit
row each. Safe to run as often as wanted (every few minutes in production): a manifest is flagged
once.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wastetrail.manifests.services import manifests_mark_overdue


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--at: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    # A time without a zone is the city's local time, as people say it.
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = "Manifest jobs. `overdue` flags manifests still on the road after their expected arrival."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["overdue"])
        parser.add_argument("--at", help="run as if it were this local time (YYYY-MM-DDTHH:MM)")

    def handle(self, *args, action: str, at: str | None = None, **options):
        now = _moment(at) if at else timezone.now()
        flagged = manifests_mark_overdue(now=now)
        self.stdout.write(f"{timezone.localtime(now):%Y-%m-%d %H:%M}: flagged {len(flagged)} manifest(s) overdue")
        for manifest in flagged:
            self.stdout.write(f"  {manifest.number} {manifest.vehicle.plate} expected "
                              f"{timezone.localtime(manifest.expected_arrival_at):%Y-%m-%d %H:%M}")
