"""Text messages to phones, through a backend chosen by the ``SMS_BACKEND`` setting.

The city's SMS gateway differs by deployment (a carrier's platform, the government messaging
service), so the platform only needs ``send(phone, text)``. Two backends ship: ``log`` (the
default: writes the message to the ``wastetrail.sms`` log, for a deployment without a gateway
yet and for the demo) and ``memory`` (keeps messages in ``outbox`` for tests). A deployment adds
its own class with a ``send`` method and names it in the setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("wastetrail.sms")


@dataclass(frozen=True)
class Message:
    phone: str
    text: str


class LogBackend:
    def send(self, phone: str, text: str) -> None:
        # Neither the number nor the text: the log is read by more people than the complainant's
        # handler, and a text may carry a tracking code that opens the complainant's order.
        logger.info("SMS to ***%s (%d characters; no gateway configured, not sent)", phone[-4:], len(text))


outbox: list[Message] = []


class MemoryBackend:
    def send(self, phone: str, text: str) -> None:
        outbox.append(Message(phone, text))


BACKENDS = {"log": LogBackend, "memory": MemoryBackend}


def send(phone: str, text: str) -> None:
    """Send now; callers inside a transaction use ``transaction.on_commit``."""
    name = getattr(settings, "SMS_BACKEND", "log")
    backend = BACKENDS[name]() if name in BACKENDS else import_string(name)()
    try:
        backend.send(phone, text)
    except Exception:  # a gateway outage must not undo the order that was just stored
        logger.exception("SMS to ***%s failed", phone[-4:])
