"""The JT/T 808 gateway (asyncio TCP server), its hand-off to storage and the NATS processor.

See docs/gateway.md for operating it and docs/decisions/0004-telemetry-layout.md for the design.
"""

from __future__ import annotations

from .config import GatewayConfig
from .handoff import Handoff, InProcessHandoff
from .server import Gateway

__all__ = ["Gateway", "GatewayConfig", "Handoff", "InProcessHandoff", "make_handoff"]


def make_handoff(config: GatewayConfig, store=None) -> Handoff:
    """The hand-off the configuration asks for (`store` defaults to telemetry.store)."""
    if config.handoff == "nats":
        from .jetstream import NatsHandoff

        return NatsHandoff(config.nats_url, config.nats_stream, config.nats_subject_prefix,
                           gateway_id=config.gateway_id, batch_max_records=config.batch_max_records)
    if store is None:
        from wastetrail.telemetry import store
    return InProcessHandoff(store, batch_max_records=config.batch_max_records)
