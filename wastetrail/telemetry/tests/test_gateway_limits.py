"""The gateway's caps and timeouts, back-pressure, and graceful shutdown (real sockets)."""

from __future__ import annotations

import asyncio

import pytest

from wastetrail.telemetry.gateway.connection import TerminalConnection
from wastetrail.telemetry.gateway.testing import ConnectionClosed, TerminalClient
from wastetrail.telemetry.models import Position, TerminalStatus
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    GatedStore,
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


def stored(truck) -> int:
    return Position.objects.filter(vehicle=truck.vehicle).count()


def test_a_connection_that_does_not_authenticate_in_time_is_closed():
    async def scenario():
        async with running_gateway(auth_timeout=0.5) as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone="13900000001")
            assert await client.closed_within(10)
            assert gateway.connections == set()

    run(scenario())


def test_a_silent_authenticated_connection_is_closed_after_the_idle_timeout_and_heartbeats_keep_it():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway(idle_timeout=1.0) as gateway:
            client = await authenticated(gateway.port, truck)
            for _ in range(4):  # 2 s of heartbeats every 0.5 s: still open
                await asyncio.sleep(0.5)
                await client.send(0x0002)
                await client.expect(0x8001)
            assert await client.closed_within(10)  # then silence

    run(scenario())
    assert TerminalStatus.objects.get(pk=truck.terminal.pk).last_error == "idle timeout"


def test_an_oversized_frame_is_dropped_and_recorded_and_the_connection_goes_on():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway(max_frame_bytes=200) as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send(0x0900, b"\x41" + b"x" * 400)
            await client.send(0x0002)
            _h, reply = await client.expect(0x8001)
            assert reply.reply_id == 0x0002  # the oversized frame got no answer
            await client.close()

    run(scenario())
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)
    assert status.bad_frames == 1 and status.last_error.startswith("frame too large")


def test_junk_beyond_the_cap_closes_the_connection():
    async def scenario():
        async with running_gateway(max_junk_bytes=100) as gateway:
            reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            writer.write(b"GET / HTTP/1.1\r\n" * 20)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 10) == b""
            writer.close()

    run(scenario())


def test_connections_beyond_the_cap_are_refused():
    async def scenario():
        async with running_gateway(max_connections=2) as gateway:
            kept = [await asyncio.open_connection("127.0.0.1", gateway.port) for _ in range(2)]
            reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            try:
                assert await asyncio.wait_for(reader.read(), 10) == b""
            except ConnectionResetError:
                pass  # refused with a reset: as good
            assert gateway.refused == 1 and len(gateway.connections) == 2
            for _r, w in [*kept, (reader, writer)]:
                w.close()

    run(scenario())


def test_too_many_unacknowledged_reports_pause_reading_until_they_are_stored():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        async with running_gateway(store_=store, max_pending_reports=3) as gateway:
            client = await authenticated(gateway.port, truck)
            store.hold()
            serials = [await client.send_location(location(seconds)) for seconds in range(20, 10, -1)]
            connection = next(iter(gateway.connections))

            async def paused():
                while not connection.reading_paused:
                    await asyncio.sleep(0.05)
            await asyncio.wait_for(paused(), 10)
            assert connection.pending == 4  # read up to one past the cap, then stopped reading
            store.release()
            acked = [(await client.expect(0x8001))[1].reply_serial for _ in serials]
            assert sorted(acked) == sorted(serials)
            await client.close()

    run(scenario())
    assert stored(truck) == 10


def test_a_graceful_stop_acknowledges_what_became_durable_before_closing():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        async with running_gateway(store_=store) as gateway:
            client = await authenticated(gateway.port, truck)
            store.hold()
            serial = await client.send_location(location(5))
            await asyncio.to_thread(store.entered.wait, 10)
            stopping = asyncio.create_task(gateway.stop())
            await asyncio.sleep(0.2)
            assert not stopping.done()  # waiting for the write in flight
            with pytest.raises(ConnectionRefusedError):  # no longer accepting
                await asyncio.open_connection("127.0.0.1", gateway.port)
            store.release()
            _h, ack = await client.expect(0x8001)
            assert ack.reply_serial == serial
            assert await client.closed_within()
            await stopping

    run(scenario())
    assert stored(truck) == 1
    assert TerminalStatus.objects.get(pk=truck.terminal.pk).online is False


def test_a_stop_that_cannot_store_in_time_acknowledges_nothing():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        async with running_gateway(store_=store, stop_timeout=0.5) as gateway:
            client = await authenticated(gateway.port, truck)
            store.fail(1000)
            await client.send_location(location(5))
            await asyncio.to_thread(store.entered.wait, 10)
            await gateway.stop()
            replies = []
            with pytest.raises(ConnectionClosed):
                while True:
                    replies.append(await client.receive(10))
            assert [body for _h, body in replies if body.reply_id == 0x0200] == []

    run(scenario())
    assert stored(truck) == 0


def test_the_connection_object_has_no_per_instance_dict():
    """Ten thousand connections in one process: each is slots only."""
    assert not hasattr(TerminalConnection.__new__(TerminalConnection), "__dict__")
