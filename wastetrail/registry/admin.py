"""Read-only admin views of the registry.

Writes go through the pages and the API, whose services check permissions, derive districts and
centroids and write the audit row; an admin form would bypass all three, so the admin only reads.
"""

from __future__ import annotations

from django.contrib import admin

from wastetrail.registry.models import (
    Driver,
    Project,
    ProjectCategoryEstimate,
    ReceivingSite,
    Terminal,
    Vehicle,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EstimateInline(admin.TabularInline):
    model = ProjectCategoryEstimate
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "project_type", "district", "construction_unit", "status", "planned_start"]
    list_filter = ["project_type", "status", "district"]
    search_fields = ["name", "code", "address"]
    list_select_related = ["construction_unit"]
    inlines = [EstimateInline]


@admin.register(ReceivingSite)
class ReceivingSiteAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "district", "operator", "capacity_m3", "used_capacity_m3", "status"]
    list_filter = ["kind", "status", "district"]
    search_fields = ["name", "address"]
    list_select_related = ["operator"]


@admin.register(Vehicle)
class VehicleAdmin(ReadOnlyAdmin):
    list_display = ["plate", "plate_colour", "company", "sealed_body_certified", "status"]
    list_filter = ["status", "plate_colour", "sealed_body_certified"]
    search_fields = ["plate", "vin"]
    list_select_related = ["company"]


@admin.register(Terminal)
class TerminalAdmin(ReadOnlyAdmin):
    list_display = ["phone", "terminal_id", "protocol", "company", "vehicle"]
    list_filter = ["protocol"]
    search_fields = ["phone", "terminal_id"]
    list_select_related = ["company", "vehicle"]
    exclude = ["auth_code"]


@admin.register(Driver)
class DriverAdmin(ReadOnlyAdmin):
    # Personal data stays out of the admin's list; the driver pages mask it by policy.
    list_display = ["name", "company", "licence_class", "is_active"]
    list_filter = ["is_active", "licence_class"]
    search_fields = ["name"]
    list_select_related = ["company"]
    exclude = ["id_number", "phone", "licence_number"]
