"""Writes for projects, receiving sites, vehicles, terminals and drivers.

Each service checks permission (registry.policy), validates everything before it writes, runs in
one transaction and appends one audit row. Bad input raises ValidationError({field: message})
and changes nothing: any error inside the transaction rolls it back, audit row included.
Foreign keys are passed as model instances; the API and the forms resolve ids first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Membership, Organisation, OrganisationKind, User
from wastetrail.accounts.policy import Actor
from wastetrail.accounts.selectors import organisations_choosable
from wastetrail.core.audit.services import audit_record
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.rulebook.quantities import category_from, quantities_by_category
from wastetrail.core.validators import mask_id_number, mask_phone
from wastetrail.registry import policy
from wastetrail.registry.geometry import locate_in_jiangmen, parse_site_boundary
from wastetrail.registry.models import (
    Driver,
    PlateColour,
    Project,
    ProjectCategoryEstimate,
    ProjectStatus,
    ReceivingSite,
    SiteStatus,
    Terminal,
    TerminalProtocol,
    Vehicle,
    VehicleStatus,
)
from wastetrail.registry.validators import canonical_terminal_phone, normalize_plate, normalize_vin


def _reject_unknown(fields: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})


def _require_present(**values: Any) -> None:
    missing = [name for name, value in values.items() if value in (None, "")]
    if missing:
        raise ValidationError({name: _("This field is required.") for name in missing})


def _require_choosable(actor: Actor, field: str, organisation: Organisation | None, kind: str) -> None:
    """Owners are picked among the organisations the actor acts for (all, for a regulator).
    An organisation of the wrong kind is left to the model's clearer "X is not a developer"."""
    if organisation is None or organisation.kind != kind:
        return
    if not organisations_choosable(actor=actor, kinds=(kind,)).filter(pk=organisation.pk).exists():
        # No name in the message: ids are guessable, names of others' partners are not ours to show.
        raise ValidationError({field: _("You cannot choose this organisation here.")})


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


# --- locations ------------------------------------------------------------------------------
# --- projects -------------------------------------------------------------------------------
PROJECT_FIELDS = [
    "name", "code", "project_type", "status", "construction_unit", "owner", "address",
    "planned_start", "planned_end",
]
PROJECT_AUDIT_FIELDS = PROJECT_FIELDS + ["lon_e6", "lat_e6", "district"]


def estimates_in_both_units(
    estimates: Iterable[Mapping[str, Any]], kept_category_ids: frozenset[int] = frozenset()
) -> dict[WasteCategory, tuple[Decimal, Decimal]]:
    """Validated estimates by category, both units (see core.rulebook.quantities)."""
    return quantities_by_category(estimates, field="estimates", kept_category_ids=kept_category_ids)


def _estimates_snapshot(project: Project) -> dict[str, list[str]]:
    return {
        e.category.code: [str(e.quantity_m3), str(e.quantity_t)]
        for e in project.estimates.select_related("category")
    }


def _write_estimates(project: Project, rows: dict[WasteCategory, tuple[Decimal, Decimal]]) -> None:
    project.estimates.exclude(category__in=list(rows)).delete()
    for category, (m3, tonnes) in rows.items():
        ProjectCategoryEstimate.objects.update_or_create(
            project=project, category=category, defaults={"quantity_m3": m3, "quantity_t": tonnes},
        )


def project_create(
    *,
    actor: Actor,
    name: str,
    code: str,
    project_type: str,
    construction_unit: Organisation | None,
    lon: Any,
    lat: Any,
    planned_start: Any,
    planned_end: Any = None,
    owner: Organisation | None = None,
    address: str = "",
    status: str = ProjectStatus.PLANNED,
    estimates: Iterable[Mapping[str, Any]] = (),
) -> Project:
    actor.require(policy.can_create_project(actor))
    _require_present(construction_unit=construction_unit)
    actor.require(policy.can_act_for_construction_unit(actor, construction_unit.pk))
    _require_choosable(actor, "owner", owner, OrganisationKind.DEVELOPER)
    location = locate_in_jiangmen(lon, lat)
    rows = estimates_in_both_units(estimates)
    with transaction.atomic():
        project = validated_create(
            Project, name=_clean_text(name), code=_clean_text(code), project_type=project_type,
            status=status, construction_unit=construction_unit, owner=owner,
            address=_clean_text(address), planned_start=planned_start, planned_end=planned_end,
            **location,
        )
        _write_estimates(project, rows)
        audit_record(
            actor=actor.user, action="project.create", target=project, organisation=construction_unit,
            data=snapshot(project, PROJECT_AUDIT_FIELDS) | {"estimates": _estimates_snapshot(project)},
        )
    return project


