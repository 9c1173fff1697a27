"""Decoration-waste stacking points (装修垃圾临时堆放点) and their collections.

Art. 15 of the Jiangmen measures: residents take bagged decoration waste to a temporary stacking
point or container. In a residential area with property management the **property manager** sets
the points; where there is none, the **street office / town government** does. So a point always
belongs to a ``ResidentialArea``, and the area decides who may create and run its points: its
property manager if it has one, else its street office. The housing authority supervises property
managers and sees every point and its history.

A point fills up (fill reports from its manager and from the public); when full, its manager
requests a collection from a transport company holding a valid transport approval, and the load
leaves under an electronic manifest like any other (``CollectionRequest.manifest``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.registry.geometry import PositionShown

# Only bagged or boxed decoration waste goes in (Art. 15); the rulebook category it is carried as.
DECORATION_CATEGORY_CODE = "decoration_waste"

_VALID_POSITION = Q(lon_e6__gte=-180_000_000, lon_e6__lte=180_000_000,
                    lat_e6__gte=-90_000_000, lat_e6__lte=90_000_000)


class Located(PositionShown, models.Model):
    """WGS-84 micro-degrees, and the district derived from them by the services."""

    lon_e6 = models.IntegerField(_("longitude (micro-degrees)"))
    lat_e6 = models.IntegerField(_("latitude (micro-degrees)"))
    district = models.PositiveIntegerField(_("district"), choices=DISTRICT_CHOICES)
    address = models.CharField(_("address"), max_length=300)

    class Meta:
        abstract = True


class ResidentialArea(Located):
    """A residential compound (小区) or a neighbourhood without one. ``property_manager`` set:
    that manager runs the area's points; empty: the ``street_office`` does."""

    name = models.CharField(_("name"), max_length=120)
    property_manager = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="managed_areas",
        verbose_name=_("property manager"))
    street_office = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="street_areas",
        verbose_name=_("street office / town government"))
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["district", "name"]
        verbose_name = _("residential area")
        verbose_name_plural = _("residential areas")
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="area_name_unique_in_district"),
            models.CheckConstraint(condition=_VALID_POSITION, name="area_position_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def responsible_id(self) -> int:
        """The organisation that sets and runs this area's stacking points."""
        return self.property_manager_id or self.street_office_id


class ContainerType(models.TextChoices):
    ENCLOSURE = "enclosure", _("Fenced stacking area")
    CONTAINER = "container", _("Closed container")
    HOOK_BIN = "hook_bin", _("Hook-lift bin")
    BAG_CAGE = "bag_cage", _("Bag cage")


class PointStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULL = "full", _("Full")
    CLOSED = "closed", _("Closed")


class StackingPoint(Located):
    code = models.CharField(_("code"), max_length=24, unique=True)
    name = models.CharField(_("name"), max_length=120)
    area = models.ForeignKey(ResidentialArea, on_delete=models.PROTECT, related_name="points",
                             verbose_name=_("residential area"))
    # The organisation that runs it (the area's property manager, else its street office), kept
    # on the point so scoping is one indexed column.
    manager = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="stacking_points",
                                verbose_name=_("managed by"))
    container_type = models.CharField(_("container type"), max_length=16, choices=ContainerType.choices)
    capacity_m3 = models.DecimalField(_("capacity (m³)"), max_digits=7, decimal_places=1,
                                      validators=[MinValueValidator(0.5)])
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    open_days = models.CharField(
        _("open days"), max_length=7, default="1234567",
        help_text=_("ISO weekdays it is open: 1 = Monday … 7 = Sunday."))
    status = models.CharField(_("status"), max_length=8, choices=PointStatus.choices, default=PointStatus.OPEN)
    fill_percent = models.PositiveSmallIntegerField(_("fill level (%)"), default=0)
    fill_reported_at = models.DateTimeField(_("fill level reported"), null=True, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    notes = models.TextField(_("notes for residents"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["district", "name"]
        verbose_name = _("stacking point")
        verbose_name_plural = _("stacking points")
        indexes = [
            models.Index(fields=["manager", "status"]),
            models.Index(fields=["status", "district"]),
        ]
        constraints = [
            models.CheckConstraint(condition=_VALID_POSITION, name="point_position_valid"),
            models.CheckConstraint(condition=Q(fill_percent__lte=100), name="point_fill_percent_valid"),
            models.CheckConstraint(condition=~Q(opens_at=models.F("closes_at")),
                                   name="point_hours_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class FillSource(models.TextChoices):
    MANAGER = "manager", _("Manager")
    PUBLIC = "public", _("Public")


class FillReport(models.Model):
    point = models.ForeignKey(StackingPoint, on_delete=models.CASCADE, related_name="fill_reports")
    source = models.CharField(_("reported by"), max_length=8, choices=FillSource.choices)
    fill_percent = models.PositiveSmallIntegerField(_("fill level (%)"))
    is_dirty = models.BooleanField(_("dirty or waste outside"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("reported by"))
    # A public report keeps only a keyed hash of the client address, for rate limiting.
    client_key = models.CharField(max_length=64, blank=True, db_index=True)
    reported_at = models.DateTimeField(_("reported"))

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("fill report")
        verbose_name_plural = _("fill reports")
        indexes = [models.Index(fields=["point", "-reported_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(fill_percent__lte=100), name="fill_report_percent_valid"),
        ]


class CollectionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted by the transport company")
    IN_TRANSIT = "in_transit", _("Collected, under manifest")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_COLLECTION_STATUSES = (CollectionStatus.REQUESTED, CollectionStatus.ACCEPTED, CollectionStatus.IN_TRANSIT)


class CollectionRequest(models.Model):
    point = models.ForeignKey(StackingPoint, on_delete=models.PROTECT, related_name="collections")
    carrier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="collection_requests",
                                verbose_name=_("transport company"))
    status = models.CharField(_("status"), max_length=12, choices=CollectionStatus.choices,
                              default=CollectionStatus.REQUESTED)
    estimated_m3 = models.DecimalField(_("estimated quantity (m³)"), max_digits=7, decimal_places=1,
                                       validators=[MinValueValidator(0.1)])
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # The load leaves under an electronic manifest like any other.
    manifest = models.OneToOneField("manifests.Manifest", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="collection", verbose_name=_("manifest"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancellation_reason = models.CharField(_("reason for cancellation"), max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("collection request")
        verbose_name_plural = _("collection requests")
        indexes = [models.Index(fields=["carrier", "status"]), models.Index(fields=["point", "status"])]
        constraints = [
            # One open collection per point: a second request would send two trucks.
            models.UniqueConstraint(fields=["point"], condition=Q(status__in=OPEN_COLLECTION_STATUSES),
                                    name="one_open_collection_per_point"),
        ]

    def __str__(self) -> str:
        return f"{self.point} → {self.carrier}"


class CollectionManifest(models.Model):
    """Every manifest a collection's load travelled under: the first, one issued again after a
    cancellation (``CollectionRequest.manifest`` then names only the latest), and a redirect of a
    refused load (which has no collection of its own). The point's trail and a district bureau's
    view of those manifests follow these rows."""

    collection = models.ForeignKey(CollectionRequest, on_delete=models.PROTECT, related_name="manifest_trail")
    manifest = models.OneToOneField("manifests.Manifest", on_delete=models.PROTECT, related_name="collection_entry")

    class Meta:
        ordering = ["collection", "manifest_id"]
        verbose_name = _("collection manifest")
        verbose_name_plural = _("collection manifests")

    def __str__(self) -> str:
        return f"{self.collection_id} · {self.manifest_id}"
