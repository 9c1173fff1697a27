"""Disposal approvals (处置核准): emission, transport and disposal.

An approval is applied for by its holder (the construction unit for a project, the transport
company, the site operator for a receiving site), reviewed by the regulator within a deadline in
working days, then approved with a scope or rejected. An approved approval can be suspended
(and reinstated), revoked, or expire at the end of its validity. The history is the audit trail.
"""

from __future__ import annotations

import datetime as dt
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.registry.models import Project, ReceivingSite, Vehicle


class ApprovalKind(models.TextChoices):
    EMISSION = "emission", _("Emission approval")
    TRANSPORT = "transport", _("Transport approval")
    DISPOSAL = "disposal", _("Disposal approval")


class ApprovalStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


# Who may hold each kind, the character in its number and the rulebook's review deadline.
HOLDER_KIND = {
    ApprovalKind.EMISSION: OrganisationKind.CONSTRUCTION_UNIT,
    ApprovalKind.TRANSPORT: OrganisationKind.TRANSPORT_COMPANY,
    ApprovalKind.DISPOSAL: OrganisationKind.SITE_OPERATOR,
}
NUMBER_CHARACTER = {ApprovalKind.EMISSION: "排", ApprovalKind.TRANSPORT: "运", ApprovalKind.DISPOSAL: "消"}
REVIEW_DEADLINE = {kind: f"approval_review_{kind}" for kind in ApprovalKind.values}
NUMBER_PREFIX = "江城管核"

OPEN_STATUSES = (ApprovalStatus.APPLIED, ApprovalStatus.UNDER_REVIEW)
# Statuses that carry a granted scope (an approval that was approved at some point).
SCOPED_STATUSES = (ApprovalStatus.APPROVED, ApprovalStatus.SUSPENDED, ApprovalStatus.REVOKED,
                   ApprovalStatus.EXPIRED)


def approval_number(kind: str, year: int, serial: int) -> str:
    """e.g. 江城管核〔2026〕排00012."""
    return f"{NUMBER_PREFIX}〔{year}〕{NUMBER_CHARACTER[kind]}{serial:05d}"


class ApprovalNumberCounter(models.Model):
    """The last serial given per year and kind; locked while a number is taken."""

    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=ApprovalKind.choices)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "kind"], name="one_counter_per_year_and_kind")]


class Approval(models.Model):
    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ApprovalKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.APPLIED)
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="approvals",
                               verbose_name=_("holder"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="approvals",
                                null=True, blank=True, verbose_name=_("construction project"))
    site = models.ForeignKey(ReceivingSite, on_delete=models.PROTECT, related_name="approvals",
                             null=True, blank=True, verbose_name=_("receiving site"))
    note = models.TextField(_("application note"), blank=True)

    applied_at = models.DateTimeField(_("applied"))
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("applied by"))
    review_due = models.DateField(_("review deadline"))
    # False when the working-day calendar lacked the State Council's notice for a year it used.
    review_due_official = models.BooleanField(_("deadline computed from official data"), default=True)
    review_started_at = models.DateTimeField(_("review started"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("decided by"))
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    suspension_reason = models.TextField(_("reason for suspension"), blank=True)
    revocation_reason = models.TextField(_("reason for revocation"), blank=True)

    # The scope, set when approved.
    categories = models.ManyToManyField(WasteCategory, related_name="+", blank=True,
                                        verbose_name=_("waste categories"))
    vehicles = models.ManyToManyField(Vehicle, related_name="approvals", blank=True,
                                      verbose_name=_("vehicles"))
    sites = models.ManyToManyField(ReceivingSite, related_name="approvals_in_scope", blank=True,
                                   verbose_name=_("receiving sites"))
    quantity_cap_m3 = models.DecimalField(_("quantity cap (m³)"), max_digits=14, decimal_places=2,
                                          null=True, blank=True,
                                          validators=[MinValueValidator(0)])
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        indexes = [
            models.Index(fields=["holder", "kind", "status"]),
            models.Index(fields=["status", "review_due"]),
            models.Index(fields=["status", "valid_to"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=ApprovalKind.EMISSION, project__isnull=False, site__isnull=True)
                           | Q(kind=ApprovalKind.TRANSPORT, project__isnull=True, site__isnull=True)
                           | Q(kind=ApprovalKind.DISPOSAL, project__isnull=True, site__isnull=False)),
                name="approval_subject_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=SCOPED_STATUSES)
                | Q(valid_from__isnull=False, valid_to__isnull=False, decided_at__isnull=False),
                name="approval_granted_has_validity",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="approval_valid_to_not_before_from",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApprovalStatus.REJECTED) | ~Q(rejection_reason=""),
                name="approval_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(quantity_cap_m3__isnull=True) | Q(quantity_cap_m3__gt=0),
                name="approval_cap_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def subject(self) -> Project | ReceivingSite | None:
        return self.project if self.project_id else (self.site if self.site_id else None)

    @property
    def subject_display(self) -> str:
        subject = self.subject
        return str(subject) if subject is not None else ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open and self.review_due < today

    @property
    def validity_display(self) -> str:
        if self.valid_from is None or self.valid_to is None:
            return ""
        return f"{self.valid_from:%Y-%m-%d} – {self.valid_to:%Y-%m-%d}"

    # The list helpers read the selectors' prefetches: no query per row.
    @property
    def categories_display(self) -> str:
        return ", ".join(str(c) for c in self.categories.all()) if self.pk else ""

    @property
    def vehicles_display(self) -> str:
        return ", ".join(v.plate for v in self.vehicles.all()) if self.pk else ""

    @property
    def sites_display(self) -> str:
        return ", ".join(s.name for s in self.sites.all()) if self.pk else ""


ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png")


def validate_attachment(upload) -> None:
    """Size ≤ 10 MB and a PDF, JPEG or PNG name. The content is not inspected further."""
    extension = os.path.splitext(upload.name or "")[1].lower()
    if extension not in ATTACHMENT_EXTENSIONS:
        raise ValidationError(_("Attach a PDF, JPG or PNG file."))
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is larger than 10 MB."))


class ApprovalAttachment(models.Model):
    approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("file"), upload_to="approvals/%Y/%m/", validators=[validate_attachment])
    name = models.CharField(_("name"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


# The state machine as data: each step and the statuses it starts from. Services check it under
# a row lock; pages offer only the steps possible now.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "start_review": (ApprovalStatus.APPLIED,),
    "approve": (ApprovalStatus.UNDER_REVIEW,),
    "reject": (ApprovalStatus.UNDER_REVIEW,),
    "suspend": (ApprovalStatus.APPROVED,),
    "reinstate": (ApprovalStatus.SUSPENDED,),
    "revoke": (ApprovalStatus.APPROVED, ApprovalStatus.SUSPENDED),
}
ALLOWED_DECISIONS: dict[str, tuple[str, ...]] = {
    status: tuple(step for step, sources in TRANSITIONS.items() if status in sources)
    for status in ApprovalStatus.values
}
