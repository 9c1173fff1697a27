"""Sub-packaged messages (header bit 13): collect the packets, hand back the whole body.

Pure: no clock of its own (the caller passes `now`, a float in seconds), no I/O. The packets of
one message carry consecutive serials, so a message is keyed by terminal, message id and the
serial of its first packet (serial - index + 1). When a message stays incomplete for `timeout`
seconds, `due(now)` lists it with its missing indexes so the gateway can ask for them (0x8003,
or 0x8800 for 0x0801 media); after `max_requests` such rounds it is dropped. Memory is bounded:
at most `max_messages` open messages and `max_bytes` buffered bytes, the oldest dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from .framing import Header


@dataclass
class Pending:
    """An incomplete message whose packets stopped arriving: what a 0x8003/0x8800 needs."""

    msg_id: int
    phone: str
    phone_raw: bytes
    version: int | None
    first_serial: int
    total: int
    missing: list[int]
    first_packet: bytes | None  # packet 1's body when it arrived (0x0801: the media id is there)

    @property
    def media_id(self) -> int | None:
        """The media id of a 0x0801 upload (first DWORD of packet 1), when packet 1 arrived."""
        if self.first_packet is None or len(self.first_packet) < 4:
            return None
        return int.from_bytes(self.first_packet[:4], "big")


@dataclass
class _Message:
    header: Header
    first_serial: int
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0
    last_seen: float = 0.0
    requests: int = 0


class Reassembler:
    def __init__(self, *, timeout: float = 30.0, max_requests: int = 3, max_messages: int = 256,
                 max_bytes: int = 4 * 1024 * 1024):
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._open: OrderedDict[tuple[bytes, int, int], _Message] = OrderedDict()
        self.open_bytes = 0
        self.completed = 0
        self.duplicates = 0
        self.bad_packets = 0  # index 0, index > total, or a total that changed mid-message
        self.dropped_overflow = 0  # dropped to stay within max_messages / max_bytes
        self.dropped_incomplete = 0  # still incomplete after max_requests resend requests

    @property
    def open_messages(self) -> int:
        return len(self._open)

    def add(self, header: Header, body: bytes, now: float) -> bytes | None:
        """Take one packet; returns the whole body once every packet has arrived, else None.
        A frame that is not sub-packaged is returned as it is."""
        if header.packet is None:
            return body
        total, index = header.packet
        if total == 1 and index == 1:
            self.completed += 1
            return body
        if not 1 <= index <= total:
            self.bad_packets += 1
            return None
        first_serial = (header.serial - index + 1) & 0xFFFF
        key = (header.phone_raw, header.msg_id, first_serial)
        message = self._open.get(key)
        if message is not None and message.total != total:
            self.bad_packets += 1
            self._discard(key)
            message = None
        if message is None:
            message = _Message(header, first_serial, total)
            self._open[key] = message
        if index in message.parts:
            self.duplicates += 1
            message.size -= len(message.parts[index])
            self.open_bytes -= len(message.parts[index])
        message.parts[index] = bytes(body)
        message.size += len(body)
        self.open_bytes += len(body)
        message.last_seen = now
        if len(message.parts) == total:
            self._discard(key)
            self.completed += 1
            return b"".join(message.parts[i] for i in range(1, total + 1))
        self._enforce_bounds(keep=key)
        return None

    def due(self, now: float) -> list[Pending]:
        """Incomplete messages idle for `timeout` seconds: ask for their missing packets. Each is
        listed at most `max_requests` times (once per timeout), then dropped and counted."""
        out = []
        for key, message in list(self._open.items()):
            if now - message.last_seen < self.timeout:
                continue
            if message.requests >= self.max_requests:
                self._discard(key)
                self.dropped_incomplete += 1
                continue
            message.requests += 1
            message.last_seen = now
            header = message.header
            out.append(Pending(header.msg_id, header.phone, header.phone_raw, header.version, message.first_serial,
                               message.total, [i for i in range(1, message.total + 1) if i not in message.parts],
                               message.parts.get(1)))
        return out

    def _discard(self, key: tuple[bytes, int, int]) -> None:
        message = self._open.pop(key)
        self.open_bytes -= message.size

    def _enforce_bounds(self, keep: tuple[bytes, int, int]) -> None:
        while len(self._open) > self.max_messages or self.open_bytes > self.max_bytes:
            oldest = next(iter(self._open))
            if oldest == keep:
                if len(self._open) == 1:  # a single message larger than max_bytes: give it up
                    self._discard(keep)
                    self.dropped_overflow += 1
                    return
                self._open.move_to_end(keep)
                continue
            self._discard(oldest)
            self.dropped_overflow += 1
