"""The NATS JetStream hand-off with a real server (127.0.0.1:4222): two gateways and one processor,
every report stored once, terminals acknowledged only after JetStream acknowledged the publish.

Each test uses its own stream and subjects (and removes them), so it never disturbs a gateway that
uses the real ones on the same server.
"""

from __future__ import annotations

import asyncio
import secrets

import nats
import pytest
from django.conf import settings

from wastetrail.telemetry import store
from wastetrail.telemetry.gateway.jetstream import NatsHandoff, Processor, decode_batch, ensure_stream
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
URL = settings.NATS_URL


@pytest.fixture
def jetstream_names():
    """A stream and subject prefix of this test's own; skipped with the reason when NATS is down."""
    async def probe():
        try:
            nc = await nats.connect(URL, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0)
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
            return f"{type(error).__name__}: {error}"
        try:
            await nc.jetstream().account_info()
        except Exception as error:  # noqa: BLE001
            return f"JetStream not enabled: {error}"
        finally:
            await nc.close()
        return None

    problem = asyncio.run(probe())
    if problem:
        pytest.skip(f"NATS JetStream not reachable at {URL} ({problem}); start `nats-server -js`")
    token = secrets.token_hex(4)
    names = {"stream": f"WT_TEST_{token.upper()}", "subject_prefix": f"wastetrail_test_{token}.positions"}
    yield names

    async def remove():
        nc = await nats.connect(URL)
        try:
            await nc.jetstream().delete_stream(names["stream"])
        except nats.js.errors.NotFoundError:
            pass
        await nc.close()
    asyncio.run(remove())


def nats_handoff(names: dict, gateway_id: str) -> NatsHandoff:
    return NatsHandoff(URL, names["stream"], names["subject_prefix"], gateway_id=gateway_id)


async def stream_records(names: dict) -> list:
    """Every record in the stream, read message by message (no consumer needed)."""
    nc = await nats.connect(URL)
    js = nc.jetstream()
    try:
        info = await js.stream_info(names["stream"])
        records = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(names["stream"], seq)
            records.extend(decode_batch(message.data))
        return records
    finally:
        await nc.close()


async def stream_messages(names: dict) -> int:
    nc = await nats.connect(URL)
    try:
        return (await nc.jetstream().stream_info(names["stream"])).state.messages
    finally:
        await nc.close()


def test_two_gateways_and_one_processor_store_every_report_once(jetstream_names):
    trucks = make_fleet(4)
    reports = {truck.phone: [location(seconds) for seconds in range(60, 0, -12)] for truck in trucks}
    total = sum(len(r) for r in reports.values())

    async def scenario():
        async with (running_gateway(handoff=nats_handoff(jetstream_names, "gw-a")) as first,
                    running_gateway(handoff=nats_handoff(jetstream_names, "gw-b")) as second):
            clients = [await authenticated((first, second)[n % 2].port, truck) for n, truck in enumerate(trucks)]

            async def report(client):
                for loc in reports[client.phone]:
                    serial = await client.send_location(loc)
                    _h, ack = await client.expect(0x8001)
                    assert (ack.reply_serial, ack.result) == (serial, 0)
            await asyncio.gather(*(report(client) for client in clients))

            # Every report is acknowledged, none is stored yet (no processor), and all are in the stream.
            assert await in_db(Position.objects.count) == 0
            in_stream = await stream_records(jetstream_names)
            assert sorted((r.terminal_phone, r.device_time) for r in in_stream) == sorted(
                (phone, loc.time_utc) for phone, locs in reports.items() for loc in locs)
            assert first.handoff.batches_published and second.handoff.batches_published

            processor = Processor(store, url=URL, **jetstream_names, durable="test-processor")
            await processor.start()
            running = asyncio.create_task(processor.run())
            for _ in range(200):
                if await in_db(Position.objects.count) >= total and not await stream_messages(jetstream_names):
                    break
                await asyncio.sleep(0.1)
            processor.stop()
            await running
            await processor.close()
            for client in clients:
                await client.close()
            return processor

    processor = run(scenario())
    assert processor.records_stored == total
    for truck in trucks:
        times = list(Position.objects.filter(vehicle=truck.vehicle).order_by("device_time")
                     .values_list("device_time", flat=True))
        assert times == [loc.time_utc for loc in reports[truck.phone]]


def test_no_acknowledgement_until_jetstream_acknowledges_the_publish(jetstream_names):
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway(handoff=nats_handoff(jetstream_names, "gw-c")) as gateway:
            client = await authenticated(gateway.port, truck)
            nc = await nats.connect(URL)
            js = nc.jetstream()
            await js.delete_stream(jetstream_names["stream"])  # publishes now get no PubAck
            serial = await client.send_location(location(5))
            assert await client.nothing_within(1.0)
            await ensure_stream(js, **jetstream_names)  # the retried publish is now acknowledged
            _h, ack = await client.expect(0x8001)
            assert ack.reply_serial == serial
            assert len(await stream_records(jetstream_names)) == 1
            await nc.close()
            await client.close()

    run(scenario())
