"""Work orders (工单): complaints, reports, requests for help, suggestions and consultations from
the public form, the 12345 hotline and staff.

Lifecycle (docs/workorders.md; the state machine is ``TRANSITIONS`` below)::

    received → classified → dispatched → accepted (signed for) → handled → answered → closed
                    ↑            │                                              │
                    └─ returned ←┘ (not the unit's duty, within the return window) │
                                 ↑                                              │
                                 └──── reopened (complainant dissatisfied) ─────┘

Deadlines are working days from the rulebook (``work_order_<type>``), counted from the day the
order is dispatched to the unit that must answer; an approved extension moves the deadline by
its working days. The worker warns before the deadline and marks overdue after it.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wastetrail.accounts.models import Organisation
from wastetrail.core.districts import DISTRICT_CHOICES
from wastetrail.registry.geometry import PositionShown
from wastetrail.registry.models import Project, ReceivingSite, Vehicle
from wastetrail.stacking.models import StackingPoint


class WorkOrderType(models.TextChoices):
    """The Guangdong 12345 classes; each has its deadline rule ``work_order_<value>``."""

    CONSULTATION = "consultation", _("Consultation")
    HELP = "help", _("Request for help")
    SUGGESTION = "suggestion", _("Suggestion")
    COMPLAINT = "complaint", _("Complaint")
    REPORT = "report", _("Report")


def deadline_code(order_type: str) -> str:
    return f"work_order_{order_type}"


RETURN_DEADLINE_CODE = "work_order_return_not_ours"


class WorkOrderCategory(models.Model):
    """The category catalogue (what the order is about), as data the regulator edits.

    ``hotline_code`` is the 12345 system's own code for the category, used to map pushed and
    imported orders; ``public`` categories are offered on the public report form."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=120)
    default_type = models.CharField(_("default type"), max_length=16, choices=WorkOrderType.choices)
    hotline_code = models.CharField(_("12345 category code"), max_length=40, blank=True)
    public = models.BooleanField(_("offered on the public form"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("work-order category")
        verbose_name_plural = _("work-order categories")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class RoutingRule(models.Model):
    """Which unit a work order is dispatched to, by district and type/category.

    The most specific matching rule wins (category beats type beats any; a district beats the
    whole city); ``priority`` breaks what specificity leaves tied (lower first)."""

    district = models.PositiveIntegerField(_("district"), choices=DISTRICT_CHOICES, null=True, blank=True,
                                           help_text=_("Empty: every district."))
    order_type = models.CharField(_("type"), max_length=16, choices=WorkOrderType.choices, blank=True,
                                  help_text=_("Empty: every type."))
    category = models.ForeignKey(WorkOrderCategory, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+", verbose_name=_("category"), help_text=_("Empty: every category."))
    unit = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("responsible unit"))
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["district", "order_type", "priority", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing table")

    def __str__(self) -> str:
        return f"{self.get_district_display() or '*'} / {self.order_type or '*'} / {self.category or '*'} → {self.unit}"

    @property
    def specificity(self) -> tuple[int, int, int]:
        return (self.category_id is not None, bool(self.order_type), self.district is not None)


class WorkOrderSource(models.TextChoices):
    PUBLIC = "public", _("Public form")
    HOTLINE = "hotline", _("12345 hotline")
    STAFF = "staff", _("Staff")


class WorkOrderStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    CLASSIFIED = "classified", _("Classified")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Signed for")
    HANDLED = "handled", _("Handled")
    ANSWERED = "answered", _("Answered")
    RETURNED = "returned", _("Returned")
    CLOSED = "closed", _("Closed")


# Waiting for the dispatch centre / in a unit's hands / finished.
DISPATCH_STATUSES = (WorkOrderStatus.RECEIVED, WorkOrderStatus.CLASSIFIED, WorkOrderStatus.RETURNED)
UNIT_STATUSES = (WorkOrderStatus.DISPATCHED, WorkOrderStatus.ACCEPTED, WorkOrderStatus.HANDLED)
OPEN_STATUSES = DISPATCH_STATUSES + UNIT_STATUSES + (WorkOrderStatus.ANSWERED,)

# The state machine as data: each step and the statuses it may start from. Services check it
# under a row lock; pages offer only the steps possible now.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "classify": (WorkOrderStatus.RECEIVED, WorkOrderStatus.CLASSIFIED, WorkOrderStatus.RETURNED),
    "dispatch": (WorkOrderStatus.CLASSIFIED, WorkOrderStatus.RETURNED),
    "accept": (WorkOrderStatus.DISPATCHED,),
    "return": (WorkOrderStatus.DISPATCHED, WorkOrderStatus.ACCEPTED),
    "handle": (WorkOrderStatus.ACCEPTED,),
    "answer": (WorkOrderStatus.HANDLED,),
    "request_extension": (WorkOrderStatus.DISPATCHED, WorkOrderStatus.ACCEPTED, WorkOrderStatus.HANDLED),
    "rate": (WorkOrderStatus.ANSWERED,),
    "close": (WorkOrderStatus.ANSWERED,),
    "reopen": (WorkOrderStatus.ANSWERED, WorkOrderStatus.CLOSED),
}


class Satisfaction(models.IntegerChoices):
    DISSATISFIED = 1, _("Dissatisfied")
    BASICALLY_SATISFIED = 2, _("Basically satisfied")
    SATISFIED = 3, _("Satisfied")


def tracking_code_hash(number: str, code: str) -> str:
    """Keyed hash of the tracking code: the database alone does not let anyone follow an order."""
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, f"{number}:{code}".encode(), hashlib.sha256).hexdigest()


class WorkOrderNumberCounter(models.Model):
    """The last serial given per day; locked while a number is taken."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)


class WorkOrder(PositionShown, models.Model):
    number = models.CharField(_("tracking number"), max_length=24, unique=True)
    tracking_code_hash = models.CharField(max_length=64)
    source = models.CharField(_("source"), max_length=8, choices=WorkOrderSource.choices)
    # The hotline's own order number; pushing or importing the same one twice changes nothing.
    external_id = models.CharField(_("12345 order number"), max_length=40, null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=WorkOrderStatus.choices,
                              default=WorkOrderStatus.RECEIVED)
    order_type = models.CharField(_("type"), max_length=16, choices=WorkOrderType.choices, blank=True)
    category = models.ForeignKey(WorkOrderCategory, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("category"))
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"))

    # Where: a position when the complainant gave one (the public form requires it), else the
    # district chosen or derived from the address.
    district = models.PositiveIntegerField(_("district"), choices=DISTRICT_CHOICES)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lon_e6 = models.IntegerField(_("longitude (micro-degrees)"), null=True, blank=True)
    lat_e6 = models.IntegerField(_("latitude (micro-degrees)"), null=True, blank=True)

    # The complainant: visible only to the handling staff (complaints.policy).
    anonymous = models.BooleanField(_("anonymous"), default=False)
    complainant_name = models.CharField(_("complainant"), max_length=60, blank=True)
    complainant_phone = models.CharField(_("complainant's phone"), max_length=20, blank=True)
    # A public submission keeps only a keyed hash of the client address, for rate limiting.
    client_key = models.CharField(max_length=64, blank=True)

    # What it concerns. An enforcement case opened from it points back here (enforcement app).
    vehicle = models.ForeignKey(Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                verbose_name=_("vehicle"))
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                verbose_name=_("construction project"))
    site = models.ForeignKey(ReceivingSite, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             verbose_name=_("receiving site"))
    stacking_point = models.ForeignKey(StackingPoint, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="work_orders", verbose_name=_("stacking point"))
    reported_plate = models.CharField(_("plate as reported"), max_length=12, blank=True)
    case_requested_at = models.DateTimeField(_("enforcement case requested"), null=True, blank=True)
    case_request_note = models.TextField(_("why a case"), blank=True)

    # The responsible unit and the clock.
    unit = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="work_orders", verbose_name=_("responsible unit"))
    received_at = models.DateTimeField(_("received"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("received by"))
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    due_date = models.DateField(_("answer due"), null=True, blank=True)
    # False when the working-day calendar lacked the State Council's notice for a year it used.
    due_official = models.BooleanField(_("deadline computed from official data"), default=True)
    return_due = models.DateField(_("may be returned until"), null=True, blank=True)
    extended_days = models.PositiveSmallIntegerField(_("extension (working days)"), default=0)
    warned_at = models.DateTimeField(_("deadline warning sent"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("marked overdue"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("signed for"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    handling_note = models.TextField(_("handling"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer = models.TextField(_("answer to the complainant"), blank=True)
    # Set when answered: working days from this round's dispatch to the answer, and whether it beat
    # the deadline.
    handling_working_days = models.PositiveSmallIntegerField(_("working days to answer"), null=True, blank=True)
    answered_late = models.BooleanField(_("answered late"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), choices=Satisfaction.choices,
                                                    null=True, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    rating_comment = models.CharField(_("comment on the answer"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    # Bumped by every change: the hotline's result feed and the pages' change cursor read it.
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            # Queues: a unit's open orders by deadline; the dispatch centre's by arrival.
            models.Index(fields=["unit", "status", "due_date"], name="workorder_unit_queue"),
            models.Index(fields=["status", "district", "received_at"], name="workorder_dispatch_queue"),
            models.Index(fields=["status", "due_date"], name="workorder_deadline"),
            models.Index(fields=["updated_at", "id"], name="workorder_changes"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], condition=Q(external_id__isnull=False),
                                    name="workorder_external_id_unique"),
            models.CheckConstraint(condition=Q(lon_e6__isnull=True, lat_e6__isnull=True)
                                   | Q(lon_e6__isnull=False, lat_e6__isnull=False), name="workorder_position_pair"),
            models.CheckConstraint(condition=Q(satisfaction__isnull=True) | Q(satisfaction__in=[1, 2, 3]),
                                   name="workorder_satisfaction_valid"),
            models.CheckConstraint(condition=Q(status__in=DISPATCH_STATUSES) | Q(unit__isnull=False),
                                   name="workorder_unit_when_dispatched"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_overdue(self) -> bool:
        return self.overdue_at is not None

    def can(self, step: str) -> bool:
        return self.status in TRANSITIONS[step]


class WorkOrderPhoto(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    file = models.ImageField(_("photo"), upload_to="workorders/%Y/%m/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # Whose photo: the complainant's (at submission) or the unit's (evidence of the handling).
    by_complainant = models.BooleanField(default=True)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    CLASSIFIED = "classified", _("Classified")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Signed for")
    RETURNED = "returned", _("Returned as not the unit's duty")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENSION_APPROVED = "extension_approved", _("Extension approved")
    EXTENSION_REJECTED = "extension_rejected", _("Extension rejected")
    HANDLED = "handled", _("Handled")
    ANSWERED = "answered", _("Answered")
    RATED = "rated", _("Rated")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    WARNED = "warned", _("Deadline warning")
    OVERDUE = "overdue", _("Overdue")
    LINKED = "linked", _("Links changed")
    CASE_REQUESTED = "case_requested", _("Enforcement case requested")
    NOTE = "note", _("Note")


# Events the complainant sees when following the order (the rest are the staff's).
PUBLIC_EVENTS = frozenset({EventKind.RECEIVED, EventKind.DISPATCHED, EventKind.ACCEPTED, EventKind.ANSWERED,
                           EventKind.RATED, EventKind.CLOSED, EventKind.REOPENED, EventKind.EXTENSION_APPROVED})


class WorkOrderEvent(models.Model):
    """One step of the order's history, as the pages show it (the audit log keeps the proof)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=EventKind.choices)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("for"))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        indexes = [models.Index(fields=["order", "at"])]

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_EVENTS


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ExtensionRequest(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="extensions")
    working_days = models.PositiveSmallIntegerField(_("extra working days"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=8, choices=ExtensionStatus.choices,
                              default=ExtensionStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    previous_due = models.DateField(null=True, blank=True)
    new_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status=ExtensionStatus.PENDING),
                                    name="one_pending_extension_per_order"),
            models.CheckConstraint(condition=Q(working_days__gte=1), name="extension_days_positive"),
        ]


class WorkOrderMonthlyStat(models.Model):
    """Per unit and local calendar month: the counters the statistics page reads.

    Services add to them in the transaction of the change they count, so the page reads at most
    units × months rows however many orders are stored (docs/decisions/0005)."""

    unit = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the month
    dispatched = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    answered_on_time = models.PositiveIntegerField(default=0)
    handling_working_days = models.PositiveIntegerField(default=0)  # summed over the answered
    rated = models.PositiveIntegerField(default=0)
    satisfaction_points = models.PositiveIntegerField(default=0)  # summed Satisfaction values
    satisfied = models.PositiveIntegerField(default=0)  # rated "satisfied" or "basically satisfied"
    reopened = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "month"], name="one_stat_row_per_unit_month")]
        indexes = [models.Index(fields=["month", "unit"])]
