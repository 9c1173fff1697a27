"""`wastetrail audit verify`: walk the hash chain and name the first broken link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wastetrail.core.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `verify` checks the hash chain from the first row to the last."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action: str, **options):
        checked, broken = audit_verify()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at row {broken.seq}: {broken.reason} "
                f"({checked} rows before it are intact)"
            )
        self.stdout.write(f"audit chain intact: {checked} rows verified")
