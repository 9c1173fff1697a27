"""Forms of the manifest pages. They check syntax and offer what the actor may pick; the services
decide everything else, and their errors (named after these fields) land on them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests.models import DisposalMethod, Manifest, ManifestStatus
from wastetrail.manifests.policy import STAFF_ROLES
from wastetrail.manifests.rules import OUTCOMES
from wastetrail.plans.models import PlanStatus, PlanStream
from wastetrail.plans.selectors import filed_plan_for
from wastetrail.registry.models import Driver, Project, ReceivingSite, SiteStatus, Vehicle, VehicleStatus

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
OUTCOME_CHOICES = [(outcome, ManifestStatus(outcome).label) for outcome in OUTCOMES]
QUANTITY = {"required": False, "min_value": 0, "max_digits": 12, "decimal_places": 2}


class ManifestFilterForm(forms.Form):
    q = forms.CharField(label=_("Number or plate"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + list(ManifestStatus.choices))
    overdue = forms.ChoiceField(label=_("Overdue"), required=False,
                                choices=[("", _("All")), ("yes", _("Overdue only")), ("no", _("Not overdue"))])
    # Set by the links on a project's or a site's page.
    project = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    site = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ManifestIssueForm(forms.Form):
    """What the emitting unit fills in for one load. The choices are what its filed plans name:
    its projects, and the carriers' vehicles, drivers and sites of their outgoing streams."""

    project = forms.ModelChoiceField(label=_("Construction project"), queryset=Project.objects.none())
    category = forms.ModelChoiceField(label=_("Waste category"), queryset=WasteCategory.objects.none())
    vehicle = forms.ModelChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.none())
    driver = forms.ModelChoiceField(label=_("Driver"), queryset=Driver.objects.none())
    site = forms.ModelChoiceField(label=_("Receiving site"), queryset=ReceivingSite.objects.none())
    estimated_m3 = forms.DecimalField(label=_("Estimated quantity (m³)"), **QUANTITY)
    estimated_t = forms.DecimalField(label=_("Estimated quantity (t)"), **QUANTITY,
                                     help_text=_("Give m³ or t; the other follows from the category's density."))
    planned_departure_at = forms.DateTimeField(label=_("Planned departure"), required=False, widget=DATETIME,
                                               help_text=_("Empty: now."))
    expected_arrival_at = forms.DateTimeField(label=_("Expected arrival"), required=False, widget=DATETIME,
                                              help_text=_("Empty: four hours after departure."))
    disposal_method = forms.ChoiceField(label=_("Disposal method"), required=False,
                                        choices=[("", _("As the site's kind"))] + list(DisposalMethod.choices))
    route = forms.CharField(label=_("Route"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            help_text=_("Empty: the route in the handling plan."))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = actor.org_ids_of(OrganisationKind.CONSTRUCTION_UNIT, roles=STAFF_ROLES)
        streams = PlanStream.objects.filter(plan__status=PlanStatus.FILED,
                                            plan__project__construction_unit_id__in=units)
        carriers = streams.values("carrier_id")
        self.fields["project"].queryset = Project.objects.filter(construction_unit_id__in=units).order_by("name")
        self.fields["category"].queryset = WasteCategory.objects.filter(is_active=True)
        self.fields["vehicle"].queryset = (Vehicle.objects.filter(company_id__in=carriers, status=VehicleStatus.ACTIVE)
                                           .order_by("plate"))
        self.fields["driver"].queryset = (Driver.objects.filter(company_id__in=carriers, is_active=True)
                                          .order_by("name"))
        self.fields["site"].queryset = ReceivingSite.objects.filter(pk__in=streams.values("site_id")).order_by("name")

    def clean_project(self) -> Project:
        # The service refuses it too; saying it here first keeps the vehicle and site lists (which
        # only offer what filed plans name) from looking broken.
        project = self.cleaned_data["project"]
        if filed_plan_for(project) is None:
            raise forms.ValidationError(
                _("The project has no filed handling plan: file one before issuing manifests."))
        return project


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class PositionForm(forms.Form):
    """Where the signatory stands, filled by the browser when the user lets it (optional)."""

    lon = forms.CharField(required=False, widget=forms.HiddenInput)
    lat = forms.CharField(required=False, widget=forms.HiddenInput)


class ReceiveForm(PositionForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect)
    gross_t = forms.DecimalField(label=_("Gross weight (t)"), **QUANTITY)
    tare_t = forms.DecimalField(label=_("Tare weight (t)"), **QUANTITY)
    volume_m3 = forms.DecimalField(label=_("Volume (m³)"), **QUANTITY,
                                   help_text=_("Only without a weighbridge: leave the weights empty."))
    refused_quantity = forms.DecimalField(label=_("Refused quantity"), **QUANTITY,
                                          help_text=_("In the unit received (t when weighed, m³ by volume)."))
    reason = forms.CharField(label=_("Reason for refusal"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class RedirectForm(forms.Form):
    site = forms.ModelChoiceField(label=_("New receiving site"), queryset=ReceivingSite.objects.none())
    disposal_method = forms.ChoiceField(label=_("Disposal method"), required=False,
                                        choices=[("", _("As the site's kind"))] + list(DisposalMethod.choices))
    route = forms.CharField(label=_("Route"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expected_arrival_at = forms.DateTimeField(label=_("Expected arrival"), required=False, widget=DATETIME)

    def __init__(self, *args: Any, manifest: Manifest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = (ReceivingSite.objects.filter(status=SiteStatus.OPEN)
                                        .filter(Q(accepted_categories=manifest.category_id))
                                        .exclude(pk=manifest.site_id).order_by("name"))


class AmendForm(forms.Form):
    driver = forms.ModelChoiceField(label=_("Driver"), queryset=Driver.objects.none())
    route = forms.CharField(label=_("Route"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, manifest: Manifest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["driver"].queryset = Driver.objects.filter(company_id=manifest.carrier_id, is_active=True)
        self.fields["driver"].initial = manifest.driver_id
        self.fields["route"].initial = manifest.route

    def changes(self, manifest: Manifest) -> dict[str, Any]:
        """Only what differs from the manifest (the service refuses an empty change)."""
        changes: dict[str, Any] = {}
        if self.cleaned_data["driver"].pk != manifest.driver_id:
            changes["driver"] = self.cleaned_data["driver"]
        if self.cleaned_data["route"].strip() != manifest.route:
            changes["route"] = self.cleaned_data["route"]
        return changes


class FindForm(forms.Form):
    number = forms.CharField(label=_("Manifest number"), max_length=300,
                             widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off",
                                                           "inputmode": "latin", "placeholder": "JM…"}))
