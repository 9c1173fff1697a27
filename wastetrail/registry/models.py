"""The registry: construction projects, receiving sites, vehicles, their terminals, drivers.

Positions are WGS-84 integer micro-degrees; districts are derived from them by the services
(never typed in), so a project or site is always supervised by the district it lies in.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.core.districts import DISTRICT_CHOICES, district_name
from wastetrail.core.rulebook.models import CategoryQuantity, WasteCategory
from wastetrail.core.validators import mask_id_number, mask_phone, validate_id_number, validate_mobile
from wastetrail.registry.geometry import decimal_from_e6, from_e6
from wastetrail.registry.validators import (
    MANUFACTURER_ID_MAX_LENGTH,
    TERMINAL_MODEL_MAX_LENGTH,
    plate_colour_problem,
    terminal_id_problem,
    terminal_phone_problem,
    validate_plate,
    validate_vin,
)

ZERO = Decimal("0")


def _require_kind(errors: dict, field: str, organisation: Organisation | None, kind: str) -> None:
    if organisation is not None and organisation.kind != kind:
        # The name stays out of the message: the organisation may be one the actor cannot see.
        errors[field] = _("The chosen organisation is not a %(kind)s.") % {
            "kind": OrganisationKind(kind).label.lower(),
        }


def _organisation(instance: models.Model, field: str) -> Organisation | None:
    # The FK may be unset on a half-built instance (a ModelForm validating only its own fields).
    if getattr(instance, f"{field}_id") is None:
        return None
    return getattr(instance, field)


# --- Construction projects ------------------------------------------------------------------
class ProjectType(models.TextChoices):
    NEW_BUILD = "new_build", _("New build")
    RENOVATION = "renovation", _("Renovation / extension")
    DEMOLITION = "demolition", _("Demolition")
    PIPELINE = "pipeline", _("Pipeline / network works")


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    UNDER_CONSTRUCTION = "under_construction", _("Under construction")
    SUSPENDED = "suspended", _("Suspended")
    COMPLETED = "completed", _("Completed")


class Project(models.Model):
    """A construction project: where construction waste is produced."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(
        _("project code"), max_length=64, unique=True,
        help_text=_("The construction permit number or the project's registration code."),
    )
    project_type = models.CharField(_("project type"), max_length=16, choices=ProjectType.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED
    )
    # The construction unit produces the waste, so it registers and manages the project.
    construction_unit = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="projects",
        verbose_name=_("construction unit"),
    )
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="owned_projects", null=True,
        blank=True, verbose_name=_("owner (developer)"),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    lon_e6 = models.IntegerField(_("longitude (micro-degrees)"))
    lat_e6 = models.IntegerField(_("latitude (micro-degrees)"))
    district = models.PositiveIntegerField(_("district"), choices=DISTRICT_CHOICES)
    planned_start = models.DateField(_("planned start"))
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("construction project")
        verbose_name_plural = _("construction projects")
        indexes = [
            models.Index(fields=["construction_unit", "name"]),
            models.Index(fields=["district", "name"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True) | Q(planned_end__gte=models.F("planned_start")),
                name="project_end_not_before_start",
                violation_error_message=_("The planned end cannot be before the planned start."),
            ),
            models.CheckConstraint(
                condition=Q(lon_e6__gte=-180_000_000, lon_e6__lte=180_000_000,
                            lat_e6__gte=-90_000_000, lat_e6__lte=90_000_000),
                name="project_location_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lon(self) -> float | None:
        return from_e6(self.lon_e6)

    @property
    def lat(self) -> float | None:
        return from_e6(self.lat_e6)

    @property
    def lon_decimal(self) -> Decimal | None:
        return decimal_from_e6(self.lon_e6)

    @property
    def lat_decimal(self) -> Decimal | None:
        return decimal_from_e6(self.lat_e6)

    @property
    def location_display(self) -> str:
        if self.lon_e6 is None or self.lat_e6 is None:
            return ""
        return f"{self.lon_decimal}, {self.lat_decimal}"

    @property
    def district_name(self) -> str:
        return district_name(self.district)

    def clean(self) -> None:
        errors: dict = {}
        _require_kind(errors, "construction_unit", _organisation(self, "construction_unit"),
                      OrganisationKind.CONSTRUCTION_UNIT)
        _require_kind(errors, "owner", _organisation(self, "owner"), OrganisationKind.DEVELOPER)
        if self.planned_start and self.planned_end and self.planned_end < self.planned_start:
            errors["planned_end"] = _("The planned end cannot be before the planned start.")
        if errors:
            raise ValidationError(errors)


class ProjectCategoryEstimate(CategoryQuantity):
    """How much of one waste category a project expects to produce (both units, see services)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="estimates")

    class Meta(CategoryQuantity.Meta):
        verbose_name = _("estimated quantity")
        verbose_name_plural = _("estimated quantities")
        constraints = [
            models.UniqueConstraint(fields=["project", "category"], name="one_estimate_per_category"),
            models.CheckConstraint(condition=Q(quantity_m3__gte=0, quantity_t__gte=0),
                                   name="estimate_not_negative"),
        ]


# --- Receiving sites ------------------------------------------------------------------------
class SiteKind(models.TextChoices):
    DISPOSAL = "disposal", _("Disposal site")
    RECYCLING = "recycling", _("Recycling plant")
    TRANSFER = "transfer", _("Transfer station")
    BACKFILL = "backfill", _("Backfill site")


class SiteStatus(models.TextChoices):
    OPEN = "open", _("Open")
    STOPPED_ACCEPTING = "stopped_accepting", _("Stopped accepting")
    CLOSED = "closed", _("Closed")


class ReceivingSite(models.Model):
    """A place that receives construction waste: disposal, recycling, transfer or backfill."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=SiteKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=SiteStatus.choices,
                              default=SiteStatus.OPEN)
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                 related_name="receiving_sites", verbose_name=_("operator"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    # GeoJSON Polygon/MultiPolygon in WGS-84, normalised by the services (RFC 7946 winding,
    # coordinates rounded to micro-degrees). The anchor, area and district are derived from it.
    boundary = models.JSONField(_("boundary (GeoJSON)"))
    centroid_lon_e6 = models.IntegerField(_("centre longitude (micro-degrees)"))
    centroid_lat_e6 = models.IntegerField(_("centre latitude (micro-degrees)"))
    area_m2 = models.PositiveIntegerField(_("area (m²)"))
    district = models.PositiveIntegerField(_("district"), choices=DISTRICT_CHOICES)
    accepted_categories = models.ManyToManyField(
        WasteCategory, related_name="receiving_sites", verbose_name=_("accepted categories"),
        blank=True,
    )
    capacity_m3 = models.DecimalField(_("capacity (m³)"), max_digits=14, decimal_places=2,
                                      validators=[MinValueValidator(ZERO)])
    used_capacity_m3 = models.DecimalField(_("used capacity (m³)"), max_digits=14,
                                           decimal_places=2, default=ZERO,
                                           validators=[MinValueValidator(ZERO)])
    # Both empty: open around the clock. closes_at earlier than opens_at: open overnight, which
    # is common because muck trucks may only drive at night in many districts.
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    hours_note = models.CharField(_("opening hours note"), max_length=200, blank=True,
                                  help_text=_("e.g. closed on public holidays"))
    has_weighbridge = models.BooleanField(_("has a weighbridge"), default=False)
    weighbridge_name = models.CharField(_("weighbridge ID / name"), max_length=60, blank=True)
    licence_number = models.CharField(_("disposal approval / licence number"), max_length=64,
                                      blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("receiving site")
        verbose_name_plural = _("receiving sites")
        indexes = [models.Index(fields=["district", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_capacity_m3__lte=models.F("capacity_m3")),
                name="site_used_within_capacity",
                violation_error_message=_("The used capacity cannot exceed the capacity."),
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True, closes_at__isnull=True)
                | Q(opens_at__isnull=False, closes_at__isnull=False),
                name="site_hours_both_or_neither",
                violation_error_message=_("Give both the opening and the closing time, or neither."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def centroid_lon(self) -> float | None:
        return from_e6(self.centroid_lon_e6)

    @property
    def centroid_lat(self) -> float | None:
        return from_e6(self.centroid_lat_e6)

    @property
    def district_name(self) -> str:
        return district_name(self.district)

    @property
    def centre_display(self) -> str:
        if self.centroid_lon_e6 is None or self.centroid_lat_e6 is None:
            return ""
        return f"{decimal_from_e6(self.centroid_lon_e6)}, {decimal_from_e6(self.centroid_lat_e6)}"

    @property
    def accepted_categories_display(self) -> str:
        # Reads the selectors' prefetch: no query per row on a list page.
        return ", ".join(str(c) for c in self.accepted_categories.all()) if self.pk else ""

    @property
    def weighbridge_display(self) -> str:
        if not self.has_weighbridge:
            return str(_("None"))
        return self.weighbridge_name or str(_("Yes"))

    @property
    def remaining_capacity_m3(self) -> Decimal | None:
        if self.capacity_m3 is None:
            return None
        return self.capacity_m3 - (self.used_capacity_m3 or ZERO)

    @property
    def opening_hours_display(self) -> str:
        if self.opens_at is None or self.closes_at is None:
            hours = str(_("Open 24 hours"))
        else:
            hours = f"{self.opens_at:%H:%M}–{self.closes_at:%H:%M}"
            if self.closes_at < self.opens_at:
                hours += " " + str(_("(overnight)"))
        return f"{hours}; {self.hours_note}" if self.hours_note else hours

    def is_open_at(self, moment: dt.time) -> bool:
        if self.opens_at is None or self.closes_at is None:
            return True
        if self.opens_at < self.closes_at:
            return self.opens_at <= moment < self.closes_at
        return moment >= self.opens_at or moment < self.closes_at

    def clean(self) -> None:
        errors: dict = {}
        _require_kind(errors, "operator", _organisation(self, "operator"), OrganisationKind.SITE_OPERATOR)
        if (self.capacity_m3 is not None and self.used_capacity_m3 is not None
                and self.used_capacity_m3 > self.capacity_m3):
            errors["used_capacity_m3"] = _("The used capacity cannot exceed the capacity.")
        if (self.opens_at is None) != (self.closes_at is None):
            field = "closes_at" if self.closes_at is None else "opens_at"
            errors[field] = _("Give both the opening and the closing time, or neither "
                              "(open 24 hours).")
        elif self.opens_at is not None and self.opens_at == self.closes_at:
            errors["closes_at"] = _("The closing time equals the opening time; leave both empty "
                                    "for a site open 24 hours.")
        if not self.has_weighbridge and self.weighbridge_name:
            errors["weighbridge_name"] = _("Tick “has a weighbridge” or leave the weighbridge "
                                           "empty.")
        if errors:
            raise ValidationError(errors)


# --- Vehicles and terminals -----------------------------------------------------------------
class PlateColour(models.IntegerChoices):
    """Plate colour codes as JT/T 808-2019 reports them (JT/T 697.7, JT/T 415)."""

    BLUE = 1, _("Blue")
    YELLOW = 2, _("Yellow")
    BLACK = 3, _("Black")
    WHITE = 4, _("White")
    GREEN = 5, _("Green (new-energy)")
    OTHER = 9, _("Other")


class VehicleStatus(models.TextChoices):
    ACTIVE = "active", _("In service")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


class Vehicle(models.Model):
    """A muck truck registered by its transport company."""

    plate = models.CharField(_("plate"), max_length=8, unique=True, validators=[validate_plate])
    plate_colour = models.PositiveSmallIntegerField(_("plate colour"), choices=PlateColour.choices,
                                                    default=PlateColour.YELLOW)
    vin = models.CharField(_("VIN"), max_length=17, unique=True, validators=[validate_vin])
    company = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="vehicles",
                                verbose_name=_("transport company"))
    sealed_body_certified = models.BooleanField(_("sealed body certified"), default=False)
    sealed_body_certificate_no = models.CharField(_("sealed body certificate number"),
                                                  max_length=64, blank=True)
    capacity_m3 = models.DecimalField(
        _("load capacity (m³)"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("100"))],
    )
    capacity_t = models.DecimalField(
        _("load capacity (t)"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("100"))],
    )
    status = models.CharField(_("status"), max_length=16, choices=VehicleStatus.choices,
                              default=VehicleStatus.ACTIVE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["plate"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        indexes = [models.Index(fields=["company", "plate"])]

    def __str__(self) -> str:
        return self.plate

    def _bound_terminal(self) -> Terminal | None:
        try:
            return self.terminal
        except Terminal.DoesNotExist:
            return None

    @property
    def terminal_phone(self) -> str:
        terminal = self._bound_terminal()
        return terminal.phone if terminal else ""

    @property
    def terminal_identifier(self) -> str:
        terminal = self._bound_terminal()
        return terminal.terminal_id if terminal else ""

    def clean(self) -> None:
        errors: dict = {}
        _require_kind(errors, "company", _organisation(self, "company"), OrganisationKind.TRANSPORT_COMPANY)
        colour_problem = plate_colour_problem(self.plate or "", self.plate_colour)
        if colour_problem is not None:
            errors["plate_colour"] = colour_problem
        if self.sealed_body_certified and not self.sealed_body_certificate_no:
            errors["sealed_body_certificate_no"] = _("Give the number of the sealed-body certificate.")
        if self.capacity_m3 is None and self.capacity_t is None:
            errors["capacity_m3"] = _("Give the load capacity in m³, in tonnes, or both.")
        if errors:
            raise ValidationError(errors)


class TerminalProtocol(models.TextChoices):
    V2013 = "2013", "JT/T 808-2013"
    V2019 = "2019", "JT/T 808-2019"


class Terminal(models.Model):
    """A JT/T 808 satellite-positioning terminal, owned by a transport company, fitted to a truck."""

    company = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="terminals",
                                verbose_name=_("transport company"))
    # Canonical: digits without the BCD left padding (see validators.canonical_terminal_phone).
    phone = models.CharField(_("terminal phone number"), max_length=20, unique=True)
    terminal_id = models.CharField(_("terminal ID"), max_length=30)
    protocol = models.CharField(_("protocol version"), max_length=4, choices=TerminalProtocol.choices,
                                default=TerminalProtocol.V2019)
    manufacturer_id = models.CharField(_("manufacturer ID"), max_length=11, blank=True)
    terminal_model = models.CharField(_("terminal model"), max_length=30, blank=True)
    vehicle = models.OneToOneField(Vehicle, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="terminal", verbose_name=_("vehicle"))
    # Issued by the gateway when the terminal registers (0x0100 → 0x8100); null until then.
    auth_code = models.CharField(_("authentication code"), max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["phone"]
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")
        indexes = [models.Index(fields=["company", "phone"])]

    def __str__(self) -> str:
        return f"{self.phone} ({self.terminal_id})"

    @property
    def is_registered(self) -> bool:
        return bool(self.auth_code)

    def clean(self) -> None:
        errors: dict = {}
        _require_kind(errors, "company", _organisation(self, "company"), OrganisationKind.TRANSPORT_COMPANY)
        protocol = self.protocol or TerminalProtocol.V2019
        for field, problem in (("phone", terminal_phone_problem(self.phone, protocol)),
                               ("terminal_id", terminal_id_problem(self.terminal_id, protocol))):
            if problem is not None:
                errors[field] = problem
        for field, limits in (("manufacturer_id", MANUFACTURER_ID_MAX_LENGTH),
                              ("terminal_model", TERMINAL_MODEL_MAX_LENGTH)):
            # The protocol counts bytes; GBK is what terminals send, two bytes per Chinese character.
            size = len((getattr(self, field) or "").encode("gbk", errors="replace"))
            if size > limits[protocol]:
                errors[field] = _("JT/T 808-%(protocol)s allows %(max)d bytes here; this is %(n)d.") % {
                    "protocol": protocol, "max": limits[protocol], "n": size,
                }
        vehicle = self.vehicle if self.vehicle_id else None
        if vehicle is not None and self.company_id and vehicle.company_id != self.company_id:
            errors["vehicle"] = _("The vehicle belongs to another company than the terminal.")
        if errors:
            raise ValidationError(errors)


# --- Drivers --------------------------------------------------------------------------------
class LicenceClass(models.TextChoices):
    A1 = "A1", "A1"
    A2 = "A2", "A2"
    A3 = "A3", "A3"
    B1 = "B1", "B1"
    B2 = "B2", "B2"
    C1 = "C1", "C1"
    C2 = "C2", "C2"
    C6 = "C6", "C6"


class Driver(models.Model):
    """A person who drives for a transport company. ID number, phone and licence number are
    personal data: stored in full, shown masked to those who do not need them (policy)."""

    company = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="drivers",
                                verbose_name=_("transport company"))
    name = models.CharField(_("name"), max_length=60)
    id_number = models.CharField(_("ID number"), max_length=18, validators=[validate_id_number])
    phone = models.CharField(_("mobile"), max_length=11, validators=[validate_mobile])
    # In China the driving licence number is the holder's ID number: personal data too.
    licence_number = models.CharField(_("driving licence number"), max_length=18, blank=True)
    licence_class = models.CharField(_("licence class"), max_length=2, choices=LicenceClass.choices,
                                     blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="driver_records",
                             verbose_name=_("login account"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        constraints = [
            models.UniqueConstraint(fields=["company", "id_number"], name="driver_once_per_company"),
            models.UniqueConstraint(fields=["company", "user"], name="driver_account_once_per_company"),
        ]

    def __str__(self) -> str:
        return self.name

    # Selectors annotate `personal_data_visible` from the policy; without it, data stays masked.
    @property
    def shows_personal_data(self) -> bool:
        return bool(getattr(self, "personal_data_visible", False))

    @property
    def id_number_shown(self) -> str:
        return self.id_number if self.shows_personal_data else mask_id_number(self.id_number)

    @property
    def phone_shown(self) -> str:
        return self.phone if self.shows_personal_data else mask_phone(self.phone)

    @property
    def licence_number_shown(self) -> str:
        return self.licence_number if self.shows_personal_data else mask_id_number(self.licence_number)

    def clean(self) -> None:
        errors: dict = {}
        _require_kind(errors, "company", _organisation(self, "company"), OrganisationKind.TRANSPORT_COMPANY)
        if errors:
            raise ValidationError(errors)
