"""`wastetrail gateway`: the JT/T 808 server terminals connect to (docs/gateway.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wastetrail.core.aio import loop_name
from wastetrail.core.aio import run_until_signalled as run
from wastetrail.telemetry.gateway import Gateway, GatewayConfig, make_handoff
from wastetrail.telemetry.gateway.config import HANDOFF_MODES


class Command(BaseCommand):
    help = "Run the JT/T 808 gateway (SIGTERM or Ctrl-C stops it after acknowledging what is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--host", help="address to listen on (default JT808_HOST)")
        parser.add_argument("--port", type=int, help="TCP port (default JT808_PORT; 0 picks a free one)")
        parser.add_argument("--handoff", choices=HANDOFF_MODES,
                            help="in-process storage or NATS JetStream (default TELEMETRY_HANDOFF)")

    def handle(self, *args, host: str | None, port: int | None, handoff: str | None, **options):
        try:
            config = GatewayConfig.from_settings(host=host, port=port, handoff=handoff)
        except ValueError as error:
            raise CommandError(str(error)) from None

        async def main(stop):
            gateway = Gateway(config, make_handoff(config))
            try:
                await gateway.start()
            except (OSError, RuntimeError) as error:  # port taken, NATS unreachable
                raise CommandError(f"the gateway cannot start: {error}") from None
            self.stdout.write(f"JT/T 808 gateway on {config.host}:{gateway.port} "
                              f"(hand-off {config.handoff}, {loop_name()})")
            self.stdout.flush()
            await stop.wait()
            await gateway.stop()

        run(main)
