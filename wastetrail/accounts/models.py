"""Organisations (every kind of party), users, their memberships and roles, API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.core.validators import validate_mobile, validate_uscc


class OrganisationKind(models.TextChoices):
    REGULATOR = "regulator", _("Regulator (urban management / sanitation)")
    DEVELOPER = "developer", _("Developer (project owner)")
    CONSTRUCTION_UNIT = "construction_unit", _("Construction unit")
    TRANSPORT_COMPANY = "transport_company", _("Transport company")
    SITE_OPERATOR = "site_operator", _("Receiving site operator")
    PROPERTY_MANAGER = "property_manager", _("Property manager")
    STREET_OFFICE = "street_office", _("Street office / town government")
    HOUSING_AUTHORITY = "housing_authority", _("Housing authority")
    HOTLINE = "hotline", _("12345 hotline")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    # For regulators and street offices this is their jurisdiction (empty = the whole city);
    # for companies, where they are registered.
    district = models.PositiveIntegerField(
        _("district"), choices=DISTRICT_CHOICES, null=True, blank=True
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(
        _("contact phone"), max_length=11, blank=True, validators=[validate_mobile]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    phone = models.CharField(_("mobile"), max_length=11, blank=True, validators=[validate_mobile])

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    STAFF = "staff", _("Staff")
    DRIVER = "driver", _("Driver")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"


class LoginFailure(models.Model):
    """One failed login; recent rows for a username or address throttle further attempts."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for a machine client; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(_("prefix"), max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
