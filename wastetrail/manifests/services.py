"""Writes for manifests: issue, amend, cancel, depart, arrive, receive, close, redirect, and the
overdue job.

Each service checks who is acting (manifests.policy), locks the manifest's row, checks its state
against TRANSITIONS (a wrong state raises DomainError and changes nothing), checks the input
(ValidationError naming the field), and writes the change and exactly one audit row in one
transaction. ``now`` parameters exist for jobs and tests; doors never pass them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.services import audit_record
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests import policy
from wastetrail.manifests.models import (
    FIELD_PARTY,
    ON_THE_ROAD_STATUSES,
    TRANSITIONS,
    VEHICLE_BUSY_STATUSES,
    DisposalMethod,
    Manifest,
    ManifestNumberCounter,
    ManifestSignature,
    ManifestSource,
    ManifestStatus,
    SignatureStep,
    manifest_number,
)
from wastetrail.manifests.rules import CENT, Receipt, decimal_field, receipt_from, to_m3, to_t
from wastetrail.manifests.signals import collection_manifest_closed, collection_manifest_redirected
from wastetrail.permits.models import ApprovalKind
from wastetrail.permits.selectors import valid_approval_ids
from wastetrail.plans.selectors import filed_plan_for, plan_streams_allowing
from wastetrail.registry.models import (
    Driver,
    Project,
    ReceivingSite,
    SiteStatus,
    Terminal,
    Vehicle,
    VehicleStatus,
)

# Used when the emitter gives no expected arrival.
DEFAULT_TRIP_DURATION = dt.timedelta(hours=4)
# What the transporter may still change before it signs (the driver changes shift; a road is shut).
AMENDABLE_FIELDS = ("driver", "route")


def _status_label(status: str) -> str:
    return str(ManifestStatus(status).label)


def _refusal(step: str) -> str:
    # Looked up at call time so that the message is in the request's language.
    return {
        "cancel": _("Only an issued manifest can be cancelled; this one is %(status)s."),
        "depart": _("Only an issued manifest can depart; this one is %(status)s."),
        "arrive": _("Only a departed manifest can arrive; this one is %(status)s."),
        "receive": _("Only an arrived manifest can be received; this one is %(status)s."),
        "close": _("Only a received manifest can be closed; this one is %(status)s."),
        "redirect": _("Only a refused or partially refused load can be redirected; this one is %(status)s."),
        "amend": _("Only an issued manifest can be amended; this one is %(status)s."),
    }[step]


def lock_manifest(manifest: Manifest) -> Manifest:
    return Manifest.objects.select_for_update().select_related("driver").get(pk=manifest.pk)


# What the lifecycle steps (depart, arrive, receive, close) read of the locked row: the state,
# the parties and the keys. The other columns stay deferred and load if read: the API and the
# pages read the manifest again after a step.
_STEP_FIELDS = ("number", "status", "source", "parent", "emitter", "project", "category", "carrier", "vehicle",
                "driver", "receiver", "site", "issued_at", "is_overdue")


def _db() -> Any:
    """This thread's connection itself: django.db.connection is a proxy that looks it up again on
    every attribute read, which the lean statements below would otherwise do dozens of times."""
    return connections[DEFAULT_DB_ALIAS]


def _table(model: Any) -> str:
    return _db().ops.quote_name(model._meta.db_table)


def _columns(model: Any, names: Any) -> str:
    quote = _db().ops.quote_name
    return ", ".join(quote(model._meta.get_field(name).column) for name in names)


@cache
def _lock_sql(vendor: str, driver: bool, density: bool) -> str:
    quote = _db().ops.quote_name
    select = ["m.id", *(f"m.{quote(Manifest._meta.get_field(name).column)}" for name in _STEP_FIELDS)]
    joins = []
    if driver:
        select.append("d.user_id AS driver_account")
        joins.append(f"JOIN {_table(Driver)} d ON d.id = m.driver_id")
    if density:
        select.append("c.density_t_per_m3 AS category_density")
        joins.append(f"JOIN {_table(WasteCategory)} c ON c.id = m.category_id")
    lock = " FOR UPDATE OF m" if _db().features.has_select_for_update_of else ""
    return f"SELECT {', '.join(select)} FROM {_table(Manifest)} m {' '.join(joins)} WHERE m.id = %s{lock}"


def _lock_for_step(manifest: Manifest, *, driver: bool = False, density: bool = False) -> Manifest:
    """The manifest's row, locked until the transaction ends (only its row: FOR UPDATE OF), with
    _STEP_FIELDS; with ``driver``, its driver's account (who may depart), with ``density``, its
    category's density (the receipt's volume), each as a related object with that one field.

    Plain SQL through a raw queryset (fields converted as the ORM converts them): every step of
    every load takes this lock, and the ORM spent most of its time building the query."""
    db = _db()
    locked = _one(Manifest.objects.raw(_lock_sql(db.vendor, driver, density), [manifest.pk]), Manifest)
    if driver:
        locked.driver = Driver.from_db(db.alias, ["id", "user_id"], [locked.driver_id, locked.driver_account])
    if density:
        locked.category = WasteCategory.from_db(db.alias, ["id", "density_t_per_m3"], [
            locked.category_id, _converted(WasteCategory, "density_t_per_m3", "c", locked.category_density)])
    return locked


def _converted(model: Any, name: str, alias: str, value: Any) -> Any:
    """A raw column's value as the ORM gives it (SQLite returns decimals as floats)."""
    db, field = _db(), model._meta.get_field(name)
    column = field.get_col(alias)
    for converter in [*db.ops.get_db_converters(column), *field.get_db_converters(db)]:
        value = converter(value, column, db)
    return value


