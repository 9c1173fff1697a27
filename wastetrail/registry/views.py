"""Pages for projects, receiving sites, vehicles, terminals and drivers (generic resource pages).

The map page belongs to the front end (map_views.py); it reads selectors.project_map_features
and selectors.site_map_features.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.policy import Actor
from wastetrail.core.crud import Column, ResourcePages
from wastetrail.registry import policy, selectors, services
from wastetrail.registry.forms import (
    DriverFilterForm,
    DriverForm,
    ProjectFilterForm,
    ProjectForm,
    SiteFilterForm,
    SiteForm,
    TerminalFilterForm,
    TerminalForm,
    VehicleFilterForm,
    VehicleForm,
    project_service_data,
)
from wastetrail.registry.models import Driver, Project, ReceivingSite, Terminal, Vehicle


@contextmanager
def errors_on_fields(renames: dict[str, str]) -> Iterator[None]:
    """Show a service error about e.g. "location" on the form field that holds it."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError({renames.get(k, k): v for k, v in exc.error_dict.items()}) from None


class ProjectPages(ResourcePages):
    name = "projects"
    title = _("Construction projects")
    title_singular = _("Construction project")
    form_class = ProjectForm
    filter_form_class = ProjectFilterForm
    columns = [
        Column(_("Name"), "name", link=True),
        Column(_("Project code"), "code"),
        Column(_("Type"), "get_project_type_display"),
        Column(_("District"), "get_district_display"),
        Column(_("Construction unit"), "construction_unit.name"),
        Column(_("Status"), "get_status_display"),
        Column(_("Planned start"), "planned_start"),
    ]
    detail_fields = [
        Column(_("Project code"), "code"),
        Column(_("Type"), "get_project_type_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Construction unit"), "construction_unit.name"),
        Column(_("Owner (developer)"), "owner.name"),
        Column(_("Address"), "address"),
        Column(_("Location (WGS-84 longitude, latitude)"), "location_display"),
        Column(_("District"), "get_district_display"),
        Column(_("Planned start"), "planned_start"),
        Column(_("Planned end"), "planned_end"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.project_list(
            actor=actor, search=filters.get("q", ""), district=filters.get("district"),
            project_type=filters.get("project_type"), status=filters.get("status"),
        )

    def get(self, actor: Actor, pk: int) -> Project:
        return selectors.project_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Project:
        with errors_on_fields({"location": "lon"}):
            return services.project_create(actor=actor, **project_service_data(data))

    def update(self, actor: Actor, obj: Project, data: dict) -> Project:
        with errors_on_fields({"location": "lon"}):
            return services.project_update(actor=actor, project=obj,
                                           **project_service_data(data))

    def can_create(self, actor: Actor) -> bool:
        return policy.can_create_project(actor)

    def can_edit(self, actor: Actor, obj: Project) -> bool:
        return policy.can_edit_project(actor, obj)

    def form_kwargs(self, actor: Actor, obj: Project | None) -> dict:
        return {"actor": actor}

    def detail_context(self, actor: Actor, obj: Project) -> dict:
        return {"extra_templates": ["registry/paper_trail_links.html", "registry/project_estimates.html"],
                "estimates": obj.estimates.all(), "paper_trail_kind": "project"}


class SitePages(ResourcePages):
    name = "sites"
    title = _("Receiving sites")
    title_singular = _("Receiving site")
    form_class = SiteForm
    filter_form_class = SiteFilterForm
    columns = [
        Column(_("Name"), "name", link=True),
        Column(_("Kind"), "get_kind_display"),
        Column(_("District"), "get_district_display"),
        Column(_("Operator"), "operator.name"),
        Column(_("Accepts"), "accepted_categories_display"),
        Column(_("Remaining capacity (m³)"), "remaining_capacity_m3"),
        Column(_("Opening hours"), "opening_hours_display"),
        Column(_("Status"), "get_status_display"),
    ]
    detail_fields = [
        Column(_("Kind"), "get_kind_display"),
        Column(_("Status"), "get_status_display"),
        Column(_("Operator"), "operator.name"),
        Column(_("Address"), "address"),
        Column(_("District"), "get_district_display"),
        Column(_("Centre (WGS-84 longitude, latitude)"), "centre_display"),
        Column(_("Area (m²)"), "area_m2"),
        Column(_("Accepts"), "accepted_categories_display"),
        Column(_("Capacity (m³)"), "capacity_m3"),
        Column(_("Used capacity (m³)"), "used_capacity_m3"),
        Column(_("Remaining capacity (m³)"), "remaining_capacity_m3"),
        Column(_("Opening hours"), "opening_hours_display"),
        Column(_("Weighbridge"), "weighbridge_display"),
        Column(_("Disposal approval / licence number"), "licence_number"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        category = filters.get("category")
        return selectors.site_list(
            actor=actor, search=filters.get("q", ""), kind=filters.get("kind"), status=filters.get("status"),
            district=filters.get("district"), category=category.code if category else None,
        )

    def get(self, actor: Actor, pk: int) -> ReceivingSite:
        return selectors.site_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> ReceivingSite:
        return services.site_create(actor=actor, **data)

    def update(self, actor: Actor, obj: ReceivingSite, data: dict) -> ReceivingSite:
        return services.site_update(actor=actor, site=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_create_site(actor)

    def detail_context(self, actor: Actor, obj: ReceivingSite) -> dict:
        return {"extra_templates": ["registry/paper_trail_links.html"], "paper_trail_kind": "site"}

    def can_edit(self, actor: Actor, obj: ReceivingSite) -> bool:
        return policy.can_edit_site(actor, obj)

    def form_kwargs(self, actor: Actor, obj: ReceivingSite | None) -> dict:
        return {"actor": actor}


class VehiclePages(ResourcePages):
    name = "vehicles"
    title = _("Vehicles")
    title_singular = _("Vehicle")
    form_class = VehicleForm
    filter_form_class = VehicleFilterForm
    columns = [
        Column(_("Plate"), "plate", link=True),
        Column(_("Plate colour"), "get_plate_colour_display"),
        Column(_("Transport company"), "company.name"),
        Column(_("Load capacity (m³)"), "capacity_m3"),
        Column(_("Load capacity (t)"), "capacity_t"),
        Column(_("Sealed body certified"), "sealed_body_certified"),
        Column(_("Terminal phone number"), "terminal_phone"),
        Column(_("Status"), "get_status_display"),
    ]
    detail_fields = [
        Column(_("Plate colour"), "get_plate_colour_display"),
        Column(_("VIN"), "vin"),
        Column(_("Transport company"), "company.name"),
        Column(_("Load capacity (m³)"), "capacity_m3"),
        Column(_("Load capacity (t)"), "capacity_t"),
        Column(_("Sealed body certified"), "sealed_body_certified"),
        Column(_("Sealed body certificate number"), "sealed_body_certificate_no"),
        Column(_("Terminal phone number"), "terminal_phone"),
        Column(_("Terminal ID"), "terminal_identifier"),
        Column(_("Status"), "get_status_display"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.vehicle_list(actor=actor, search=filters.get("q", ""), status=filters.get("status"))

    def get(self, actor: Actor, pk: int) -> Vehicle:
        return selectors.vehicle_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Vehicle:
        return services.vehicle_create(actor=actor, **data)

    def update(self, actor: Actor, obj: Vehicle, data: dict) -> Vehicle:
        return services.vehicle_update(actor=actor, vehicle=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_manage_a_fleet(actor)

    def can_edit(self, actor: Actor, obj: Vehicle) -> bool:
        return policy.can_manage_fleet_of(actor, obj.company_id)

    def form_kwargs(self, actor: Actor, obj: Vehicle | None) -> dict:
        return {"actor": actor}

    def detail_context(self, actor: Actor, obj: Vehicle) -> dict:
        terminal = obj._bound_terminal()
        return {"extra_templates": ["registry/vehicle_terminal.html"], "terminal": terminal, "vehicle": obj}


class TerminalPages(ResourcePages):
    name = "terminals"
    title = _("Terminals")
    title_singular = _("Terminal")
    form_class = TerminalForm
    filter_form_class = TerminalFilterForm
    columns = [
        Column(_("Terminal phone number"), "phone", link=True),
        Column(_("Terminal ID"), "terminal_id"),
        Column(_("Protocol version"), "get_protocol_display"),
        Column(_("Transport company"), "company.name"),
        Column(_("Vehicle"), "vehicle.plate"),
        Column(_("Terminal model"), "terminal_model"),
    ]
    detail_fields = [
        Column(_("Terminal ID"), "terminal_id"),
        Column(_("Protocol version"), "get_protocol_display"),
        Column(_("Manufacturer ID"), "manufacturer_id"),
        Column(_("Terminal model"), "terminal_model"),
        Column(_("Transport company"), "company.name"),
        Column(_("Vehicle"), "vehicle.plate"),
        Column(_("Registered with the gateway"), "is_registered"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.terminal_list(actor=actor, search=filters.get("q", ""))

    def get(self, actor: Actor, pk: int) -> Terminal:
        return selectors.terminal_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Terminal:
        return services.terminal_create(actor=actor, **data)

    def update(self, actor: Actor, obj: Terminal, data: dict) -> Terminal:
        return services.terminal_update(actor=actor, terminal=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_manage_a_fleet(actor)

    def can_edit(self, actor: Actor, obj: Terminal) -> bool:
        return policy.can_manage_fleet_of(actor, obj.company_id)

    def form_kwargs(self, actor: Actor, obj: Terminal | None) -> dict:
        return {"actor": actor}


class DriverPages(ResourcePages):
    name = "drivers"
    title = _("Drivers")
    title_singular = _("Driver")
    form_class = DriverForm
    filter_form_class = DriverFilterForm
    # ID number, phone and licence number are shown as the policy allows (masked otherwise).
    columns = [
        Column(_("Name"), "name", link=True),
        Column(_("Transport company"), "company.name"),
        Column(_("Mobile"), "phone_shown"),
        Column(_("ID number"), "id_number_shown"),
        Column(_("Licence class"), "get_licence_class_display"),
        Column(_("Active"), "is_active"),
    ]
    detail_fields = [
        Column(_("Transport company"), "company.name"),
        Column(_("Mobile"), "phone_shown"),
        Column(_("ID number"), "id_number_shown"),
        Column(_("Driving licence number"), "licence_number_shown"),
        Column(_("Licence class"), "get_licence_class_display"),
        Column(_("Login account"), "user"),
        Column(_("Active"), "is_active"),
    ]

    def select_list(self, actor: Actor, filters: dict):
        return selectors.driver_list(actor=actor, search=filters.get("q", ""))

    def get(self, actor: Actor, pk: int) -> Driver:
        return selectors.driver_get(actor=actor, pk=pk)

    def create(self, actor: Actor, data: dict) -> Driver:
        return services.driver_create(actor=actor, **data)

    def update(self, actor: Actor, obj: Driver, data: dict) -> Driver:
        return services.driver_update(actor=actor, driver=obj, **data)

    def can_create(self, actor: Actor) -> bool:
        return policy.can_manage_a_fleet(actor)

    def can_edit(self, actor: Actor, obj: Driver) -> bool:
        return policy.can_manage_fleet_of(actor, obj.company_id)

    def form_kwargs(self, actor: Actor, obj: Driver | None) -> dict:
        return {"actor": actor}


project_pages = ProjectPages()
site_pages = SitePages()
vehicle_pages = VehiclePages()
terminal_pages = TerminalPages()
driver_pages = DriverPages()
