"""Forms of the plan pages. They check syntax; the services decide the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.plans.models import HandlingPlan, PlanStatus, TransportMode
from wastetrail.registry.models import Project, ReceivingSite, SiteStatus
from wastetrail.registry.policy import STAFF_ROLES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def writable_projects(actor: Actor):
    return Project.objects.filter(
        construction_unit_id__in=actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=STAFF_ROLES)
    ).order_by("name")


class PlanCreateForm(forms.ModelForm):
    """A new draft needs only its project: a revision starts as a copy of the filed version."""

    class Meta:
        model = HandlingPlan
        fields = ["project"]

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = writable_projects(actor)


class PlanPartsForm(forms.ModelForm):
    class Meta:
        model = HandlingPlan
        fields = ["contact_name", "contact_phone", "reduction_measures", "pollution_control_measures",
                  "reuse_rate_target", "other_matters"]
        widgets = {name: forms.Textarea(attrs={"rows": 3})
                   for name in ("reduction_measures", "pollution_control_measures", "other_matters")}


class QuantityForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Waste category"), to_field_name="code",
                                      queryset=WasteCategory.objects.filter(is_active=True))
    quantity_m3 = forms.DecimalField(label=_("Quantity (m³)"), required=False, min_value=0, decimal_places=2)
    quantity_t = forms.DecimalField(label=_("Quantity (t)"), required=False, min_value=0, decimal_places=2)


class StreamForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Waste category"), to_field_name="code",
                                      queryset=WasteCategory.objects.filter(is_active=True))
    quantity_m3 = forms.DecimalField(label=_("Quantity (m³)"), min_value=0, decimal_places=2)
    carrier = forms.ModelChoiceField(
        label=_("Carrier"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.TRANSPORT_COMPANY, is_active=True).order_by("name"))
    site = forms.ModelChoiceField(label=_("Receiving site"),
                                  queryset=ReceivingSite.objects.filter(status=SiteStatus.OPEN))
    daily_start = forms.TimeField(label=_("Daily transport from"), widget=TIME)
    daily_end = forms.TimeField(label=_("Daily transport until"), widget=TIME)
    valid_from = forms.DateField(label=_("Transport from (date)"), widget=DATE)
    valid_to = forms.DateField(label=_("Transport until (date)"), widget=DATE)
    transport_mode = forms.ChoiceField(label=_("Transport mode"), choices=TransportMode.choices,
                                       initial=TransportMode.SEALED_TRUCK)
    route = forms.CharField(label=_("Transport route"), required=False)


QuantityFormSet = forms.formset_factory(QuantityForm, extra=2)
StreamFormSet = forms.formset_factory(StreamForm, extra=2)


class PlanFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All"))] + PlanStatus.choices)


def quantity_rows(formset: forms.BaseFormSet) -> list[dict]:
    return [{"category": f.cleaned_data["category"], "quantity_m3": f.cleaned_data.get("quantity_m3"),
             "quantity_t": f.cleaned_data.get("quantity_t")}
            for f in formset.forms if f.cleaned_data]


def stream_rows(formset: forms.BaseFormSet) -> list[dict]:
    return [dict(f.cleaned_data) for f in formset.forms if f.cleaned_data]