# Writes of the lifecycle's rows (the manifest's insert and its step updates, the signatures)
# are plain SQL with each value prepared by its field, as the ORM prepares it (auto_now
# included): the ORM's save machinery took about twice as long as the statements themselves.
def _prepared(db: Any, instance: Any, fields: list[Any], adding: bool = False) -> list[Any]:
    return [field.get_db_prep_save(field.pre_save(instance, adding), db) for field in fields]


@cache
def _update_sql(vendor: str, names: tuple[str, ...]) -> tuple[str, list[Any]]:
    quote = _db().ops.quote_name
    fields = [Manifest._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return f"UPDATE {_table(Manifest)} SET {assignments} WHERE id = %s", fields


def _write(manifest: Manifest, **changes: Any) -> None:
    """Set the fields on the locked manifest and write them, with updated_at, in one UPDATE."""
    changes["updated_at"] = timezone.now()
    for field, value in changes.items():
        setattr(manifest, field, value)
    db = _db()
    sql, fields = _update_sql(db.vendor, tuple(changes))
    with db.cursor() as cursor:
        cursor.execute(sql, [*_prepared(db, manifest, fields), manifest.pk])


@cache
def _insert_sql(vendor: str, model: Any) -> tuple[str, list[Any]]:
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return (f"INSERT INTO {_table(model)} ({_columns(model, [field.name for field in fields])}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id"), fields


def _insert(instance: Any) -> None:
    """INSERT a new instance (every concrete field but the id) and give it its id."""
    db = _db()
    sql, fields = _insert_sql(db.vendor, type(instance))
    with db.cursor() as cursor:
        cursor.execute(sql, _prepared(db, instance, fields, adding=True))
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, db.alias


def _check_state(locked: Manifest, step: str) -> None:
    if locked.status not in TRANSITIONS[step]:
        raise DomainError(_refusal(step) % {"status": _status_label(locked.status)}, code="wrong_state")


def save_fields(manifest: Manifest, fields: list[str]) -> None:
    manifest.save(update_fields=[*fields, "updated_at"])


def _position(lon: Any, lat: Any) -> tuple[int | None, int | None]:
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        lon_d, lat_d = Decimal(str(lon)), Decimal(str(lat))
    except (InvalidOperation, ValueError):
        raise ValidationError({"lon": _("Give both longitude and latitude as numbers.")}) from None
    if not (lon_d.is_finite() and lat_d.is_finite() and -180 <= lon_d <= 180 and -90 <= lat_d <= 90):
        raise ValidationError({"lon": _("The position is not on Earth.")})
    return int(lon_d * 1_000_000), int(lat_d * 1_000_000)


def _sign(manifest: Manifest, step: str, actor: Actor, organisation_id: int, at: dt.datetime,
          position: tuple[int | None, int | None]) -> ManifestSignature:
    signature = ManifestSignature(manifest=manifest, step=step, signed_by=actor.user, organisation_id=organisation_id,
                                  signed_at=at, lon_e6=position[0], lat_e6=position[1])
    _insert(signature)
    return signature


def _signature_data(signature: ManifestSignature) -> dict[str, Any]:
    return {"step": signature.step, "signed_by": signature.signed_by_id,
            "organisation": signature.organisation_id, "lon_e6": signature.lon_e6, "lat_e6": signature.lat_e6}


def signed_steps(manifest: Manifest) -> set[str]:
    return set(manifest.signatures.values_list("step", flat=True))


def locked_fields(manifest: Manifest) -> set[str]:
    """The fields no longer changeable: those of every party that has signed."""
    steps = signed_steps(manifest)
    return {field for field, party in FIELD_PARTY.items() if party in steps}


# --- issuing --------------------------------------------------------------------------------
def _next_number(day: dt.date) -> str:
    # One statement takes the day's next serial and holds the counter's row until commit, also
    # for the day's first number (two first issues at once: one inserts, the other increments).
    db, table = _db(), _table(ManifestNumberCounter)
    with db.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (day, last) VALUES (%s, 1) ON CONFLICT (day) "
                       f"DO UPDATE SET last = {table}.last + 1 RETURNING last", [db.ops.adapt_datefield_value(day)])
        (serial,) = cursor.fetchone()
    return manifest_number(day, serial)