def project_update(*, actor: Actor, project: Project, **changes: Any) -> Project:
    """Change any of PROJECT_FIELDS, the location (lon, lat) and the estimates.

    Given estimates replace the whole set; the district follows a moved location.
    """
    actor.require(policy.can_edit_project(actor, project))
    _reject_unknown(changes, PROJECT_FIELDS + ["lon", "lat", "estimates"])
    estimates = changes.pop("estimates", None)
    lon, lat = changes.pop("lon", None), changes.pop("lat", None)
    for key in ("name", "code", "address"):
        if key in changes:
            changes[key] = _clean_text(changes[key])
    if "construction_unit" in changes and changes["construction_unit"] != project.construction_unit:
        _require_present(construction_unit=changes["construction_unit"])
        actor.require(policy.can_act_for_construction_unit(actor, changes["construction_unit"].pk))
    if "owner" in changes and getattr(changes["owner"], "pk", None) != project.owner_id:
        _require_choosable(actor, "owner", changes["owner"], OrganisationKind.DEVELOPER)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if lon is not None or lat is not None:
            changes |= locate_in_jiangmen(lon if lon is not None else project.lon_decimal,
                               lat if lat is not None else project.lat_decimal)
        diff = validated_update(project, changes)
        if estimates is not None:
            before = _estimates_snapshot(project)
            kept = frozenset(project.estimates.values_list("category_id", flat=True))
            _write_estimates(project, estimates_in_both_units(estimates, kept))
            after = _estimates_snapshot(project)
            if before != after:
                diff["estimates"] = [before, after]
        if diff:
            audit_record(actor=actor.user, action="project.update", target=project,
                         organisation=project.construction_unit_id, data=diff)
    return project


# --- receiving sites ------------------------------------------------------------------------
SITE_FIELDS = [
    "name", "kind", "status", "operator", "address", "capacity_m3", "used_capacity_m3",
    "opens_at", "closes_at", "hours_note", "has_weighbridge", "weighbridge_name", "licence_number",
]
SITE_AUDIT_FIELDS = SITE_FIELDS + ["boundary", "centroid_lon_e6", "centroid_lat_e6", "area_m2", "district"]


def _boundary_fields(boundary: Any) -> dict[str, Any]:
    _require_present(boundary=boundary)
    try:
        parsed = parse_site_boundary(boundary)
    except ValidationError as exc:
        raise ValidationError({"boundary": exc}) from None
    return {
        "boundary": parsed.geojson, "centroid_lon_e6": parsed.anchor_lon_e6,
        "centroid_lat_e6": parsed.anchor_lat_e6, "area_m2": parsed.area_m2,
        "district": parsed.district,
    }


def _categories(values: Iterable[Any]) -> list[WasteCategory]:
    found: list[WasteCategory] = []
    for value in values:
        category = category_from(value)
        if category is None:
            raise ValidationError({"accepted_categories": _("Unknown waste category “%(code)s”.") % {
                "code": value}})
        if category not in found:
            found.append(category)
    return found


def _category_codes(site: ReceivingSite) -> list[str]:
    return sorted(site.accepted_categories.values_list("code", flat=True))


