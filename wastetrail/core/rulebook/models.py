"""The rulebook as data: what a regulator administrator edits instead of the code.

Jiangmen's defaults are loaded by a data migration; other cities change the rows.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class WasteCategory(models.Model):
    """One of the five categories that are collected, carried and disposed of separately."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=80)
    # Converts an estimate in m³ to tonnes (and back) where only one was given.
    density_t_per_m3 = models.DecimalField(
        _("default density (t/m³)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(0.01)],
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("waste category")
        verbose_name_plural = _("waste categories")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class Violation(models.Model):
    """A row of the violation catalogue: what is punished, under which article, how much."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    title_zh = models.CharField(_("Chinese title"), max_length=120)
    title_en = models.CharField(_("English title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=120)
    article = models.CharField(_("article"), max_length=40)
    fine_min_yuan = models.PositiveBigIntegerField(_("minimum fine (yuan)"))
    fine_max_yuan = models.PositiveBigIntegerField(_("maximum fine (yuan)"))
    daily_penalty_allowed = models.BooleanField(_("daily continuing penalty allowed"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("violation")
        verbose_name_plural = _("violation catalogue")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fine_min_yuan__lte=models.F("fine_max_yuan")),
                name="violation_fine_range_ordered",
                violation_error_message=_("The minimum fine cannot exceed the maximum fine."),
            ),
        ]

    def __str__(self) -> str:
        return self.title_en if (get_language() or "").startswith("en") else self.title_zh


class DeadlineRule(models.Model):
    """A deadline counted in working days (approval review, work-order types, ...)."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=120)
    working_days = models.PositiveSmallIntegerField(
        _("working days"), validators=[MinValueValidator(1)]
    )
    legal_basis = models.CharField(_("legal basis"), max_length=160, blank=True)
    # Where the law caps the deadline (an approval must be decided within 20 working days), a
    # city may promise less but never more; empty where no law sets a ceiling.
    legal_max_working_days = models.PositiveSmallIntegerField(
        _("legal maximum (working days)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(legal_max_working_days__isnull=True)
                | models.Q(working_days__lte=models.F("legal_max_working_days")),
                name="deadline_within_legal_maximum",
                violation_error_message=_("The deadline cannot exceed its legal maximum."),
            ),
        ]

    def __str__(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class CalendarOverride(models.Model):
    """One day whose status the State Council's yearly notice sets (holiday or make-up work day).

    Overrides win over the `holidays` package, so an administrator can enter next year's
    notice the day it is published.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")

    def __str__(self) -> str:
        status = _("working day") if self.is_working_day else _("day off")
        return f"{self.date:%Y-%m-%d} {status}"


class CalendarYearNotice(models.Model):
    """Records that a year's official holiday notice has been entered as overrides."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=200, help_text=_("e.g. 国办发明电〔2026〕x号"))

    class Meta:
        ordering = ["year"]
        verbose_name = _("official calendar year")
        verbose_name_plural = _("official calendar years")

    def __str__(self) -> str:
        return str(self.year)


class RulebookParameter(models.Model):
    """A number the platform's checks use that the city sets by policy (a tolerance, a
    threshold). The code reads it by ``code``; the unit and the bounds are what that code
    expects, so they are fixed by the migration that creates the row, and only the value, the
    names and the basis are edited."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=160)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    min_value = models.DecimalField(_("lowest allowed value"), max_digits=12, decimal_places=2,
                                    null=True, blank=True)
    max_value = models.DecimalField(_("highest allowed value"), max_digits=12, decimal_places=2,
                                    null=True, blank=True)
    basis = models.TextField(_("basis"), blank=True,
                             help_text=_("Where the value comes from: a law, a city policy, practice."))

    class Meta:
        ordering = ["code"]
        verbose_name = _("rulebook parameter")
        verbose_name_plural = _("rulebook parameters")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(min_value__isnull=True) | models.Q(value__gte=models.F("min_value")))
                & (models.Q(max_value__isnull=True) | models.Q(value__lte=models.F("max_value"))),
                name="parameter_value_within_bounds",
                violation_error_message=_("The value is outside the allowed range."),
            ),
        ]

    def __str__(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def display_value(self) -> str:
        return f"{self.value} {self.unit}".strip()

    @property
    def bounds_display(self) -> str:
        low = "—" if self.min_value is None else str(self.min_value)
        high = "—" if self.max_value is None else str(self.max_value)
        return f"{low} – {high} {self.unit}".strip()


class CategoryQuantity(models.Model):
    """An amount of one waste category in both units (a project's estimate, a plan's quantity):
    abstract, so that each owner keeps its own table and constraints."""

    category = models.ForeignKey(WasteCategory, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("waste category"))
    quantity_m3 = models.DecimalField(_("quantity (m³)"), max_digits=12, decimal_places=2,
                                      validators=[MinValueValidator(0)])
    quantity_t = models.DecimalField(_("quantity (t)"), max_digits=12, decimal_places=2,
                                     validators=[MinValueValidator(0)])

    class Meta:
        abstract = True
        ordering = ["category__sort_order", "category__code"]

    def __str__(self) -> str:
        return f"{self.category}: {self.quantity_m3} m³ / {self.quantity_t} t"