def estimates_from(estimated_m3: Any, estimated_t: Any, category: WasteCategory) -> tuple[Decimal, Decimal]:
    m3 = decimal_field(estimated_m3, "estimated_m3")
    t = decimal_field(estimated_t, "estimated_t")
    if m3 is None and t is None:
        raise ValidationError({"estimated_m3": _("Give the estimated quantity in m³ or t.")})
    if m3 is not None and m3 <= 0:
        raise ValidationError({"estimated_m3": _("The quantity must be more than zero.")})
    if t is not None and t <= 0:
        raise ValidationError({"estimated_t": _("The quantity must be more than zero.")})
    density = category.density_t_per_m3
    if m3 is None:
        m3 = max(to_m3(t, "t", density), CENT)
    if t is None:
        t = max(to_t(m3, "m3", density), CENT)
    return m3, t


def _check_input(project, category, vehicle, driver, site) -> None:
    errors: dict[str, str] = {}
    for field, value in (("project", project), ("category", category), ("vehicle", vehicle),
                         ("driver", driver), ("site", site)):
        if value is None:
            errors[field] = _("This field is required.")
    if errors:
        raise ValidationError(errors)


# The reads of issuing are plain SQL: every load asks them, and the ORM spent ten times the
# database's time building the subqueries. Raw querysets still give model instances with their
# fields converted; the subqueries' answers come as extra attributes.
def _one(raw: Any, model: Any) -> Any:
    found = next(iter(raw), None)
    if found is None:
        raise model.DoesNotExist(f"{model.__name__} matching query does not exist.")
    return found


def _vehicle_for_issue(vehicle_id: int, driver_id: int, exclude_parent: Manifest | None) -> Vehicle:
    """The vehicle, locked (this serialises two issues for one truck), with what the checks ask
    of it in the same query: whether a terminal is bound to it, the number of the open manifest
    it carries (if any; the index on (vehicle, status) answers it) and whether the driver is an
    active driver of its company."""
    busy_params: list[Any] = [str(status) for status in VEHICLE_BUSY_STATUSES]
    other_than_parent = ""
    if exclude_parent is not None:
        other_than_parent, busy_params = " AND m.id <> %s", [*busy_params, exclude_parent.pk]
    lock = " FOR UPDATE" if _db().features.has_select_for_update else ""
    vehicle = _one(Vehicle.objects.raw(
        "SELECT v.id, v.plate, v.company_id, v.status, v.sealed_body_certified, "
        f"EXISTS (SELECT 1 FROM {_table(Terminal)} t WHERE t.vehicle_id = v.id) AS has_terminal, "
        f"(SELECT m.number FROM {_table(Manifest)} m WHERE m.vehicle_id = v.id "
        f"AND m.status IN ({', '.join(['%s'] * len(VEHICLE_BUSY_STATUSES))}){other_than_parent} LIMIT 1) "
        "AS open_number, "
        f"EXISTS (SELECT 1 FROM {_table(Driver)} d WHERE d.id = %s AND d.company_id = v.company_id "
        "AND d.is_active = %s) AS driver_of_carrier "
        f"FROM {_table(Vehicle)} v WHERE v.id = %s{lock}",
        [*busy_params, driver_id, True, vehicle_id]), Vehicle)
    vehicle.has_terminal, vehicle.driver_of_carrier = bool(vehicle.has_terminal), bool(vehicle.driver_of_carrier)
    return vehicle


def _site_for_issue(site_id: int, category: WasteCategory) -> ReceivingSite:
    """What the checks ask of the site, and whether it accepts the category, in one query."""
    site = _one(ReceivingSite.objects.raw(
        "SELECT s.id, s.name, s.status, s.operator_id, s.capacity_m3, s.used_capacity_m3, "
        f"EXISTS (SELECT 1 FROM {_table(ReceivingSite.accepted_categories.through)} a "
        "WHERE a.receivingsite_id = s.id AND a.wastecategory_id = %s) AS accepts_category "
        f"FROM {_table(ReceivingSite)} s WHERE s.id = %s", [category.pk, site_id]), ReceivingSite)
    site.accepts_category = bool(site.accepts_category)
    return site


def _project_for_issue(project_id: int) -> tuple[int, str]:
    """The project's construction unit and the emitting address (the project's, else the unit's)."""
    with _db().cursor() as cursor:
        cursor.execute(f"SELECT p.construction_unit_id, p.address, o.address FROM {_table(Project)} p "
                       f"JOIN {_table(Organisation)} o ON o.id = p.construction_unit_id WHERE p.id = %s",
                       [project_id])
        row = cursor.fetchone()
    if row is None:
        raise Project.DoesNotExist("Project matching query does not exist.")
    return row[0], row[1] or row[2]