def site_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    operator: Organisation | None,
    boundary: Any,
    capacity_m3: Any,
    accepted_categories: Iterable[Any] = (),
    used_capacity_m3: Any = Decimal("0"),
    address: str = "",
    opens_at: Any = None,
    closes_at: Any = None,
    hours_note: str = "",
    has_weighbridge: bool = False,
    weighbridge_name: str = "",
    licence_number: str = "",
    status: str = SiteStatus.OPEN,
) -> ReceivingSite:
    actor.require(policy.can_create_site(actor))
    _require_present(operator=operator)
    actor.require(policy.can_act_for_site_operator(actor, operator.pk))
    geometry = _boundary_fields(boundary)
    categories = _categories(accepted_categories)
    with transaction.atomic():
        site = validated_create(
            ReceivingSite, name=_clean_text(name), kind=kind, status=status, operator=operator,
            address=_clean_text(address), capacity_m3=capacity_m3,
            used_capacity_m3=Decimal("0") if used_capacity_m3 in (None, "") else used_capacity_m3,
            opens_at=opens_at, closes_at=closes_at, hours_note=_clean_text(hours_note),
            has_weighbridge=has_weighbridge, weighbridge_name=_clean_text(weighbridge_name),
            licence_number=_clean_text(licence_number), **geometry,
        )
        site.accepted_categories.set(categories)
        audit_record(
            actor=actor.user, action="site.create", target=site, organisation=operator,
            data=snapshot(site, SITE_AUDIT_FIELDS) | {"accepted_categories": _category_codes(site)},
        )
    return site


def site_update(*, actor: Actor, site: ReceivingSite, **changes: Any) -> ReceivingSite:
    actor.require(policy.can_edit_site(actor, site))
    _reject_unknown(changes, SITE_FIELDS + ["boundary", "accepted_categories"])
    if "operator" in changes and changes["operator"] != site.operator:
        _require_present(operator=changes["operator"])
        actor.require(policy.can_act_for_site_operator(actor, changes["operator"].pk))
    if "boundary" in changes:
        changes |= _boundary_fields(changes.pop("boundary"))
    categories = changes.pop("accepted_categories", None)
    if categories is not None:
        categories = _categories(categories)
    for key in ("name", "address", "hours_note", "weighbridge_name", "licence_number"):
        if key in changes:
            changes[key] = _clean_text(changes[key])
    with transaction.atomic():
        site = ReceivingSite.objects.select_for_update().get(pk=site.pk)
        diff = validated_update(site, changes)
        if categories is not None:
            before = _category_codes(site)
            site.accepted_categories.set(categories)
            after = _category_codes(site)
            if before != after:
                diff["accepted_categories"] = [before, after]
        if diff:
            audit_record(actor=actor.user, action="site.update", target=site,
                         organisation=site.operator_id, data=diff)
    return site


# --- vehicles -------------------------------------------------------------------------------
VEHICLE_FIELDS = [
    "plate", "plate_colour", "vin", "company", "sealed_body_certified",
    "sealed_body_certificate_no", "capacity_m3", "capacity_t", "status",
]


def _normalise_vehicle(fields: dict[str, Any]) -> None:
    if "plate" in fields:
        fields["plate"] = normalize_plate(fields["plate"])
    if "vin" in fields:
        fields["vin"] = normalize_vin(fields["vin"])
    if "sealed_body_certificate_no" in fields:
        fields["sealed_body_certificate_no"] = _clean_text(fields["sealed_body_certificate_no"]) or ""


def vehicle_create(
    *,
    actor: Actor,
    plate: str,
    vin: str,
    company: Organisation | None,
    plate_colour: int = PlateColour.YELLOW,
    capacity_m3: Any = None,
    capacity_t: Any = None,
    sealed_body_certified: bool = False,
    sealed_body_certificate_no: str = "",
    status: str = VehicleStatus.ACTIVE,
) -> Vehicle:
    actor.require(policy.can_manage_a_fleet(actor))
    _require_present(company=company)
    actor.require(policy.can_manage_fleet_of(actor, company.pk))
    fields = {
        "plate": plate, "vin": vin, "company": company, "plate_colour": plate_colour,
        "capacity_m3": capacity_m3, "capacity_t": capacity_t,
        "sealed_body_certified": sealed_body_certified,
        "sealed_body_certificate_no": sealed_body_certificate_no, "status": status,
    }
    _normalise_vehicle(fields)
    with transaction.atomic():
        vehicle = validated_create(Vehicle, **fields)
        audit_record(actor=actor.user, action="vehicle.create", target=vehicle, organisation=company,
                     data=snapshot(vehicle, VEHICLE_FIELDS))
    return vehicle


