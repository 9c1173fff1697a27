"""Forms of the stacking pages. They check syntax and offer what the actor may pick; the
services decide everything else and their errors land on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.registry.geometry import decimal_from_e6
from wastetrail.registry.models import Driver, ReceivingSite, SiteStatus, Vehicle
from wastetrail.stacking import policy, selectors
from wastetrail.stacking.models import CollectionStatus, PointStatus, ResidentialArea, StackingPoint

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _position_fields(form: forms.ModelForm) -> None:
    form.fields["lon"] = forms.DecimalField(label=_("Longitude (WGS-84)"), max_digits=10, decimal_places=6)
    form.fields["lat"] = forms.DecimalField(label=_("Latitude (WGS-84)"), max_digits=9, decimal_places=6)
    if form.instance.pk:
        form.initial.setdefault("lon", decimal_from_e6(form.instance.lon_e6))
        form.initial.setdefault("lat", decimal_from_e6(form.instance.lat_e6))


class AreaFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None,
                                      choices=[("", _("All districts"))] + DISTRICT_CHOICES)


class PointFilterForm(AreaFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + list(PointStatus.choices))


class AreaForm(forms.ModelForm):
    class Meta:
        model = ResidentialArea
        fields = ["name", "street_office", "property_manager", "address", "households"]

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offices = Organisation.objects.filter(kind=OrganisationKind.STREET_OFFICE, is_active=True)
        if not actor.is_regulator:
            offices = offices.filter(pk__in=[o.pk for o in policy.street_offices_acting(actor)])
        self.fields["street_office"].queryset = offices
        self.fields["property_manager"].queryset = Organisation.objects.filter(
            kind=OrganisationKind.PROPERTY_MANAGER, is_active=True)
        if self.instance.pk:
            del self.fields["street_office"]  # an area stays with its street office
        _position_fields(self)


class PointForm(forms.ModelForm):
    class Meta:
        model = StackingPoint
        fields = ["area", "name", "address", "container_type", "capacity_m3", "opens_at", "closes_at",
                  "open_days", "contact_phone", "notes"]
        widgets = {"opens_at": TIME, "closes_at": TIME, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["area"]  # a point stays in its area
        else:
            self.fields["area"].queryset = selectors.areas_for_new_point(actor=actor)
        _position_fields(self)

    def _post_clean(self) -> None:
        # The service validates the whole point (district, code, manager); the ModelForm's own
        # instance validation would complain about the fields it does not know yet.
        pass


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=PointStatus.choices)
    reason = forms.CharField(label=_("Reason (required to close)"), required=False, max_length=300)


class FillReportForm(forms.Form):
    fill_percent = forms.IntegerField(label=_("Fill level (%)"), min_value=0, max_value=100)
    full = forms.BooleanField(label=_("Full: no more waste fits"), required=False)
    is_dirty = forms.BooleanField(label=_("Dirty, or waste left outside"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class CollectionRequestForm(forms.Form):
    carrier = forms.ModelChoiceField(label=_("Transport company"), queryset=Organisation.objects.filter(
        kind=OrganisationKind.TRANSPORT_COMPANY, is_active=True))
    estimated_m3 = forms.DecimalField(label=_("Estimated quantity (m³)"), required=False, max_digits=7,
                                      decimal_places=1, help_text=_("Empty: from the capacity and fill level."))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CollectionManifestForm(forms.Form):
    vehicle = forms.ModelChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.none())
    driver = forms.ModelChoiceField(label=_("Driver"), queryset=Driver.objects.none())
    site = forms.ModelChoiceField(label=_("Receiving site"), queryset=ReceivingSite.objects.filter(
        status=SiteStatus.OPEN, accepted_categories__code="decoration_waste").order_by("name"))
    estimated_m3 = forms.DecimalField(label=_("Estimated quantity (m³)"), required=False, max_digits=7,
                                      decimal_places=1)
    route = forms.CharField(label=_("Route"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, carrier_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].queryset = Vehicle.objects.filter(company_id=carrier_id).order_by("plate")
        self.fields["driver"].queryset = Driver.objects.filter(company_id=carrier_id, is_active=True).order_by("name")


class CollectionFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + list(CollectionStatus.choices))
