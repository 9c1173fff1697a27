"""`wastetrail jt808 decode`: decode JT/T 808 frames an operator pastes, one JSON object per line.

    echo 7e0002000001234567890100008a7e | wastetrail jt808 decode
    wastetrail jt808 decode --profile ZT-808G < frames.txt

Blank lines and lines starting with # are skipped; spaces inside the hex are ignored.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from wastetrail.telemetry.jt808 import profiles
from wastetrail.telemetry.jt808.jsonview import decode_wire_hex


class Command(BaseCommand):
    help = "JT/T 808 tools. `decode` reads hex frames (wire form, one per line) on standard input."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["decode"])
        parser.add_argument("--profile", default="", metavar="MODEL",
                            help="terminal model (or profile name) whose vendor items to decode, e.g. ZT-808G")

    def handle(self, *args, action: str, profile: str, **options):
        item_profile = profiles.for_model(profile)
        for line in options.get("stdin") or sys.stdin:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            result = decode_wire_hex(text, item_profile)
            self.stdout.write(json.dumps(result, ensure_ascii=False))
