from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.core.rulebook.models import (
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    RulebookParameter,
    Violation,
    WasteCategory,
)
from wastetrail.core.rulebook.services import (
    CATEGORY_FIELDS,
    DEADLINE_FIELDS,
    NOTICE_FIELDS,
    OVERRIDE_FIELDS,
    PARAMETER_FIELDS,
    VIOLATION_FIELDS,
    Checks,
    category_checks,
    deadline_checks,
    notice_checks,
    parameter_value_problems,
    violation_checks,
)


class _FixedKeyForm(forms.ModelForm):
    """The key (code, date, year) is typed once; after that it is shown but cannot change."""

    fixed_field: str = "code"
    checks: ClassVar[Checks | None] = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields[self.fixed_field].disabled = True
            self.fields[self.fixed_field].help_text = _("Fixed once created: other records refer to it.")

    def clean(self) -> dict[str, Any]:
        # The service's cross-field rules, run here too so that their message lands on the field
        # at fault; a field with an error also keeps the model's constraint from adding a vaguer
        # copy of it to the top of the form.
        cleaned = super().clean()
        if self.checks is not None:
            for field, messages in self.checks(cleaned).items():
                if field not in self.errors:
                    self.add_error(field, messages)
        return cleaned


class CategoryForm(_FixedKeyForm):
    checks = staticmethod(category_checks)
    class Meta:
        model = WasteCategory
        fields = CATEGORY_FIELDS


class ViolationForm(_FixedKeyForm):
    checks = staticmethod(violation_checks)
    class Meta:
        model = Violation
        fields = VIOLATION_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class DeadlineForm(_FixedKeyForm):
    checks = staticmethod(deadline_checks)
    class Meta:
        model = DeadlineRule
        fields = DEADLINE_FIELDS


class OverrideForm(_FixedKeyForm):
    fixed_field = "date"

    class Meta:
        model = CalendarOverride
        fields = OVERRIDE_FIELDS
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {"is_working_day": _("Ticked: people work that day (a make-up working day). "
                                          "Unticked: a day off.")}


class NoticeForm(_FixedKeyForm):
    fixed_field = "year"
    checks = staticmethod(notice_checks)

    class Meta:
        model = CalendarYearNotice
        fields = NOTICE_FIELDS


class ParameterForm(_FixedKeyForm):
    """Value, names and basis; the bounds come from the row being edited."""

    class Meta:
        model = RulebookParameter
        fields = PARAMETER_FIELDS
        widgets = {"basis": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["value"].help_text = _("Allowed: %(bounds)s.") % {"bounds": self.instance.bounds_display}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Before the model's own check: the message names the bounds, on the field.
        if "value" in cleaned and "value" not in self.errors and self.instance.pk is not None:
            problems = parameter_value_problems(self.instance, cleaned["value"])
            if problems:
                self.add_error("value", problems)
        return cleaned


class ViolationFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)


class OverrideFilterForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1, max_value=9999)
