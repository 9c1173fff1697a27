"""The manifest's QR code: what it encodes and how it is drawn (segno, no network).

The code carries the absolute address of the manifest's lookup page (``/manifests/n/<number>/``):
a phone camera at the receiving site's gate opens the manifest directly, and a barcode scanner
typing into the lookup form yields the same address, from which the number is read back
(``number_from_scan``). The number alone is accepted too, so a person can type it.
"""

from __future__ import annotations

import re

import segno
from django.urls import reverse

NUMBER_PATTERN = re.compile(r"JM\d{14}", re.IGNORECASE)


def manifest_qr_payload(number: str, base_url: str) -> str:
    """The text in the code: base_url is scheme and host (``https://wastetrail.example``)."""
    return base_url.rstrip("/") + reverse("manifests-by-number", args=[number])


def number_from_scan(text: str) -> str:
    """The manifest number in what a scanner or a person typed; the text itself, normalised,
    when no number is recognisable (so the lookup says "not found" for what was typed)."""
    cleaned = (text or "").strip()
    found = NUMBER_PATTERN.search(cleaned)
    return (found.group(0) if found else cleaned).upper()


def qr_code(payload: str) -> segno.QRCode:
    # Level M survives a scuffed windscreen print-out and keeps the code small on a phone.
    return segno.make_qr(payload, error="m")


def qr_svg(payload: str, *, scale: int = 6) -> str:
    """An inline SVG (no XML declaration) for a page."""
    return qr_code(payload).svg_inline(scale=scale, border=2, dark="#000", light="#fff")