def _issuing_checks(*, project_id: int | None, construction_unit_id: int, category: WasteCategory,
                    vehicle: Vehicle, site: ReceivingSite, estimated_m3: Decimal,
                    departure: dt.datetime) -> dict[str, Any]:
    """Everything the rulebook asks before a load may leave; the first failure is raised as a
    DomainError with a code naming it. ``vehicle`` and ``site`` come from _vehicle_for_issue and
    _site_for_issue. Returns the plan (its id), route and approvals (their ids) in force.

    ``project_id`` None: a stacking point's collection. Residents' decoration waste needs no
    handling plan and no emission approval (Art. 15), so those two checks are skipped; every
    check of the vehicle, carrier and site still applies."""
    local = timezone.localtime(departure)
    on, at = local.date(), local.time()
    carrier_id = vehicle.company_id
    collection = project_id is None

    streams = [] if collection else plan_streams_allowing(project_id, category, on=on, at=at, site=site.pk,
                                                          carrier=carrier_id)
    # A stream that allows the load is the filed plan's (one filed plan per project, a constraint),
    # so the whole plan is read only when none does, to tell "no filed plan" from "outside it".
    if not collection and not streams and filed_plan_for(project_id) is None:
        raise DomainError(_("The project has no filed handling plan: file one before issuing manifests."),
                          code="no_filed_plan")
    # The approvals in one query; each is reported in its turn below.
    wanted = {
        ApprovalKind.TRANSPORT: {"holder": carrier_id, "category": category, "vehicle": vehicle.pk,
                                 "site": site.pk},
        ApprovalKind.DISPOSAL: {"holder": site.operator_id, "category": category, "site": site.pk},
    }
    if not collection:
        wanted[ApprovalKind.EMISSION] = {"holder": construction_unit_id, "category": category,
                                         "project": project_id, "site": site.pk}
    approvals = valid_approval_ids(on, wanted)
    if not collection and approvals[ApprovalKind.EMISSION] is None:
        raise DomainError(_("No valid emission approval covers %(category)s from this project to this "
                            "site on %(date)s.") % {"category": category, "date": on.isoformat()},
                          code="no_emission_approval")
    if vehicle.status != VehicleStatus.ACTIVE:
        raise DomainError(_("Vehicle %(plate)s is not in service.") % {"plate": vehicle.plate},
                          code="vehicle_not_in_service")
    if not vehicle.sealed_body_certified:
        raise DomainError(_("Vehicle %(plate)s is not certified as sealed (GD air pollution regulation, "
                            "Art. 56).") % {"plate": vehicle.plate}, code="vehicle_not_sealed")
    if not vehicle.has_terminal:
        raise DomainError(_("Vehicle %(plate)s has no registered positioning terminal (GD air pollution "
                            "regulation, Art. 56).") % {"plate": vehicle.plate}, code="no_terminal")
    if not vehicle.driver_of_carrier:
        raise DomainError(_("The driver is not an active driver of the vehicle's transport company."),
                          code="driver_not_of_carrier")
    if approvals[ApprovalKind.TRANSPORT] is None:
        raise DomainError(_("The transport company has no valid transport approval covering vehicle "
                            "%(plate)s for %(category)s on %(date)s.") % {
            "plate": vehicle.plate, "category": category, "date": on.isoformat()},
            code="no_transport_approval")
    if approvals[ApprovalKind.DISPOSAL] is None:
        raise DomainError(_("%(site)s has no valid disposal approval for %(category)s on %(date)s.") % {
            "site": site.name, "category": category, "date": on.isoformat()}, code="no_disposal_approval")
    if not site.accepts_category:
        raise DomainError(_("%(site)s does not accept %(category)s.") % {"site": site.name, "category": category},
                          code="site_refuses_category")
    if site.status != SiteStatus.OPEN:
        raise DomainError(_("%(site)s is not open for deliveries.") % {"site": site.name}, code="site_not_open")
    remaining = site.remaining_capacity_m3
    if remaining is not None and remaining < estimated_m3:
        raise DomainError(_("%(site)s has %(left)s m³ of capacity left, less than this load's %(load)s m³.") % {
            "site": site.name, "left": remaining, "load": estimated_m3}, code="site_full")
    if not collection and not streams:
        raise DomainError(_("The filed plan does not let %(category)s leave for %(site)s with this carrier at "
                            "%(when)s.") % {"category": category, "site": site.name,
                                            "when": local.strftime("%Y-%m-%d %H:%M")},
                          code="outside_plan")
    if vehicle.open_number:
        raise _vehicle_busy(vehicle.plate, vehicle.open_number)
    return {"plan_id": streams[0].plan_id if streams else None, "emission": approvals.get(ApprovalKind.EMISSION),
            "transport": approvals[ApprovalKind.TRANSPORT], "disposal": approvals[ApprovalKind.DISPOSAL],
            "route": streams[0].route if streams else ""}


def _vehicle_busy(plate: str, number: str) -> DomainError:
    return DomainError(_("Vehicle %(plate)s already carries open manifest %(number)s.") % {
        "plate": plate, "number": number}, code="vehicle_busy")


