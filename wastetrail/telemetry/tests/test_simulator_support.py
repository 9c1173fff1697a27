"""Support for the simulator's tests (no tests here): a small JT/T 808 platform, a real asyncio TCP
server that answers with the codec (0x8100 with an auth code, 0x8001) and can be told to withhold
acks or drop connections, and a scripted position source."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from wastetrail.telemetry import jt808
from wastetrail.telemetry.jt808 import (
    REGISTER_OK,
    RESULT_FAILURE,
    RESULT_OK,
    Authentication,
    Location,
    LocationBatch,
    Register,
)
from wastetrail.telemetry.simulator.motion import TruckState


@dataclass
class Received:
    phone: str
    msg_id: int
    serial: int
    connection: int
    kind: int | None = None  # 0x0704 type
    locations: list[Location] = field(default_factory=list)
    body_length: int = 0


class Platform:
    """`withhold(received) -> bool` decides per location message whether to leave it unanswered."""

    def __init__(self, *, auth_code: str = "AUTH-42", withhold: Callable[[Received], bool] | None = None,
                 accept_auth: Callable[[str], bool] | None = None) -> None:
        self.auth_code = auth_code
        self.withhold = withhold or (lambda received: False)
        self.accept_auth = accept_auth or (lambda code: code == self.auth_code)
        self.messages: list[Received] = []
        self.registrations: list[Register] = []
        self.authentications: list[Authentication] = []
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Platform:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_connections(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    # --- what arrived -------------------------------------------------------------------------
    def of(self, msg_id: int) -> list[Received]:
        return [message for message in self.messages if message.msg_id == msg_id]

    def positions(self, msg_id: int | None = None) -> list[tuple[dt.datetime, int]]:
        """(device time, lat_e6) of every location received, repeats included."""
        return [(location.time_utc, location.lat_e6) for message in self.messages
                if msg_id is None or message.msg_id == msg_id for location in message.locations]

    # --- serving ------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        self._writers.append(writer)
        splitter = jt808.FrameSplitter(max_frame=4096, max_junk=4096)
        serial = 0
        try:
            while data := await reader.read(65536):
                for raw in splitter.feed(data):
                    frame = jt808.parse_frame(raw)
                    assert frame.checksum_ok and frame.length_ok, frame
                    header = frame.header
                    body = jt808.decode_body(header, frame.body)
                    received = Received(header.phone, header.msg_id, header.serial, connection,
                                        body_length=len(frame.body))
                    if isinstance(body, Location):
                        received.locations = [body]
                    elif isinstance(body, LocationBatch):
                        received.kind, received.locations = body.kind, list(body.locations)
                    self.messages.append(received)
                    serial += 1
                    reply = self._reply(header, body, received, serial)
                    if reply:
                        writer.write(reply)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def _reply(self, header: jt808.Header, body, received: Received, serial: int) -> bytes | None:
        if isinstance(body, Register):
            self.registrations.append(body)
            return jt808.register_reply(header, REGISTER_OK, self.auth_code, serial)
        if isinstance(body, Authentication):
            self.authentications.append(body)
            result = RESULT_OK if self.accept_auth(body.auth_code) else RESULT_FAILURE
            return jt808.general_reply(header, result, serial)
        if received.locations and self.withhold(received):
            return None
        return jt808.general_reply(header, RESULT_OK, serial)


class ScriptedSource:
    """`count` reports `step` simulated seconds apart from the first moment asked for; the reports
    whose index is in `lost` are made without mobile signal."""

    def __init__(self, count: int, *, step: int = 1, lost: range | set[int] = frozenset()) -> None:
        self.count, self.step, self.lost = count, step, set(lost)
        self.start: float | None = None
        self.states: list[TruckState] = []

    def first_report(self, moment: float) -> float:
        return moment

    def advance_to(self, moment: float) -> TruckState | None:
        if self.start is None:
            self.start = moment
        index = int((moment - self.start) // self.step)
        if index >= self.count:
            return None
        state = TruckState(time=moment, point=(113.08 + index * 1e-4, 22.58 + index * 1e-4), speed_kmh=30.0,
                           heading=45, altitude_m=10, acc=True, loaded=False, cover_outside=False,
                           lift_outside=False, odometer_m=1000.0 * index, phase="driving_empty",
                           signal=index not in self.lost)
        self.states.append(state)
        return state

    def next_report(self, last: float, state: TruckState, config) -> float | None:
        following = last + self.step
        return following if (following - self.start) // self.step < self.count else None

    def take_dump_record(self):
        return None

    def take_events(self):
        return []
