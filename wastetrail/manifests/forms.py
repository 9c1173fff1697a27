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
from wastetrail.manifests.revisions import RECEIPT_INPUT, outcome_of
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


class RevisionRequestForm(forms.Form):
    """The requesting party's revisable fields (manifests.revisions.requestable_fields),
    prefilled with the manifest's values; only what differs is sent (see ``changes``)."""

    def __init__(self, *args: Any, manifest: Manifest, fields: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manifest, self.revisable = manifest, fields
        add = self.fields.__setitem__
        if "estimated_m3" in fields:
            add("estimated_m3", forms.DecimalField(label=_("Estimated quantity (m³)"), initial=manifest.estimated_m3,
                                                   **QUANTITY))
            add("estimated_t", forms.DecimalField(
                label=_("Estimated quantity (t)"), initial=manifest.estimated_t, **QUANTITY,
                help_text=_("Change one of them and the other follows from the category's density.")))
        if "emitter_address" in fields:
            add("emitter_address", forms.CharField(label=_("Emitting address"), max_length=300, required=False,
                                                   initial=manifest.emitter_address))
        if "disposal_method" in fields:
            add("disposal_method", forms.ChoiceField(label=_("Disposal method"), choices=DisposalMethod.choices,
                                                     initial=manifest.disposal_method))
        if "driver" in fields:
            add("driver", forms.ModelChoiceField(
                label=_("Driver"), initial=manifest.driver_id,
                queryset=Driver.objects.filter(company_id=manifest.carrier_id, is_active=True).order_by("name")))
        if "route" in fields:
            add("route", forms.CharField(label=_("Route"), required=False, initial=manifest.route,
                                         widget=forms.Textarea(attrs={"rows": 2})))
        if "receipt" in fields:
            add("outcome", forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect, choices=OUTCOME_CHOICES,
                                             initial=outcome_of(manifest)))
            add("gross_t", forms.DecimalField(label=_("Gross weight (t)"), initial=manifest.gross_t, **QUANTITY))
            add("tare_t", forms.DecimalField(label=_("Tare weight (t)"), initial=manifest.tare_t, **QUANTITY))
            add("volume_m3", forms.DecimalField(
                label=_("Volume (m³)"), initial=manifest.received_m3, **QUANTITY,
                help_text=_("Only without a weighbridge: leave the weights empty.")))
            add("refused_quantity", forms.DecimalField(
                label=_("Refused quantity"), initial=manifest.refused_quantity, **QUANTITY,
                help_text=_("In the unit received (t when weighed, m³ by volume).")))
            add("refusal_reason", forms.CharField(label=_("Reason for refusal"), required=False,
                                                  initial=manifest.refusal_reason,
                                                  widget=forms.Textarea(attrs={"rows": 2})))
        add("reason", forms.CharField(label=_("Why revise"), widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text=_("The other parties read it before they approve or refuse.")))

    def changes(self) -> dict[str, Any]:
        """What differs from the manifest, in the service's terms."""
        data, manifest, changes = self.cleaned_data, self.manifest, {}
        if "estimated_m3" in self.revisable:
            m3, t = data.get("estimated_m3"), data.get("estimated_t")
            if m3 is not None and m3 != manifest.estimated_m3:
                changes["estimated_m3"] = m3
            if t is not None and t != manifest.estimated_t:
                changes["estimated_t"] = t
        for name in ("emitter_address", "disposal_method", "route"):
            if name in self.revisable and (data.get(name) or "").strip() != getattr(manifest, name):
                changes[name] = data.get(name) or ""
        if "driver" in self.revisable and data.get("driver") and data["driver"].pk != manifest.driver_id:
            changes["driver"] = data["driver"].pk
        if "receipt" in self.revisable:
            given = {name: data.get(name) for name in RECEIPT_INPUT}
            current = {"outcome": outcome_of(manifest), "gross_t": manifest.gross_t, "tare_t": manifest.tare_t,
                       "volume_m3": manifest.received_m3, "refused_quantity": manifest.refused_quantity,
                       "refusal_reason": manifest.refusal_reason}
            if any(_differs(given[name], current[name]) for name in given):
                changes["receipt"] = given
        return changes


def _differs(given: Any, current: Any) -> bool:
    if isinstance(given, str) or isinstance(current, str):
        return (given or "").strip() != (current or "")
    return given != current
