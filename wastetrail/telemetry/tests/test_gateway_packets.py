"""Sub-packaged messages through the gateway: reassembled, answered once, missing packets asked for."""

from __future__ import annotations

import pytest

from wastetrail.telemetry.jt808 import BATCH_BLIND_AREA, LocationBatch, MediaData, encode_packets
from wastetrail.telemetry.models import Position
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    authenticated,
    fresh_store_caches,
    location,
    make_fleet,
    rulebook_after_module,
    run,
    running_gateway,
)

pytestmark = pytest.mark.django_db(transaction=True)


def packets(client, msg_id: int, body: bytes, size: int) -> tuple[list[bytes], int]:
    first = client.serial
    frames = encode_packets(msg_id, body, phone_raw=client.phone_raw, first_serial=first, version=client.version,
                            packet_size=size)
    client.serial = (first + len(frames)) & 0xFFFF
    return frames, first


def test_a_sub_packaged_blind_area_batch_is_stored_and_acknowledged_once_when_complete():
    truck = make_fleet(1)[0]
    batch = [location(seconds) for seconds in range(400, 0, -40)]
    body = LocationBatch(BATCH_BLIND_AREA, batch).encode()

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            frames, first = packets(client, 0x0704, body, 100)
            assert len(frames) > 2
            for frame in reversed(frames):  # any order
                await client.send_raw(frame)
            _h, ack = await client.expect(0x8001)
            assert (ack.reply_id, ack.reply_serial, ack.result) == (0x0704, first, 0)  # the last one sent
            assert await client.nothing_within(0.3)
            await client.close()

    run(scenario())
    assert Position.objects.filter(vehicle=truck.vehicle).count() == len(batch)


def test_missing_packets_are_asked_for_and_the_resent_one_completes_the_message():
    truck = make_fleet(1)[0]
    body = LocationBatch(BATCH_BLIND_AREA, [location(seconds) for seconds in range(300, 0, -30)]).encode()

    async def scenario():
        async with running_gateway(reassembly_timeout=0.3) as gateway:
            client = await authenticated(gateway.port, truck)
            frames, first = packets(client, 0x0704, body, 100)
            for frame in frames[:1] + frames[2:]:
                await client.send_raw(frame)
            _h, request = await client.expect(0x8003)
            assert (request.first_serial, request.indexes) == (first, [2])
            await client.send_raw(frames[1])
            _h, ack = await client.expect(0x8001)
            assert ack.reply_id == 0x0704
            await client.close()

    run(scenario())
    assert Position.objects.filter(vehicle=truck.vehicle).count() == 10


def test_media_is_answered_with_0x8800_when_complete_and_with_the_missing_list_when_not():
    truck = make_fleet(1)[0]
    media = MediaData(77, 0, 0, 1, 1, location(5), bytes(range(256)) * 4)

    async def scenario():
        async with running_gateway(reassembly_timeout=0.3) as gateway:
            client = await authenticated(gateway.port, truck)
            frames, _first = packets(client, 0x0801, media.encode(), 300)
            for frame in frames:
                await client.send_raw(frame)
            _h, done = await client.expect(0x8800)
            assert (done.media_id, done.missing) == (77, [])

            frames, _first = packets(client, 0x0801, media.encode(), 300)
            for frame in frames[:-1]:
                await client.send_raw(frame)
            _h, request = await client.expect(0x8800)
            assert (request.media_id, request.missing) == (77, [len(frames)])
            await client.close()

    run(scenario())
