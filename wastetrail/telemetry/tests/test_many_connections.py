"""Many terminals on one gateway (real sockets): all authenticate, heartbeats keep every one of them
connected past the idle timeout, and the ones that fall silent — and only those — are closed by it
and recorded offline. (How much memory 10,000 connections take is a benchmark:
bench/telemetry_gateway.py, figure gateway_bytes_per_connection.)"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from django.db import OperationalError, connection

from wastetrail.telemetry.gateway import Gateway, InProcessHandoff
from wastetrail.telemetry.gateway.testing import TerminalClient
from wastetrail.telemetry.models import TerminalStatus
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    authenticated,
    config,
    fresh_store_caches,
    in_db,
    make_fleet,
    rulebook_after_module,
)

pytestmark = pytest.mark.django_db(transaction=True)

TERMINALS = 500
# Clients and gateway share one event loop here, so a loaded machine delays both: ten heartbeats
# to a timeout keep a stalled second or two from closing a beating terminal (2.0 s did, once, on
# a machine running another suite beside this one).
IDLE_TIMEOUT_S = 4.0
HEARTBEAT_S = 0.4
CONNECTING_AT_ONCE = 100


@contextlib.asynccontextmanager
async def gateway_for_many():
    from wastetrail.telemetry import store

    # One database thread on SQLite: the test database (in memory, shared cache) locks whole tables
    # and does not wait, so two threads authenticating at once would fail each other.
    workers = 1 if connection.vendor == "sqlite" else 2
    gateway = Gateway(config(idle_timeout=IDLE_TIMEOUT_S, max_connections=TERMINALS + 10), InProcessHandoff(store),
                      db_workers=workers)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def read_db(fn):
    """A read while the gateway writes: SQLite's shared-cache test database refuses a read of a table
    being written ("database table is locked") instead of waiting, so wait here."""
    for _ in range(100):
        try:
            return await in_db(fn)
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.05)
    return await in_db(fn)


async def heartbeat_until(client: TerminalClient, stop: asyncio.Event) -> int:
    """Send a heartbeat every HEARTBEAT_S and check its 0x8001, until `stop`; how many were answered."""
    answered = 0
    while not stop.is_set():
        serial = await client.send(0x0002)
        _header, reply = await client.expect(0x8001)
        assert (reply.reply_id, reply.reply_serial, reply.result) == (0x0002, serial, 0)
        answered += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
    return answered


def test_five_hundred_terminals_authenticate_stay_up_on_heartbeats_and_only_the_silent_are_closed():
    trucks = make_fleet(TERMINALS)

    async def scenario():
        async with gateway_for_many() as gateway:
            gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
            all_in = asyncio.Event()
            # Every other terminal falls silent later; each one heartbeats from its authentication on
            # (connecting 500 takes longer than the idle timeout).
            stops = [asyncio.Event(), asyncio.Event()]  # the silent half's, the beating half's
            clients: list[TerminalClient | None] = [None] * TERMINALS

            async def terminal(index: int, truck) -> int:
                async with gate:
                    client = clients[index] = await authenticated(gateway.port, truck)  # asserts result 0
                if all(clients):
                    all_in.set()
                return await heartbeat_until(client, stops[index % 2])

            terminals = [asyncio.create_task(terminal(index, truck)) for index, truck in enumerate(trucks)]
            await asyncio.wait_for(all_in.wait(), 120)
            assert len(gateway.sessions) == TERMINALS
            assert await read_db(lambda: TerminalStatus.objects.filter(online=True).count()) == TERMINALS

            # Heartbeats for three idle timeouts: nobody is closed.
            await asyncio.sleep(IDLE_TIMEOUT_S * 3)
            assert len(gateway.sessions) == TERMINALS and len(gateway.connections) == TERMINALS

            # Half fall silent: the idle timeout closes them while the other half, still beating, stay.
            stops[0].set()
            silent, beating = clients[::2], clients[1::2]
            closed = await asyncio.gather(*(client.closed_within(IDLE_TIMEOUT_S * 5) for client in silent))
            assert all(closed), f"{closed.count(False)} silent connections were not closed"
            assert set(gateway.sessions) == {client.phone for client in beating}

            # Then the rest.
            stops[1].set()
            answered = await asyncio.gather(*terminals)
            assert min(answered) >= 3, "heartbeats were not answered"
            closed = await asyncio.gather(*(client.closed_within(IDLE_TIMEOUT_S * 5) for client in beating))
            assert all(closed) and not gateway.sessions
            for client in clients:
                await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 240))
    statuses = TerminalStatus.objects.filter(terminal__in=[truck.terminal for truck in trucks])
    assert statuses.count() == TERMINALS
    assert not statuses.filter(online=True).exists()
    assert set(statuses.values_list("last_error", flat=True)) == {"idle timeout"}
