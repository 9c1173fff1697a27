"""One terminal's TCP connection: frames in, replies out, the session's state machine.

Built for ten thousand connections in one process: an `asyncio.Protocol` with `__slots__`, no task
or timer per connection (the gateway's sweeper enforces timeouts for all), reading paused rather
than buffering when the connection waits for the database or has too many reports not yet durable.

States: a new connection may only register (0x0100) or authenticate (0x0102); anything else gets
0x8001 result 1 and is not processed, and after `max_unauthenticated_frames` of those the
connection is closed. Once authenticated, frames must carry the authenticated phone number.
Location reports (0x0200, 0x0704, 0x0201) are handed off and acknowledged only when durable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING

from wastetrail.telemetry import services
from wastetrail.telemetry.jt808 import (
    BATCH_BLIND_AREA,
    RESULT_FAILURE,
    RESULT_MESSAGE_ERROR,
    RESULT_OK,
    RESULT_UNSUPPORTED,
    BodyError,
    FrameError,
    FrameSplitter,
    Header,
    MediaResponse,
    Reassembler,
    ResendRequest,
    decode_body,
    decode_location,
    encode_frame,
    encode_message,
    media_reply,
    parse_frame,
    profiles,
    register_reply,
)
from wastetrail.telemetry.records import PositionFlag, PositionRecord, PositionSource

from .replies import ReplyEncoder

if TYPE_CHECKING:
    from .server import Gateway

log = logging.getLogger("wastetrail.gateway")

UTC = dt.UTC
_now = dt.datetime.now
_BAD_TIME = int(PositionFlag.BAD_TIME)
_LIVE = int(PositionSource.LIVE)

# Message ids.
TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
QUERY_TIME = 0x0004  # 2019
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
LOCATION_REPLY = 0x0201
LOCATION_BATCH = 0x0704
MEDIA_EVENT = 0x0800
MEDIA_DATA = 0x0801
SERVER_TIME = 0x8004
# Terminal-initiated messages the platform only has to acknowledge (PROTOCOL.md §4); their
# content is logged, not stored (no feature reads it yet).
ACK_ONLY = frozenset({0x0900, MEDIA_EVENT, 0x0301, 0x0303, 0x0701, 0x0702, 0x0705})
# Replies to the platform's requests: nothing to answer (PROTOCOL.md §4), logged.
NO_REPLY = frozenset({0x0104, 0x0107, 0x0302, 0x0500, 0x0805, 0x0608})
MAX_AUTH_FAILURES = 3
LOG_INTERVAL = 60.0  # seconds between two log lines about one connection (the rest are counted)

# Why reading is paused (bits; reading resumes when none is left).
PAUSE_DB = 1  # waiting for registration/authentication: later frames wait in `backlog`, in order
PAUSE_PENDING = 2  # too many reports waiting to be durable (back-pressure)
PAUSE_STOP = 4  # the gateway is stopping
PAUSE_LOGOUT = 8  # logged out: closes once its last reports are acknowledged
_HOLD = PAUSE_DB | PAUSE_PENDING  # frames already read wait in `backlog` while one of these lasts


class TerminalConnection(asyncio.Protocol):
    __slots__ = (
        "gateway", "transport", "peer", "splitter", "opened_at", "last_seen", "flushed_seen",
        "session", "phone", "vehicle_id", "profile", "replies", "pending", "paused", "reading_paused",
        "backlog", "refused_frames", "auth_failures", "reports", "bad_checksum", "bad_frames",
        "oversized_seen", "error", "error_at", "error_phone", "closing", "packets", "logged_at", "lines_unlogged",
    )

    def __init__(self, gateway: Gateway) -> None:
        config = gateway.config
        self.gateway = gateway
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.splitter = FrameSplitter(max_frame=config.max_frame_bytes, max_junk=config.max_junk_bytes)
        self.opened_at = self.last_seen = monotonic()
        self.flushed_seen = self.opened_at
        self.session: services.Session | None = None
        self.phone = ""
        self.vehicle_id = 0
        self.profile = profiles.STANDARD
        self.replies: ReplyEncoder | None = None
        self.pending = 0  # reports handed off, not yet durable
        self.paused = 0
        self.reading_paused = False
        self.backlog: list[bytes] | None = None
        self.refused_frames = 0
        self.auth_failures = 0
        # Counters and the last error since the gateway's last flush to the database.
        self.reports = 0
        self.bad_checksum = 0
        self.bad_frames = 0
        self.oversized_seen = 0
        self.error = ""
        self.error_at: dt.datetime | None = None
        self.error_phone = ""  # the phone number frames carried, for errors before authentication
        self.closing = False
        self.packets = None  # the codec's Reassembler, made when the first sub-packaged frame comes
        self.logged_at = 0.0
        self.lines_unlogged = 0

    # --- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        if not self.gateway.admit(self):
            self.closing = True
            transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.gateway.forget(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_seen = monotonic()
        splitter = self.splitter
        frames = splitter.feed(data)
        if splitter.oversized_frames != self.oversized_seen:
            self.bad_frames += splitter.oversized_frames - self.oversized_seen
            self.oversized_seen = splitter.oversized_frames
            self.note_error(f"frame too large (over {splitter.max_frame} bytes)")
        if splitter.junk_exceeded:
            self.note_error(f"junk exceeded ({splitter.junk_bytes} bytes outside frames)")
            self.close("junk exceeded")
            return
        if not frames:
            return
        if self.paused & _HOLD or self.backlog is not None:  # (a read already under way when a hold began)
            if self.backlog is None:
                self.backlog = frames
            else:
                self.backlog.extend(frames)
            return
        self._process(frames)

    def eof_received(self) -> bool:
        return False  # close our side too; what is in flight is still stored (not acknowledged)

    # --- processing -------------------------------------------------------------------------
    def _process(self, frames: list[bytes]) -> None:
        received_at = _now(UTC)
        for index, raw in enumerate(frames):
            self._frame(raw, received_at)
            if self.closing or self.paused & (PAUSE_LOGOUT | PAUSE_STOP):
                return
            if self.paused & _HOLD:  # the rest waits, in order, for the database or the store
                if index + 1 < len(frames):
                    self.backlog = frames[index + 1:]
                return

    def _continue(self) -> None:
        """A hold ended: process the frames that waited, then read again unless held anew."""
        while self.backlog is not None and not self.paused & _HOLD and not self.closing:
            backlog, self.backlog = self.backlog, None
            self._process(backlog)
        self._update_reading()

    def _frame(self, raw: bytes, received_at: dt.datetime) -> None:
        try:
            frame = parse_frame(raw)
        except FrameError as error:
            self.bad_frames += 1
            self.note_error(f"unreadable frame: {error.reason}")
            return
        header = frame.header
        if not frame.checksum_ok:
            self.bad_checksum += 1
            self.error_phone = header.phone
            self.note_error("bad checksum")
            if not self.gateway.config.accept_bad_checksum:
                self.reply(header, RESULT_MESSAGE_ERROR)
                return
        msg_id = header.msg_id
        if self.session is None:
            self.error_phone = header.phone
            if msg_id != AUTHENTICATE and msg_id != REGISTER:
                self._refuse(header)
                return
        elif header.phone != self.phone:
            self.note_error(f"frame from phone {header.phone} on the connection of {self.phone}")
            self.reply(header, RESULT_FAILURE)
            return
        if header.encrypted:
            self.note_error("encrypted frame (RSA is not supported)")
            self.reply(header, RESULT_UNSUPPORTED)
            return
        body = frame.body
        if header.packet is not None:
            whole = self._reassemble(header, body)
            if whole is None:
                return
            header, body = whole
        try:
            if msg_id == LOCATION:
                self._submit([self._record(decode_location(body), received_at, _LIVE)], header)
            elif msg_id == HEARTBEAT:
                self.reply(header, RESULT_OK)
            elif msg_id == LOCATION_BATCH:
                self._batch(header, body, received_at)
            elif msg_id == LOCATION_REPLY:
                query = decode_body(header, body)
                self._submit([self._record(query.location, received_at, PositionSource.QUERY_REPLY)], None)
            elif msg_id == AUTHENTICATE:
                self._authenticate(header, body)
            elif msg_id == REGISTER:
                self._register(header, body)
            elif msg_id == TERMINAL_RESPONSE:
                answer = decode_body(header, body)
                self.log_line(f"answered 0x{answer.reply_id:04X} (serial {answer.reply_serial}): "
                              f"result {answer.result}")
            elif msg_id == LOGOUT:
                self.reply(header, RESULT_OK)
                self._logout()
            elif msg_id == MEDIA_DATA:
                media = decode_body(header, body)
                log.debug("terminal %s: media %d (%d bytes, type %d)", self.phone, media.media_id, len(media.data),
                          media.media_type)
                self.write(media_reply(header, media.media_id, None, self._next_serial(header)))
            elif msg_id in ACK_ONLY:
                log.debug("terminal %s: message 0x%04X (%d bytes) acknowledged", self.phone, msg_id, len(body))
                self.reply(header, RESULT_OK)
            elif msg_id in NO_REPLY:
                log.debug("terminal %s: reply 0x%04X (%d bytes)", self.phone, msg_id, len(body))
            elif msg_id == QUERY_TIME:
                self._server_time(header)
            else:
                self.reply(header, RESULT_UNSUPPORTED)
        except BodyError as error:
            self.bad_frames += 1
            self.note_error(f"message 0x{msg_id:04X}: {error.reason}")
            self.reply(header, RESULT_MESSAGE_ERROR)

    def _refuse(self, header: Header) -> None:
        self.refused_frames += 1
        self.reply(header, RESULT_FAILURE)
        if self.refused_frames > self.gateway.config.max_unauthenticated_frames:
            self.note_error(f"message 0x{header.msg_id:04X} before authentication")
            self.close("frames before authentication")

    def _record(self, location, received_at: dt.datetime, source: int) -> PositionRecord:
        device_time = location.time_utc
        flags = 0
        if device_time is None:  # not a date: the receive time stands in, flagged
            device_time = received_at
            flags = _BAD_TIME
        return PositionRecord(
            self.vehicle_id, self.phone, device_time, received_at, location.lat_e6, location.lon_e6,
            location.altitude_m, location.speed_dkmh, location.heading, location.alarm, location.status,
            self.profile.extras(location.items) if location.items else {}, source, flags,
        )

    def _batch(self, header: Header, body: bytes, received_at: dt.datetime) -> None:
        batch = decode_body(header, body)
        if not batch.locations:
            self.reply(header, RESULT_OK)
            return
        source = PositionSource.BLIND_AREA if batch.kind == BATCH_BLIND_AREA else PositionSource.BATCH
        self._submit([self._record(location, received_at, source) for location in batch.locations], header)

    def _submit(self, records: list[PositionRecord], header: Header | None) -> None:
        """Hand off; the 0x8001 (encoded now, sent when durable) is the token. A 0x0201 answers the
        platform and gets no reply (empty token)."""
        token = self._encoder(header).general(header.serial, header.msg_id, RESULT_OK) if header else b""
        self.pending += 1
        self.reports += len(records)
        self.gateway.handoff.submit(records, self, token)
        if self.pending > self.gateway.config.max_pending_reports and not self.paused & PAUSE_PENDING:
            self.pause(PAUSE_PENDING)

    # --- hand-off callbacks (on the loop) ------------------------------------------------------
    def reports_durable(self, tokens: list) -> None:
        self.pending -= len(tokens)
        if not self.closing:
            self.transport.write(b"".join(tokens))
        self._settled()

    def reports_dropped(self, count: int) -> None:
        self.pending -= count
        self._settled()

    def _settled(self) -> None:
        if self.paused & PAUSE_PENDING and self.pending <= self.gateway.config.max_pending_reports // 2:
            self.paused &= ~PAUSE_PENDING
            self._continue()
        if self.paused & PAUSE_LOGOUT and self.pending <= 0:
            self.close("logout")

    # --- registration and authentication (database, in a worker thread) ------------------------
    def _register(self, header: Header, body: bytes) -> None:
        register = decode_body(header, body)
        self._database(header, self._registered, services.terminal_register,
                       phone=header.phone, plate=register.plate, plate_colour=register.plate_color)

    def _registered(self, header: Header, registration: services.Registration) -> None:
        self.write(register_reply(header, int(registration.result), registration.auth_code,
                                  self._next_serial(header)))

    def _authenticate(self, header: Header, body: bytes) -> None:
        auth = decode_body(header, body)
        self._database(header, self._authenticated, services.terminal_authenticate,
                       phone=header.phone, auth_code=auth.auth_code, remote_address=self.peer,
                       gateway_id=self.gateway.config.gateway_id, imei=auth.imei or "",
                       software_version=auth.software_version or "")

    def _authenticated(self, header: Header, session: services.Session | None) -> None:
        if session is None:
            self.auth_failures += 1
            self.reply(header, RESULT_FAILURE)
            self.log_line("authentication failed")
            if self.auth_failures >= MAX_AUTH_FAILURES:
                self.close("auth failed")
            return
        if self.session is not None and self.session.terminal_pk != session.terminal_pk:
            self.gateway.session_ended(self)
        self.session = session
        self.phone = session.phone
        self.vehicle_id = session.vehicle_id
        self.profile = profiles.for_model(session.terminal_model)
        self.refused_frames = 0
        self.flushed_seen = self.last_seen
        self.gateway.session_started(self)
        self.reply(header, RESULT_OK)

    def _database(self, header: Header, done: Callable, fn: Callable, **kwargs) -> None:
        """Run fn in a database thread; reading pauses and later frames wait until `done` ran."""
        self.pause(PAUSE_DB)
        future = self.gateway.db.call(fn, **kwargs)
        future.add_done_callback(lambda f: self._database_done(header, done, f))

    def _database_done(self, header: Header, done: Callable, future) -> None:
        if self.closing:
            # Authenticated after the terminal went away: the service marked it online; undo that.
            if not future.cancelled() and future.exception() is None and isinstance(future.result(), services.Session):
                self.gateway.session_lost(future.result())
            return
        try:
            result = future.result()
        except Exception:  # the terminal resends when it gets no answer
            log.exception("terminal %s: database call for 0x%04X failed", header.phone, header.msg_id)
            self.note_error("database unavailable")
        else:
            done(header, result)
        self.paused &= ~PAUSE_DB
        self._continue()

    # --- sub-packaged messages ----------------------------------------------------------------
    def _reassemble(self, header: Header, body: bytes) -> tuple[Header, bytes] | None:
        """Collect a sub-packaged message; the whole body once complete. Packets get no reply of
        their own: the whole message is answered once, to its last packet's serial (a location
        batch only when durable, media with 0x8800), which PROTOCOL.md §2 allows."""
        packets = self.packets
        if packets is None:
            config = self.gateway.config
            packets = self.packets = Reassembler(timeout=config.reassembly_timeout, max_messages=8,
                                                 max_bytes=config.reassembly_max_bytes)
        whole = packets.add(header, body, monotonic())
        if whole is None:
            return None
        if not packets.open_messages:
            self.packets = None  # nothing open: give the memory back
        return header, whole

    def ask_for_missing(self, now: float) -> None:
        """Sweeper: request the packets still missing after the timeout (0x8800 for media whose first
        packet names it, 0x8003 otherwise)."""
        for pending in self.packets.due(now):
            serial = self._encoder_for(pending.phone_raw, pending.version).next_serial()
            media_id = pending.media_id if pending.msg_id == MEDIA_DATA else None
            if media_id is not None:
                reply = MediaResponse(media_id, pending.missing)
            else:
                reply = ResendRequest(pending.first_serial, pending.missing,
                                      "2013" if pending.version is None else "2019")
            self.log_line(f"asking for {len(pending.missing)} missing packet(s) of 0x{pending.msg_id:04X}")
            self.write(encode_message(reply, phone_raw=pending.phone_raw, serial=serial, version=pending.version))
        if not self.packets.open_messages:
            self.packets = None

    # --- other replies ------------------------------------------------------------------------
    def _server_time(self, header: Header) -> None:
        from wastetrail.telemetry.jt808.wire import bcd_time_bytes

        body = bcd_time_bytes(_now(UTC).replace(tzinfo=None))
        self.write(encode_frame(SERVER_TIME, body, phone_raw=header.phone_raw, serial=self._next_serial(header),
                                version=header.version))

    def _logout(self) -> None:
        self.pause(PAUSE_LOGOUT)
        if self.pending <= 0:
            self.close("logout")

    # --- writing --------------------------------------------------------------------------------
    def _encoder(self, header: Header) -> ReplyEncoder:
        return self._encoder_for(header.phone_raw, header.version)

    def _encoder_for(self, phone_raw: bytes, version: int | None) -> ReplyEncoder:
        encoder = self.replies
        if encoder is None or encoder.phone_raw != phone_raw or encoder.version != version:
            encoder = self.replies = ReplyEncoder(phone_raw, version)
        return encoder

    def _next_serial(self, header: Header) -> int:
        return self._encoder(header).next_serial()

    def reply(self, header: Header, result: int) -> None:
        if not self.closing:
            self.transport.write(self._encoder(header).general(header.serial, header.msg_id, result))

    def write(self, data: bytes) -> None:
        if not self.closing:
            self.transport.write(data)

    # --- flow control and closing -----------------------------------------------------------------
    def pause(self, reason: int) -> None:
        self.paused |= reason
        self._update_reading()

    def resume(self, reason: int) -> None:
        self.paused &= ~reason
        self._update_reading()

    def _update_reading(self) -> None:
        if self.closing:
            return
        if self.paused and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        elif not self.paused and self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self, reason: str) -> None:
        """Close after what is buffered has been written (acks included)."""
        if self.closing:
            return
        self.closing = True
        log.debug("closing %s (%s): %s", self.phone or self.error_phone or "?", self.peer, reason)
        self.transport.close()

    def note_error(self, message: str) -> None:
        """Record the error for the terminal's status (flushed in batches) and log it — the first one,
        then at most one line a minute per connection, so a flood of bad frames is not a flood of
        log lines."""
        self.error = message
        self.error_at = _now(UTC)
        self.log_line(message)

    def log_line(self, message: str) -> None:
        """An INFO line about this authenticated connection, at most one a minute (the others are
        counted). Before authentication only DEBUG: port scanners and garbage are counted on the
        terminal's status when the phone number is a terminal's, and summed up once per flush."""
        if self.session is None:
            log.debug("connection %s (%s): %s", self.error_phone or "?", self.peer, message)
            return
        now = monotonic()
        if self.logged_at and now - self.logged_at < LOG_INTERVAL:
            self.lines_unlogged += 1
            return
        more = f" ({self.lines_unlogged} more since the last line)" if self.lines_unlogged else ""
        log.info("terminal %s (%s): %s%s", self.phone, self.peer, message, more)
        self.logged_at = now
        self.lines_unlogged = 0

    def sweep(self, now: float) -> None:
        """Called by the gateway's sweeper about once a second."""
        if self.closing or self.paused & _HOLD:
            return  # waiting on us, not on the terminal
        config = self.gateway.config
        if self.session is None:
            if now - self.opened_at > config.auth_timeout:
                self.note_error("auth timeout")
                self.close("auth timeout")
        elif now - self.last_seen > config.idle_timeout:
            self.note_error("idle timeout")
            self.close("idle timeout")
            return
        if self.packets is not None:
            self.ask_for_missing(now)
