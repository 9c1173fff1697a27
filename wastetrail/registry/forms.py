"""Forms of the registry pages. They check syntax and offer only the organisations the actor
acts for; the services decide everything else and their errors land on these fields."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind, User
from wastetrail.accounts.policy import Actor
from wastetrail.accounts.selectors import organisations_choosable
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.registry import selectors
from wastetrail.registry.models import (
    Driver,
    Project,
    ProjectStatus,
    ProjectType,
    ReceivingSite,
    SiteKind,
    SiteStatus,
    Terminal,
    Vehicle,
    VehicleStatus,
)
from wastetrail.registry.validators import canonical_terminal_phone, normalize_plate, normalize_vin

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
ESTIMATE_PREFIX = "estimate_"


def _categories_for(current_ids: set[int]) -> QuerySet[WasteCategory]:
    """Active categories, plus retired ones the object still refers to (so saving keeps them)."""
    return WasteCategory.objects.filter(Q(is_active=True) | Q(pk__in=current_ids)).order_by("sort_order", "code")


def _all_option(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


def _limit_organisations(form: forms.ModelForm, field: str, actor: Actor, kind: str) -> QuerySet:
    """Offer only the organisations the actor acts for; preselect it when there is just one."""
    choices = organisations_choosable(actor=actor, kinds=(kind,))
    form.fields[field].queryset = choices
    if not form.instance.pk and form.fields[field].required:
        only = list(choices[:2])
        if len(only) == 1:
            form.fields[field].initial = only[0].pk
    return choices


# --- projects -------------------------------------------------------------------------------
class ProjectForm(forms.ModelForm):
    lon = forms.DecimalField(
        label=_("Longitude"), max_digits=10, decimal_places=6, min_value=-180, max_value=180,
        help_text=_("WGS-84 decimal degrees, e.g. 113.0781 (as a GPS shows it, not a web map's GCJ-02)."),
    )
    lat = forms.DecimalField(
        label=_("Latitude"), max_digits=9, decimal_places=6, min_value=-90, max_value=90,
        help_text=_("WGS-84 decimal degrees, e.g. 22.5790."),
    )

    class Meta:
        model = Project
        fields = ["name", "code", "project_type", "status", "construction_unit", "owner", "address",
                  "planned_start", "planned_end"]
        widgets = {"planned_start": DATE, "planned_end": DATE}

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_organisations(self, "construction_unit", actor, OrganisationKind.CONSTRUCTION_UNIT)
        owners = organisations_choosable(actor=actor, kinds=(OrganisationKind.DEVELOPER,))
        if self.instance.owner_id:
            # Keep the current owner selectable, or editing anything else would drop the link.
            owners = owners | Organisation.objects.filter(pk=self.instance.owner_id)
        self.fields["owner"].queryset = owners
        current: dict[int, Any] = {}
        if self.instance.pk:
            self.fields["lon"].initial = self.instance.lon_decimal
            self.fields["lat"].initial = self.instance.lat_decimal
            current = {e.category_id: e.quantity_m3 for e in self.instance.estimates.all()}
        for category in _categories_for(set(current)):
            self.fields[ESTIMATE_PREFIX + category.code] = forms.DecimalField(
                label=_("Estimated %(category)s (m³)") % {"category": category}, required=False,
                min_value=0, max_digits=12, decimal_places=2, initial=current.get(category.pk),
                help_text=_("Tonnes are computed with the density %(density)s t/m³.") % {
                    "density": category.density_t_per_m3},
            )
        self.order_fields(["name", "code", "project_type", "status", "construction_unit", "owner",
                           "address", "lon", "lat", "planned_start", "planned_end"])


def project_service_data(cleaned: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in cleaned.items() if not k.startswith(ESTIMATE_PREFIX)}
    data["estimates"] = [
        {"category": key[len(ESTIMATE_PREFIX):], "quantity_m3": value}
        for key, value in cleaned.items() if key.startswith(ESTIMATE_PREFIX) and value is not None
    ]
    return data


class ProjectFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None,
                                      choices=_all_option(_("All districts")) + DISTRICT_CHOICES)
    project_type = forms.ChoiceField(label=_("Type"), required=False,
                                     choices=_all_option(_("All types")) + ProjectType.choices)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_all_option(_("All")) + ProjectStatus.choices)


# --- receiving sites ------------------------------------------------------------------------
class SiteForm(forms.ModelForm):
    # Not the model field: the text goes to the service, which parses, checks and normalises it.
    boundary = forms.CharField(
        label=_("Boundary (GeoJSON)"), widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_('A GeoJSON Polygon in WGS-84, e.g. {"type": "Polygon", "coordinates": '
                    '[[[113.07, 22.57], [113.08, 22.57], [113.08, 22.58], [113.07, 22.57]]]}'),
    )

    class Meta:
        model = ReceivingSite
        fields = ["name", "kind", "status", "operator", "address", "accepted_categories", "capacity_m3",
                  "used_capacity_m3", "opens_at", "closes_at", "hours_note", "has_weighbridge",
                  "weighbridge_name", "licence_number"]
        widgets = {"opens_at": TIME, "closes_at": TIME,
                   "accepted_categories": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_organisations(self, "operator", actor, OrganisationKind.SITE_OPERATOR)
        current = set(self.instance.accepted_categories.values_list("pk", flat=True)) if self.instance.pk else set()
        self.fields["accepted_categories"].queryset = _categories_for(current)
        if self.instance.pk:
            self.fields["boundary"].initial = json.dumps(self.instance.boundary, ensure_ascii=False)
        self.order_fields(["name", "kind", "status", "operator", "address", "boundary"])


class SiteFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_all_option(_("All kinds")) + SiteKind.choices)
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None,
                                      choices=_all_option(_("All districts")) + DISTRICT_CHOICES)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_all_option(_("All")) + SiteStatus.choices)
    category = forms.ModelChoiceField(label=_("Accepts"), required=False, to_field_name="code",
                                      queryset=WasteCategory.objects.filter(is_active=True),
                                      empty_label=_("Any category"))


# --- vehicles -------------------------------------------------------------------------------
class VehicleForm(forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = ["plate", "plate_colour", "vin", "company", "capacity_m3", "capacity_t",
                  "sealed_body_certified", "sealed_body_certificate_no", "status"]
        help_texts = {
            "plate": _("e.g. 粤J12345; new-energy: 粤JD12345 (small) or 粤J12345D (large)."),
            "vin": _("17 characters, on the registration certificate; the 9th is a check character."),
        }

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_organisations(self, "company", actor, OrganisationKind.TRANSPORT_COMPANY)

    def clean_plate(self) -> str:
        return normalize_plate(self.cleaned_data.get("plate", ""))

    def clean_vin(self) -> str:
        return normalize_vin(self.cleaned_data.get("vin", ""))


class VehicleFilterForm(forms.Form):
    q = forms.CharField(label=_("Plate, VIN or terminal"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_all_option(_("All")) + VehicleStatus.choices)


# --- terminals ------------------------------------------------------------------------------
class TerminalForm(forms.ModelForm):
    class Meta:
        model = Terminal
        fields = ["company", "phone", "terminal_id", "protocol", "manufacturer_id", "terminal_model", "vehicle"]
        help_texts = {
            "phone": _("The number the terminal sends in every JT/T 808 message header."),
        }

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        companies = _limit_organisations(self, "company", actor, OrganisationKind.TRANSPORT_COMPANY)
        free = Q(terminal__isnull=True)
        if self.instance.pk and self.instance.vehicle_id:
            free |= Q(pk=self.instance.vehicle_id)
        self.fields["vehicle"].queryset = (
            selectors.vehicle_list(actor=actor).filter(free, company__in=companies).order_by("plate")
        )

    def clean_phone(self) -> str:
        return canonical_terminal_phone(self.cleaned_data.get("phone", ""))

    def clean_terminal_id(self) -> str:
        return (self.cleaned_data.get("terminal_id") or "").strip().upper()

    def validate_unique(self) -> None:
        # The service explains a vehicle that already carries a terminal better than
        # "terminal with this vehicle already exists"; keep the form's check for the phone.
        exclude = self._get_validation_exclusions() | {"vehicle"}
        try:
            self.instance.validate_unique(exclude=exclude)
        except forms.ValidationError as exc:
            self._update_errors(exc)


class TerminalFilterForm(forms.Form):
    q = forms.CharField(label=_("Phone, terminal ID or plate"), required=False)


# --- drivers --------------------------------------------------------------------------------
class DriverForm(forms.ModelForm):
    class Meta:
        model = Driver
        fields = ["company", "name", "id_number", "phone", "licence_number", "licence_class", "user",
                  "is_active"]
        help_texts = {"user": _("Link the driver's login account, if they have one.")}

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        companies = _limit_organisations(self, "company", actor, OrganisationKind.TRANSPORT_COMPANY)
        self.fields["user"].queryset = (
            User.objects.filter(memberships__organisation__in=companies, is_active=True)
            .distinct().order_by("username")
        )

    def clean_id_number(self) -> str:
        return (self.cleaned_data.get("id_number") or "").strip().upper()


class DriverFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False)