@contextmanager
def _busy_vehicle_refused(vehicle_id: int, exclude_parent_id: int | None = None) -> Iterator[None]:
    """Around an issuing transaction: the partial unique index is the last word on "one open
    manifest per vehicle" (two issues for one truck that both passed the check, because the
    second one's check read the database before the first committed); its IntegrityError is
    reported as the check reports it. Translated here, after the transaction is rolled back, so
    the insert needs no savepoint of its own."""
    try:
        yield
    except IntegrityError:
        busy = Manifest.objects.filter(vehicle_id=vehicle_id, status__in=VEHICLE_BUSY_STATUSES)
        if exclude_parent_id is not None:
            busy = busy.exclude(pk=exclude_parent_id)
        found = busy.values_list("vehicle__plate", "number").first()
        if found:
            raise _vehicle_busy(*found) from None
        raise


def _issue(
    *,
    actor: Actor,
    project: Project | None,
    category: WasteCategory,
    vehicle: Vehicle,
    driver: Driver,
    site: ReceivingSite,
    estimated_m3: Any,
    estimated_t: Any,
    disposal_method: str | None,
    route: str,
    planned_departure_at: dt.datetime | None,
    expected_arrival_at: dt.datetime | None,
    lon: Any,
    lat: Any,
    now: dt.datetime | None,
    parent: Manifest | None,
    action: str,
    origin: tuple[int, str] | None = None,
) -> Manifest:
    """``project`` None: a collection, emitted by ``origin`` = (emitter id, emitter address)."""
    now = now or timezone.now()
    departure = planned_departure_at or now
    arrival = expected_arrival_at or departure + DEFAULT_TRIP_DURATION
    if arrival <= departure:
        raise ValidationError({"expected_arrival_at": _("The expected arrival must be after the departure.")})
    method = disposal_method or site.kind
    if method not in DisposalMethod.values:
        raise ValidationError({"disposal_method": _("Choose a disposal method.")})
    m3, t = estimates_from(estimated_m3, estimated_t, category)
    position = _position(lon, lat)
    # Fresh facts for the checks, read narrowly (the manifest keeps the caller's objects, which
    # name the same rows); the vehicle's row is locked first.
    locked_vehicle = _vehicle_for_issue(vehicle.pk, driver.pk, parent)
    fresh_site = _site_for_issue(site.pk, category)
    construction_unit_id, emitter_address = _project_for_issue(project.pk) if project is not None else origin
    found = _issuing_checks(project_id=project.pk if project is not None else None,
                            construction_unit_id=construction_unit_id, category=category,
                            vehicle=locked_vehicle, site=fresh_site, estimated_m3=m3, departure=departure)
    # A second open manifest for the vehicle that slipped past the check fails on the partial
    # unique index: the caller's _busy_vehicle_refused reports it after the rollback.
    manifest = Manifest(
        number=_next_number(timezone.localdate(now)), status=ManifestStatus.ISSUED, parent=parent,
        source=ManifestSource.PROJECT if project is not None else ManifestSource.COLLECTION,
        plan_id=found["plan_id"], emitter_id=construction_unit_id, project=project,
        emitter_address=emitter_address, category=category,
        estimated_m3=m3, estimated_t=t, carrier_id=locked_vehicle.company_id, vehicle=vehicle, driver=driver,
        route=(route or "").strip() or found["route"], planned_departure_at=departure,
        expected_arrival_at=arrival, receiver_id=fresh_site.operator_id, site=site, disposal_method=method,
        emission_approval_id=found["emission"], transport_approval_id=found["transport"],
        disposal_approval_id=found["disposal"], issued_at=now, issued_by=actor.user,
    )
    _insert(manifest)
    signature = _sign(manifest, SignatureStep.EMITTER, actor, construction_unit_id, now, position)
    audit_record(actor=actor.user, action=action, target=manifest, organisation=construction_unit_id,
                 data={"number": manifest.number, "status": manifest.status, "parent": manifest.parent_id,
                       "project": project.pk if project is not None else None,
                       "category": category.code, "estimated_m3": m3, "estimated_t": t,
                       "vehicle": locked_vehicle.plate, "driver": driver.pk, "site": site.pk,
                       "plan": found["plan_id"], "approvals": [found["emission"], found["transport"],
                                                               found["disposal"]],
                       "planned_departure_at": departure, "expected_arrival_at": arrival,
                       "signature": _signature_data(signature)})
    return manifest


