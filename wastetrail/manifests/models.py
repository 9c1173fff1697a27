"""Electronic transfer manifests (电子联单): one truck load, from the emitting project to the
receiving site, with every item of GD 联单办法 Art. 4.

issued → departed → arrived → accepted | partially_refused | refused → closed; cancelled before
departure. A manifest is overdue when it is still on the road (issued or departed) after its
expected arrival. Each party signs its step; once it has, its fields are locked (PARTY_FIELDS).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.permits.models import Approval
from wastetrail.plans.models import HandlingPlan
from wastetrail.registry.models import Driver, Project, ReceivingSite, Vehicle


class ManifestStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    DEPARTED = "departed", _("Departed")
    ARRIVED = "arrived", _("Arrived")
    ACCEPTED = "accepted", _("Accepted")
    PARTIALLY_REFUSED = "partially_refused", _("Partially refused")
    REFUSED = "refused", _("Refused")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class ManifestSource(models.TextChoices):
    """Where the load comes from: a construction project (under its filed plan and emission
    approval) or a collection at a decoration-waste stacking point (stacking.CollectionRequest),
    which needs neither: residents' decoration waste has no handling plan (Art. 15)."""

    PROJECT = "project", _("Construction project")
    COLLECTION = "collection", _("Stacking point collection")


class DisposalMethod(models.TextChoices):
    DISPOSAL = "disposal", _("Disposal (landfill)")
    RECYCLING = "recycling", _("Recycling")
    BACKFILL = "backfill", _("Backfill")
    TRANSFER = "transfer", _("Transfer")


class SignatureStep(models.TextChoices):
    EMITTER = "emitter", _("Emitter")
    TRANSPORTER = "transporter", _("Transporter")
    RECEIVER = "receiver", _("Receiver")


class QuantityUnit(models.TextChoices):
    TONNE = "t", _("t")
    CUBIC_METRE = "m3", _("m³")


# The truck is loaded (or about to be) under this manifest: at most one per vehicle, enforced by
# a partial unique index so that two simultaneous issues cannot both succeed.
VEHICLE_BUSY_STATUSES = (ManifestStatus.ISSUED, ManifestStatus.DEPARTED, ManifestStatus.ARRIVED)
# Still on the road: what the overdue job looks at.
ON_THE_ROAD_STATUSES = (ManifestStatus.ISSUED, ManifestStatus.DEPARTED)
RECEIVED_STATUSES = (ManifestStatus.ACCEPTED, ManifestStatus.PARTIALLY_REFUSED, ManifestStatus.REFUSED)
REFUSAL_STATUSES = (ManifestStatus.PARTIALLY_REFUSED, ManifestStatus.REFUSED)

# The state machine as data: each step and the statuses it starts from.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "cancel": (ManifestStatus.ISSUED,),
    "depart": (ManifestStatus.ISSUED,),
    "arrive": (ManifestStatus.DEPARTED,),
    "receive": (ManifestStatus.ARRIVED,),
    "close": RECEIVED_STATUSES,
    "redirect": REFUSAL_STATUSES,
    "amend": (ManifestStatus.ISSUED,),
}
ALLOWED_STEPS: dict[str, tuple[str, ...]] = {
    status: tuple(step for step, sources in TRANSITIONS.items() if status in sources)
    for status in ManifestStatus.values
}

# Which fields belong to which party: once that party has signed, they are locked. The emitter
# signs when it issues, the transporter when the truck departs, the receiver when it weighs.
PARTY_FIELDS: dict[str, tuple[str, ...]] = {
    SignatureStep.EMITTER: (
        "emitter", "project", "emitter_address", "category", "estimated_m3", "estimated_t",
        "receiver", "site", "disposal_method", "emission_approval", "planned_departure_at",
        "expected_arrival_at",
    ),
    SignatureStep.TRANSPORTER: ("carrier", "vehicle", "driver", "transport_approval", "route"),
    SignatureStep.RECEIVER: (
        "disposal_approval", "gross_t", "tare_t", "net_t", "received_m3", "quantity_unit",
        "received_quantity", "accepted_quantity", "refused_quantity", "refusal_reason",
    ),
}
FIELD_PARTY: dict[str, str] = {field: party for party, fields in PARTY_FIELDS.items() for field in fields}


def manifest_number(day, serial: int) -> str:
    """e.g. JM20260612000042 (ASCII so that it scans and types easily)."""
    return f"JM{day:%Y%m%d}{serial:06d}"


