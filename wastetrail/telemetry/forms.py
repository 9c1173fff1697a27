"""Forms of the telemetry pages: a track's period and the terminal list's filters (GET forms)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wastetrail.telemetry import selectors
from wastetrail.telemetry.selectors import Connection, TerminalOrder

# What <input type="datetime-local"> sends and shows (minutes are enough for a period).
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
DEFAULT_TRACK_PERIOD = dt.timedelta(hours=24)


def _moment_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class TrackPeriodForm(forms.Form):
    """``?from=...&to=...`` in the server's local time (China time). The fields are named like the
    API's query parameters, and ``from`` is a Python keyword, hence ``base_fields`` below."""

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["from"], data["to"] = selectors.track_period(data.get("from"), data.get("to"))
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field, errors)
        return data

    @classmethod
    def initial_period(cls, now: dt.datetime | None = None) -> dict:
        """The last 24 hours, to the minute, in local time."""
        end = timezone.localtime(now or timezone.now()).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        return {"from": end - DEFAULT_TRACK_PERIOD, "to": end}


TrackPeriodForm.base_fields = {"from": _moment_field(_("From")), "to": _moment_field(_("To"))}


class TerminalFilterForm(forms.Form):
    connection = forms.ChoiceField(label=_("Connection"), required=False,
                                   choices=[("", _("All"))] + Connection.choices)
    q = forms.CharField(label=_("Search"), required=False, max_length=60,
                        widget=forms.TextInput(attrs={"placeholder": _("Phone number, terminal ID or plate")}))
    order = forms.ChoiceField(label=_("Sort by"), required=False, choices=TerminalOrder.choices)
