"""`wastetrail worker [--once]`: the time-driven jobs (wastetrail/core/worker.py).

Runs until SIGTERM or SIGINT, finishing the job in hand first; `--once` runs every job once and
exits (for cron, and tests), with status 1 when a job failed.
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError

from wastetrail.core import worker


class Command(BaseCommand):
    help = ("Run the time-driven jobs (work-order deadlines, overdue manifests, approval expiry, position "
            "pruning) each on its interval until stopped; --once runs each once and exits.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit (for cron)")

    def handle(self, *args, once: bool, **options):
        if once:
            results = worker.run_once()
            failed = [name for name, ok in results.items() if not ok]
            if failed:
                raise CommandError(f"job(s) failed: {', '.join(failed)} (see the log)")
            return
        # The handler only sets a plain flag (worker.StopFlag says why); the loop notices it
        # within a sleep slice, or after the job in hand.
        stop = worker.StopFlag()
        previous = {sig: signal.signal(sig, lambda signum, frame: stop.set())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker.run_forever(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
