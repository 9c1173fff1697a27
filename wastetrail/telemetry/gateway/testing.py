"""A scripted JT/T 808 terminal over a real socket, for tests and tools that drive a gateway.

    client = await TerminalClient.connect("127.0.0.1", gateway.port, phone="13800000001")
    reply = await client.register(plate="粤J00001")           # RegisterResponse
    await client.authenticate(reply.auth_code)                 # PlatformResponse, result 0
    serial = await client.send_location(make_location(...))
    ack = await client.expect(0x8001)                          # (Header, PlatformResponse)

Only the codec on the wire; no Django.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from wastetrail.telemetry.jt808 import (
    BATCH_NORMAL,
    Authentication,
    FrameSplitter,
    Location,
    LocationBatch,
    Register,
    decode_body,
    encode_frame,
    location_bytes,
    parse_frame,
    phone_to_raw,
)

TIMEOUT = 10.0  # generous: the machine running tests is shared and noisy


class ConnectionClosed(Exception):
    pass


class TerminalClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, phone: str,
                 version: int | None = None) -> None:
        self.reader = reader
        self.writer = writer
        self.phone = phone
        self.version = version
        self.phone_raw = phone_to_raw(phone, version)
        self.serial = 0
        self.splitter = FrameSplitter(max_frame=1 << 20, max_junk=1 << 30)
        self.received: list = []  # parsed frames read but not yet expected
        # One reader at a time: a test may wait for a closed connection while another of its tasks is
        # still reading a reply on it (StreamReader refuses two concurrent reads).
        self.reading = asyncio.Lock()

    @classmethod
    async def connect(cls, host: str, port: int, *, phone: str, version: int | None = None) -> TerminalClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, phone=phone, version=version)

    # --- sending -----------------------------------------------------------------------------
    def frame(self, msg_id: int, body: bytes = b"", *, serial: int | None = None,
              packet: tuple[int, int] | None = None) -> tuple[bytes, int]:
        if serial is None:
            serial = self.serial
            self.serial = (self.serial + 1) & 0xFFFF
        return encode_frame(msg_id, body, phone_raw=self.phone_raw, serial=serial, version=self.version,
                            packet=packet), serial

    async def send(self, msg_id: int, body: bytes = b"", **kwargs) -> int:
        data, serial = self.frame(msg_id, body, **kwargs)
        await self.send_raw(data)
        return serial

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_location(self, location: Location) -> int:
        return await self.send(0x0200, location_bytes(location))

    async def send_batch(self, locations: Sequence[Location], kind: int = BATCH_NORMAL) -> int:
        return await self.send(0x0704, LocationBatch(kind, list(locations)).encode())

    # --- receiving -----------------------------------------------------------------------------
    async def receive(self, timeout: float = TIMEOUT):
        """The next frame from the gateway as (Header, decoded body)."""
        async def read_one():
            async with self.reading:
                while not self.received:
                    data = await self.reader.read(65536)
                    if not data:
                        raise ConnectionClosed("the gateway closed the connection")
                    for raw in self.splitter.feed(data):
                        frame = parse_frame(raw)
                        assert frame.checksum_ok, f"bad checksum from the gateway: {raw.hex()}"
                        self.received.append((frame.header, decode_body(frame.header, frame.body)))
                return self.received.pop(0)
        return await asyncio.wait_for(read_one(), timeout)

    async def expect(self, msg_id: int, timeout: float = TIMEOUT):
        header, body = await self.receive(timeout)
        assert header.msg_id == msg_id, f"expected 0x{msg_id:04X}, got 0x{header.msg_id:04X}: {body}"
        return header, body

    async def nothing_within(self, seconds: float) -> bool:
        """True when no frame arrives within `seconds` (the connection may stay open)."""
        try:
            await self.receive(seconds)
        except TimeoutError:
            return True
        return False

    async def closed_within(self, seconds: float = TIMEOUT) -> bool:
        """True when the gateway closes the connection within `seconds` (frames before are dropped)."""
        async def until_closed():
            async with self.reading:
                while await self.reader.read(65536):
                    pass
        try:
            await asyncio.wait_for(until_closed(), seconds)
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    # --- the session -----------------------------------------------------------------------------
    async def register(self, *, plate: str, plate_colour: int = 2, model: str = "ZT-808G",
                       terminal_id: str = "T000001"):
        layout = "2019" if self.version is not None else "2013"
        body = Register(44, 703, "WTRL", model, terminal_id, plate_colour, plate, layout).encode()
        serial = await self.send(0x0100, body)
        header, reply = await self.expect(0x8100)
        assert reply.reply_serial == serial
        return reply

    async def authenticate(self, auth_code: str, *, imei: str = "", software_version: str = ""):
        layout = "2019" if self.version is not None else "2013"
        serial = await self.send(0x0102, Authentication(auth_code, imei, software_version, layout).encode())
        header, reply = await self.expect(0x8001)
        assert reply.reply_serial == serial and reply.reply_id == 0x0102
        return reply

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