class ManifestNumberCounter(models.Model):
    """The last serial given per day; locked while a number is taken."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)


def _quantity(label, **kwargs) -> models.DecimalField:
    return models.DecimalField(label, max_digits=12, decimal_places=2, null=True, blank=True, **kwargs)


class Manifest(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=ManifestStatus.choices,
                              default=ManifestStatus.ISSUED)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="redirects", verbose_name=_("redirected from"))
    source = models.CharField(_("source"), max_length=12, choices=ManifestSource.choices,
                              default=ManifestSource.PROJECT)
    plan = models.ForeignKey(HandlingPlan, on_delete=models.PROTECT, related_name="manifests",
                             null=True, blank=True, verbose_name=_("handling plan"))

    # Emitting unit (Art. 4: emitting unit and address).
    emitter = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="emitted_manifests",
                                verbose_name=_("emitting unit"))
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="manifests",
                                null=True, blank=True, verbose_name=_("construction project"))
    emitter_address = models.CharField(_("emitting address"), max_length=300, blank=True)
    # Category and quantity.
    category = models.ForeignKey(WasteCategory, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("waste category"))
    estimated_m3 = models.DecimalField(_("estimated quantity (m³)"), max_digits=12, decimal_places=2)
    estimated_t = models.DecimalField(_("estimated quantity (t)"), max_digits=12, decimal_places=2)
    # Transport unit, vehicle, driver, route, transport time.
    carrier = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="carried_manifests",
                                verbose_name=_("transport unit"))
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="manifests",
                                verbose_name=_("vehicle"))
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="manifests",
                               verbose_name=_("driver"))
    route = models.TextField(_("route"), blank=True)
    planned_departure_at = models.DateTimeField(_("planned departure"))
    expected_arrival_at = models.DateTimeField(_("expected arrival"))
    # Receiving unit and disposal method.
    receiver = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="received_manifests",
                                 verbose_name=_("receiving unit"))
    site = models.ForeignKey(ReceivingSite, on_delete=models.PROTECT, related_name="manifests",
                             verbose_name=_("receiving site"))
    disposal_method = models.CharField(_("disposal method"), max_length=16, choices=DisposalMethod.choices)
    # The approvals in force when issued.
    emission_approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="+",
                                          null=True, blank=True, verbose_name=_("emission approval"))
    transport_approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="+",
                                           verbose_name=_("transport approval"))
    disposal_approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="+",
                                          verbose_name=_("disposal approval"))

    # Lifecycle times.
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("issued by"))
    departed_at = models.DateTimeField(_("departed"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)
    is_overdue = models.BooleanField(_("overdue"), default=False)
    overdue_at = models.DateTimeField(_("marked overdue"), null=True, blank=True)

    # Receipt: weighing (t) or volume (m³), and what was accepted or refused, in quantity_unit.
    gross_t = _quantity(_("gross weight (t)"))
    tare_t = _quantity(_("tare weight (t)"))
    net_t = _quantity(_("net weight (t)"))
    received_m3 = _quantity(_("received volume (m³)"))
    quantity_unit = models.CharField(_("unit"), max_length=2, choices=QuantityUnit.choices, blank=True)
    received_quantity = _quantity(_("received quantity"))
    accepted_quantity = _quantity(_("accepted quantity"))
    refused_quantity = _quantity(_("refused quantity"))
    accepted_m3 = _quantity(_("accepted volume (m³)"))
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)

    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("manifest")
        verbose_name_plural = _("manifests")
        indexes = [
            models.Index(fields=["status", "expected_arrival_at"]),
            models.Index(fields=["project", "status"]),
            models.Index(fields=["site", "status"]),
            models.Index(fields=["carrier", "status"]),
            # "Does this truck carry an open manifest?" at every issue: SQLite uses the partial
            # unique index below only for a literal status list, and Django binds parameters,
            # so without this it scans the truck's whole history.
            models.Index(fields=["vehicle", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["vehicle"], condition=Q(status__in=VEHICLE_BUSY_STATUSES),
                                    name="one_open_manifest_per_vehicle"),
            # A project's load has its project, plan and emission approval; a stacking point's
            # collection has none of them.
            models.CheckConstraint(
                condition=Q(source=ManifestSource.PROJECT, project__isnull=False, plan__isnull=False,
                            emission_approval__isnull=False)
                | Q(source=ManifestSource.COLLECTION, project__isnull=True, plan__isnull=True,
                    emission_approval__isnull=True),
                name="manifest_source_matches_origin",
            ),
            models.CheckConstraint(condition=Q(estimated_m3__gt=0, estimated_t__gt=0),
                                   name="manifest_estimate_positive"),
            models.CheckConstraint(condition=Q(expected_arrival_at__gt=models.F("planned_departure_at")),
                                   name="manifest_arrival_after_departure"),
            models.CheckConstraint(condition=Q(net_t__isnull=True) | Q(net_t__gt=0), name="manifest_net_positive"),
            models.CheckConstraint(condition=~Q(status__in=REFUSAL_STATUSES) | ~Q(refusal_reason=""),
                                   name="manifest_refusal_has_reason"),
            models.CheckConstraint(
                condition=~Q(status__in=RECEIVED_STATUSES)
                | Q(received_quantity__gt=0, accepted_quantity__gte=0, refused_quantity__gte=0),
                name="manifest_received_has_quantities",
            ),
            models.CheckConstraint(
                condition=~Q(status=ManifestStatus.ACCEPTED) | Q(refused_quantity=0),
                name="manifest_accepted_refuses_nothing",
            ),
            models.CheckConstraint(
                condition=~Q(status=ManifestStatus.REFUSED) | Q(accepted_quantity=0),
                name="manifest_refused_accepts_nothing",
            ),
            models.CheckConstraint(
                condition=~Q(status=ManifestStatus.CANCELLED) | ~Q(cancellation_reason=""),
                name="manifest_cancellation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in VEHICLE_BUSY_STATUSES

    @property
    def is_collection(self) -> bool:
        return self.source == ManifestSource.COLLECTION

    @property
    def origin_display(self) -> str:
        """Where the load comes from, for lists and forms: the project's name, or for a
        collection the emitting address (the stacking point's)."""
        if self.project_id:
            return self.project.name
        return self.emitter_address

    @property
    def allowed_steps(self) -> tuple[str, ...]:
        return ALLOWED_STEPS[self.status]


class ManifestSignature(models.Model):
    """A party's signature of its step: who, when, for which organisation, optionally where."""

    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="signatures")
    step = models.CharField(_("step"), max_length=12, choices=SignatureStep.choices)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("signed by"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("for organisation"))
    signed_at = models.DateTimeField(_("signed"))
    lon_e6 = models.IntegerField(_("longitude (micro-degrees)"), null=True, blank=True)
    lat_e6 = models.IntegerField(_("latitude (micro-degrees)"), null=True, blank=True)

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(fields=["manifest", "step"], name="one_signature_per_step"),
            models.CheckConstraint(condition=Q(lon_e6__isnull=True, lat_e6__isnull=True)
                                   | Q(lon_e6__isnull=False, lat_e6__isnull=False),
                                   name="signature_position_complete"),
        ]

    def __str__(self) -> str:
        return f"{self.manifest.number} {self.step}"