def vehicle_update(*, actor: Actor, vehicle: Vehicle, **changes: Any) -> Vehicle:
    actor.require(policy.can_manage_fleet_of(actor, vehicle.company_id))
    _reject_unknown(changes, VEHICLE_FIELDS)
    _normalise_vehicle(changes)
    moving = "company" in changes and changes["company"] != vehicle.company
    if moving:
        _require_present(company=changes["company"])
        actor.require(policy.can_manage_fleet_of(actor, changes["company"].pk))
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if moving and Terminal.objects.filter(vehicle=vehicle).exists():
            raise ValidationError({"company": _(
                "The vehicle's terminal belongs to its current company; unbind the terminal before "
                "moving the vehicle to another company.")})
        diff = validated_update(vehicle, changes)
        if diff:
            audit_record(actor=actor.user, action="vehicle.update", target=vehicle,
                         organisation=vehicle.company_id, data=diff)
    return vehicle


# --- terminals ------------------------------------------------------------------------------
TERMINAL_FIELDS = ["company", "phone", "terminal_id", "protocol", "manufacturer_id", "terminal_model"]
TERMINAL_AUDIT_FIELDS = TERMINAL_FIELDS + ["vehicle"]


def _normalise_terminal(fields: dict[str, Any]) -> None:
    if "phone" in fields:
        fields["phone"] = canonical_terminal_phone(fields["phone"] or "")
    if "terminal_id" in fields:
        fields["terminal_id"] = (fields["terminal_id"] or "").strip().upper()
    for key in ("manufacturer_id", "terminal_model"):
        if key in fields:
            fields[key] = _clean_text(fields[key]) or ""


def _check_bindable(terminal_company_id: int, vehicle: Vehicle, terminal_pk: int | None) -> None:
    if vehicle.company_id != terminal_company_id:
        raise ValidationError({"vehicle": _("The vehicle belongs to another company than the terminal.")})
    other = Terminal.objects.filter(vehicle=vehicle).exclude(pk=terminal_pk).first()
    if other is not None:
        raise ValidationError({"vehicle": _(
            "%(plate)s already carries terminal %(phone)s; unbind that one first."
        ) % {"plate": vehicle.plate, "phone": other.phone}})


def terminal_create(
    *,
    actor: Actor,
    company: Organisation | None,
    phone: str,
    terminal_id: str,
    protocol: str = TerminalProtocol.V2019,
    manufacturer_id: str = "",
    terminal_model: str = "",
    vehicle: Vehicle | None = None,
) -> Terminal:
    actor.require(policy.can_manage_a_fleet(actor))
    _require_present(company=company)
    actor.require(policy.can_manage_fleet_of(actor, company.pk))
    fields = {"company": company, "phone": phone, "terminal_id": terminal_id, "protocol": protocol,
              "manufacturer_id": manufacturer_id, "terminal_model": terminal_model}
    _normalise_terminal(fields)
    with transaction.atomic():
        if vehicle is not None:
            vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
            _check_bindable(company.pk, vehicle, None)
        terminal = validated_create(Terminal, vehicle=vehicle, **fields)
        audit_record(actor=actor.user, action="terminal.create", target=terminal, organisation=company,
                     data=snapshot(terminal, TERMINAL_AUDIT_FIELDS))
    return terminal


def terminal_update(*, actor: Actor, terminal: Terminal, **changes: Any) -> Terminal:
    """Change the terminal's own fields and, with ``vehicle``, what it is bound to."""
    actor.require(policy.can_manage_fleet_of(actor, terminal.company_id))
    _reject_unknown(changes, TERMINAL_FIELDS + ["vehicle"])
    _normalise_terminal(changes)
    if "company" in changes and changes["company"] != terminal.company:
        _require_present(company=changes["company"])
        actor.require(policy.can_manage_fleet_of(actor, changes["company"].pk))
    with transaction.atomic():
        terminal = Terminal.objects.select_for_update().get(pk=terminal.pk)
        vehicle = changes.get("vehicle")
        if vehicle is not None and vehicle.pk != terminal.vehicle_id:
            vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
            _check_bindable(getattr(changes.get("company"), "pk", terminal.company_id), vehicle, terminal.pk)
            changes["vehicle"] = vehicle
        diff = validated_update(terminal, changes)
        if diff:
            audit_record(actor=actor.user, action="terminal.update", target=terminal,
                         organisation=terminal.company_id, data=diff)
    return terminal


