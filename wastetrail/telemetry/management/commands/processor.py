"""`wastetrail processor`: stores the positions gateways publish to NATS JetStream (docs/gateway.md)."""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wastetrail.core.aio import run_until_signalled as run


class Command(BaseCommand):
    help = "Store the positions the gateways publish to NATS JetStream (TELEMETRY_HANDOFF=nats)."

    def add_arguments(self, parser):
        parser.add_argument("--nats-url", default=settings.NATS_URL)
        parser.add_argument("--stream", default=settings.NATS_POSITIONS_STREAM)
        parser.add_argument("--subject-prefix", default=settings.NATS_POSITIONS_SUBJECT)

    def handle(self, *args, nats_url: str, stream: str, subject_prefix: str, **options):
        from wastetrail.telemetry import store
        from wastetrail.telemetry.gateway.jetstream import Processor

        async def main(stop):
            processor = Processor(store, url=nats_url, stream=stream, subject_prefix=subject_prefix)
            try:
                await processor.start()
            except RuntimeError as error:  # NATS unreachable
                raise CommandError(str(error)) from None
            self.stdout.write(f"processor consuming {stream} ({subject_prefix}.>) from {nats_url}")
            self.stdout.flush()
            running = asyncio.get_running_loop().create_task(processor.run())
            await stop.wait()
            processor.stop()
            await running
            await processor.close()

        run(main)
