"""A JT/T 808 terminal as an asyncio client, behaving the way real vehicle terminals do.

Two tasks per terminal:

* the **producer** samples the truck (or a replayed trajectory) at the report interval in
  simulated time and hands each location to the link, or to the blind-area buffer when there
  is no usable link (no mobile signal, gateway unreachable, not yet authenticated);
* the **link** connects (with backoff), registers when it has no auth code (0x0100 → 0x8100),
  authenticates (0x0102), resends what was never acknowledged, uploads the blind-area buffer
  with 0x0704 type 1 (as many messages as the 1023-byte body limit needs), sends heartbeats
  when idle and retransmits unacknowledged messages on timeout as JT/T 808 §6.1 says:
  T(n+1) = T(n) × (n+1), up to N retries. A report still unanswered after N retries goes back
  to the blind-area buffer and the terminal, which takes the link for dead, reconnects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from wastetrail.telemetry import jt808
from wastetrail.telemetry.jt808 import (
    BATCH_BLIND_AREA,
    MAX_BODY,
    RESULT_ALARM_CONFIRMED,
    RESULT_FAILURE,
    RESULT_OK,
    RESULT_UNSUPPORTED,
    Authentication,
    Heartbeat,
    Location,
    LocationBatch,
    PlatformResponse,
    Register,
    RegisterResponse,
    SetParameters,
    TerminalResponse,
)
from wastetrail.telemetry.simulator.motion import DumpEvent, DumpRecord, TruckState
from wastetrail.telemetry.simulator.reports import location_for

log = logging.getLogger("wastetrail.simulator")

# GB/T 2260: 440700 Jiangmen -> province 44, city/county 0700.
JIANGMEN_PROVINCE = 44
JIANGMEN_CITY = 700
# Terminal parameters the platform may set with 0x8103 (JT/T 808 table 12) and the simulator honours.
PARAM_HEARTBEAT = 0x0001
PARAM_TCP_TIMEOUT = 0x0002
PARAM_TCP_RETRIES = 0x0003
PARAM_SLEEP_INTERVAL = 0x0027
PARAM_DEFAULT_INTERVAL = 0x0029


@dataclass
class TerminalIdentity:
    """Who the terminal says it is. `auth_code` is kept from 0x8100 (like a terminal's flash)."""

    phone: str  # canonical digits
    protocol: str = "2019"  # "2013" or "2019": header and 0x0100/0x0102 layouts
    terminal_id: str = ""
    manufacturer_id: str = ""
    model: str = ""
    plate: str = ""
    plate_colour: int = 2
    auth_code: str | None = None
    vehicle_id: int | None = None

    @property
    def version(self) -> int | None:
        return 1 if self.protocol == "2019" else None

    @property
    def phone_raw(self) -> bytes:
        return jt808.phone_to_raw(self.phone, self.version)

    def registration(self) -> Register:
        return Register(province=JIANGMEN_PROVINCE, city=JIANGMEN_CITY, manufacturer=self.manufacturer_id,
                        model=self.model, terminal_id=self.terminal_id, plate_color=self.plate_colour,
                        plate=self.plate, layout="2019" if self.protocol == "2019" else "2013")

    def authentication(self) -> Authentication:
        if self.protocol != "2019":
            return Authentication(self.auth_code or "")
        imei = ("86" + self.phone)[-15:].rjust(15, "0")
        return Authentication(self.auth_code or "", imei=imei, software_version=f"{self.model or 'SIM'} 1.0",
                              layout="2019")


@dataclass
class ClientConfig:
    interval: int = 10  # simulated seconds between reports with ACC on (1-30)
    idle_interval: int = 300  # simulated seconds between reports with ACC off (parameter 0x0027)
    alarm_interval: int = 5  # while an alarm bit (or a muck-truck abnormal state) is set
    heartbeat_s: float = 30.0  # real seconds of silence before a heartbeat (parameter 0x0001)
    ack_timeout_s: float = 10.0  # T1, real seconds (parameter 0x0002)
    retries: int = 3  # N (parameter 0x0003)
    connect_timeout_s: float = 10.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    max_batches_in_flight: int = 8  # 0x0704 messages awaiting their ack at once
    max_buffered: int = 20_000  # positions kept for blind-area upload; the oldest go first beyond it


def retransmit_timeouts(first_s: float, retries: int) -> list[float]:
    """How long to wait for the ack after the original message and after each retransmission:
    [T1, T2, ..., T(N+1)] with T(n+1) = T(n) × (n+1) (JT/T 808-2013 §6.1)."""
    timeouts = [first_s]
    for n in range(1, retries + 1):
        timeouts.append(timeouts[-1] * (n + 1))
    return timeouts


@dataclass
class FleetStats:
    """Counters shared by every terminal of a run (positions, not messages, unless named so)."""

    terminals: int = 0
    connected: int = 0
    connects: int = 0
    connect_failures: int = 0
    registered: int = 0
    handshake_failures: int = 0
    produced: int = 0  # positions sampled from the trucks
    sent: int = 0  # positions sent the first time (0x0200 or inside a 0x0704)
    acked: int = 0
    retransmitted: int = 0  # positions sent again (timeout or after a reconnect)
    uploaded: int = 0  # positions sent in blind-area 0x0704s
    gave_up: int = 0  # positions unanswered after N retries, back in the blind-area buffer
    rejected: int = 0  # positions the platform answered with "message error" / "unsupported"
    dropped: int = 0  # positions the full blind-area buffer had to let go
    heartbeats: int = 0
    bad_frames: int = 0
    unencodable: int = 0  # positions whose values the protocol's fields cannot hold (replayed glitches)
    buffered_by_terminal: dict[str, int] = field(default_factory=dict)

    @property
    def buffered(self) -> int:
        return sum(self.buffered_by_terminal.values())

    def line(self) -> str:
        return (f"connected {self.connected}/{self.terminals}, sent {self.sent}, acked {self.acked}, "
                f"retransmitted {self.retransmitted}, buffered {self.buffered}, uploaded {self.uploaded}, "
                f"heartbeats {self.heartbeats}, connects {self.connects}, gave up {self.gave_up}")


class Source(Protocol):
    """What a terminal reports from: a simulated truck or a replayed trajectory."""

    def first_report(self, moment: float) -> float | None: ...

    def advance_to(self, moment: float) -> TruckState | None: ...

    def next_report(self, last: float, state: TruckState, config: ClientConfig) -> float | None: ...

    def take_dump_record(self) -> DumpRecord | None: ...

    def take_events(self) -> list[DumpEvent]: ...


REPORT, BATCH, HEARTBEAT = "report", "batch", "heartbeat"


@dataclass
class _Pending:
    serial: int
    msg_id: int
    frame: bytes
    kind: str
    locations: list[Location]
    tries: int = 0
    deadline: float = 0.0


class Terminal:
    def __init__(self, identity: TerminalIdentity, source: Source, *, clock, host: str, port: int,
                 config: ClientConfig | None = None, stats: FleetStats | None = None,
                 rng: random.Random | None = None,
                 on_acked: Callable[[TerminalIdentity, str, list[Location]], None] | None = None,
                 on_events: Callable[[TerminalIdentity, list[DumpEvent]], None] | None = None) -> None:
        self.identity = identity
        self.source = source
        self.clock = clock
        self.host, self.port = host, port
        # A copy: the platform may change one terminal's parameters (0x8103).
        self.config = dataclasses.replace(config or ClientConfig())
        self.stats = stats or FleetStats()
        self.rng = rng or random.Random()
        self.on_acked = on_acked
        self.on_events = on_events
        self._serial = self.rng.randrange(0x10000)
        self._pending: dict[int, _Pending] = {}
        self._waiters: dict[tuple[int, int], asyncio.Future] = {}
        self._blind: list[Location] = []
        self._blind_sorted = True
        self._writer: asyncio.StreamWriter | None = None
        self._ready = False
        self._signal_ok = asyncio.Event()
        self._signal_ok.set()
        self._producer_done = False
        self._drained = asyncio.Event()
        self._first_ready = asyncio.Event()
        self._last_sent = 0.0
        self._dead_link = False
        self.stats.terminals += 1

    # --- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Report until the source ends (or `finish` is called), then deliver what is left.

        Cancel the task to stop at once (what the runner does when the grace period is over)."""
        self._producer = asyncio.create_task(self._produce(), name=f"produce {self.identity.phone}")
        link = asyncio.create_task(self._link(), name=f"link {self.identity.phone}")
        try:
            # wait() rather than await: cancelling run() must not look like the producer finishing.
            await asyncio.wait({self._producer})
            self._producer_done = True
            self._signal_ok.set()  # a truck that stopped reporting does not stay in a dead zone
            await self._drained.wait()
        finally:
            self._producer.cancel()
            link.cancel()
            await asyncio.gather(self._producer, link, return_exceptions=True)
            self._close()
            self._publish_buffered()

    def finish(self) -> None:
        """Stop producing; `run` returns once everything produced is acknowledged."""
        producer = getattr(self, "_producer", None)
        if producer is not None:
            producer.cancel()

    @property
    def unacknowledged(self) -> int:
        return sum(len(p.locations) for p in self._pending.values()) + len(self._blind)

    # --- producer -----------------------------------------------------------------------------
    async def _produce(self) -> None:
        moment = self.source.first_report(float(math.ceil(self.clock.now())))
        if moment is None:
            return
        # Like a terminal after power-up: log in first, then report (buffering if that takes long).
        try:
            await asyncio.wait_for(self._first_ready.wait(), self.config.connect_timeout_s)
        except TimeoutError:
            pass
        await asyncio.sleep(self.clock.delay_until(moment))
        while True:
            state = self.source.advance_to(moment)
            if state is None:
                return
            self._emit(state)
            events = self.source.take_events()
            if events and self.on_events is not None:
                self.on_events(self.identity, events)
            following = self.source.next_report(moment, state, self.config)
            if following is None:
                return
            await asyncio.sleep(self.clock.delay_until(following))
            moment = following

    def _emit(self, state: TruckState) -> None:
        if state.signal:
            self._signal_ok.set()
        else:
            self._signal_ok.clear()
        try:
            location = location_for(state, self.source.take_dump_record())
        except jt808.CodecError as exc:  # a replayed fix beyond what the fields hold
            self.stats.unencodable += 1
            log.warning("%s: position at %s not reported: %s", self.identity.phone, state.moment, exc)
            return
        self.stats.produced += 1
        if self._ready and state.signal and self._writer is not None:
            self._send_new(jt808.msg_id_of(location), location, REPORT, [location])
        else:
            self._buffer([location])

    def _buffer(self, locations: list[Location]) -> None:
        if self._blind and locations and locations[0].time_utc < self._blind[-1].time_utc:
            self._blind_sorted = False
        self._blind.extend(locations)
        overflow = len(self._blind) - self.config.max_buffered
        if overflow > 0:
            self._sort_blind()
            del self._blind[:overflow]
            self.stats.dropped += overflow
        self._publish_buffered()

    def _sort_blind(self) -> None:
        if not self._blind_sorted:
            self._blind.sort(key=lambda location: location.time_utc)
            self._blind_sorted = True

    def _publish_buffered(self) -> None:
        self.stats.buffered_by_terminal[self.identity.phone] = len(self._blind)

    # --- link ---------------------------------------------------------------------------------
    async def _link(self) -> None:
        backoff = self.config.reconnect_min_s
        while True:
            await self._signal_ok.wait()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                        self.config.connect_timeout_s)
            except (OSError, TimeoutError):
                self.stats.connect_failures += 1
                await asyncio.sleep(backoff * self.rng.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self.config.reconnect_max_s)
                continue
            self._writer = writer
            self._dead_link = False
            self.stats.connects += 1
            self.stats.connected += 1
            reading = asyncio.create_task(self._read(reader), name=f"read {self.identity.phone}")
            clean = False
            try:
                if await self._handshake(reading):
                    backoff = self.config.reconnect_min_s
                    self._ready = True
                    self._first_ready.set()
                    clean = await self._session(reading)
                else:
                    self.stats.handshake_failures += 1
            except (ConnectionError, OSError) as exc:
                log.debug("%s: link lost: %s", self.identity.phone, exc)
            except jt808.CodecError as exc:
                # Something this terminal cannot encode (a plate too long for the field, say): say so, retry later.
                log.error("%s: cannot encode a message: %s", self.identity.phone, exc)
            finally:
                self._ready = False
                self.stats.connected -= 1
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
                self._close()
            if clean:
                continue  # left because the signal went: reconnect as soon as it is back
            await asyncio.sleep(backoff * self.rng.uniform(0.5, 1.0))
            backoff = min(backoff * 2, self.config.reconnect_max_s)

    def _close(self) -> None:
        writer, self._writer = self._writer, None
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))
        self._waiters.clear()
        if writer is not None:
            writer.transport.abort()

    async def _handshake(self, reading: asyncio.Task) -> bool:
        identity = self.identity
        if not identity.auth_code:
            reply = await self._request(identity.registration(), 0x8100, reading)
            if not isinstance(reply, RegisterResponse) or reply.result != 0 or not reply.auth_code:
                log.warning("%s: registration refused (%s)", identity.phone,
                            getattr(reply, "result", "no answer"))
                return False
            identity.auth_code = reply.auth_code
            self.stats.registered += 1
        reply = await self._request(identity.authentication(), 0x8001, reading)
        if not isinstance(reply, PlatformResponse):
            return False
        if reply.result != RESULT_OK:
            # The platform forgot us (or the code is wrong): register again on the next connect.
            log.warning("%s: authentication refused (result %s); registering again", identity.phone, reply.result)
            identity.auth_code = None
            return False
        return True

    async def _request(self, message, reply_id: int, reading: asyncio.Task):
        """Send a message that needs a specific answer, retransmitting on the §6.1 schedule."""
        serial = self._next_serial()
        frame = jt808.encode_message(message, phone_raw=self.identity.phone_raw, serial=serial,
                                     version=self.identity.version)
        future = asyncio.get_running_loop().create_future()
        self._waiters[(serial, reply_id)] = future
        try:
            for timeout in retransmit_timeouts(self.config.ack_timeout_s, self.config.retries):
                self._write(frame)
                done, _ = await asyncio.wait({future, reading}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if future in done:
                    return future.result()
                if reading in done:
                    raise ConnectionError("connection closed during the handshake")
            return None
        finally:
            self._waiters.pop((serial, reply_id), None)

    async def _session(self, reading: asyncio.Task) -> bool:
        """Run an authenticated connection. True when left because the signal went."""
        self._resend_pending()
        tick = max(0.02, min(0.5, self.config.ack_timeout_s / 4, self.config.heartbeat_s / 4))
        loop = asyncio.get_running_loop()
        while True:
            if reading.done():
                reading.result()  # raises why the connection ended
                return False
            if not self._signal_ok.is_set():
                return True
            now = loop.time()
            self._retransmit(now)
            if self._dead_link:
                log.info("%s: no answer after %d retries; reconnecting", self.identity.phone, self.config.retries)
                return False
            self._flush_blind()
            if now - self._last_sent >= self.config.heartbeat_s and not any(
                    p.kind == HEARTBEAT for p in self._pending.values()):
                self._send_new(Heartbeat.MSG_ID, Heartbeat(), HEARTBEAT, [])
                self.stats.heartbeats += 1
            if self._producer_done and not self._pending and not self._blind:
                self._drained.set()
            await self._writer.drain()
            await asyncio.wait({reading}, timeout=tick)

    # --- sending ------------------------------------------------------------------------------
    def _next_serial(self) -> int:
        self._serial = (self._serial + 1) & 0xFFFF
        return self._serial

    def _write(self, frame: bytes) -> None:
        if self._writer is None:
            raise ConnectionError("not connected")
        self._writer.write(frame)
        self._last_sent = asyncio.get_running_loop().time()

    def _send_new(self, msg_id: int, message, kind: str, locations: list[Location]) -> None:
        serial = self._next_serial()
        while serial in self._pending:  # 65,536 messages in flight cannot happen; be safe anyway
            serial = self._next_serial()
        frame = jt808.encode_message(message, phone_raw=self.identity.phone_raw, serial=serial,
                                     version=self.identity.version)
        pending = _Pending(serial, msg_id, frame, kind, locations)
        self._pending[serial] = pending
        self._transmit(pending)
        self.stats.sent += len(locations)
        if kind == BATCH:
            self.stats.uploaded += len(locations)

    def _transmit(self, pending: _Pending) -> None:
        self._write(pending.frame)
        timeouts = retransmit_timeouts(self.config.ack_timeout_s, self.config.retries)
        pending.deadline = asyncio.get_running_loop().time() + timeouts[pending.tries]

    def _resend_pending(self) -> None:
        """After a reconnect: everything never acknowledged goes again, in order, with fresh timers."""
        for pending in list(self._pending.values()):
            if pending.kind == HEARTBEAT:
                del self._pending[pending.serial]
                continue
            pending.tries = 0
            self._transmit(pending)
            self.stats.retransmitted += len(pending.locations)

    def _retransmit(self, now: float) -> None:
        for pending in list(self._pending.values()):
            if now < pending.deadline:
                continue
            if pending.tries < self.config.retries:
                pending.tries += 1
                self._transmit(pending)
                self.stats.retransmitted += len(pending.locations)
                continue
            del self._pending[pending.serial]
            self._dead_link = True
            if pending.locations:
                self.stats.gave_up += len(pending.locations)
                self._buffer(pending.locations)

    def _flush_blind(self) -> None:
        """Upload the blind-area buffer as 0x0704 type 1, each body within the 1023-byte limit."""
        if not self._blind:
            return
        self._sort_blind()
        in_flight = sum(1 for p in self._pending.values() if p.kind == BATCH)
        while self._blind and in_flight < self.config.max_batches_in_flight:
            batch = take_batch(self._blind)
            del self._blind[:len(batch)]
            self._send_new(LocationBatch.MSG_ID, LocationBatch(BATCH_BLIND_AREA, batch), BATCH, batch)
            in_flight += 1
        self._publish_buffered()

    # --- receiving ----------------------------------------------------------------------------
    async def _read(self, reader: asyncio.StreamReader) -> None:
        splitter = jt808.FrameSplitter(max_frame=4096, max_junk=4096)
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("closed by the platform")
            for raw in splitter.feed(data):
                try:
                    frame = jt808.parse_frame(raw)
                    if not frame.checksum_ok:
                        raise jt808.FrameError("bad checksum")
                    body = jt808.decode_body(frame.header, frame.body)
                except jt808.CodecError as exc:
                    self.stats.bad_frames += 1
                    log.debug("%s: bad frame from the platform: %s", self.identity.phone, exc)
                    continue
                self._on_message(frame.header, body)

    def _on_message(self, header: jt808.Header, body) -> None:
        if isinstance(body, RegisterResponse):
            self._answer(body.reply_serial, 0x8100, body)
        elif isinstance(body, PlatformResponse):
            if not self._answer(body.reply_serial, 0x8001, body):
                self._on_ack(body)
        else:
            self._on_platform_request(header, body)

    def _answer(self, serial: int, reply_id: int, body) -> bool:
        future = self._waiters.get((serial, reply_id))
        if future is None or future.done():
            return False
        future.set_result(body)
        return True

    def _on_ack(self, reply: PlatformResponse) -> None:
        pending = self._pending.get(reply.reply_serial)
        if pending is None or pending.msg_id != reply.reply_id:
            return  # a late ack for something already settled
        if reply.result == RESULT_FAILURE:
            return  # the platform could not take it now: retransmit on timeout
        del self._pending[pending.serial]
        if reply.result in (RESULT_OK, RESULT_ALARM_CONFIRMED):
            self.stats.acked += len(pending.locations)
            if self.on_acked is not None and pending.locations:
                self.on_acked(self.identity, pending.kind, pending.locations)
        else:
            self.stats.rejected += len(pending.locations)

    def _on_platform_request(self, header: jt808.Header, body) -> None:
        """Platform-initiated messages get a 0x0001; parameters the simulator knows are applied."""
        result = RESULT_UNSUPPORTED
        if isinstance(body, SetParameters):
            self._apply_parameters(body.params)
            result = RESULT_OK
        reply = TerminalResponse(header.serial, header.msg_id, result)
        try:
            self._write(jt808.encode_message(reply, phone_raw=self.identity.phone_raw, serial=self._next_serial(),
                                             version=self.identity.version))
        except ConnectionError:
            pass

    def _apply_parameters(self, params: list[tuple[int, bytes]]) -> None:
        for param_id, value in params:
            if len(value) != 4:
                continue
            number = int.from_bytes(value, "big")
            if param_id == PARAM_HEARTBEAT and number > 0:
                self.config.heartbeat_s = float(number)
            elif param_id == PARAM_TCP_TIMEOUT and number > 0:
                self.config.ack_timeout_s = float(number)
            elif param_id == PARAM_TCP_RETRIES:
                self.config.retries = number
            elif param_id == PARAM_DEFAULT_INTERVAL and number > 0:
                self.config.interval = number
            elif param_id == PARAM_SLEEP_INTERVAL and number > 0:
                self.config.idle_interval = number


def take_batch(locations: list[Location], limit: int = MAX_BODY) -> list[Location]:
    """The longest prefix whose 0x0704 body (count, type, then length + block each) fits `limit`."""
    size = 3
    batch = []
    for location in locations:
        block = len(jt808.location_bytes(location)) + 2
        if batch and size + block > limit:
            break
        size += block
        batch.append(location)
    return batch