ZERO = Decimal("0")


# --- revision requests (manifests/revisions.py) ---------------------------------------------
class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved and applied")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")
    # Every party approved, but the manifest no longer matched (stale previous values, or a
    # change that the manifest's state no longer allows): nothing was applied.
    FAILED = "failed", _("Failed (not applied)")


class RevisionVerdict(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REFUSE = "refuse", _("Refused")


class ManifestRevisionRequest(models.Model):
    """A party's request to change fields that are locked by a signature (Trackdéchets'
    « révision »). It applies only once every other party has approved it."""

    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="revision_requests",
                                 verbose_name=_("manifest"))
    requested_step = models.CharField(_("requesting party"), max_length=12, choices=SignatureStep.choices)
    requested_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                               verbose_name=_("requesting organisation"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    reason = models.TextField(_("reason"))
    # Field → new value and field → value when requested, JSON-ready (decimals as strings, the
    # driver as its id, the receipt's outcome under "outcome").
    changes = models.JSONField(_("changes"))
    previous = models.JSONField(_("previous values"))
    status = models.CharField(_("status"), max_length=12, choices=RevisionStatus.choices,
                              default=RevisionStatus.PENDING)
    failure_reason = models.TextField(_("why it was not applied"), blank=True)
    created_at = models.DateTimeField(_("requested"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("revision request")
        verbose_name_plural = _("revision requests")
        constraints = [
            # One open question at a time: two pending requests could each be approved against
            # values the other one changes.
            models.UniqueConstraint(fields=["manifest"], condition=Q(status=RevisionStatus.PENDING),
                                    name="one_pending_revision_per_manifest"),
            models.CheckConstraint(condition=~Q(reason=""), name="revision_has_reason"),
            models.CheckConstraint(condition=Q(status=RevisionStatus.PENDING) | Q(decided_at__isnull=False),
                                   name="revision_decided_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.manifest.number} #{self.pk}"


class ManifestRevisionDecision(models.Model):
    """One other party's approval or refusal of a revision request (an organisation decides once,
    even when it holds two roles on the manifest)."""

    request = models.ForeignKey(ManifestRevisionRequest, on_delete=models.PROTECT, related_name="decisions",
                                verbose_name=_("revision request"))
    step = models.CharField(_("party"), max_length=12, choices=SignatureStep.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    verdict = models.CharField(_("decision"), max_length=8, choices=RevisionVerdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    decided_at = models.DateTimeField(_("decided"))

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = _("revision decision")
        verbose_name_plural = _("revision decisions")
        constraints = [
            models.UniqueConstraint(fields=["request", "organisation"], name="one_decision_per_party"),
            models.CheckConstraint(condition=~Q(verdict=RevisionVerdict.REFUSE) | ~Q(comment=""),
                                   name="revision_refusal_has_comment"),
        ]

    def __str__(self) -> str:
        return f"{self.request} {self.step} {self.verdict}"
