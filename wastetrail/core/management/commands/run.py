"""`wastetrail run`: the whole platform on one machine — web, JT/T 808 gateway, the worker and,
for a demo, the fleet simulator — as separate processes stopped together (wastetrail/core/processes.py)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wastetrail.core.processes import ProcessGroup, ProcessSpec


def platform_processes(*, web_port: int, gateway_port: int, simulate: int, simulate_speed: float,
                       host: str = "127.0.0.1") -> list[ProcessSpec]:
    specs = [
        ProcessSpec("web", ["serve", "--host", host, "--port", str(web_port)]),
        ProcessSpec("gateway", ["gateway", "--host", host, "--port", str(gateway_port)]),
        # Deadlines, overdue manifests, expiring approvals: the jobs cron would otherwise run.
        ProcessSpec("worker", ["worker"]),
    ]
    if simulate:
        # The simulator is a client: it connects where the gateway listens, once that is up.
        specs.append(ProcessSpec(
            "simulator",
            ["simulate", "--host", "127.0.0.1" if host in ("0.0.0.0", "::") else host,
             "--port", str(gateway_port), "--terminals", str(simulate), "--speed", str(simulate_speed)],
            delay_seconds=2.0,
        ))
    return specs


class Command(BaseCommand):
    help = ("Run the web process, the JT/T 808 gateway and the worker together (and the fleet simulator "
            "with --simulate N).")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="web port")
        parser.add_argument("--gateway-port", type=int, default=settings.JT808_PORT)
        parser.add_argument("--simulate", type=int, default=0, metavar="N",
                            help="also drive N simulated trucks of the demo fleet against the gateway")
        parser.add_argument("--simulate-speed", type=float, default=5.0,
                            help="simulated time runs this many times faster than real time (default 5)")

    def handle(self, *args, host: str, port: int, gateway_port: int, simulate: int, simulate_speed: float,
               **options):
        if simulate < 0:
            raise CommandError("--simulate takes a number of trucks, 0 or more")
        if simulate_speed <= 0:
            raise CommandError("--simulate-speed must be greater than 0")
        group = ProcessGroup(platform_processes(web_port=port, gateway_port=gateway_port, simulate=simulate,
                                                simulate_speed=simulate_speed, host=host),
                             log=self.stdout.write)
        group.start()
        status = group.wait()
        if status:
            raise CommandError(f"a process of the platform stopped with status {status}")
