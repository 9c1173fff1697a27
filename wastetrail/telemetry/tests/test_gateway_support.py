"""Helpers shared by the gateway, hand-off and NATS tests (no tests here): a fleet of registered
trucks, a gateway running in-process on a free port, database access from inside a test's event
loop, and a store that can be held or made to fail (the real store underneath).

The gateway writes from its own threads (own connections), so these tests are transactional and
see only committed data; `rulebook_after_module` reloads what their flushes remove for the tests
that come after.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import threading
import time

import pytest
from django.db import OperationalError, connections

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.telemetry import store
from wastetrail.telemetry.gateway import Gateway, GatewayConfig, InProcessHandoff
from wastetrail.telemetry.gateway.testing import TerminalClient
from wastetrail.telemetry.jt808 import make_location
from wastetrail.testing import reload_rulebook_defaults

JIANGMEN = (22_578_000, 113_081_000)  # lat_e6, lon_e6
TEST_TIMEOUT = 60.0  # a whole scenario; individual waits are shorter
LOCKED_FOR_AT_MOST = 15.0  # seconds a test's read waits for the gateway's writers (SQLite test database)


@pytest.fixture(scope="module", autouse=True)
def rulebook_after_module(django_db_blocker):
    """Transactional tests end with a flush that empties every table, the rulebook's migration data
    included; put it back for the modules that run after these."""
    yield
    with django_db_blocker.unblock():
        reload_rulebook_defaults()
        connections.close_all()


@pytest.fixture(autouse=True)
def fresh_store_caches():
    store.forget_suspects()
    store.forget_partitions()
    yield
    store.forget_suspects()
    store.forget_partitions()


@dataclasses.dataclass
class Truck:
    vehicle: Vehicle
    terminal: Terminal

    @property
    def phone(self) -> str:
        return self.terminal.phone

    @property
    def plate(self) -> str:
        return self.vehicle.plate

    @property
    def auth_code(self) -> str:
        return self.terminal.auth_code or ""


def transport_company(suffix: str = "01") -> Organisation:
    company, _ = Organisation.objects.get_or_create(
        uscc=f"91440704MA5GATE{suffix}", defaults={"name": f"网关测试运输公司{suffix}",
                                                   "kind": OrganisationKind.TRANSPORT_COMPANY})
    return company


def make_fleet(count: int, *, bound: bool = True, auth_code: bool = True, company: Organisation | None = None,
               model: str = "ZT-808G", first: int | None = None) -> list[Truck]:
    """Trucks with their terminals: bound to the vehicle and holding an auth code unless told not to."""
    company = company or transport_company()
    start = Vehicle.objects.count() + 1 if first is None else first
    trucks = []
    for n in range(start, start + count):
        vehicle = Vehicle.objects.create(plate=f"粤J{n:05d}", vin=f"LGATE{n:012d}", company=company, capacity_m3=18)
        terminal = Terminal.objects.create(company=company, phone=f"1390000{n:04d}", terminal_id=f"T{n:06d}",
                                           terminal_model=model, vehicle=vehicle if bound else None,
                                           auth_code=f"CODE{n:04d}" if auth_code else None)
        trucks.append(Truck(vehicle, terminal))
    return trucks


def config(**overrides) -> GatewayConfig:
    values = {"host": "127.0.0.1", "port": 0, "sweep_interval": 0.1, "seen_flush_interval": 0.5,
              "stop_timeout": 5.0} | overrides
    return GatewayConfig(**values)


@contextlib.asynccontextmanager
async def running_gateway(*, store_=store, handoff=None, **overrides):
    gateway = Gateway(config(**overrides), handoff or InProcessHandoff(store_))
    await gateway.start()
    try:
        yield gateway
    finally:
        if isinstance(store_, GatedStore):  # a test that failed while holding it must not hang the stop
            store_.release()
        await gateway.stop()


def run(scenario) -> object:
    """Run an async scenario to completion (pytest-asyncio is not a dependency)."""
    async def bounded():
        return await asyncio.wait_for(scenario, TEST_TIMEOUT)
    return asyncio.run(bounded())


async def in_db(fn, /, *args, **kwargs):
    """Run a database read or write from inside the test's event loop (Django's ORM is synchronous:
    it runs in a thread, whose connection is closed after). On SQLite's in-memory test database
    (shared cache) a table another thread is writing answers "locked" at once: try again, as the
    gateway's own database threads do."""
    def call():
        deadline = time.monotonic() + LOCKED_FOR_AT_MOST
        try:
            while True:
                try:
                    return fn(*args, **kwargs)
                except OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            connections.close_all()
    return await asyncio.to_thread(call)


async def authenticated(port: int, truck: Truck, *, version: int | None = None) -> TerminalClient:
    client = await TerminalClient.connect("127.0.0.1", port, phone=truck.phone, version=version)
    reply = await client.authenticate(truck.auth_code)
    assert reply.result == 0, f"authentication of {truck.phone} failed"
    return client


def location(seconds_ago: int = 0, *, lat_e6: int = JIANGMEN[0], lon_e6: int = JIANGMEN[1], **kwargs):
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds_ago)
    return make_location(time=moment, lat_e6=lat_e6, lon_e6=lon_e6, **kwargs)


class GatedStore:
    """The real store behind a gate: `hold()` makes writes wait, `fail(n)` makes the next n raise
    (as a database outage would) before writing anything."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.failures_left = 0
        self.failures = 0
        self.calls = 0

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def fail(self, times: int) -> None:
        self.failures_left = times

    def write_positions(self, records):
        self.calls += 1
        self.entered.set()
        self.gate.wait(TEST_TIMEOUT)
        if self.failures_left:
            self.failures_left -= 1
            self.failures += 1
            from django.db import OperationalError

            raise OperationalError("the database is unavailable (test)")
        return store.write_positions(records)