def terminal_bind(*, actor: Actor, terminal: Terminal, vehicle: Vehicle | None) -> Terminal:
    """Fit the terminal to a vehicle of the same company, or (vehicle None) take it off."""
    actor.require(policy.can_manage_fleet_of(actor, terminal.company_id))
    with transaction.atomic():
        terminal = Terminal.objects.select_for_update().get(pk=terminal.pk)
        if vehicle is not None:
            vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
            _check_bindable(terminal.company_id, vehicle, terminal.pk)
        diff = validated_update(terminal, {"vehicle": vehicle})
        if diff:
            audit_record(actor=actor.user, action="terminal.bind" if vehicle else "terminal.unbind",
                         target=terminal, organisation=terminal.company_id,
                         data=diff | {"plate": vehicle.plate if vehicle else ""})
    return terminal


# --- drivers --------------------------------------------------------------------------------
DRIVER_FIELDS = ["company", "name", "id_number", "phone", "licence_number", "licence_class", "user",
                 "is_active"]
# The audit chain is append-only and can never be erased, so personal data enters it masked.
_DRIVER_MASKS = {"id_number": mask_id_number, "phone": mask_phone, "licence_number": mask_id_number}


def _masked(data: dict[str, Any]) -> dict[str, Any]:
    masked = {}
    for key, value in data.items():
        mask = _DRIVER_MASKS.get(key)
        if mask is None:
            masked[key] = value
        elif isinstance(value, list):  # an update diff: [old, new]
            masked[key] = [mask(v or "") for v in value]
        else:
            masked[key] = mask(value or "")
    return masked


def _normalise_driver(fields: dict[str, Any]) -> None:
    for key in ("name", "phone"):
        if key in fields:
            fields[key] = _clean_text(fields[key]) or ""
    for key in ("id_number", "licence_number"):
        if key in fields:
            fields[key] = (_clean_text(fields[key]) or "").upper()


def _check_driver(company: Organisation, id_number: str, user: User | None, driver_pk: int | None) -> None:
    others = Driver.objects.filter(company=company).exclude(pk=driver_pk)
    if id_number and others.filter(id_number=id_number).exists():
        raise ValidationError({"id_number": _("This company has already registered a driver with "
                                              "this ID number.")})
    if user is not None:
        if not Membership.objects.filter(user=user, organisation=company).exists():
            raise ValidationError({"user": _("This account is not a member of the driver's company.")})
        if others.filter(user=user).exists():
            raise ValidationError({"user": _("This account is already linked to another driver of the "
                                             "company.")})


def driver_create(
    *,
    actor: Actor,
    company: Organisation | None,
    name: str,
    id_number: str,
    phone: str,
    licence_number: str = "",
    licence_class: str = "",
    user: User | None = None,
    is_active: bool = True,
) -> Driver:
    actor.require(policy.can_manage_a_fleet(actor))
    _require_present(company=company)
    actor.require(policy.can_manage_fleet_of(actor, company.pk))
    fields = {"company": company, "name": name, "id_number": id_number, "phone": phone,
              "licence_number": licence_number, "licence_class": licence_class or "", "user": user,
              "is_active": is_active}
    _normalise_driver(fields)
    with transaction.atomic():
        _check_driver(company, fields["id_number"], user, None)
        driver = validated_create(Driver, **fields)
        audit_record(actor=actor.user, action="driver.create", target=driver, organisation=company,
                     data=_masked(snapshot(driver, DRIVER_FIELDS)))
    return driver


def driver_update(*, actor: Actor, driver: Driver, **changes: Any) -> Driver:
    actor.require(policy.can_manage_fleet_of(actor, driver.company_id))
    _reject_unknown(changes, DRIVER_FIELDS)
    _normalise_driver(changes)
    if "licence_class" in changes:
        changes["licence_class"] = changes["licence_class"] or ""
    if "company" in changes and changes["company"] != driver.company:
        _require_present(company=changes["company"])
        actor.require(policy.can_manage_fleet_of(actor, changes["company"].pk))
    with transaction.atomic():
        driver = Driver.objects.select_for_update().get(pk=driver.pk)
        _check_driver(changes.get("company", driver.company), changes.get("id_number", driver.id_number),
                      changes.get("user", driver.user), driver.pk)
        diff = validated_update(driver, changes)
        if diff:
            audit_record(actor=actor.user, action="driver.update", target=driver,
                         organisation=driver.company_id, data=_masked(diff))
    return driver
