"""Handling plans (建筑垃圾处理方案) with the six parts of GD 条例 Art. 8.

A project has a sequence of plan versions. At most one is a draft (being written) and at most
one is filed (备案, the one in force); every earlier filed version is kept, superseded and
read-only, so the record of what was promised when stays readable.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.core.rulebook.models import CategoryQuantity, WasteCategory
from wastetrail.registry.models import Project, ReceivingSite

ZERO = Decimal("0")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FILED = "filed", _("Filed")
    SUPERSEDED = "superseded", _("Superseded")


class TransportMode(models.TextChoices):
    SEALED_TRUCK = "sealed_truck", _("Sealed muck truck")
    TANK_TRUCK = "tank_truck", _("Sealed tank truck (slurry)")
    VESSEL = "vessel", _("Vessel")
    OTHER = "other", _("Other")


class HandlingPlan(models.Model):
    """One version of a project's handling plan."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="plans",
                                verbose_name=_("construction project"))
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=PlanStatus.choices,
                              default=PlanStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("filed by"))
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    # (1) Project and contractor. The contact is written in the draft; the rest is copied from
    # the registry when the plan is filed, so a filed version shows what was true then.
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    project_name = models.CharField(_("project name"), max_length=200, blank=True)
    project_code = models.CharField(_("project code"), max_length=64, blank=True)
    project_address = models.CharField(_("project address"), max_length=300, blank=True)
    construction_unit_name = models.CharField(_("construction unit"), max_length=200, blank=True)
    construction_unit_uscc = models.CharField(_("construction unit's credit code"), max_length=18,
                                              blank=True)
    owner_name = models.CharField(_("owner (developer)"), max_length=200, blank=True)

    # (2) Quantities and types: PlanQuantity rows.
    # (3) Reduction, sorting, reuse and pollution control.
    reduction_measures = models.TextField(_("reduction, sorting and reuse measures"), blank=True)
    pollution_control_measures = models.TextField(_("pollution-control measures"), blank=True)
    reuse_rate_target = models.DecimalField(
        _("reuse rate target (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    # (4) Outgoing streams: PlanStream rows; (5) receiving sites: derived from the streams.
    # (6) Other matters.
    other_matters = models.TextField(_("other matters"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("handling plan")
        verbose_name_plural = _("handling plans")
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="plan_version_once_per_project"),
            models.UniqueConstraint(fields=["project"], condition=Q(status=PlanStatus.FILED),
                                    name="one_filed_plan_per_project",
                                    violation_error_message=_("The project already has a filed plan.")),
            models.UniqueConstraint(fields=["project"], condition=Q(status=PlanStatus.DRAFT),
                                    name="one_draft_plan_per_project",
                                    violation_error_message=_("The project already has a draft plan.")),
            models.CheckConstraint(condition=Q(version__gte=1), name="plan_version_positive"),
            models.CheckConstraint(
                condition=Q(reuse_rate_target__isnull=True)
                | Q(reuse_rate_target__gte=0, reuse_rate_target__lte=100),
                name="plan_reuse_rate_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status=PlanStatus.DRAFT) | Q(filed_at__isnull=False),
                name="plan_filed_has_filing_time",
            ),
        ]

    def __str__(self) -> str:
        return _("Handling plan of %(project)s, version %(version)s") % {
            "project": self.project_name or self.project, "version": self.version,
        }

    @property
    def is_draft(self) -> bool:
        return self.status == PlanStatus.DRAFT

    @property
    def is_in_force(self) -> bool:
        return self.status == PlanStatus.FILED

    @property
    def receiving_sites(self) -> list[ReceivingSite]:
        """Part (5): the receiving sites named by the streams, each once, in stream order.
        Reads the selectors' prefetch."""
        return list({stream.site_id: stream.site for stream in self.streams.all()}.values())


class PlanQuantity(CategoryQuantity):
    """Part (2): how much of one category the project expects to produce."""

    plan = models.ForeignKey(HandlingPlan, on_delete=models.CASCADE, related_name="quantities")

    class Meta(CategoryQuantity.Meta):
        verbose_name = _("planned quantity")
        verbose_name_plural = _("planned quantities")
        constraints = [
            models.UniqueConstraint(fields=["plan", "category"], name="plan_quantity_once_per_category"),
            models.CheckConstraint(condition=Q(quantity_m3__gte=0, quantity_t__gte=0),
                                   name="plan_quantity_not_negative"),
        ]


class PlanStream(models.Model):
    """Part (4): one outgoing stream — a category, how much, who carries it, where to, when
    and by which route."""

    plan = models.ForeignKey(HandlingPlan, on_delete=models.CASCADE, related_name="streams")
    category = models.ForeignKey(WasteCategory, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("waste category"))
    quantity_m3 = models.DecimalField(_("quantity (m³)"), max_digits=12, decimal_places=2,
                                      validators=[MinValueValidator(ZERO)])
    carrier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("carrier"))
    site = models.ForeignKey(ReceivingSite, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("receiving site"))
    # Daily transport time. An end earlier than the start crosses midnight: muck trucks may
    # only drive at night in many districts.
    daily_start = models.TimeField(_("daily transport from"))
    daily_end = models.TimeField(_("daily transport until"))
    valid_from = models.DateField(_("transport from (date)"))
    valid_to = models.DateField(_("transport until (date)"))
    transport_mode = models.CharField(_("transport mode"), max_length=16, choices=TransportMode.choices,
                                      default=TransportMode.SEALED_TRUCK)
    route = models.TextField(_("transport route"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outgoing stream")
        verbose_name_plural = _("outgoing streams")
        constraints = [
            models.CheckConstraint(condition=Q(quantity_m3__gte=0), name="plan_stream_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.site}"

    @property
    def time_window_display(self) -> str:
        window = f"{self.daily_start:%H:%M}–{self.daily_end:%H:%M}"
        if self.daily_end < self.daily_start:
            window += " " + str(_("(overnight)"))
        return f"{self.valid_from:%Y-%m-%d} – {self.valid_to:%Y-%m-%d}, {window}"

    def covers(self, on: dt.date, at: dt.time | None = None) -> bool:
        """Whether a departure on this date (and at this time, if given) is inside the window."""
        if not (self.valid_from <= on <= self.valid_to):
            return False
        if at is None:
            return True
        if self.daily_start < self.daily_end:
            return self.daily_start <= at < self.daily_end
        return at >= self.daily_start or at < self.daily_end
