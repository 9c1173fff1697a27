"""The gateway over real sockets: sessions, location reports acknowledged only once stored."""

from __future__ import annotations

import pytest

from wastetrail.telemetry.models import Position
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    authenticated,
    fresh_store_caches,
    in_db,
    location,
    make_fleet,
    rulebook_after_module,
    run,
    running_gateway,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_location_report_is_stored_then_acknowledged():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            serial = await client.send_location(location(5))
            _header, ack = await client.expect(0x8001)
            assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, 0x0200, 0)
            assert await in_db(Position.objects.filter(vehicle=truck.vehicle).count) == 1
            await client.close()

    run(scenario())
