"""Helpers shared by the storage tests (no tests here): vehicles, position records, the PostgreSQL
marker's skip, clean in-process caches."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.registry.models import Vehicle
from wastetrail.telemetry import store
from wastetrail.telemetry.records import PositionRecord, PositionSource

ACC_ON = 1 << 0
FIXED = 1 << 1
JIANGMEN = (22_578_000, 113_081_000)  # lat_e6, lon_e6


def forget_caches() -> None:
    """The store's in-process memory must not outlive the database state a test rolled back."""
    store.forget_suspects()
    store.forget_partitions()


def make_vehicles(count: int) -> list[Vehicle]:
    company, _ = Organisation.objects.get_or_create(
        uscc="91440704MA5TEST01X", defaults={"name": "测试运输有限公司", "kind": OrganisationKind.TRANSPORT_COMPANY})
    start = Vehicle.objects.count()
    return [Vehicle.objects.create(plate=f"粤J{start + i:05d}", vin=f"LTEST{start + i:012d}", company=company,
                                   capacity_m3=18) for i in range(count)]


def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def position(vehicle_id: int, device_time: dt.datetime, *, lat_e6: int = JIANGMEN[0], lon_e6: int = JIANGMEN[1],
             received_at: dt.datetime | None = None, status: int = FIXED | ACC_ON, alarm: int = 0,
             extras: dict | None = None, source: int = PositionSource.LIVE, flags: int = 0,
             speed_dkmh: int = 300) -> PositionRecord:
    return PositionRecord(
        vehicle_id=vehicle_id, terminal_phone="13800138000", device_time=device_time,
        received_at=received_at or max(device_time, now()), lat_e6=lat_e6, lon_e6=lon_e6, altitude_m=12,
        speed_dkmh=speed_dkmh, heading=90, alarm=alarm, status=status, extras=extras or {}, source=source,
        flags=flags)


def north(lat_e6: int, metres: float) -> int:
    """The latitude `metres` north (one micro-degree of latitude is about 0.111 m)."""
    return lat_e6 + round(metres / 0.11119)
