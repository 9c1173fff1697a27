"""Forms of the approval pages. They check syntax and offer what the actor may pick; the
services decide everything else and their errors land on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.permits import policy
from wastetrail.permits.models import (
    ATTACHMENT_EXTENSIONS,
    HOLDER_KIND,
    Approval,
    ApprovalKind,
    ApprovalStatus,
)
from wastetrail.registry.models import Project, ReceivingSite, Vehicle

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ApprovalFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All kinds"))] + list(ApprovalKind.choices))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses"))] + list(ApprovalStatus.choices))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); each is checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(ATTACHMENT_EXTENSIONS)}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ApprovalApplyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ApprovalKind.choices)
    holder = forms.ModelChoiceField(label=_("Holder"), queryset=Organisation.objects.none())
    project = forms.ModelChoiceField(label=_("Construction project"), queryset=Project.objects.none(),
                                     required=False, help_text=_("For an emission approval."))
    site = forms.ModelChoiceField(label=_("Receiving site"), queryset=ReceivingSite.objects.none(),
                                  required=False, help_text=_("For a disposal approval."))
    note = forms.CharField(label=_("Application note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label=_("Documents"), required=False,
                                    help_text=_("PDF, JPG or PNG, at most 10 MB each; more can be added later."))

    def __init__(self, *args: Any, actor: Actor, instance: Approval | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = policy.holder_kinds_of(actor)
        self.fields["kind"].choices = [(k, ApprovalKind(k).label) for k in kinds]
        holder_ids = set().union(*(actor.org_ids_of(HOLDER_KIND[k], roles=policy.STAFF_ROLES) for k in kinds)) \
            if kinds else set()
        self.fields["holder"].queryset = Organisation.objects.filter(pk__in=holder_ids).order_by("name")
        if len(holder_ids) == 1:
            self.fields["holder"].initial = next(iter(holder_ids))
        self.fields["project"].queryset = Project.objects.filter(construction_unit_id__in=holder_ids)
        self.fields["site"].queryset = ReceivingSite.objects.filter(operator_id__in=holder_ids)


class ApproveForm(forms.Form):
    categories = forms.ModelMultipleChoiceField(
        label=_("Waste categories"), queryset=WasteCategory.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )
    vehicles = forms.ModelMultipleChoiceField(
        label=_("Vehicles"), queryset=Vehicle.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only sealed vehicles with a positioning terminal can be covered."),
    )
    sites = forms.ModelMultipleChoiceField(
        label=_("Receiving sites"), queryset=ReceivingSite.objects.all(), required=False,
    )
    quantity_cap_m3 = forms.DecimalField(label=_("Quantity cap (m³)"), required=False, min_value=0,
                                         max_digits=14, decimal_places=2)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_to = forms.DateField(label=_("Valid to"), widget=DATE)

    def __init__(self, *args: Any, approval: Approval, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if approval.kind == ApprovalKind.TRANSPORT:
            self.fields["vehicles"].queryset = Vehicle.objects.filter(company_id=approval.holder_id)
        else:
            del self.fields["vehicles"]
        if approval.kind == ApprovalKind.DISPOSAL:
            del self.fields["sites"]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("PDF, JPG or PNG, at most 10 MB."),
                           widget=forms.ClearableFileInput(attrs={"accept": ",".join(ATTACHMENT_EXTENSIONS)}))
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
