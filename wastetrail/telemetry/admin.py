"""Read-only admin views of live vehicle state and terminal status.

Both are written by the gateway and the position store only. Positions are not registered: the
admin does not support composite primary keys (Django 5.2), and the track pages show them.
"""

from __future__ import annotations

from django.contrib import admin

from wastetrail.registry.admin import ReadOnlyAdmin
from wastetrail.telemetry.models import TerminalStatus, VehicleLiveState


@admin.register(VehicleLiveState)
class VehicleLiveStateAdmin(ReadOnlyAdmin):
    list_display = ("vehicle", "online", "last_frame_at", "device_time", "lat_e6", "lon_e6", "speed_dkmh",
                    "acc_on", "load", "cover_open", "body_lifted", "flags")
    list_filter = ("online", "load", "acc_on")
    list_select_related = ("vehicle",)
    search_fields = ("vehicle__plate",)


@admin.register(TerminalStatus)
class TerminalStatusAdmin(ReadOnlyAdmin):
    list_display = ("terminal", "online", "connected_at", "disconnected_at", "last_frame_at", "remote_address",
                    "gateway_id", "reports", "bad_checksum", "bad_frames", "last_error_at")
    list_filter = ("online", "gateway_id")
    list_select_related = ("terminal",)
    search_fields = ("terminal__phone", "last_error")
