"""Telemetry writes other than positions: what the gateway learns about terminals.

Registration (0x0100) binds a registry terminal to a registry vehicle and issues its auth code;
authentication (0x0102) checks the code and marks terminal and vehicle online; a disconnect marks
them offline; the gateway's periodic flush records last-frame times, report counts, bad-frame
counters and last errors for many terminals in a few statements. All are synchronous (Django ORM):
the gateway calls them from a worker thread, never on its event loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import secrets
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from wastetrail.core.audit.services import audit_record
from wastetrail.registry.models import Terminal, Vehicle
from wastetrail.registry.validators import canonical_terminal_phone
from wastetrail.telemetry import live
from wastetrail.telemetry.models import TerminalStatus, VehicleLiveState

log = logging.getLogger("wastetrail.telemetry")

GATEWAY_ACTOR = "gateway"  # the audit label of changes the gateway makes on a terminal's behalf
AUTH_CODE_BYTES = 8  # 16 hex characters
MAX_ERROR_LENGTH = TerminalStatus._meta.get_field("last_error").max_length
BULK_BATCH = 500


class RegisterResult(enum.IntEnum):
    """0x8100 result codes (JT/T 808 table 8)."""

    OK = 0
    VEHICLE_TAKEN = 1  # the vehicle already carries another terminal
    VEHICLE_UNKNOWN = 2  # no such vehicle (for this terminal's company)
    TERMINAL_TAKEN = 3  # the terminal is bound to another vehicle
    TERMINAL_UNKNOWN = 4  # no such terminal


@dataclasses.dataclass(frozen=True)
class Registration:
    result: RegisterResult
    auth_code: str = ""
    terminal_pk: int | None = None
    vehicle_id: int | None = None
    reason: str = ""  # for the log and the terminal's last error


@dataclasses.dataclass(frozen=True)
class Session:
    """What an authenticated connection needs to know about its terminal."""

    terminal_pk: int
    phone: str
    vehicle_id: int
    terminal_model: str
    connected_at: dt.datetime  # also identifies the session: a later connection's disconnect wins


def plate_lookup(plate: str, plate_colour: int) -> dict:
    """How the terminal names its vehicle: the plate, or the VIN when the plate colour is 0."""
    value = (plate or "").replace("\x00", "").strip()
    return {"vin": value.upper()} if plate_colour == 0 else {"plate": value.upper()}


def terminal_register(*, phone: str, plate: str, plate_colour: int) -> Registration:
    """Bind the terminal to the vehicle it names and give it its auth code (0x0100 -> 0x8100).

    A terminal registering again for its own vehicle gets its existing code back; the checks run in
    the order the result codes can be acted on: unknown terminal, unknown vehicle, terminal bound to
    another vehicle, vehicle carrying another terminal.
    """
    registration = _register(canonical_terminal_phone(phone), plate, plate_colour)
    if registration.result != RegisterResult.OK:
        log.info("terminal %s: registration refused (%d): %s", phone, registration.result, registration.reason)
        if registration.terminal_pk is not None:
            terminal_activity_record(activity={registration.terminal_pk: TerminalActivity(
                last_error=f"registration refused: {registration.reason}", last_error_at=timezone.now())})
    return registration


def _register(phone: str, plate: str, plate_colour: int) -> Registration:
    with transaction.atomic():
        terminal = Terminal.objects.select_for_update().filter(phone=phone).first()
        if terminal is None:
            return Registration(RegisterResult.TERMINAL_UNKNOWN, reason=f"terminal {phone} is not registered")
        lookup = plate_lookup(plate, plate_colour)
        vehicle = Vehicle.objects.select_for_update().filter(**lookup).first()
        if vehicle is None or vehicle.company_id != terminal.company_id:
            # Another company's vehicle is, for this terminal, not in the database either.
            return Registration(RegisterResult.VEHICLE_UNKNOWN, terminal_pk=terminal.pk,
                                reason=f"no vehicle {next(iter(lookup.values()))!r} for this terminal's company")
        if terminal.vehicle_id is not None and terminal.vehicle_id != vehicle.pk:
            return Registration(RegisterResult.TERMINAL_TAKEN, terminal_pk=terminal.pk,
                                reason=f"terminal is bound to vehicle {terminal.vehicle_id}, not {vehicle.plate}")
        if Terminal.objects.filter(vehicle=vehicle).exclude(pk=terminal.pk).exists():
            return Registration(RegisterResult.VEHICLE_TAKEN, terminal_pk=terminal.pk,
                                reason=f"vehicle {vehicle.plate} carries another terminal")
        changes: dict = {}
        if terminal.vehicle_id is None:
            changes["vehicle"] = vehicle
        if not terminal.auth_code:
            changes["auth_code"] = secrets.token_hex(AUTH_CODE_BYTES).upper()
        if changes:
            for field, value in changes.items():
                setattr(terminal, field, value)
            terminal.save(update_fields=[*changes, "updated_at"])
            audit_record(actor=GATEWAY_ACTOR, action="terminal.register", target=terminal,
                         organisation=terminal.company_id,
                         data={"plate": vehicle.plate, "bound": "vehicle" in changes,
                               "auth_code_issued": "auth_code" in changes})
        return Registration(RegisterResult.OK, auth_code=terminal.auth_code, terminal_pk=terminal.pk,
                            vehicle_id=vehicle.pk)


def terminal_authenticate(*, phone: str, auth_code: str, remote_address: str = "", gateway_id: str = "",
                          imei: str = "", software_version: str = "",
                          at: dt.datetime | None = None) -> Session | None:
    """Check the auth code (0x0102); on success mark terminal and vehicle online and return the
    session, otherwise record the failure on the terminal (when it exists) and return None. A
    2019 terminal also names its IMEI and software version; they are kept when given."""
    phone = canonical_terminal_phone(phone)
    at = at or timezone.now()
    terminal = Terminal.objects.filter(phone=phone).only("pk", "auth_code", "vehicle_id", "terminal_model").first()
    if terminal is None:
        return None
    problem = ""
    if not terminal.auth_code or not secrets.compare_digest(terminal.auth_code.encode(), (auth_code or "").encode()):
        problem = "auth failed: wrong authentication code"
    elif terminal.vehicle_id is None:
        problem = "auth failed: terminal is not bound to a vehicle"
    if problem:
        terminal_activity_record(activity={terminal.pk: TerminalActivity(last_error=problem, last_error_at=at)})
        return None
    with transaction.atomic():
        _ensure_status_rows([terminal.pk])
        identity = {"imei": imei[:15], "software_version": software_version[:20]} if imei or software_version else {}
        TerminalStatus.objects.filter(pk=terminal.pk).update(
            online=True, connected_at=at, last_frame_at=at, remote_address=remote_address[:64],
            gateway_id=gateway_id[:64], **identity)
        live.vehicle_online(vehicle_id=terminal.vehicle_id, at=at)
    return Session(terminal_pk=terminal.pk, phone=phone, vehicle_id=terminal.vehicle_id,
                   terminal_model=terminal.terminal_model, connected_at=at)


def terminals_disconnect(*, sessions: Iterable[Session], at: dt.datetime | None = None,
                         error: str = "") -> None:
    """Mark these sessions' terminals and vehicles offline. A session's disconnect only counts while
    it is still the latest: when the terminal has reconnected meanwhile (here or on another gateway),
    its newer session stays online."""
    at = at or timezone.now()
    with transaction.atomic():
        for session in sessions:
            values = {"online": False, "disconnected_at": at}
            if error:
                values |= {"last_error": error[:MAX_ERROR_LENGTH], "last_error_at": at}
            TerminalStatus.objects.filter(pk=session.terminal_pk, connected_at=session.connected_at).update(**values)
            live.vehicle_offline(vehicle_id=session.vehicle_id, at=at, connected_at=session.connected_at)


@dataclasses.dataclass
class TerminalActivity:
    """What the gateway saw of one terminal since its last flush."""

    vehicle_id: int | None = None
    last_frame_at: dt.datetime | None = None
    reports: int = 0
    bad_checksum: int = 0
    bad_frames: int = 0
    last_error: str = ""
    last_error_at: dt.datetime | None = None

    def error(self, message: str, at: dt.datetime) -> None:
        self.last_error, self.last_error_at = message, at


def terminal_activity_record(*, activity: Mapping[int, TerminalActivity]) -> None:
    """Flush the gateway's batched observations of authenticated terminals (keyed by terminal pk):
    last frame times (never moved backwards), counters added, last errors. A few bulk statements
    however many terminals, so a heartbeat costs no write of its own."""
    if not activity:
        return
    statuses = [_status_change(terminal_pk, seen) for terminal_pk, seen in activity.items()]
    lives = [VehicleLiveState(vehicle_id=seen.vehicle_id, last_frame_at=_later(F("last_frame_at"), seen.last_frame_at))
             for seen in activity.values() if seen.vehicle_id is not None and seen.last_frame_at is not None]
    with transaction.atomic():
        _ensure_status_rows(activity.keys())
        TerminalStatus.objects.bulk_update(statuses, _ACTIVITY_FIELDS, batch_size=BULK_BATCH)
        if lives:
            VehicleLiveState.objects.bulk_update(lives, ["last_frame_at"], batch_size=BULK_BATCH)


def terminal_errors_record(*, errors: Mapping[str, TerminalActivity]) -> None:
    """Record bad frames and last errors seen on connections that were not (yet) authenticated, keyed
    by the phone number their frames carried. Phones of no registry terminal are only logged."""
    if not errors:
        return
    by_phone = {canonical_terminal_phone(phone): seen for phone, seen in errors.items()}
    terminals = dict(Terminal.objects.filter(phone__in=list(by_phone)).values_list("phone", "pk"))
    strangers = sorted(by_phone.keys() - terminals.keys())
    if strangers:  # one line, however many: a scan of the port must not flood the log
        log.info("errors from %d phone number(s) not in the registry, e.g. %s: %s", len(strangers),
                 ", ".join(strangers[:5]), by_phone[strangers[0]].last_error)
    if terminals:
        activity = {terminals[phone]: dataclasses.replace(by_phone[phone], vehicle_id=None)
                    for phone in terminals}
        terminal_activity_record(activity=activity)


_ACTIVITY_FIELDS = ["last_frame_at", "reports", "bad_checksum", "bad_frames", "last_error", "last_error_at"]


def _status_change(terminal_pk: int, seen: TerminalActivity) -> TerminalStatus:
    status = TerminalStatus(terminal_id=terminal_pk)
    status.last_frame_at = _later(F("last_frame_at"), seen.last_frame_at)
    status.reports = F("reports") + seen.reports
    status.bad_checksum = F("bad_checksum") + seen.bad_checksum
    status.bad_frames = F("bad_frames") + seen.bad_frames
    if seen.last_error:
        status.last_error = seen.last_error[:MAX_ERROR_LENGTH]
        status.last_error_at = seen.last_error_at
    else:
        status.last_error = F("last_error")
        status.last_error_at = F("last_error_at")
    return status


def _later(column: F, moment: dt.datetime | None):
    """The later of the column and the moment (a NULL column takes the moment)."""
    if moment is None:
        return column
    value = Value(moment)
    return Greatest(Coalesce(column, value), value)


def _ensure_status_rows(terminal_pks: Iterable[int]) -> None:
    TerminalStatus.objects.bulk_create([TerminalStatus(terminal_id=pk) for pk in terminal_pks],
                                       ignore_conflicts=True, batch_size=BULK_BATCH)
