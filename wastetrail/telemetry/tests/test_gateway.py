"""The gateway over real sockets: registration and authentication, what is allowed before it, location
reports acknowledged only once stored, the other messages' replies, online/offline."""

from __future__ import annotations

import asyncio

import pytest

from wastetrail.registry.models import Terminal
from wastetrail.telemetry.gateway.testing import TerminalClient
from wastetrail.telemetry.jt808 import (
    BATCH_BLIND_AREA,
    Authentication,
    LocationQueryReply,
    Passthrough,
    frame_bytes,
    location_bytes,
    wire,
)
from wastetrail.telemetry.models import Position, TerminalStatus, VehicleLiveState
from wastetrail.telemetry.records import PositionFlag, PositionSource
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


def positions(truck) -> list[Position]:
    return list(Position.objects.filter(vehicle=truck.vehicle).order_by("device_time"))


def status(truck) -> TerminalStatus:
    return TerminalStatus.objects.get(pk=truck.terminal.pk)


async def eventually(check, timeout: float = 10.0):
    """Poll a database check until it holds (the gateway writes activity in periodic batches)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await in_db(check)
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


# --- registration and authentication ----------------------------------------------------------

def test_registration_over_the_wire_answers_each_result_code_and_the_code_authenticates():
    truck, spare, other = make_fleet(3, bound=False, auth_code=False)

    async def scenario():
        async with running_gateway() as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone=truck.phone)
            assert (await client.register(plate="粤J99999")).result == 2  # no such vehicle
            ok = await client.register(plate=truck.plate)
            assert ok.result == 0 and ok.auth_code
            again = await client.register(plate=truck.plate)
            assert (again.result, again.auth_code) == (0, ok.auth_code)
            assert (await client.register(plate=spare.plate)).result == 3  # bound to another vehicle
            assert (await client.authenticate(ok.auth_code)).result == 0

            rival = await TerminalClient.connect("127.0.0.1", gateway.port, phone=other.phone)
            assert (await rival.register(plate=truck.plate)).result == 1  # vehicle carries a terminal
            stranger = await TerminalClient.connect("127.0.0.1", gateway.port, phone="13912345678")
            assert (await stranger.register(plate=truck.plate)).result == 4  # no such terminal
            for c in (client, rival, stranger):
                await c.close()

    run(scenario())
    assert Terminal.objects.get(pk=truck.terminal.pk).vehicle_id == truck.vehicle.pk


def test_nothing_but_registration_and_authentication_is_processed_before_authentication():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway(max_unauthenticated_frames=2) as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone=truck.phone)
            for _ in range(2):
                serial = await client.send_location(location(1))
                _h, reply = await client.expect(0x8001)
                assert (reply.reply_serial, reply.reply_id, reply.result) == (serial, 0x0200, 1)
            await client.send(0x0002)
            _h, reply = await client.expect(0x8001)
            assert reply.result == 1
            assert await client.closed_within()  # the third refused frame closes the connection

    run(scenario())
    assert positions(truck) == []


def test_a_wrong_auth_code_is_refused_and_three_refusals_close_the_connection():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone=truck.phone)
            for _ in range(3):
                assert (await client.authenticate("WRONG")).result == 1
            assert await client.closed_within()

    run(scenario())
    assert status(truck).last_error == "auth failed: wrong authentication code"


def test_a_2019_terminal_authenticates_with_its_imei_and_gets_2019_replies():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone=truck.phone, version=1)
            assert (await client.authenticate(truck.auth_code, imei="861234567890123",
                                              software_version="V2.1")).result == 0
            serial = await client.send_location(location(3))
            header, ack = await client.expect(0x8001)
            assert (header.version, header.phone_raw, ack.reply_serial) == (1, client.phone_raw, serial)
            await client.close()

    run(scenario())
    assert len(positions(truck)) == 1
    status = TerminalStatus.objects.get(pk=truck.terminal.pk)  # what commissioning and firmware recalls need
    assert (status.imei, status.software_version) == ("861234567890123", "V2.1")


# --- location reports: acknowledged only once durable -------------------------------------------

def test_a_location_report_is_stored_before_its_acknowledgement_arrives():
    truck = make_fleet(1)[0]
    # 0xE4 is a vendor item: decoded only because the terminal's model (ZT-808G) has the muck-truck profile.
    report = location(5, speed_dkmh=432, heading=90, items={0x01: (12345).to_bytes(4, "big"),
                                                            0xE4: (1).to_bytes(4, "big")})

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            serial = await client.send_location(report)
            _header, ack = await client.expect(0x8001)
            assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, 0x0200, 0)
            stored = await in_db(positions, truck)  # read right after the ack: already committed
            assert len(stored) == 1
            await client.close()
        return stored[0]

    row = run(scenario())
    assert (row.device_time, row.lat_e6, row.speed_dkmh, row.source) == (
        report.time_utc, report.lat_e6, 432, PositionSource.LIVE)
    assert row.extras["odometer_km"] == pytest.approx(1234.5)
    assert row.extras["cover_open"] is True


def test_no_acknowledgement_while_the_store_has_not_committed():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        async with running_gateway(store_=store) as gateway:
            client = await authenticated(gateway.port, truck)
            store.hold()
            serial = await client.send_location(location(5))
            await asyncio.to_thread(store.entered.wait, 10)
            assert await client.nothing_within(0.5)
            assert await in_db(positions, truck) == []
            store.release()
            _header, ack = await client.expect(0x8001)
            assert ack.reply_serial == serial
            await client.close()

    run(scenario())
    assert len(positions(truck)) == 1


def test_a_failing_store_means_no_acknowledgement_until_a_retry_succeeds():
    truck = make_fleet(1)[0]
    store = GatedStore()
    store.fail(3)

    async def scenario():
        async with running_gateway(store_=store) as gateway:
            client = await authenticated(gateway.port, truck)
            serial = await client.send_location(location(5))
            _header, ack = await client.expect(0x8001)
            assert ack.reply_serial == serial
            assert store.failures == 3  # the ack came only after the fourth attempt stored it
            await client.close()

    run(scenario())
    assert len(positions(truck)) == 1


def test_a_resent_report_is_acknowledged_again_and_stored_once():
    truck = make_fleet(1)[0]
    report = location(5)

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            for _ in range(2):
                await client.send_location(report)
                _h, ack = await client.expect(0x8001)
                assert ack.result == 0
            await client.close()

    run(scenario())
    assert len(positions(truck)) == 1


def test_a_blind_area_batch_is_stored_and_acknowledged_once_for_all_its_positions():
    truck = make_fleet(1)[0]
    batch = [location(seconds) for seconds in (300, 200, 100)]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            serial = await client.send_batch(batch, BATCH_BLIND_AREA)
            _header, ack = await client.expect(0x8001)
            assert (ack.reply_serial, ack.reply_id, ack.result) == (serial, 0x0704, 0)
            assert await client.nothing_within(0.3)  # one ack for the three positions
            await client.send_batch(batch, BATCH_BLIND_AREA)  # resent: acknowledged, not stored twice
            _header, ack = await client.expect(0x8001)
            assert ack.reply_id == 0x0704
            await client.close()

    run(scenario())
    stored = positions(truck)
    assert [p.device_time for p in stored] == [loc.time_utc for loc in batch]
    assert {p.source for p in stored} == {PositionSource.BLIND_AREA}


def test_a_location_query_reply_is_stored_without_a_reply():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send(0x0201, LocationQueryReply(7, location(2)).encode())
            assert await client.nothing_within(0.3)
            await client.send(0x0002)  # a heartbeat after it: answered, so the 0x0201 was read
            _h, reply = await client.expect(0x8001)
            assert reply.reply_id == 0x0002
            await client.close()
            return await eventually(lambda: positions(truck))

    stored = run(scenario())
    assert [p.source for p in stored] == [PositionSource.QUERY_REPLY]


def test_a_report_without_a_valid_time_is_kept_at_its_receive_time_and_flagged():
    truck = make_fleet(1)[0]
    report = location(0)._replace(time_utc=None, time_bcd=bytes.fromhex("991399999999"))

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send_location(report)
            _h, ack = await client.expect(0x8001)
            assert ack.result == 0
            await client.close()

    run(scenario())
    (row,) = positions(truck)
    assert row.flags & PositionFlag.BAD_TIME and row.device_time == row.received_at


def test_a_truncated_location_is_answered_message_error_and_not_stored():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send(0x0200, b"\x00" * 10)
            _h, reply = await client.expect(0x8001)
            assert reply.result == 2
            await client.close()

    run(scenario())
    assert positions(truck) == []


# --- other messages ------------------------------------------------------------------------------

def test_heartbeat_passthrough_unknown_ids_and_logout_get_their_replies():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            expected = []
            expected.append((await client.send(0x0002), 0x0002, 0))
            expected.append((await client.send(0x0900, Passthrough(0x41, b"load=12.5").encode()), 0x0900, 0))
            expected.append((await client.send(0x0F12, b"\x01\x02"), 0x0F12, 3))  # unsupported
            for serial, msg_id, result in expected:
                _h, reply = await client.expect(0x8001)
                assert (reply.reply_serial, reply.reply_id, reply.result) == (serial, msg_id, result)
            await client.send(0x0001, bytes.fromhex("0005810300"))  # a terminal's answer: no reply
            serial = await client.send(0x0003)
            _h, reply = await client.expect(0x8001)
            assert (reply.reply_serial, reply.reply_id) == (serial, 0x0003)
            assert await client.closed_within()

    run(scenario())


def test_a_frame_for_another_phone_on_an_authenticated_connection_is_refused():
    truck, other = make_fleet(2)

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            impostor = TerminalClient(client.reader, client.writer, phone=other.phone)
            await impostor.send_location(location(1))
            _h, reply = await client.expect(0x8001)
            assert reply.result == 1
            await client.close()

    run(scenario())
    assert positions(other) == []


def test_a_bad_checksum_is_answered_message_error_and_counted():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send_raw(with_bad_checksum(0x0002, b"", client.phone_raw, 9))
            _h, reply = await client.expect(0x8001)
            assert (reply.reply_serial, reply.result) == (9, 2)
            await client.close()
        return await eventually(lambda: status(truck).bad_checksum)

    assert run(scenario()) == 1
    assert status(truck).last_error == "bad checksum"


def test_a_bad_checksum_is_accepted_when_configured_and_still_counted():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway(accept_bad_checksum=True) as gateway:
            client = await authenticated(gateway.port, truck)
            await client.send_raw(with_bad_checksum(0x0200, location_bytes(location(5)), client.phone_raw, 11))
            _h, ack = await client.expect(0x8001)
            assert (ack.reply_serial, ack.result) == (11, 0)
            await client.close()
        return await eventually(lambda: status(truck).bad_checksum)

    assert run(scenario()) == 1
    assert len(positions(truck)) == 1


def with_bad_checksum(msg_id: int, body: bytes, phone_raw: bytes, serial: int) -> bytes:
    frame = bytearray(frame_bytes(msg_id, body, phone_raw=phone_raw, serial=serial))
    frame[-1] ^= 0x01
    return wire(bytes(frame))


# --- online / offline ------------------------------------------------------------------------------

def test_authentication_marks_online_and_disconnecting_marks_offline():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await authenticated(gateway.port, truck)
            assert (await in_db(status, truck)).online
            assert (await in_db(VehicleLiveState.objects.get, pk=truck.vehicle.pk)).online
            await client.send(0x0002)
            await client.expect(0x8001)
            await client.close()
            return await eventually(lambda: not status(truck).online)

    assert run(scenario())
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).online is False
    assert status(truck).last_frame_at is not None


def test_a_newer_connection_of_the_same_terminal_replaces_the_older_one():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            first = await authenticated(gateway.port, truck)
            second = await authenticated(gateway.port, truck)
            assert await first.closed_within()
            await second.send(0x0002)
            _h, reply = await second.expect(0x8001)
            assert reply.result == 0
            await asyncio.sleep(0.7)  # a flush of the older session's disconnect has run
            assert (await in_db(status, truck)).online
            await second.close()

    run(scenario())


def test_a_terminal_that_vanishes_while_its_authentication_is_checked_ends_up_offline():
    truck = make_fleet(1)[0]

    async def scenario():
        async with running_gateway() as gateway:
            client = await TerminalClient.connect("127.0.0.1", gateway.port, phone=truck.phone)
            await client.send(0x0102, Authentication(truck.auth_code).encode())
            client.writer.close()  # gone before (or just after) the database answers
            return await eventually(lambda: TerminalStatus.objects.filter(
                pk=truck.terminal.pk, connected_at__isnull=False, online=False).exists())

    assert run(scenario())
    assert VehicleLiveState.objects.get(pk=truck.vehicle.pk).online is False
