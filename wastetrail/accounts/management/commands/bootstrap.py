"""`wastetrail bootstrap`: the regulator and its first administrator on an empty platform."""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wastetrail.accounts.services import organisation_bootstrap


class Command(BaseCommand):
    help = "Create the city's regulator organisation and its first administrator."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="e.g. 江门市城市管理和综合执法局")
        parser.add_argument("--uscc", required=True, help="the regulator's unified social credit code")
        parser.add_argument("--admin", required=True, help="username of the first administrator")
        parser.add_argument("--password", help="omit to be asked (recommended)")

    def handle(self, *args, name, uscc, admin, password, **options):
        password = password or getpass.getpass(f"password for {admin}: ")
        try:
            regulator = organisation_bootstrap(name=name, uscc=uscc, admin_username=admin,
                                               admin_password=password)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems) from None
        self.stdout.write(f"regulator {regulator.name} created; log in as {admin}")
