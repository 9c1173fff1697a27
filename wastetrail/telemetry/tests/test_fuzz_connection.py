"""A million damaged frames through the gateway's connection handler (`TerminalConnection.data_received`)
on a transport without a socket: no exception escapes, nothing breaks on the event loop, everything
the gateway writes back is a well-formed frame, and memory stays bounded.

Two connections take the frames in turn: one authenticated for a real terminal (through the real
authentication service and database), whose frames carry its phone number so that they reach the
message handlers, and one that never authenticated (its register and authenticate attempts go to the
real services too; it is closed after too many other frames and opened again). The only stand-in is
the hand-off's sink: it checks each position record the way storage would need it (JSON-able
extras, an aware device time, values that fit their columns) and acknowledges at once, so the
handler's acknowledgement path runs; storing a million positions is not the point here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import Counter
from time import monotonic

import pytest
from django.db import connection as db_connection

from wastetrail.telemetry.gateway import Gateway, GatewayConfig
from wastetrail.telemetry.gateway.connection import TerminalConnection
from wastetrail.telemetry.gateway.handoff import Handoff
from wastetrail.telemetry.jt808 import Authentication, FrameSplitter, encode_frame, parse_frame, phone_to_raw
from wastetrail.telemetry.records import PositionFlag, PositionRecord, PositionSource
from wastetrail.telemetry.tests.test_fuzz_support import (
    FRAMES,
    SEED,
    Failures,
    Mutator,
    encoder_frames,
    rehead,
    rss_bytes,
    vector_frames,
)
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    fresh_store_caches,
    make_fleet,
    rulebook_after_module,
)

pytestmark = pytest.mark.django_db(transaction=True)

FRAMES_PER_STREAM = 8
UNAUTHENTICATED_SHARE = 0.2  # of the streams; the rest go to the authenticated connection
DB_MESSAGES = (b"\x01\x00", b"\x01\x02")  # register, authenticate
DB_SEED_WEIGHT = 20
WAIT_S = 30.0  # the longest a paused connection may wait for the database or the sink
# RSS may grow after the first tenth of the run by at most this much: the codec's phone cache
# (at most 100,000 entries, about 15 MB) may fill meanwhile; a leak of one small object per frame
# (56 bytes or more) over the 900,000 frames that follow would exceed it.
RSS_GROWTH_LIMIT = 48 * 2**20
_INT32 = 2**31 - 1
_FLAGS = int(sum(PositionFlag))
_SOURCES = {int(s) for s in PositionSource}


class FakeTransport:
    """What TerminalConnection uses of an asyncio transport, without a socket. Every write must be
    whole, well-formed JT/T 808 frames with right checksums."""

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str, stats: Counter) -> None:
        self.loop = loop
        self.name = name
        self.stats = stats
        self.protocol: TerminalConnection | None = None
        self.closed = False
        self.reading = asyncio.Event()
        self.reading.set()
        self.check = FrameSplitter(max_frame=1 << 16, max_junk=0)

    def get_extra_info(self, name: str, default=None):
        return ("127.0.0.1", 40808) if name == "peername" else default

    def write(self, data: bytes) -> None:
        if self.closed:
            self.stats["writes_after_close"] += 1
            return
        if not data:
            return  # a 0x0201's empty acknowledgement token; a real transport ignores it too
        assert isinstance(data, bytes | bytearray) and data[:1] == b"\x7e" and data[-1:] == b"\x7e", data.hex()
        frames = self.check.feed(data)
        assert self.check.junk_bytes == 0 and self.check.pending == 0, f"a partial frame written: {data.hex()}"
        for raw in frames:
            frame = parse_frame(raw)
            assert frame.checksum_ok and frame.length_ok, f"a malformed reply: {raw.hex()}"
        self.stats[f"{self.name}_replies"] += len(frames)

    def pause_reading(self) -> None:
        assert self.reading.is_set(), "pause_reading twice"
        self.reading.clear()

    def resume_reading(self) -> None:
        assert not self.reading.is_set(), "resume_reading while reading"
        self.reading.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reading.set()
            self.loop.call_soon(self.protocol.connection_lost, None)

    abort = close

    def is_closing(self) -> bool:
        return self.closed


def check_record(record: PositionRecord) -> None:
    """What storage needs of a record (store.write_positions, the NATS hand-off's wire form)."""
    assert isinstance(record, PositionRecord)
    json.dumps(record.extras, allow_nan=False)  # PostgreSQL's jsonb takes no NaN
    json.dumps(record.as_wire(), allow_nan=False)
    for moment in (record.device_time, record.received_at):
        assert isinstance(moment, dt.datetime) and moment.utcoffset() == dt.timedelta(0)
    assert 0 <= record.altitude_m <= _INT32 and 0 <= record.speed_dkmh <= _INT32 and 0 <= record.heading <= _INT32
    assert abs(record.lat_e6) < 2**63 and abs(record.lon_e6) < 2**63
    assert 0 <= record.alarm < 2**32 and 0 <= record.status < 2**32
    assert record.source in _SOURCES and 0 <= record.flags <= _FLAGS
    assert record.vehicle_id > 0


class CheckingSink(Handoff):
    """The hand-off's sink: checks every record, acknowledges on the next loop iteration."""

    name = "checking-sink"

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list = []
        self.records = 0
        self.submissions = 0

    def _enqueue(self, submission) -> None:
        records, _waiter, _token = submission
        for record in records:
            check_record(record)
        self.records += len(records)
        self.submissions += 1
        self.waiting.append(submission)
        if len(self.waiting) == 1:
            self.loop.call_soon(self._acknowledge)

    def _acknowledge(self) -> None:
        batch, self.waiting = self.waiting, []
        self._deliver(batch)


class LogCheck(logging.Handler):
    """Formats every gateway log record (a bad format string would show here) and keeps errors."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.levels: Counter[str] = Counter()
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage()  # raises on a message that does not fit its arguments
        self.levels[record.levelname] += 1
        if record.levelno >= logging.ERROR and len(self.errors) < 5:
            self.errors.append(self.format(record))


@pytest.fixture
def log_check():
    handler = LogCheck()
    handler.setFormatter(logging.Formatter("%(message)s"))
    names = ("wastetrail.gateway", "wastetrail.telemetry")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # a million lines are not for the console
    yield handler
    for name in names:
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(saved[name][0])
        logger.propagate = saved[name][1]


def test_a_million_damaged_frames_leave_the_connection_handler_standing(log_check):
    truck = make_fleet(1)[0]
    phone_raws = {None: phone_to_raw(truck.phone), 1: phone_to_raw(truck.phone, 1)}
    seeds = rehead(vector_frames(), phone_raws) + encoder_frames(phone_raws)
    # Registration and authentication frames go to the database (milliseconds each): at
    # 1/DB_SEED_WEIGHT of the others' weight a million frames take about a minute, and still send
    # a thousand or more damaged ones to the services.
    mutator = Mutator([s for s in seeds if s[:2] not in DB_MESSAGES] * DB_SEED_WEIGHT
                      + [s for s in seeds if s[:2] in DB_MESSAGES], SEED)
    auth_frame = encode_frame(0x0102, Authentication(truck.auth_code).encode(), phone_raw=phone_raws[None], serial=1)
    failures = Failures()
    stats: Counter[str] = Counter()

    async def scenario() -> dict:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: failures.add(
            "event loop", b"", context.get("exception") or RuntimeError(context["message"])))
        sink = CheckingSink()
        await sink.start()
        # One database thread on SQLite: the test database (in memory, shared cache) locks whole
        # tables and does not wait for a lock, so two threads writing at once would fail each other.
        gateway = Gateway(GatewayConfig(port=0, seen_flush_interval=1.0), sink,
                          db_workers=1 if db_connection.vendor == "sqlite" else 2)
        calls = Counter()
        real_call = gateway.db.call

        def counted_call(fn, /, **kwargs):
            calls[fn.__name__] += 1
            return real_call(fn, **kwargs)

        gateway.db.call = counted_call

        def open_connection(name: str) -> tuple[TerminalConnection, FakeTransport]:
            connection = TerminalConnection(gateway)
            transport = FakeTransport(loop, name, stats)
            transport.protocol = connection
            connection.connection_made(transport)
            stats[f"{name}_connections"] += 1
            return connection, transport

        async def ready(transport: FakeTransport) -> None:
            if not transport.reading.is_set():
                await asyncio.wait_for(transport.reading.wait(), WAIT_S)

        async def authenticated() -> tuple[TerminalConnection, FakeTransport]:
            connection, transport = open_connection("authenticated")
            connection.data_received(auth_frame)
            await ready(transport)
            assert connection.session is not None, "the terminal did not authenticate"
            return connection, transport

        sessions = {"authenticated": await authenticated(), "unauthenticated": open_connection("unauthenticated")}
        rss_after_warm_up = None
        next_sweep = monotonic() + 1.0
        frames = 0
        while frames < FRAMES:
            name = "unauthenticated" if mutator.rng.random() < UNAUTHENTICATED_SHARE else "authenticated"
            connection, transport = sessions[name]
            if not transport.reading.is_set():  # waiting for the database: the other one goes on meanwhile
                name = "authenticated" if name == "unauthenticated" else "unauthenticated"
                connection, transport = sessions[name]
            if transport.closed:
                sessions[name] = await authenticated() if name == "authenticated" else open_connection(name)
                connection, transport = sessions[name]
            stream = mutator.wire([mutator.frame() for _ in range(FRAMES_PER_STREAM)])
            frames += FRAMES_PER_STREAM
            for read in mutator.reads(stream):
                if transport.closed:
                    break
                try:
                    await ready(transport)
                except TimeoutError:
                    failures.add(f"{name}: reading paused for {WAIT_S} s", read, TimeoutError())
                    transport.close()
                    break
                try:
                    connection.data_received(read)
                except Exception as error:  # noqa: BLE001 - the point: nothing may escape
                    failures.add(f"{name} data_received", read, error)
            assert len(connection.splitter._buf) <= connection.splitter.max_frame
            assert connection.backlog is None or len(connection.backlog) <= FRAMES_PER_STREAM * 2
            if frames % 512 == 0:
                await asyncio.sleep(0)  # acknowledgements and database answers
                if monotonic() >= next_sweep:
                    gateway.sweep()  # timeouts, and the periodic activity flush to the database
                    next_sweep = monotonic() + 1.0
            if rss_after_warm_up is None and frames >= FRAMES // 10:
                rss_after_warm_up = rss_bytes()
        for _connection, transport in sessions.values():
            if not transport.closed:
                await ready(transport)
        assert await sink.drain(WAIT_S), "positions handed off were never settled"
        for _connection, transport in sessions.values():
            transport.close()
        await asyncio.sleep(0.05)
        gateway.sweep()
        if gateway._flush_task is not None:
            await gateway._flush_task
        await loop.run_in_executor(None, gateway.db.close)
        return {"rss_growth": rss_bytes() - rss_after_warm_up, "records": sink.records,
                "submissions": sink.submissions, "durable": sink.records_durable,
                "connections": len(gateway.connections), "db_calls": dict(calls), **stats}

    result = asyncio.run(scenario())
    print(result, dict(log_check.levels))
    assert not failures.count, failures.report()
    assert not log_check.errors, "errors logged:\n" + "\n".join(log_check.errors)
    assert result["rss_growth"] < RSS_GROWTH_LIMIT, result
    assert result["connections"] == 0, result
    # The frames reached the handlers: positions handed off and acknowledged, replies written, the
    # database asked (authentication, registration), both connections closed and opened again.
    assert result["records"] > FRAMES // 50 and result["durable"] == result["records"], result
    assert result["authenticated_replies"] > FRAMES // 4 and result["unauthenticated_replies"] > FRAMES // 50, result
    assert result["db_calls"].get("terminal_authenticate", 0) > 10, result
    assert result["db_calls"].get("terminal_register", 0) > 10, result
    assert result["unauthenticated_connections"] > 10 and result["authenticated_connections"] > 1, result
