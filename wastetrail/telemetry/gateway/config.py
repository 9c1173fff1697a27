"""The gateway's settings in one frozen object, read from Django settings once at start.

Tests and the simulator build one directly (`GatewayConfig(port=0, idle_timeout=2, ...)`) and run a
gateway in-process; `GatewayConfig.from_settings(**overrides)` starts from the JT808_* settings.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import socket

HANDOFF_MODES = ("inproc", "nats")
# Subjects the positions stream carries; a gateway publishes to `<prefix>.<gateway id>`.
DEFAULT_SUBJECT_PREFIX = "wastetrail.positions"


def default_gateway_id() -> str:
    """Host name plus a random suffix: unique per run, so JetStream's de-duplication (by message
    id = gateway id + batch number) never mistakes a restarted gateway's batch 1 for an old one."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "gateway"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclasses.dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 7808  # 0: the system picks a free port (tests); Gateway.port tells which
    max_connections: int = 15000
    max_frame_bytes: int = 4096
    max_junk_bytes: int = 4096
    max_pending_reports: int = 256
    auth_timeout: float = 30.0
    idle_timeout: float = 180.0
    accept_bad_checksum: bool = False
    handoff: str = "inproc"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream: str = "WASTETRAIL_POSITIONS"
    nats_subject_prefix: str = DEFAULT_SUBJECT_PREFIX
    gateway_id: str = dataclasses.field(default_factory=default_gateway_id)
    # How often the sweeper looks at every connection (timeouts, sub-package gaps, heartbeat flush).
    sweep_interval: float = 1.0
    # Heartbeat / last-frame times are written to the database at most this often (one batch).
    seen_flush_interval: float = 10.0
    # Frames other than register/authenticate before authentication; the next one closes.
    max_unauthenticated_frames: int = 3
    # Missing packets of a sub-packaged message are asked for (0x8003) after this long.
    reassembly_timeout: float = 10.0
    # Bytes of incomplete sub-packaged messages one connection may hold (a photo upload fits).
    reassembly_max_bytes: int = 1 << 20
    # Records one hand-off flush carries at most (one store transaction / one JetStream message).
    batch_max_records: int = 5000
    # How long a graceful stop waits for what is in flight to become durable and be acknowledged.
    stop_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.handoff not in HANDOFF_MODES:
            raise ValueError(f"handoff must be one of {', '.join(HANDOFF_MODES)}, not {self.handoff!r}")
        for name in ("max_connections", "max_frame_bytes", "max_pending_reports", "batch_max_records"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, not {self.port}")

    @classmethod
    def from_settings(cls, **overrides) -> GatewayConfig:
        from django.conf import settings

        values = {
            "host": settings.JT808_HOST,
            "port": settings.JT808_PORT,
            "max_connections": settings.JT808_MAX_CONNECTIONS,
            "max_frame_bytes": settings.JT808_MAX_FRAME_BYTES,
            "max_junk_bytes": settings.JT808_MAX_JUNK_BYTES,
            "max_pending_reports": settings.JT808_MAX_PENDING_REPORTS,
            "auth_timeout": settings.JT808_AUTH_TIMEOUT,
            "idle_timeout": settings.JT808_IDLE_TIMEOUT,
            "accept_bad_checksum": settings.JT808_ACCEPT_BAD_CHECKSUM,
            "handoff": settings.TELEMETRY_HANDOFF,
            "nats_url": settings.NATS_URL,
            "nats_stream": settings.NATS_POSITIONS_STREAM,
            "nats_subject_prefix": settings.NATS_POSITIONS_SUBJECT,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def replace(self, **changes) -> GatewayConfig:
        return dataclasses.replace(self, **changes)
