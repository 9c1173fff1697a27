"""Forms of the work-order pages. They check syntax and offer what the actor may pick; the
services decide everything else and their errors land on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy, selectors
from wastetrail.complaints.models import (
    RoutingRule,
    Satisfaction,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderSource,
    WorkOrderType,
)
from wastetrail.complaints.services import PHOTO_LIMIT
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.registry.models import Project, ReceivingSite, Vehicle
from wastetrail.stacking.models import StackingPoint

TEXTAREA = forms.Textarea(attrs={"rows": 3})
PHOTO_ACCEPT = "image/jpeg,image/png,image/webp"


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input; the service decodes and checks each (core.images)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": PHOTO_ACCEPT}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("JPEG, PNG or WebP, at most %(limit)d photos.") % {"limit": PHOTO_LIMIT})
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _type_choices(blank: str) -> list[tuple[str, Any]]:
    return [("", blank)] + list(WorkOrderType.choices)


def category_field(required: bool = True, **kwargs: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(label=_("Category"), queryset=selectors.categories(), required=required,
                                  **kwargs)


# --- the steps ------------------------------------------------------------------------------
class ClassifyForm(forms.Form):
    order_type = forms.ChoiceField(label=_("Type"), required=False,
                                   choices=_type_choices(_("The category's default type")))
    category = category_field()
    title = forms.CharField(label=_("Title"), required=False, max_length=120)


class DispatchForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Responsible unit"), required=False,
                                  queryset=Organisation.objects.filter(kind__in=policy.UNIT_KINDS, is_active=True)
                                  .order_by("kind", "name"),
                                  empty_label=_("As the routing table says"))
    note = forms.CharField(label=_("Note for the unit"), required=False, widget=TEXTAREA)


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Why it is not your unit's duty, and whose it is"), widget=TEXTAREA)


class ExtensionRequestForm(forms.Form):
    working_days = forms.IntegerField(label=_("Extra working days"), min_value=1)
    reason = forms.CharField(label=_("Why more time is needed"), widget=TEXTAREA)


class ExtensionDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(label=_("Decision"), coerce=lambda value: value == "yes",
                                     choices=[("yes", _("Approve")), ("no", _("Reject"))],
                                     widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note (required to reject)"), required=False, widget=TEXTAREA)


class HandleForm(forms.Form):
    note = forms.CharField(label=_("What was done"), widget=TEXTAREA)
    photos = PhotosField(label=_("Photos of the result"))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer to the complainant"), widget=TEXTAREA)


class RateForm(forms.Form):
    satisfaction = forms.TypedChoiceField(label=_("The complainant's rating (follow-up call)"), coerce=int,
                                          choices=Satisfaction.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("What the complainant said"), required=False, max_length=500,
                              widget=TEXTAREA)


class CloseForm(forms.Form):
    note = forms.CharField(label=_("Follow-up: who was called, and what they said"), widget=TEXTAREA)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why the order is reopened"), widget=TEXTAREA)


class CaseRequestForm(forms.Form):
    note = forms.CharField(label=_("Which violation, and what evidence there is"), widget=TEXTAREA)


class LinkForm(forms.Form):
    """Every link at once, pre-filled with the current ones: an emptied field clears its link."""

    plate = forms.CharField(label=_("Vehicle plate"), required=False, max_length=12)
    project = forms.ModelChoiceField(label=_("Construction project"), required=False,
                                     queryset=Project.objects.order_by("name"))
    site = forms.ModelChoiceField(label=_("Receiving site"), required=False,
                                  queryset=ReceivingSite.objects.order_by("name"))
    stacking_point = forms.ModelChoiceField(label=_("Stacking point"), required=False,
                                            queryset=StackingPoint.objects.order_by("code"))

    def __init__(self, *args: Any, order: WorkOrder, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "plate": order.vehicle.plate if order.vehicle_id else "", "project": order.project_id,
            "site": order.site_id, "stacking_point": order.stacking_point_id})
        super().__init__(*args, **kwargs)
        # Projects and sites near the order first would be nicer; its district keeps the lists short.
        self.fields["project"].queryset = Project.objects.filter(district=order.district).order_by("name")

    def clean_plate(self) -> Vehicle | None:
        plate = "".join(self.cleaned_data["plate"].split()).upper()
        if not plate:
            return None
        vehicle = Vehicle.objects.filter(plate=plate).first()
        if vehicle is None:
            raise forms.ValidationError(_("No registered vehicle has the plate %(plate)s.") % {"plate": plate})
        return vehicle

    def links(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"vehicle": data["plate"], "project": data["project"], "site": data["site"],
                "stacking_point": data["stacking_point"]}


# --- staff intake -------------------------------------------------------------------------------
class IntakeForm(forms.Form):
    source = forms.ChoiceField(label=_("Received"), choices=())
    external_id = forms.CharField(label=_("12345 order number"), required=False, max_length=40,
                                  help_text=_("Required for an order from the 12345 hotline."))
    received_at = forms.DateTimeField(label=_("Received at"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                 format="%Y-%m-%dT%H:%M"),
                                      help_text=_("China time; empty: now."))
    title = forms.CharField(label=_("Title"), required=False, max_length=120)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}))
    order_type = forms.ChoiceField(label=_("Type"), required=False, choices=_type_choices(_("Not yet classified")))
    category = category_field(required=False, empty_label=_("Not yet classified"))
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None,
                                      choices=[("", _("From the position on the map"))] + list(DISTRICT_CHOICES))
    lon = forms.DecimalField(label=_("Longitude"), required=False, max_digits=10, decimal_places=6,
                             widget=forms.HiddenInput)
    lat = forms.DecimalField(label=_("Latitude"), required=False, max_digits=10, decimal_places=6,
                             widget=forms.HiddenInput)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    reported_plate = forms.CharField(label=_("Plate as reported"), required=False, max_length=12)
    anonymous = forms.BooleanField(label=_("Anonymous"), required=False)
    complainant_name = forms.CharField(label=_("Complainant"), required=False, max_length=60)
    complainant_phone = forms.CharField(label=_("Complainant's phone"), required=False, max_length=20)
    photos = PhotosField(label=_("Photos"))

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sources = []
        if policy.can_receive_as_staff(actor):
            sources.append((WorkOrderSource.STAFF, _("By phone, letter or visit")))
        if policy.can_receive_for_hotline(actor):
            sources.append((WorkOrderSource.HOTLINE, WorkOrderSource.HOTLINE.label))
        self.fields["source"].choices = sources
        if sources:
            self.fields["source"].initial = sources[0][0]


# --- the map and the configuration ---------------------------------------------------------------
class MapFilterForm(forms.Form):
    order_type = forms.ChoiceField(label=_("Type"), required=False, choices=_type_choices(_("All types")))
    category = category_field(required=False, empty_label=_("All categories"))
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None,
                                      choices=[("", _("All districts"))] + list(DISTRICT_CHOICES))


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["district", "order_type", "category", "unit", "priority", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Organisation.objects.filter(
            kind__in=policy.UNIT_KINDS, is_active=True).order_by("kind", "name")
        self.fields["category"].queryset = WorkOrderCategory.objects.all()


class CategoryForm(forms.ModelForm):
    class Meta:
        model = WorkOrderCategory
        fields = ["code", "name_zh", "name_en", "default_type", "hotline_code", "public", "sort_order", "is_active"]
