"""The in-process hand-off: batches what waits into one write, tells each waiter once its reports are
durable, retries a failing database, isolates a report that can never be stored (never acknowledged),
and reports whether everything became durable before a stop."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from wastetrail.telemetry.gateway import InProcessHandoff
from wastetrail.telemetry.models import Position
from wastetrail.telemetry.records import PositionRecord
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    JIANGMEN,
    GatedStore,
    fresh_store_caches,
    make_fleet,
    rulebook_after_module,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)


class Waiter:
    """Stands in for a connection: records what the hand-off tells it (on the event loop)."""

    def __init__(self) -> None:
        self.durable: list = []
        self.calls = 0
        self.dropped = 0

    def reports_durable(self, tokens: list) -> None:
        self.calls += 1
        self.durable.extend(tokens)

    def reports_dropped(self, count: int) -> None:
        self.dropped += count


def record(vehicle_id: int, seconds_ago: int, *, aware: bool = True) -> PositionRecord:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    device_time = now - dt.timedelta(seconds=seconds_ago)
    if not aware:
        device_time = device_time.replace(tzinfo=None)
    return PositionRecord(vehicle_id, "13900000001", device_time, now, JIANGMEN[0], JIANGMEN[1], 10, 300, 90, 0, 2,
                          {})


async def started(store) -> InProcessHandoff:
    handoff = InProcessHandoff(store, batch_max_records=1000)
    await handoff.start()
    return handoff


def test_what_waits_during_a_write_goes_in_one_batch_and_each_waiter_is_told_once():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        handoff = await started(store)
        first, second = Waiter(), Waiter()
        store.hold()
        handoff.submit([record(truck.vehicle.pk, 500)], first, "t0")
        await asyncio.to_thread(store.entered.wait, 10)  # the writer is inside the first write
        for n in range(1, 100):
            handoff.submit([record(truck.vehicle.pk, 500 - n)], first if n % 2 else second, f"t{n}")
        store.release()
        assert await handoff.drain(10)
        await handoff.close()
        return first, second

    first, second = run(scenario())
    assert store.calls == 2 and first.calls == 2 and second.calls == 1
    assert sorted(first.durable + second.durable, key=lambda t: int(t[1:])) == [f"t{n}" for n in range(100)]
    assert Position.objects.filter(vehicle=truck.vehicle).count() == 100


def test_a_database_outage_is_retried_and_nothing_is_durable_until_it_ends():
    truck = make_fleet(1)[0]
    store = GatedStore()
    store.fail(4)

    async def scenario():
        handoff = await started(store)
        waiter = Waiter()
        handoff.submit([record(truck.vehicle.pk, 10)], waiter, "t")
        assert await handoff.drain(10)
        await handoff.close()
        return waiter

    waiter = run(scenario())
    assert (store.failures, waiter.durable, waiter.dropped) == (4, ["t"], 0)


def test_a_report_that_cannot_be_stored_is_dropped_alone_and_never_acknowledged():
    good, other = make_fleet(2)
    store = GatedStore()

    async def scenario():
        handoff = await started(store)
        waiter, victim = Waiter(), Waiter()
        store.hold()
        handoff.submit([record(good.vehicle.pk, 60)], waiter, "first")
        await asyncio.to_thread(store.entered.wait, 10)
        handoff.submit([record(good.vehicle.pk, 50)], waiter, "second")
        handoff.submit([record(other.vehicle.pk, 40, aware=False)], victim, "poison")  # the store refuses it
        handoff.submit([record(other.vehicle.pk, 30)], waiter, "third")
        store.release()
        assert await handoff.drain(10)
        await handoff.close()
        return waiter, victim

    waiter, victim = run(scenario())
    assert sorted(waiter.durable) == ["first", "second", "third"]
    assert (victim.durable, victim.dropped) == ([], 1)
    assert Position.objects.count() == 3


def test_drain_says_whether_everything_became_durable_in_time():
    truck = make_fleet(1)[0]
    store = GatedStore()

    async def scenario():
        handoff = await started(store)
        waiter = Waiter()
        store.hold()
        handoff.submit([record(truck.vehicle.pk, 10)], waiter, "t")
        assert not await handoff.drain(0.3)
        assert waiter.durable == []
        store.release()
        assert await handoff.drain(10)
        await handoff.close()
        return waiter

    assert run(scenario()).durable == ["t"]
