"""Positions, live vehicle state and terminal status (decision 0004).

`Position` is the hot table: tens of thousands of rows a second are written by `store.py` in plain
SQL, never through `Model.save`. On PostgreSQL the migration creates it partitioned by day on
`device_time` (see `store.py`); on SQLite it is one table with the same primary key.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.telemetry.records import PositionFlag, PositionSource


class Position(models.Model):
    """One reported position. Flagged positions (`flags`, records.PositionFlag) are kept, never dropped."""

    pk = models.CompositePrimaryKey("vehicle", "device_time")
    # No foreign-key constraint on the hot table: it would cost a look-up per row, and a
    # vehicle's history must outlive the registry row anyway. The primary key indexes vehicle_id.
    vehicle = models.ForeignKey(Vehicle, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                related_name="+", verbose_name=_("vehicle"))
    device_time = models.DateTimeField(_("device time"))  # UTC (the terminal sends GMT+8)
    received_at = models.DateTimeField(_("received at"))
    # Micro-degrees, signed. 64-bit: an out-of-range reading (a DWORD up to 2^32) is kept as sent.
    lat_e6 = models.BigIntegerField(_("latitude (micro-degrees)"))
    lon_e6 = models.BigIntegerField(_("longitude (micro-degrees)"))
    altitude_m = models.IntegerField(_("altitude (m)"))
    speed_dkmh = models.IntegerField(_("speed (0.1 km/h)"))
    heading = models.IntegerField(_("heading (°)"))
    alarm = models.BigIntegerField(_("alarm bits"))  # DWORD: does not fit a signed 32-bit integer
    status = models.BigIntegerField(_("status bits"))
    extras = models.JSONField(_("additional items"), default=dict)
    source = models.SmallIntegerField(_("source"), choices=[(s.value, s.name.lower()) for s in PositionSource],
                                      default=int(PositionSource.LIVE))
    flags = models.SmallIntegerField(_("plausibility flags"), default=0)

    class Meta:
        db_table = "telemetry_position"
        verbose_name = _("position")
        verbose_name_plural = _("positions")

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.device_time:%Y-%m-%d %H:%M:%S}"

    @property
    def flag_set(self) -> PositionFlag:
        return PositionFlag(self.flags)


class LoadState(models.TextChoices):
    """Status bits 8-9 of a location report (JT/T 808 table 25)."""

    EMPTY = "empty", _("empty")
    HALF = "half", _("half loaded")
    FULL = "full", _("fully loaded")
    UNKNOWN = "unknown", _("unknown")


class VehicleLiveState(models.Model):
    """One row per vehicle: where it is now and what its terminal last said.

    The position columns come from the newest *trusted* position (not ZERO, OUT_OF_RANGE,
    IMPOSSIBLE_JUMP, BAD_TIME or FUTURE_TIME; see store.py); `last_frame_at` moves with every
    frame, trusted or not. `online` is what the gateway saw (authenticated / disconnected); pages
    combine it with `last_frame_at` (live.py, VEHICLE_OFFLINE_AFTER).
    """

    vehicle = models.OneToOneField(Vehicle, on_delete=models.CASCADE, primary_key=True,
                                   related_name="live_state", verbose_name=_("vehicle"))
    device_time = models.DateTimeField(_("last position time"), null=True, blank=True)
    received_at = models.DateTimeField(_("last position received at"), null=True, blank=True)
    lat_e6 = models.BigIntegerField(_("latitude (micro-degrees)"), null=True, blank=True)
    lon_e6 = models.BigIntegerField(_("longitude (micro-degrees)"), null=True, blank=True)
    altitude_m = models.IntegerField(_("altitude (m)"), null=True, blank=True)
    speed_dkmh = models.IntegerField(_("speed (0.1 km/h)"), null=True, blank=True)
    heading = models.IntegerField(_("heading (°)"), null=True, blank=True)
    alarm = models.BigIntegerField(_("alarm bits"), default=0)
    status = models.BigIntegerField(_("status bits"), default=0)
    acc_on = models.BooleanField(_("ignition (ACC) on"), null=True, blank=True)
    load = models.CharField(_("load"), max_length=8, choices=LoadState.choices, default=LoadState.UNKNOWN)
    cover_open = models.BooleanField(_("cover open"), null=True, blank=True)
    body_lifted = models.BooleanField(_("body lifted"), null=True, blank=True)
    flags = models.SmallIntegerField(_("flags of the last position"), default=0)
    online = models.BooleanField(_("online"), default=False)
    online_changed_at = models.DateTimeField(_("online/offline since"), null=True, blank=True)
    last_frame_at = models.DateTimeField(_("last frame at"), null=True, blank=True)

    class Meta:
        db_table = "telemetry_vehicle_live"
        verbose_name = _("vehicle live state")
        verbose_name_plural = _("vehicle live states")

    def __str__(self) -> str:
        return f"{self.vehicle_id}: {'online' if self.online else 'offline'}"


class TerminalStatus(models.Model):
    """One row per registry terminal: its connection as the gateway saw it, and its error counters.

    Written by the gateway through `telemetry/services.py`.
    """

    terminal = models.OneToOneField(Terminal, on_delete=models.CASCADE, primary_key=True,
                                    related_name="status", verbose_name=_("terminal"))
    online = models.BooleanField(_("online"), default=False)
    connected_at = models.DateTimeField(_("last connected at"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("last disconnected at"), null=True, blank=True)
    last_frame_at = models.DateTimeField(_("last frame at"), null=True, blank=True)
    remote_address = models.CharField(_("remote address"), max_length=64, blank=True)
    gateway_id = models.CharField(_("gateway"), max_length=64, blank=True)
    # Sent with a JT/T 808-2019 authentication (0x0102); what commissioning and firmware recalls need.
    imei = models.CharField(_("IMEI"), max_length=15, blank=True)
    software_version = models.CharField(_("software version"), max_length=20, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    bad_checksum = models.BigIntegerField(_("frames with a bad checksum"), default=0)
    bad_frames = models.BigIntegerField(_("unreadable frames"), default=0)
    reports = models.BigIntegerField(_("location reports"), default=0)

    class Meta:
        db_table = "telemetry_terminal_status"
        verbose_name = _("terminal status")
        verbose_name_plural = _("terminal statuses")

    def __str__(self) -> str:
        return f"{self.terminal_id}: {'online' if self.online else 'offline'}"
