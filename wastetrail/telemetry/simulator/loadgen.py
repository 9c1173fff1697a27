"""Load generator for gateway benchmarks: many terminals sending pre-encoded 0x0200 reports as fast
as a window of unacknowledged reports per connection allows.

Built to cost little CPU next to the gateway it measures: every frame is encoded before the
clock starts, connections are bare asyncio Protocols, and acks are read by scanning for 0x7E
delimiters and reading only the message id, reply serial and result (no checksum, no decoder).
Report i of a terminal carries device time `start_time + i` seconds, so every report has its own
(vehicle, device time) and the database can be checked for exactly-once storage afterwards.

It survives the gateway being killed and restarted: a lost connection is re-opened with backoff,
the terminal authenticates again and resends every report not yet acknowledged (same frame,
same serial). `run_load` runs the connections in a child process by default, so that the load
does not share an interpreter (or its GIL) with whoever measures the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from wastetrail.core import aio
from wastetrail.telemetry import jt808
from wastetrail.telemetry.simulator.terminal import TerminalIdentity

MSG_REPORT = 0x0200
MSG_ACK = 0x8001
MSG_REGISTER_REPLY = 0x8100
MSG_REGISTER = 0x0100
MSG_AUTH = 0x0102
_ACCEPTED = (jt808.RESULT_OK, jt808.RESULT_ALARM_CONFIRMED)


@dataclass
class LoadOptions:
    host: str = "127.0.0.1"
    port: int = 7808
    reports: int = 100  # per terminal
    window: int = 16  # unacknowledged reports per connection
    ack_timeout_s: float = 5.0  # resend a report unanswered this long
    start_time: int | None = None  # device time of report 0 (epoch s); default: so that the last is a minute ago
    deadline_s: float = 300.0  # give up (and report what was acknowledged) after this long
    connect_concurrency: int = 200  # handshakes in progress at once
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 2.0
    seed: int = 0

    def first_time(self) -> int:
        return self.start_time if self.start_time is not None else int(time.time()) - self.reports - 60


@dataclass
class LoadResult:
    terminals: int = 0
    reports_per_terminal: int = 0
    start_time: int = 0
    sent: int = 0  # first transmissions
    resent: int = 0  # transmissions again: after a timeout or a reconnect
    acked: int = 0  # distinct reports acknowledged
    duplicate_acks: int = 0
    connects: int = 0
    connect_failures: int = 0
    handshake_failures: int = 0
    encode_s: float = 0.0  # pre-encoding, before the clock started
    elapsed_s: float = 0.0  # first connect to last ack (or the deadline)
    acked_reports: dict[str, bytes] = field(default_factory=dict)  # phone -> one byte per report, 1 = acked
    auth_codes: dict[str, str] = field(default_factory=dict)  # codes obtained by registering

    @property
    def complete(self) -> bool:
        return self.acked == self.terminals * self.reports_per_terminal

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def acked_device_times(self, phone: str) -> list[dt.datetime]:
        flags = self.acked_reports.get(phone, b"")
        return [dt.datetime.fromtimestamp(self.start_time + i, tz=dt.UTC) for i, flag in enumerate(flags) if flag]

    def merge(self, other: LoadResult) -> None:
        for name in ("terminals", "sent", "resent", "acked", "duplicate_acks", "connects", "connect_failures",
                     "handshake_failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.encode_s = max(self.encode_s, other.encode_s)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)
        self.acked_reports.update(other.acked_reports)
        self.auth_codes.update(other.auth_codes)

    def line(self) -> str:
        return (f"load: {self.terminals} terminals x {self.reports_per_terminal} reports, sent {self.sent}, "
                f"acked {self.acked}, resent {self.resent}, duplicate acks {self.duplicate_acks}, "
                f"connects {self.connects}, {self.acked_per_s:.0f} acked/s over {self.elapsed_s:.1f} s")


# --- reading replies cheaply ------------------------------------------------------------------------

def scan_replies(buffer: bytearray) -> list[tuple[int, int, int, bytes]]:
    """Take every complete frame out of `buffer`: (msg id, reply serial, result, rest of body).

    For 0x8001 the rest is the reply id (2 bytes); for 0x8100 the auth code. Bytes outside frames
    are dropped; an incomplete frame stays in the buffer for the next read."""
    replies = []
    pos = 0
    while True:
        start = buffer.find(0x7E, pos)
        if start < 0:
            pos = len(buffer)
            break
        end = buffer.find(0x7E, start + 1)
        if end < 0:
            pos = start
            break
        if end == start + 1:  # "7E 7E": the end of one frame, then the start of the next
            pos = end
            continue
        pos = end + 1
        frame = bytes(buffer[start + 1:end])
        if 0x7D in frame:
            frame = frame.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
        size = 17 if len(frame) > 2 and frame[2] & 0x40 else 12
        body = frame[size:-1]
        if len(body) < 3:
            continue
        msg_id = (frame[0] << 8) | frame[1]
        reply_serial = (body[0] << 8) | body[1]
        if msg_id == MSG_ACK and len(body) >= 5:
            replies.append((msg_id, reply_serial, body[4], body[2:4]))
        elif msg_id == MSG_REGISTER_REPLY:
            replies.append((msg_id, reply_serial, body[2], body[3:]))
    del buffer[:pos]
    return replies


# --- one terminal ---------------------------------------------------------------------------------

class _LoadTerminal(asyncio.Protocol):
    def __init__(self, identity: TerminalIdentity, options: LoadOptions, result: LoadResult, first_time: int,
                 rng: random.Random) -> None:
        self.identity = identity
        self.options = options
        self.result = result
        self.base_serial = rng.randrange(0x10000)
        self.frames = _report_frames(identity, options.reports, first_time, self.base_serial, rng)
        self.acked = bytearray(options.reports)
        self.unacked: dict[int, tuple[int, float]] = {}  # serial -> (report index, sent at)
        self.next_index = 0
        self.acked_count = 0
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ready = False
        self.handshake: asyncio.Future | None = None
        self.control_serial = 0
        self.controls = 0
        self.lost: asyncio.Event = asyncio.Event()
        self.done: asyncio.Event = asyncio.Event()
        if options.reports == 0:
            self.done.set()

    # connection events
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer.clear()
        self.lost.clear()

    def connection_lost(self, exc) -> None:
        self.transport = None
        self.ready = False
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_result(None)
        self.lost.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for msg_id, reply_serial, result, rest in scan_replies(self.buffer):
            if self.handshake is not None and not self.handshake.done() and reply_serial == self.control_serial:
                self.handshake.set_result((msg_id, result, rest))
            elif msg_id == MSG_ACK and rest == b"\x02\x00":
                self._acked(reply_serial, result)

    # reports
    def _acked(self, serial: int, result: int) -> None:
        entry = self.unacked.get(serial)
        if entry is None:
            self.result.duplicate_acks += 1
            return
        if result not in _ACCEPTED:
            return  # failure: resent on timeout
        del self.unacked[serial]
        index = entry[0]
        if not self.acked[index]:
            self.acked[index] = 1
            self.acked_count += 1
            self.result.acked += 1
        if self.acked_count == self.options.reports:
            self.done.set()
        self.fill()

    def fill(self) -> None:
        transport = self.transport
        if not self.ready or transport is None:
            return
        now = time.monotonic()
        while len(self.unacked) < self.options.window and self.next_index < self.options.reports:
            serial = (self.base_serial + self.next_index) & 0xFFFF
            if serial in self.unacked:
                break  # 65,536 reports behind an old unacknowledged one: wait for it
            self.unacked[serial] = (self.next_index, now)
            transport.write(self.frames[self.next_index])
            self.next_index += 1
            self.result.sent += 1

    def resend(self, *, older_than: float | None = None) -> None:
        transport = self.transport
        if not self.ready or transport is None:
            return
        now = time.monotonic()
        for serial, (index, sent_at) in list(self.unacked.items()):
            if older_than is not None and sent_at > older_than:
                continue
            self.unacked[serial] = (index, now)
            transport.write(self.frames[index])
            self.result.resent += 1

    # handshake
    async def log_in(self) -> bool:
        identity = self.identity
        if not identity.auth_code:
            reply = await self._control(identity.registration())
            if reply is None or reply[0] != MSG_REGISTER_REPLY or reply[1] != 0:
                return False
            identity.auth_code = reply[2].decode("gbk", errors="replace")
            self.result.auth_codes[identity.phone] = identity.auth_code
        reply = await self._control(identity.authentication())
        if reply is None or reply[0] != MSG_ACK or reply[1] != 0:
            if reply is not None:
                identity.auth_code = None  # refused: register again next time
            return False
        self.ready = True
        return True

    async def _control(self, message) -> tuple | None:
        # Counting down from the reports' first serial: no clash with a report's serial.
        self.controls += 1
        self.control_serial = (self.base_serial - self.controls) & 0xFFFF
        self.handshake = asyncio.get_running_loop().create_future()
        frame = jt808.encode_message(message, phone_raw=self.identity.phone_raw, serial=self.control_serial,
                                     version=self.identity.version)
        for _ in range(3):
            if self.transport is None:
                return None
            self.transport.write(frame)
            try:
                return await asyncio.wait_for(asyncio.shield(self.handshake), self.options.ack_timeout_s)
            except TimeoutError:
                continue
        return None


def _report_frames(identity: TerminalIdentity, count: int, first_time: int, base_serial: int,
                   rng: random.Random) -> list[bytes]:
    phone_raw = identity.phone_raw
    lat, lon = 22_500_000 + rng.randrange(200_000), 112_950_000 + rng.randrange(200_000)
    first = dt.datetime.fromtimestamp(first_time, tz=dt.UTC)
    frames = []
    for i in range(count):
        location = jt808.make_location(
            time=first + dt.timedelta(seconds=i), lat_e6=lat + i * 3, lon_e6=lon + i * 2,
            status=jt808.STATUS_ACC | jt808.STATUS_FIXED, altitude_m=12, speed_dkmh=300 + i % 200,
            heading=i % 360, items={0x01: (100_000 + i).to_bytes(4, "big")})
        frames.append(jt808.encode_frame(MSG_REPORT, jt808.location_bytes(location), phone_raw=phone_raw,
                                         serial=(base_serial + i) & 0xFFFF, version=identity.version))
    return frames


async def _drive(terminal: _LoadTerminal, options: LoadOptions, gate: asyncio.Semaphore, result: LoadResult) -> None:
    """Keep one terminal connected until all its reports are acknowledged."""
    loop = asyncio.get_running_loop()
    backoff = options.reconnect_min_s
    while not terminal.done.is_set():
        async with gate:
            try:
                await loop.create_connection(lambda: terminal, options.host, options.port)
            except OSError:
                result.connect_failures += 1
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, options.reconnect_max_s)
                continue
            result.connects += 1
            logged_in = await terminal.log_in()
        if not logged_in:
            result.handshake_failures += 1
            if terminal.transport is not None:
                terminal.transport.abort()
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(backoff * 2, options.reconnect_max_s)
            continue
        backoff = options.reconnect_min_s
        terminal.resend()  # whatever the previous connection left unanswered
        terminal.fill()
        lost = asyncio.ensure_future(terminal.lost.wait())
        done = asyncio.ensure_future(terminal.done.wait())
        await asyncio.wait({lost, done}, return_when=asyncio.FIRST_COMPLETED)
        lost.cancel()
        done.cancel()
    if terminal.transport is not None:
        terminal.transport.close()


async def _sweep(terminals: list[_LoadTerminal], timeout: float) -> None:
    while True:
        await asyncio.sleep(min(0.25, timeout / 2))
        older_than = time.monotonic() - timeout
        for terminal in terminals:
            if terminal.unacked:
                terminal.resend(older_than=older_than)


async def load_async(options: LoadOptions, identities: Iterable[TerminalIdentity]) -> LoadResult:
    """Run the load in the current event loop (see `run_load` for a child process)."""
    identities = list(identities)
    first_time = options.first_time()
    result = LoadResult(terminals=len(identities), reports_per_terminal=options.reports, start_time=first_time)
    rng = random.Random(options.seed)
    began = time.perf_counter()
    terminals = [_LoadTerminal(identity, options, result, first_time, rng) for identity in identities]
    result.encode_s = time.perf_counter() - began
    gate = asyncio.Semaphore(options.connect_concurrency)
    began = time.perf_counter()
    sweeper = asyncio.create_task(_sweep(terminals, options.ack_timeout_s))
    drivers = [asyncio.create_task(_drive(terminal, options, gate, result)) for terminal in terminals]
    try:
        if drivers:
            await asyncio.wait(drivers, timeout=options.deadline_s)
    finally:
        result.elapsed_s = time.perf_counter() - began
        for task in [*drivers, sweeper]:
            task.cancel()
        await asyncio.gather(*drivers, sweeper, return_exceptions=True)
        for terminal in terminals:
            if terminal.transport is not None:
                terminal.transport.abort()
    result.acked_reports = {terminal.identity.phone: bytes(terminal.acked) for terminal in terminals}
    return result


def _child(options: LoadOptions, identities: list[TerminalIdentity], connection) -> None:
    result = aio.run(load_async(options, identities))
    connection.send(result)
    connection.close()


def run_load(options: LoadOptions, identities: Iterable[TerminalIdentity], *, processes: int = 1) -> LoadResult:
    """Run the load in `processes` child processes (terminals split between them), or in this
    process with `processes=0`. Blocks until every report is acknowledged or the deadline passes."""
    identities = list(identities)
    if options.start_time is None:
        # One device-time base for every process, so the result converts back to times.
        options = dataclasses.replace(options, start_time=options.first_time())
    if processes <= 0:
        return aio.run(load_async(options, identities))
    context = multiprocessing.get_context("spawn")
    children = []
    for index in range(processes):
        share = identities[index::processes]
        if not share:
            continue
        receiving, sending = context.Pipe(duplex=False)
        child_options = dataclasses.replace(options, seed=options.seed * 1000 + index)
        process = context.Process(target=_child, args=(child_options, share, sending), daemon=True)
        process.start()
        sending.close()
        children.append((process, receiving))
    total = LoadResult(reports_per_terminal=options.reports, start_time=options.start_time)
    for process, receiving in children:
        with contextlib.closing(receiving):
            try:
                total.merge(receiving.recv())
            except EOFError:
                raise RuntimeError("a load-generator process ended without a result") from None
        process.join()
    return total
