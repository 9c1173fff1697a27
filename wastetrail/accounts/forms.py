from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind, Role
from wastetrail.accounts.policy import Actor
from wastetrail.accounts.services import ORGANISATION_FIELDS_FOR_REGULATOR_ONLY
from wastetrail.core.districts import DISTRICT_CHOICES


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "kind", "uscc", "district", "address", "contact_name", "contact_phone",
                  "is_active"]

    def __init__(self, *args, actor: Actor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not actor.is_regulator_admin:
            # Shown but not editable; the service refuses such changes from any door anyway.
            for name in ORGANISATION_FIELDS_FOR_REGULATOR_ONLY:
                self.fields[name].disabled = True


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds"))] + OrganisationKind.choices
    )
    district = forms.TypedChoiceField(
        label=_("District"), required=False, coerce=int, empty_value=None,
        choices=[("", _("All districts"))] + DISTRICT_CHOICES,
    )


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Name"), max_length=60, required=False)
    phone = forms.CharField(label=_("Mobile"), max_length=11, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput,
                               help_text=_("At least 10 characters; the person should change it."))