def manifest_issue(
    *,
    actor: Actor,
    project: Project | None,
    category: WasteCategory | None,
    vehicle: Vehicle | None,
    driver: Driver | None,
    site: ReceivingSite | None,
    estimated_m3: Any = None,
    estimated_t: Any = None,
    disposal_method: str | None = None,
    route: str = "",
    planned_departure_at: dt.datetime | None = None,
    expected_arrival_at: dt.datetime | None = None,
    lon: Any = None,
    lat: Any = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """The emitting unit issues a manifest for one load and signs it (its fields lock now).

    Refused (DomainError with a code) unless: a filed plan; a valid emission approval; the
    carrier's transport approval covering the vehicle; the vehicle sealed with a terminal; the
    site approved for the category, accepting it, open and with capacity for the estimate; the
    plan's stream allows this category, site and carrier at the planned departure; and the
    vehicle carries no other open manifest (also a partial unique index)."""
    _check_input(project, category, vehicle, driver, site)
    actor.require(policy.can_issue_for(actor, project.construction_unit_id))
    with _busy_vehicle_refused(vehicle.pk), transaction.atomic():
        return _issue(actor=actor, project=project, category=category, vehicle=vehicle, driver=driver, site=site,
                      estimated_m3=estimated_m3, estimated_t=estimated_t, disposal_method=disposal_method,
                      route=route, planned_departure_at=planned_departure_at,
                      expected_arrival_at=expected_arrival_at, lon=lon, lat=lat, now=now, parent=None,
                      action="manifest.issue")


def manifest_issue_collection(
    *,
    actor: Actor,
    collection: Any,
    vehicle: Vehicle | None,
    driver: Driver | None,
    site: ReceivingSite | None,
    category: WasteCategory,
    estimated_m3: Any = None,
    estimated_t: Any = None,
    disposal_method: str | None = None,
    route: str = "",
    planned_departure_at: dt.datetime | None = None,
    expected_arrival_at: dt.datetime | None = None,
    lon: Any = None,
    lat: Any = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """The stacking point's manager issues the manifest of a collection (stacking.CollectionRequest,
    read by attribute so that this app does not import stacking): emitter = the point's manager,
    emitting address = the point's address, carrier = the collection's. Every issuing check of
    the vehicle, driver, transport and disposal approvals and site applies; the handling plan
    and emission approval do not (residents' decoration waste has neither, Art. 15). The caller
    (stacking.services.collection_issue_manifest) checks the collection's state and links it."""
    errors = {field: _("This field is required.") for field, value in
              (("vehicle", vehicle), ("driver", driver), ("site", site)) if value is None}
    if errors:
        raise ValidationError(errors)
    point = collection.point
    actor.require(policy.can_issue_for(actor, point.manager_id))
    if vehicle.company_id != collection.carrier_id:
        raise ValidationError({"vehicle": _("Choose a vehicle of the transport company that accepted the "
                                            "collection.")})
    with _busy_vehicle_refused(vehicle.pk), transaction.atomic():
        return _issue(actor=actor, project=None, category=category, vehicle=vehicle, driver=driver, site=site,
                      estimated_m3=estimated_m3, estimated_t=estimated_t, disposal_method=disposal_method,
                      route=route, planned_departure_at=planned_departure_at,
                      expected_arrival_at=expected_arrival_at, lon=lon, lat=lat, now=now, parent=None,
                      action="manifest.issue_collection", origin=(point.manager_id, point.address))


def manifest_amend(*, actor: Actor, manifest: Manifest, changes: dict[str, Any]) -> Manifest:
    """The transport unit changes its own unsigned fields (driver, route) before departure.
    A signed party's field is locked (DomainError ``field_locked``)."""
    if not changes:
        raise ValidationError({"changes": _("Nothing to change.")})
    with transaction.atomic():
        locked = lock_manifest(manifest)
        actor.require(actor.is_staff_of(locked.carrier_id))
        _check_state(locked, "amend")
        frozen = locked_fields(locked)
        for field in changes:
            if field not in FIELD_PARTY:
                raise ValidationError({field: _("Unknown field.")})
            if field in frozen:
                raise DomainError(_("%(field)s is locked: its party has signed.") % {"field": field},
                                  code="field_locked")
            if field not in AMENDABLE_FIELDS:
                raise ValidationError({field: _("This field cannot be changed here.")})
        before = {field: getattr(locked, f"{field}_id" if field == "driver" else field) for field in changes}
        if "driver" in changes:
            driver = changes["driver"]
            if driver is None or driver.company_id != locked.carrier_id or not driver.is_active:
                raise ValidationError({"driver": _("Choose an active driver of the transport company.")})
            locked.driver = driver
        if "route" in changes:
            locked.route = (changes["route"] or "").strip()
        save_fields(locked, list(changes))
        after = {field: getattr(locked, f"{field}_id" if field == "driver" else field) for field in changes}
        audit_record(actor=actor.user, action="manifest.amend", target=locked, organisation=locked.carrier_id,
                     data={"before": before, "after": after})
    return locked


def manifest_cancel(*, actor: Actor, manifest: Manifest, reason: str, now: dt.datetime | None = None) -> Manifest:
    """The emitting unit cancels a load that has not left."""
    text = (reason or "").strip()
    with transaction.atomic():
        locked = lock_manifest(manifest)
        actor.require(policy.can_issue_for(actor, locked.emitter_id))
        _check_state(locked, "cancel")
        if not text:
            raise ValidationError({"reason": _("Give a reason.")})
        if locked.parent_id and locked.parent.status == ManifestStatus.CLOSED:
            # The refusing site closed the first manifest because this one carries its refused
            # part on; a closed manifest cannot be redirected again, so cancelling this one would
            # leave that quantity with no destination.
            raise DomainError(_("This manifest carries the refused part of closed manifest %(number)s on and "
                                "cannot be cancelled; change its driver or route instead.") % {
                "number": locked.parent.number}, code="carries_closed_refusal")
        locked.status = ManifestStatus.CANCELLED
        locked.cancelled_at, locked.cancellation_reason = now or timezone.now(), text
        save_fields(locked, ["status", "cancelled_at", "cancellation_reason"])
        audit_record(actor=actor.user, action="manifest.cancel", target=locked, organisation=locked.emitter_id,
                     data={"status": locked.status, "reason": text})
    return locked


def manifest_depart(*, actor: Actor, manifest: Manifest, lon: Any = None, lat: Any = None,
                    now: dt.datetime | None = None) -> Manifest:
    """The truck leaves: the transport unit's staff or the assigned driver signs."""
    position = _position(lon, lat)
    with transaction.atomic():
        locked = _lock_for_step(manifest, driver=True)
        actor.require(policy.can_depart(actor, locked))
        _check_state(locked, "depart")
        now = now or timezone.now()
        _write(locked, status=ManifestStatus.DEPARTED, departed_at=now)
        signature = _sign(locked, SignatureStep.TRANSPORTER, actor, locked.carrier_id, now, position)
        audit_record(actor=actor.user, action="manifest.depart", target=locked, organisation=locked.carrier_id,
                     data={"status": locked.status, "signature": _signature_data(signature)})
    return locked


def manifest_arrive(*, actor: Actor, manifest: Manifest, now: dt.datetime | None = None) -> Manifest:
    """The receiving site records the truck at its gate."""
    with transaction.atomic():
        locked = _lock_for_step(manifest)
        actor.require(policy.can_receive(actor, locked))
        _check_state(locked, "arrive")
        _write(locked, status=ManifestStatus.ARRIVED, arrived_at=now or timezone.now())
        audit_record(actor=actor.user, action="manifest.arrive", target=locked, organisation=locked.receiver_id,
                     data={"status": locked.status, "overdue": locked.is_overdue})
    return locked


def manifest_receive(
    *,
    actor: Actor,
    manifest: Manifest,
    outcome: str,
    gross_t: Any = None,
    tare_t: Any = None,
    volume_m3: Any = None,
    refused_quantity: Any = None,
    reason: str = "",
    lon: Any = None,
    lat: Any = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """The receiving site weighs (or measures) the load and accepts, partially refuses or refuses
    it (rules in manifests.rules), and signs. An accepted quantity fills the site's capacity."""
    position = _position(lon, lat)
    with transaction.atomic():
        locked = _lock_for_step(manifest, density=True)
        actor.require(policy.can_receive(actor, locked))
        _check_state(locked, "receive")
        receipt: Receipt = receipt_from(outcome=outcome, gross_t=gross_t, tare_t=tare_t, volume_m3=volume_m3,
                                        refused=refused_quantity, reason=reason)
        now = now or timezone.now()
        accepted_m3 = to_m3(receipt.accepted, receipt.unit, locked.category.density_t_per_m3)
        _write(locked, status=receipt.outcome, received_at=now, gross_t=receipt.gross_t, tare_t=receipt.tare_t,
               net_t=receipt.net_t, received_m3=receipt.received_m3, quantity_unit=receipt.unit,
               received_quantity=receipt.received, accepted_quantity=receipt.accepted,
               refused_quantity=receipt.refused, refusal_reason=receipt.reason, accepted_m3=accepted_m3)
        if accepted_m3 > 0:
            # One UPDATE adds to the used capacity under the row's lock (two receipts at once
            # both count); the check constraint site_used_within_capacity still caps it.
            db = _db()
            used, updated = (ReceivingSite._meta.get_field(name) for name in ("used_capacity_m3", "updated_at"))
            used_column, updated_column = db.ops.quote_name(used.column), db.ops.quote_name(updated.column)
            with db.cursor() as cursor:
                cursor.execute(f"UPDATE {_table(ReceivingSite)} SET {used_column} = {used_column} + %s, "
                               f"{updated_column} = %s WHERE id = %s",
                               [used.get_db_prep_save(accepted_m3, db), updated.get_db_prep_save(timezone.now(), db),
                                locked.site_id])
        signature = _sign(locked, SignatureStep.RECEIVER, actor, locked.receiver_id, now, position)
        audit_record(actor=actor.user, action="manifest.receive", target=locked, organisation=locked.receiver_id,
                     data={"status": locked.status, "unit": receipt.unit, "gross_t": receipt.gross_t,
                           "tare_t": receipt.tare_t, "net_t": receipt.net_t, "received_m3": receipt.received_m3,
                           "received": receipt.received, "accepted": receipt.accepted,
                           "refused": receipt.refused, "reason": receipt.reason, "accepted_m3": accepted_m3,
                           "signature": _signature_data(signature)})
    return locked


def manifest_close(*, actor: Actor, manifest: Manifest, now: dt.datetime | None = None) -> Manifest:
    """The receiving site closes a received manifest. A refused or partially refused one needs
    its refused quantity sent on first (a live redirect manifest)."""
    with transaction.atomic():
        locked = _lock_for_step(manifest)
        actor.require(policy.can_receive(actor, locked))
        _check_state(locked, "close")
        if locked.status != ManifestStatus.ACCEPTED and not live_redirect(locked):
            raise DomainError(_("The refused load needs a new destination: the emitting unit redirects it "
                                "before this manifest can be closed."), code="needs_new_destination")
        _write(locked, status=ManifestStatus.CLOSED, closed_at=now or timezone.now())
        audit_record(actor=actor.user, action="manifest.close", target=locked, organisation=locked.receiver_id,
                     data={"status": locked.status})
        if locked.source == ManifestSource.COLLECTION:
            # The stacking app finishes its collection in this transaction (its receiver);
            # a project's load sends nothing, so the hot path is unchanged.
            collection_manifest_closed.send(sender=Manifest, manifest=locked, actor=actor)
    return locked


def live_redirect(manifest: Manifest) -> Manifest | None:
    return manifest.redirects.exclude(status=ManifestStatus.CANCELLED).first()


def manifest_redirect(
    *,
    actor: Actor,
    manifest: Manifest,
    site: ReceivingSite | None,
    disposal_method: str | None = None,
    route: str = "",
    expected_arrival_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """The emitting unit sends a refused quantity to another site: a new manifest (``parent`` =
    the refused one) for the refused quantity, same truck and driver, through every issuing check."""
    if site is None:
        raise ValidationError({"site": _("This field is required.")})
    with _busy_vehicle_refused(manifest.vehicle_id, exclude_parent_id=manifest.pk), transaction.atomic():
        locked = lock_manifest(manifest)
        actor.require(policy.can_issue_for(actor, locked.emitter_id))
        _check_state(locked, "redirect")
        existing = live_redirect(locked)
        if existing is not None:
            raise DomainError(_("The refused load is already redirected under %(number)s.") % {
                "number": existing.number}, code="already_redirected")
        if site.pk == locked.site_id:
            raise ValidationError({"site": _("Choose another receiving site than the one that refused the load.")})
        density = locked.category.density_t_per_m3
        quantity_m3 = to_m3(locked.refused_quantity, locked.quantity_unit, density)
        quantity_t = to_t(locked.refused_quantity, locked.quantity_unit, density)
        redirect = _issue(actor=actor, project=locked.project, category=locked.category, vehicle=locked.vehicle,
                          driver=locked.driver, site=site, estimated_m3=max(quantity_m3, CENT),
                          estimated_t=max(quantity_t, CENT), disposal_method=disposal_method, route=route,
                          planned_departure_at=now, expected_arrival_at=expected_arrival_at, lon=None, lat=None,
                          now=now, parent=locked, action="manifest.redirect",
                          origin=(locked.emitter_id, locked.emitter_address))
        if locked.source == ManifestSource.COLLECTION:
            # The redirect has no collection of its own: stacking links it to the collection's trail.
            collection_manifest_redirected.send(sender=Manifest, manifest=redirect, parent=locked)
        return redirect


# --- the overdue job ------------------------------------------------------------------------
def manifests_mark_overdue(*, now: dt.datetime | None = None) -> list[Manifest]:
    """Flag every manifest still on the road (issued or departed) after its expected arrival.

    Each is flagged with a conditional UPDATE in its own transaction, so an arrival at the same
    moment wins or loses cleanly, and a rerun flags nothing twice."""
    now = now or timezone.now()
    candidates = list(Manifest.objects.filter(status__in=ON_THE_ROAD_STATUSES, is_overdue=False,
                                              expected_arrival_at__lt=now)
                      .values_list("pk", "carrier_id", "expected_arrival_at"))
    flagged: list[int] = []
    for pk, carrier_id, expected in candidates:
        with transaction.atomic():
            changed = Manifest.objects.filter(pk=pk, status__in=ON_THE_ROAD_STATUSES, is_overdue=False,
                                              expected_arrival_at__lt=now).update(
                is_overdue=True, overdue_at=now, updated_at=timezone.now())
            if changed:
                audit_record(actor=None, action="manifest.overdue", object_type="manifests.manifest",
                             object_id=str(pk), organisation=carrier_id,
                             data={"expected_arrival_at": expected, "now": now})
                flagged.append(pk)
    return list(Manifest.objects.filter(pk__in=flagged).order_by("pk"))
