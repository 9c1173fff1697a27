"""The JT/T 808 gateway: a TCP server, its connections, one sweeper for all of them, and the hand-off.

    gateway = Gateway(GatewayConfig(port=0), InProcessHandoff(store))
    await gateway.start()          # listening on gateway.port
    ...
    await gateway.stop()           # graceful: see stop()

The sweeper (one task, about once a second) closes connections that did not authenticate in time or
went silent, and every `seen_flush_interval` writes what the connections saw since the last time —
last-frame times, report counts, bad-frame counters, last errors, disconnects — in a few statements,
so heartbeats cost no database write each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from time import monotonic

from wastetrail.telemetry import services

from .config import GatewayConfig
from .connection import PAUSE_STOP, TerminalConnection
from .dbthreads import DatabaseThreads
from .handoff import Handoff

log = logging.getLogger("wastetrail.gateway")

UTC = dt.UTC


class Gateway:
    def __init__(self, config: GatewayConfig, handoff: Handoff, *, db_workers: int = 2) -> None:
        self.config = config
        self.handoff = handoff
        self.db = DatabaseThreads(db_workers)
        self.connections: set[TerminalConnection] = set()
        self.sessions: dict[str, TerminalConnection] = {}  # phone -> its authenticated connection
        self.stopping = False
        self.refused = 0  # connections refused at the cap (or while stopping)
        self._refused_logged_at = -60.0
        self.closed_reasons: Counter[str] = Counter()
        self._server: asyncio.AbstractServer | None = None
        self._port = 0
        self._sweeper: asyncio.Task | None = None
        # What closed connections saw and has not been flushed yet; sessions ended meanwhile.
        self._activity: dict[int, services.TerminalActivity] = {}
        self._stray: dict[str, services.TerminalActivity] = {}
        self._ended: list[services.Session] = []
        self._flush_task: asyncio.Task | None = None
        self._next_flush = 0.0

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await self.handoff.start()
        self._server = await loop.create_server(
            lambda: TerminalConnection(self), self.config.host, self.config.port,
            backlog=min(self.config.max_connections, 4096), reuse_address=True,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._next_flush = monotonic() + self.config.seen_flush_interval
        self._sweeper = loop.create_task(self._sweep_forever(), name="gateway-sweeper")
        log.info("JT/T 808 gateway %s listening on %s:%d (hand-off: %s)", self.config.gateway_id,
                 self.config.host, self.port, self.handoff.name)

    @property
    def port(self) -> int:
        return self._port

    async def stop(self) -> None:
        """Stop accepting; stop reading (reports not read are not acknowledged: terminals resend);
        wait up to `stop_timeout` for what was handed off to become durable and its acks to be
        written; close the connections (buffered acks are sent first); record who went offline."""
        if self.stopping:
            return
        self.stopping = True
        self._server.close()
        for connection in list(self.connections):
            connection.pause(PAUSE_STOP)
        drained = await self.handoff.drain(self.config.stop_timeout)
        if not drained:
            log.warning("stopping with %d reports not yet durable: they are not acknowledged",
                        self.handoff.in_flight)
        self._sweeper.cancel()
        for connection in list(self.connections):
            connection.close("gateway stopping")
        for _ in range(50):  # connection_lost runs on the next loop iterations
            if not self.connections:
                break
            await asyncio.sleep(0.02)
        if self._flush_task is not None:
            await asyncio.gather(self._flush_task, return_exceptions=True)
        await self._flush(final=True)
        await self.handoff.close()
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
        await self._server.wait_closed()
        log.info("gateway %s stopped: %s", self.config.gateway_id, self.summary())

    def summary(self) -> str:
        handoff = self.handoff
        parts = [f"{handoff.records_durable} positions durable", f"{handoff.submissions_dropped} reports dropped",
                 f"{self.refused} connections refused"]
        if hasattr(handoff, "write_seconds"):
            parts.append(f"{getattr(handoff, 'batches_written', 0)} batches written in {handoff.write_seconds:.1f} s")
        return ", ".join(parts)

    # --- connections ---------------------------------------------------------------------------
    def admit(self, connection: TerminalConnection) -> bool:
        if self.stopping or len(self.connections) >= self.config.max_connections:
            self.refused += 1
            now = monotonic()
            if now - self._refused_logged_at >= 60.0:  # one line a minute during a flood
                self._refused_logged_at = now
                log.warning("refusing connections (%d so far), e.g. from %s: %s", self.refused, connection.peer,
                            "stopping" if self.stopping else f"{len(self.connections)} connections (the cap)")
            return False
        self.connections.add(connection)
        return True

    def forget(self, connection: TerminalConnection) -> None:
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        self._absorb(connection)
        self.session_ended(connection)

    def session_started(self, connection: TerminalConnection) -> None:
        older = self.sessions.get(connection.phone)
        if older is not None and older is not connection:
            older.note_error("replaced by a newer connection")
            older.close("replaced by a newer connection")
            self._absorb(older)
            self._ended.append(older.session)
        self.sessions[connection.phone] = connection

    def session_lost(self, session: services.Session) -> None:
        """A session that was authenticated after its connection closed: record it offline."""
        self._ended.append(session)

    def session_ended(self, connection: TerminalConnection) -> None:
        session = connection.session
        if session is None:
            return
        if self.sessions.get(connection.phone) is connection:
            del self.sessions[connection.phone]
            self._ended.append(session)

    # --- the sweeper ---------------------------------------------------------------------------
    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            try:
                self.sweep()
            except Exception:
                log.exception("sweep failed")

    def sweep(self) -> None:
        now = monotonic()
        for connection in list(self.connections):
            connection.sweep(now)
        if now >= self._next_flush or self._ended:
            if self._flush_task is None or self._flush_task.done():
                self._next_flush = now + self.config.seen_flush_interval
                self._flush_task = asyncio.get_running_loop().create_task(self._flush())

    def _absorb(self, connection: TerminalConnection) -> None:
        """Move what the connection saw since the last flush into the gateway's pending activity."""
        now_mono, now = monotonic(), dt.datetime.now(UTC)
        seen = connection.last_seen > connection.flushed_seen
        if not (seen or connection.reports or connection.bad_checksum or connection.bad_frames or connection.error):
            return
        session = connection.session
        if session is not None:
            entry = self._activity.get(session.terminal_pk)
            if entry is None:
                entry = self._activity[session.terminal_pk] = services.TerminalActivity(vehicle_id=session.vehicle_id)
            if seen:
                at = now - dt.timedelta(seconds=now_mono - connection.last_seen)
                if entry.last_frame_at is None or at > entry.last_frame_at:
                    entry.last_frame_at = at
        elif connection.error_phone:
            entry = self._stray.get(connection.error_phone)
            if entry is None:
                entry = self._stray[connection.error_phone] = services.TerminalActivity()
        else:
            entry = None
        if entry is not None:
            entry.reports += connection.reports
            entry.bad_checksum += connection.bad_checksum
            entry.bad_frames += connection.bad_frames
            if connection.error:
                entry.error(connection.error, connection.error_at)
        connection.flushed_seen = connection.last_seen
        connection.reports = connection.bad_checksum = connection.bad_frames = 0
        connection.error, connection.error_at = "", None

    async def _flush(self, final: bool = False) -> None:
        """One batch of database writes for everything seen since the previous flush."""
        for connection in list(self.connections):
            self._absorb(connection)
        activity, self._activity = self._activity, {}
        stray, self._stray = self._stray, {}
        ended, self._ended = self._ended, []
        at = dt.datetime.now(UTC)
        try:
            if activity:
                await self.db.call(services.terminal_activity_record, activity=activity)
            if stray:
                await self.db.call(services.terminal_errors_record, errors=stray)
            if ended:
                await self.db.call(services.terminals_disconnect, sessions=ended, at=at)
        except Exception:
            log.exception("recording terminal activity failed%s", "" if final else "; will retry")
            if not final:  # keep it for the next flush (merging is not worth it: last writer wins)
                self._activity.update(activity)
                self._stray.update(stray)
                self._ended.extend(ended)
