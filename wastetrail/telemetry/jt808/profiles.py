"""How a location's additional items become JSON: the standard ids, and vendor ids per terminal model.

JT/T 808 leaves item ids 0xE1-0xFF to vendors, and vendors reuse them with different meanings on
different devices, so vendor ids are decoded per terminal model through a `Profile`; ids no
profile knows are kept as ``{"0xNN": "<hex>"}`` (nothing is lost, and storage can re-decode).

Adding a vendor's profile:

1. Write one function per vendor item id, ``def _my_item(value: bytes) -> dict | None``, returning
   the keys it contributes (JSON-able values, units in the key names: ``"load_t"``, ``"temp_c"``)
   or None when the value does not have the documented length (the item is then kept as hex).
2. ``MY_PROFILE = Profile("vendor-name", {0xE5: _my_item, ...})``; a profile may also override a
   standard id when a vendor uses it differently.
3. Map the terminal models that speak it in ``MODELS`` (``"MODEL-NAME": MY_PROFILE``), keyed by
   the model name as the terminal registers it (0x0100 terminal model, upper-cased).
4. Add a test decoding a real frame of that model (as test_jt808_location.py does for muck trucks).

Keys that the live vehicle state reads (``cover_open``, ``body_lifted``, ``dump``) must keep
their meaning in every profile that provides them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from .wire import bcd_time_local, local_to_utc

ItemDecoder = Callable[[bytes], "dict | None"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def _scaled(key: str, size: int, scale: float) -> ItemDecoder:
    unpack = (_U16 if size == 2 else _U32).unpack

    if scale == 1:
        def decode(value: bytes) -> dict | None:
            return {key: unpack(value)[0]} if len(value) == size else None
    else:
        # An integer over 10 is already the double nearest its one-decimal value: no round() per report.
        assert scale == 10, "only tenths are sent"

        def decode(value: bytes) -> dict | None:
            return {key: unpack(value)[0] / 10} if len(value) == size else None

    return decode


def _byte(key: str) -> ItemDecoder:
    def decode(value: bytes) -> dict | None:
        return {key: value[0]} if len(value) == 1 else None

    return decode


def _tyre_pressures(value: bytes) -> dict | None:
    # 2019: one byte per tyre, 0xFF for an unused position
    return {"tyre_pressures": [None if b == 0xFF else b for b in value]} if len(value) == 30 else None


def _compartment_temp(value: bytes) -> dict | None:
    if len(value) != 2:
        return None
    raw = _U16.unpack(value)[0]
    return {"compartment_temp_c": -(raw & 0x7FFF) if raw & 0x8000 else raw}


def _overspeed(value: bytes) -> dict | None:
    if len(value) == 1:
        return {"overspeed_area": {"type": value[0]}}
    if len(value) == 5:
        return {"overspeed_area": {"type": value[0], "id": _U32.unpack_from(value, 1)[0]}}
    return None


def _area_event(value: bytes) -> dict | None:
    if len(value) != 6:
        return None
    return {"area_event": {"type": value[0], "id": _U32.unpack_from(value, 1)[0],
                           "direction": "in" if value[5] == 0 else "out"}}


def _road_section(value: bytes) -> dict | None:
    if len(value) != 7:
        return None
    return {"road_section": {"id": _U32.unpack_from(value, 0)[0], "seconds": _U16.unpack_from(value, 4)[0],
                             "result": "short" if value[6] == 0 else "long"}}


def _analog(value: bytes) -> dict | None:
    if len(value) != 4:
        return None
    raw = _U32.unpack(value)[0]
    return {"analog_ad0": raw & 0xFFFF, "analog_ad1": raw >> 16}


STANDARD_ITEMS: dict[int, ItemDecoder] = {
    0x01: _scaled("odometer_km", 4, 10),
    0x02: _scaled("fuel_l", 2, 10),
    0x03: _scaled("tacho_speed_kmh", 2, 10),
    0x04: _scaled("alarm_event_id", 2, 1),
    0x05: _tyre_pressures,
    0x06: _compartment_temp,
    0x11: _overspeed,
    0x12: _area_event,
    0x13: _road_section,
    0x25: _scaled("signals", 4, 1),
    0x2A: _scaled("io_status", 2, 1),
    0x2B: _analog,
    0x30: _byte("signal"),
    0x31: _byte("satellites"),
}


@dataclass(frozen=True)
class Profile:
    """Item decoders for one family of terminals; `items` take precedence over the standard ones."""

    name: str
    items: dict[int, ItemDecoder] = field(default_factory=dict)

    def decoder(self, item_id: int) -> ItemDecoder | None:
        return self.items.get(item_id) or STANDARD_ITEMS.get(item_id)

    def extras(self, items: dict[int, bytes]) -> dict:
        out: dict = {}
        for item_id, value in items.items():
            decoder = self.items.get(item_id) or STANDARD_ITEMS.get(item_id)
            decoded = decoder(value) if decoder is not None else None
            if decoded is None:
                out[f"0x{item_id:02X}"] = value.hex()
            else:
                out.update(decoded)
        return out


STANDARD = Profile("standard")


# --- muck trucks (PROTOCOL.md §7: a Shenzhen E-EYE terminal's firmware, JTReport.c) -----------

def _dump(value: bytes) -> dict | None:
    """0xE3, 13 bytes, sent once per dump (body lifted, then lowered): result BYTE (0 = dumped
    inside a permitted dump area, 1 = abnormal dump), start BCD[6], end BCD[6] (Beijing time)."""
    if len(value) != 13:
        return None
    start = local_to_utc(bcd_time_local(value[1:7]))
    end = local_to_utc(bcd_time_local(value[7:13]))
    return {"dump": {"abnormal": value[0] != 0, "result": value[0],
                     "start_utc": start.isoformat() if start else None,
                     "end_utc": end.isoformat() if end else None}}


def _cover_lift(value: bytes) -> dict | None:
    """0xE4, DWORD: bit 0 cover (厢盖) open outside a permitted area, bit 1 body lifted (举升)
    outside a permitted area. This firmware only raises them outside permitted areas (and then
    reports every 5 minutes), so False means "closed/lowered or inside a permitted area"."""
    if len(value) != 4:
        return None
    raw = _U32.unpack(value)[0]
    return {"cover_open": bool(raw & 1), "body_lifted": bool(raw & 2), "muck_status": raw}


MUCK_TRUCK = Profile("muck-truck", {0xE3: _dump, 0xE4: _cover_lift})

PROFILES: dict[str, Profile] = {profile.name: profile for profile in (STANDARD, MUCK_TRUCK)}

# Terminal model (as registered in 0x0100, upper-cased, spaces trimmed) -> profile.
MODELS: dict[str, Profile] = {
    "ZT-808G": MUCK_TRUCK,  # the demo fleet's muck-truck terminals
}


def for_model(terminal_model: str | None) -> Profile:
    """The profile for a terminal model (or a profile name); the standard profile when unknown."""
    key = (terminal_model or "").strip()
    return MODELS.get(key.upper()) or PROFILES.get(key.lower()) or STANDARD
