"""`wastetrail approvals expire [--date YYYY-MM-DD]`: the daily expiry job, by hand.

Expires approved approvals whose validity ended before the date (default: today, local time)
and lists those ending within the rulebook's warning period. Safe to run twice.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wastetrail.core.errors import DomainError
from wastetrail.permits.services import approvals_expire


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Approval tools. `expire` expires approvals past their validity and lists those to warn."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["expire"])
        parser.add_argument("--date", help="run as if today were this date (YYYY-MM-DD)")

    def handle(self, *args, action: str, date: str | None = None, **options):
        today = _date(date) if date else timezone.localdate()
        try:
            run = approvals_expire(today=today)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{today.isoformat()}: expired {len(run.expired)} approval(s)")
        for approval in run.expired:
            self.stdout.write(f"  expired {approval.number} ({approval.holder.name}), "
                              f"valid to {approval.valid_to.isoformat()}")
        self.stdout.write(f"{len(run.warnings)} approval(s) end by {run.warn_until.isoformat()}")
        for approval in run.warnings:
            self.stdout.write(f"  warn {approval.number} ({approval.holder.name}), "
                              f"valid to {approval.valid_to.isoformat()}")
