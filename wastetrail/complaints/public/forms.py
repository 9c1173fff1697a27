"""Forms of the public pages. They only coerce types; the services decide what is acceptable
(a position inside Jiangmen, a mobile number, photos that decode) and their errors are put back
on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.complaints import selectors
from wastetrail.complaints.models import Satisfaction
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.core.images import PHOTO_FORMATS
from wastetrail.stacking.selectors import public_points

PHOTO_ACCEPT = ",".join(f"image/{name.lower()}" for name in PHOTO_FORMATS)


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Any number of files as a list; core.images (through the service) checks each one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": PHOTO_ACCEPT}))
        super().__init__(required=False, **kwargs)

    def to_python(self, data: Any) -> list:
        if not data:
            return []
        return [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]

    def clean(self, data: Any, initial: Any = None) -> list:
        return self.to_python(data)


class ReportForm(forms.Form):
    category = forms.ModelChoiceField(label=_("What is the problem?"), queryset=selectors.categories(public_only=True),
                                      empty_label=None, widget=forms.RadioSelect)
    lon = forms.CharField(required=False, widget=forms.HiddenInput)
    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=_("Address or landmark"), max_length=300, required=False,
                              help_text=_("For example: the road and the nearest shop, bus stop or building."))
    description = forms.CharField(label=_("What happened?"), max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    reported_plate = forms.CharField(label=_("Truck plate (if you saw it)"), max_length=12, required=False)
    stacking_point = forms.ModelChoiceField(queryset=public_points(), required=False, widget=forms.HiddenInput)
    photos = MultiplePhotoField(label=_("Photos"))
    anonymous = forms.BooleanField(label=_("Report anonymously (we cannot answer you)"), required=False)
    complainant_name = forms.CharField(label=_("Your name"), max_length=60, required=False)
    complainant_phone = forms.CharField(label=_("Your mobile number"), max_length=20, required=False,
                                        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    # The service names the position "location"; it belongs next to the map.
    SERVICE_FIELDS = {"location": "lon"}


class TrackForm(forms.Form):
    number = forms.CharField(label=_("Tracking number"), max_length=24,
                             widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}))
    code = forms.CharField(label=_("Code"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                         "pattern": "[0-9]{6}"}))

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()


class RateForm(forms.Form):
    satisfaction = forms.TypedChoiceField(label=_("Are you satisfied with the answer?"), coerce=int,
                                          choices=[(value, label) for value, label in reversed(Satisfaction.choices)],
                                          widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment"), max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Required when you are dissatisfied: tell us what is still wrong."))


class FillReportForm(forms.Form):
    FULL, DIRTY = "full", "dirty"
    problem = forms.ChoiceField(label=_("What is wrong?"), widget=forms.RadioSelect, choices=[
        (FULL, _("It is full: no room for more bags")),
        (DIRTY, _("It is dirty, or waste is left outside it")),
    ])
    note = forms.CharField(label=_("Note (optional)"), max_length=300, required=False)


class PointSearchForm(forms.Form):
    district = forms.TypedChoiceField(label=_("District"), coerce=int, required=False, empty_value=None,
                                      choices=[("", _("All districts")), *DISTRICT_CHOICES])
    q = forms.CharField(label=_("Search point names and addresses"), max_length=60, required=False)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    everything = forms.BooleanField(label=_("Also show full and closed points"), required=False)
