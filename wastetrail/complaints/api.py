"""API for work orders (工单): the staff's (``/workorders``), the public's (``/public/workorders``,
no login: the WeChat mini-program, the city app) and the 12345 hotline's (``/hotline``,
docs/hotline.md).

Each operation resolves ids, calls one service and returns the order as the caller's selector
sees it. The complainant appears only through ``policy.complainant_for``: in full to the handling
staff, masked to the others, never in lists.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.api import TokenAuth, api, payload_errors, request_actor
from wastetrail.complaints import hotline, imports, policy, selectors, services
from wastetrail.complaints.models import (
    TRANSITIONS,
    ExtensionRequest,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)
from wastetrail.complaints.public import throttle
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.core.ratelimit import client_key
from wastetrail.registry.models import Project, ReceivingSite, Vehicle
from wastetrail.stacking.models import StackingPoint

router = Router()  # mounted at the API's root: it carries the three below
staff_router = Router(tags=["work orders"])
public_router = Router(tags=["work orders (public)"], auth=None)
hotline_router = Router(tags=["12345 hotline"], auth=[TokenAuth()])
router.add_router("/workorders", staff_router)
router.add_router("/public/workorders", public_router)
router.add_router("/hotline", hotline_router)

PAYLOAD_NAMES = {"category": "category", "unit": "unit_id", "vehicle": "vehicle_id", "project": "project_id",
                 "site": "site_id", "stacking_point": "stacking_point_id", "location": "lon"}


# --- schemas --------------------------------------------------------------------------------
def _actor_of(context: dict) -> Actor | None:
    request = context["request"]
    return request_actor(request) if getattr(request, "auth", None) else None


class ComplainantOut(Schema):
    anonymous: bool
    name: str
    phone: str
    masked: bool = Field(..., description="True: shown masked, the caller does not handle this order")


class EventOut(Schema):
    kind: str
    kind_display: str = Field(..., alias="get_kind_display")
    at: dt.datetime
    by: str | None = None
    organisation: str | None = None
    note: str
    data: dict

    @staticmethod
    def resolve_by(obj: WorkOrderEvent) -> str | None:
        return obj.actor.get_username() if obj.actor_id else None

    @staticmethod
    def resolve_organisation(obj: WorkOrderEvent) -> str | None:
        return obj.organisation.name if obj.organisation_id else None


class ExtensionOut(Schema):
    id: int
    working_days: int
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str
    previous_due: dt.date | None
    new_due: dt.date | None


class PhotoOut(Schema):
    id: int
    url: str
    width: int | None = None
    height: int | None = None
    by_complainant: bool

    @staticmethod
    def resolve_url(obj) -> str:
        # The page that checks who may see the order, never the file's storage path.
        return reverse("complaints:photo", args=[obj.order_id, obj.pk])


class WorkOrderListOut(Schema):
    id: int
    number: str
    source: str
    external_id: str | None
    status: WorkOrderStatus
    status_display: str = Field(..., alias="get_status_display")
    order_type: str
    category: str | None = None
    title: str
    district: int
    district_name: str
    unit_id: int | None
    unit_name: str | None = None
    received_at: dt.datetime
    due_date: dt.date | None
    is_overdue: bool
    answered_at: dt.datetime | None
    satisfaction: int | None

    @staticmethod
    def resolve_category(obj: WorkOrder) -> str | None:
        return obj.category.code if obj.category_id else None

    @staticmethod
    def resolve_unit_name(obj: WorkOrder) -> str | None:
        return obj.unit.name if obj.unit_id else None


class WorkOrderOut(WorkOrderListOut):
    allowed_steps: list[str] = Field(..., description="The steps the state machine allows next")
    category_name: str | None = None
    description: str
    address: str
    lon: float | None
    lat: float | None
    complainant: ComplainantOut
    reported_plate: str
    vehicle_id: int | None
    project_id: int | None
    site_id: int | None
    stacking_point_id: int | None
    dispatched_at: dt.datetime | None
    return_due: dt.date | None
    extended_days: int
    accepted_at: dt.datetime | None
    handled_at: dt.datetime | None
    handling_note: str
    answer: str
    answered_late: bool | None
    handling_working_days: int | None
    rated_at: dt.datetime | None
    rating_comment: str
    closed_at: dt.datetime | None
    reopen_count: int
    return_count: int
    case_requested_at: dt.datetime | None
    photos: list[PhotoOut]
    extensions: list[ExtensionOut]
    history: list[EventOut]

    @staticmethod
    def resolve_allowed_steps(obj: WorkOrder) -> list[str]:
        return [step for step, statuses in TRANSITIONS.items() if obj.status in statuses]

    @staticmethod
    def resolve_category_name(obj: WorkOrder) -> str | None:
        return obj.category.display_name if obj.category_id else None

    @staticmethod
    def resolve_complainant(obj: WorkOrder, context) -> dict:
        return policy.complainant_for(_actor_of(context), obj)

    @staticmethod
    def resolve_photos(obj: WorkOrder) -> list:
        return list(obj.photos.all())

    @staticmethod
    def resolve_extensions(obj: WorkOrder) -> list:
        return list(obj.extensions.all())

    @staticmethod
    def resolve_history(obj: WorkOrder) -> list:
        return selectors.workorder_history(obj)


class CreatedOut(Schema):
    order: WorkOrderOut
    tracking_code: str | None = Field(..., description="Tell the complainant: with the number it follows the order")


class PositionFields(Schema):
    lon: Decimal | None = Field(None, description="WGS-84 longitude")
    lat: Decimal | None = None


class CreateIn(PositionFields):
    source: str = Field("staff", description="staff (phone, letter, visit) or hotline (with external_id)")
    external_id: str | None = None
    description: str
    title: str = ""
    order_type: WorkOrderType | None = None
    category: str | None = Field(None, description="Category code, e.g. illegal_dumping")
    district: int | None = Field(None, description="Adcode; derived from the position when given")
    address: str = ""
    anonymous: bool = False
    complainant_name: str = ""
    complainant_phone: str = ""
    reported_plate: str = ""
    received_at: dt.datetime | None = None


class ClassifyIn(Schema):
    order_type: WorkOrderType | None = Field(None, description="Default: the category's type")
    category: str
    title: str | None = None


class DispatchIn(Schema):
    unit_id: int | None = Field(None, description="Default: the unit the routing table names")
    note: str = ""


class ReasonIn(Schema):
    reason: str


class NoteIn(Schema):
    note: str = ""


class AnswerIn(Schema):
    answer: str


class ExtensionIn(Schema):
    working_days: int
    reason: str


class DecisionIn(Schema):
    approve: bool
    note: str = ""


class RatingIn(Schema):
    satisfaction: int = Field(..., description="3 satisfied, 2 basically satisfied, 1 dissatisfied")
    comment: str = ""


class LinksIn(Schema):
    vehicle_id: int | None = None
    project_id: int | None = None
    site_id: int | None = None
    stacking_point_id: int | None = None


# --- helpers --------------------------------------------------------------------------------
def _get(actor: Actor, pk: int) -> WorkOrder:
    return selectors.workorder_get(actor=actor, pk=pk)


def _detail_qs():
    return WorkOrder.objects.select_related("category", "unit").prefetch_related("photos", "extensions")


def _as_seen(actor: Actor, order: WorkOrder) -> WorkOrder:
    """The order re-read as the caller sees it (or as it is, if the step took it out of sight)."""
    found = selectors.visible_workorders(actor).filter(pk=order.pk)
    return (_detail_qs() & found).first() or _detail_qs().get(pk=order.pk)


def _category(code: str | None, field: str = "category") -> WorkOrderCategory | None:
    if not code:
        return None
    category = WorkOrderCategory.objects.filter(code=code).first()
    if category is None:
        raise ValidationError({field: _("Unknown category %(code)s.") % {"code": code}})
    return category


def _by_pk(model, pk: int | None, field: str):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: _("There is nothing with id %(pk)s.") % {"pk": pk}})
    return found


# --- staff: reads ---------------------------------------------------------------------------
@staff_router.get("", response=list[WorkOrderListOut])
@paginate(LimitOffsetPagination)
def workorder_list(request, status: WorkOrderStatus | None = None, district: int | None = None,
                   order_type: WorkOrderType | None = None, category: str | None = None,
                   unit_id: int | None = None, source: str | None = None, overdue: bool | None = None,
                   q: str = ""):
    """The orders the caller may see, newest first; ``q`` matches the number, the 12345 number
    or the title. No complainant here: the detail decides what the caller may see of them."""
    qs = selectors.visible_workorders(request_actor(request)).select_related("category", "unit")
    filters: dict[str, Any] = {"status": status, "district": district, "order_type": order_type,
                               "category__code": category, "unit_id": unit_id, "source": source}
    qs = qs.filter(**{key: value for key, value in filters.items() if value is not None})
    if overdue is not None:
        qs = qs.filter(overdue_at__isnull=not overdue)
    if q.strip():
        text = q.strip()
        qs = qs.filter(Q(number=text.upper()) | Q(external_id=text) | Q(title__icontains=text))
    return qs.order_by("-received_at", "-id")


class QueueRowOut(Schema):
    id: int = Field(..., alias="pk")
    number: str
    title: str
    order_type: str
    order_type_label: str
    category_name: str
    district: int
    district_name: str
    unit_id: int | None
    unit_name: str
    status: str
    status_label: str
    due_date: dt.date | None
    working_days_left: int | None = Field(..., description="Negative: working days overdue")
    is_overdue: bool
    is_warned: bool
    received_at: dt.datetime


class QueuePageOut(Schema):
    queue: str
    page: int
    per_page: int
    has_next: bool
    rows: list[QueueRowOut]


class StatCellOut(Schema):
    month: dt.date | None
    dispatched: int
    returned: int
    answered: int
    answered_on_time: int
    reopened: int
    overdue: int
    rated: int
    satisfied: int
    on_time_rate: float | None
    average_handling_days: float | None
    satisfaction_rate: float | None
    mean_satisfaction: float | None


class UnitStatsOut(Schema):
    unit_id: int
    unit_name: str
    months: list[StatCellOut]
    total: StatCellOut

    @staticmethod
    def resolve_unit_id(obj) -> int:
        return obj.unit.pk

    @staticmethod
    def resolve_unit_name(obj) -> str:
        return obj.unit.name


class StatsOut(Schema):
    months: list[dt.date]
    units: list[UnitStatsOut]
    month_totals: list[StatCellOut]
    total: StatCellOut


@staff_router.get("/queue/{queue}", response=QueuePageOut)
def workorder_queue(request, queue: str, page: int = 1, per_page: int = 50, district: int | None = None,
                    order_type: WorkOrderType | None = None, category: str | None = None, q: str = "",
                    overdue: bool = False):
    """A work queue (mine, dispatch, answered, overdue, closed, all) in its order: by deadline for
    a unit, by arrival for the dispatch desk. Pages by ``page``/``has_next``, never counting."""
    return selectors.workorder_queue(actor=request_actor(request), queue=queue, page=page, per_page=per_page,
                                     district=district, order_type=order_type, category=category, search=q,
                                     overdue_only=overdue)


@staff_router.get("/stats", response=StatsOut)
def workorder_stats(request, months: int = 12, unit_id: int | None = None, until: dt.date | None = None):
    """Per unit and month: dispatched, returned, answered (on time), reopened, overdue, rated and
    the rates they give, for the units in the caller's scope."""
    return selectors.workorder_stats(actor=request_actor(request), months=months, unit=unit_id, until=until)


@staff_router.get("/{pk}", response=WorkOrderOut)
def workorder_detail(request, pk: int):
    actor = request_actor(request)
    return _as_seen(actor, _get(actor, pk))


# --- staff: writes --------------------------------------------------------------------------
@staff_router.post("", response={201: CreatedOut})
def workorder_create(request, payload: CreateIn):
    """An order that reached staff by phone, letter or visit (``source=staff``), or one the
    dispatch centre types in from the hotline (``source=hotline`` with its ``external_id``)."""
    actor = request_actor(request)
    with payload_errors(PAYLOAD_NAMES):
        order, code = services.workorder_receive(
            actor=actor, source=payload.source, external_id=payload.external_id, description=payload.description,
            title=payload.title, order_type=payload.order_type or "", category=_category(payload.category),
            district=payload.district, lon=payload.lon, lat=payload.lat, address=payload.address,
            anonymous=payload.anonymous, complainant_name=payload.complainant_name,
            complainant_phone=payload.complainant_phone, reported_plate=payload.reported_plate,
            received_at=payload.received_at)
    if code is None:
        raise DomainError(_("This 12345 order number is already stored as %(number)s.") % {"number": order.number},
                          code="already_received")
    return Status(201, {"order": _as_seen(actor, order), "tracking_code": code})


@staff_router.post("/{pk}/classify", response=WorkOrderOut)
def workorder_classify(request, pk: int, payload: ClassifyIn):
    actor = request_actor(request)
    order = _get(actor, pk)
    with payload_errors(PAYLOAD_NAMES):
        order = services.workorder_classify(actor=actor, order=order, order_type=payload.order_type or "",
                                            category=_category(payload.category), title=payload.title)
    return _as_seen(actor, order)


@staff_router.post("/{pk}/dispatch", response=WorkOrderOut)
def workorder_dispatch(request, pk: int, payload: DispatchIn):
    """To ``unit_id``, or without it to the unit the routing table names."""
    actor = request_actor(request)
    order = _get(actor, pk)
    with payload_errors(PAYLOAD_NAMES):
        unit = _by_pk(Organisation, payload.unit_id, "unit_id")
        order = services.workorder_dispatch(actor=actor, order=order, unit=unit, note=payload.note)
    return _as_seen(actor, order)


@staff_router.post("/{pk}/accept", response=WorkOrderOut)
def workorder_accept(request, pk: int):
    """The unit signs for the order (签收)."""
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_accept(actor=actor, order=_get(actor, pk)))


@staff_router.post("/{pk}/return", response=WorkOrderOut)
def workorder_return(request, pk: int, payload: ReasonIn):
    """Not the unit's duty: back to the dispatch centre, within the return window."""
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_return(actor=actor, order=_get(actor, pk), reason=payload.reason))


@staff_router.post("/{pk}/extensions", response={201: ExtensionOut})
def workorder_extension_request(request, pk: int, payload: ExtensionIn):
    actor = request_actor(request)
    extension = services.workorder_request_extension(actor=actor, order=_get(actor, pk),
                                                     working_days=payload.working_days, reason=payload.reason)
    return Status(201, extension)


@staff_router.post("/{pk}/extensions/{extension_id}/decision", response=ExtensionOut)
def workorder_extension_decide(request, pk: int, extension_id: int, payload: DecisionIn):
    """A supervisor (a regulator administrator of the district) approves or refuses (with a note)."""
    actor = request_actor(request)
    order = _get(actor, pk)
    extension = ExtensionRequest.objects.filter(order=order, pk=extension_id).first()
    if extension is None:
        raise NotFound(_("No such extension request."))
    return services.workorder_decide_extension(actor=actor, extension=extension, approve=payload.approve,
                                               note=payload.note)


@staff_router.post("/{pk}/handle", response=WorkOrderOut)
def workorder_handle(request, pk: int, note: Form[str], photos: File[list[UploadedFile]] = None):
    """Multipart: ``note`` (what was done) and up to six ``photos`` as evidence."""
    actor = request_actor(request)
    order = services.workorder_handle(actor=actor, order=_get(actor, pk), note=note, photos=photos or ())
    return _as_seen(actor, order)


@staff_router.post("/{pk}/answer", response=WorkOrderOut)
def workorder_answer(request, pk: int, payload: AnswerIn):
    """The reply the complainant and the hotline receive."""
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_answer(actor=actor, order=_get(actor, pk), answer=payload.answer))


@staff_router.post("/{pk}/rating", response=WorkOrderOut)
def workorder_rating(request, pk: int, payload: RatingIn):
    """The dispatch centre records the complainant's rating from a follow-up call (回访)."""
    actor = request_actor(request)
    order = services.workorder_rate(actor=actor, order=_get(actor, pk), satisfaction=payload.satisfaction,
                                    comment=payload.comment)
    return _as_seen(actor, order)


@staff_router.post("/{pk}/close", response=WorkOrderOut)
def workorder_close(request, pk: int, payload: NoteIn):
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_close(actor=actor, order=_get(actor, pk), note=payload.note))


@staff_router.post("/{pk}/reopen", response=WorkOrderOut)
def workorder_reopen(request, pk: int, payload: ReasonIn):
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_reopen(actor=actor, order=_get(actor, pk), reason=payload.reason))


@staff_router.post("/{pk}/links", response=WorkOrderOut)
def workorder_links(request, pk: int, payload: LinksIn):
    """Only the links sent change; ``null`` clears one."""
    actor = request_actor(request)
    order = _get(actor, pk)
    models = {"vehicle_id": Vehicle, "project_id": Project, "site_id": ReceivingSite,
              "stacking_point_id": StackingPoint}
    sent = payload.dict(exclude_unset=True)
    with payload_errors(PAYLOAD_NAMES):
        links = {name.removesuffix("_id"): _by_pk(models[name], value, name) for name, value in sent.items()}
        order = services.workorder_link(actor=actor, order=order, **links)
    return _as_seen(actor, order)


@staff_router.post("/{pk}/case-request", response=WorkOrderOut)
def workorder_case_request(request, pk: int, payload: NoteIn):
    """Ask for an enforcement case about what the order reports."""
    actor = request_actor(request)
    return _as_seen(actor, services.workorder_request_case(actor=actor, order=_get(actor, pk), note=payload.note))


# --- public ---------------------------------------------------------------------------------
class PublicCategoryOut(Schema):
    code: str
    name: str = Field(..., alias="display_name")
    default_type: str


class PublicEventOut(Schema):
    kind: str
    kind_display: str = Field(..., alias="get_kind_display")
    at: dt.datetime


class PublicOrderOut(Schema):
    number: str
    status: WorkOrderStatus
    status_display: str = Field(..., alias="get_status_display")
    category: str | None = None
    district_name: str
    received_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None
    satisfaction: int | None
    can_rate: bool
    history: list[PublicEventOut]

    @staticmethod
    def resolve_category(obj: WorkOrder) -> str | None:
        return obj.category.display_name if obj.category_id else None

    @staticmethod
    def resolve_answer(obj: WorkOrder) -> str:
        return obj.answer if obj.status in (WorkOrderStatus.ANSWERED, WorkOrderStatus.CLOSED) else ""

    @staticmethod
    def resolve_can_rate(obj: WorkOrder) -> bool:
        return obj.can("rate")

    @staticmethod
    def resolve_history(obj: WorkOrder) -> list:
        return selectors.workorder_history(obj, public=True)


class SubmittedOut(Schema):
    number: str
    tracking_code: str = Field(..., description="Shown once (and sent by SMS): with the number it follows the order")


class TrackIn(Schema):
    number: str
    code: str


class PublicRatingIn(TrackIn):
    satisfaction: int = Field(..., description="3 satisfied, 2 basically satisfied, 1 dissatisfied")
    comment: str = ""


def _track(request: HttpRequest, number: str, code: str) -> WorkOrder:
    """The order behind a number and code, with the public pages' limits on wrong codes per client
    and per tracking number."""
    try:
        return throttle.track(client=client_key(request), number=number, code=code)
    except throttle.TrackingLocked:
        raise DomainError(_("Too many wrong codes. Following this order is locked for a while; call 12345 if "
                            "you need help sooner."), code="rate_limited") from None


def _admit_report(request: HttpRequest) -> str:
    """The public pages' size cap and per-client count of report posts, for the API's submit."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > throttle.max_report_bytes():
        raise ValidationError({"photos": _("The report is too large (%(mb)d MB at most, with photos).") % {
            "mb": throttle.max_report_bytes() // (1024 * 1024)}})
    key = client_key(request)
    if not throttle.admit(throttle.limits()["report_post"], key):
        raise DomainError(_("Too many reports from this connection. Please try again later, or call 12345."),
                          code="rate_limited")
    return key


@public_router.get("/categories", response=list[PublicCategoryOut])
def public_categories(request):
    """The categories offered on the public form."""
    return list(selectors.categories(public_only=True))


@public_router.post("", response={201: SubmittedOut})
def public_submit(request, description: Form[str], lon: Form[Decimal], lat: Form[Decimal],
                  category: Form[str] = "", address: Form[str] = "", anonymous: Form[bool] = False,
                  complainant_name: Form[str] = "", complainant_phone: Form[str] = "",
                  reported_plate: Form[str] = "", photos: File[list[UploadedFile]] = None):
    """Multipart: a report from the public, with the position (inside Jiangmen), the reporter's
    name and mobile unless anonymous, and up to six photos. The connection's hourly and daily
    quota applies. Keep the tracking code: it is shown once (and sent by SMS)."""
    key = _admit_report(request)
    chosen = selectors.categories(public_only=True).filter(code=category).first() if category else None
    if category and chosen is None:
        raise ValidationError({"category": _("Choose one of the categories offered.")})
    with payload_errors(PAYLOAD_NAMES):
        order, code = services.workorder_receive(
            actor=None, source=WorkOrderSource.PUBLIC, description=description, category=chosen, lon=lon, lat=lat,
            address=address, anonymous=anonymous, complainant_name=complainant_name,
            complainant_phone=complainant_phone, reported_plate=reported_plate, photos=photos or (),
            client_key=key)
    return Status(201, {"number": order.number, "tracking_code": code})


@public_router.post("/track", response=PublicOrderOut)
def public_track(request, payload: TrackIn):
    """Follow an order with its number and tracking code (a POST: the code stays out of URLs and
    logs). A wrong pair is a 404, like a missing order."""
    return _track(request, payload.number, payload.code)


@public_router.post("/rate", response=PublicOrderOut)
def public_rate(request, payload: PublicRatingIn):
    """Rate the answer: satisfied or basically satisfied closes the order; dissatisfied (with a
    comment) sends it back to the unit."""
    order = _track(request, payload.number, payload.code)
    return services.workorder_rate(actor=None, order=order, satisfaction=payload.satisfaction,
                                   comment=payload.comment)


# --- the 12345 hotline ----------------------------------------------------------------------
class HotlinePushIn(PositionFields):
    external_id: str = Field(..., description="The hotline's own order number (工单编号)")
    received_at: dt.datetime | None = Field(None, description="When the hotline received it; default now")
    order_type: str = Field("", description="咨询, 求助, 建议, 投诉, 举报 (or consultation, help, ...)")
    category_code: str = Field("", description="The hotline's category code (WorkOrderCategory.hotline_code)")
    district: str = Field("", description="District name (蓬江区) or adcode (440703)")
    address: str = ""
    title: str = ""
    description: str
    complainant_name: str = ""
    complainant_phone: str = ""
    anonymous: bool = False


class HotlineOrderOut(Schema):
    number: str
    external_id: str | None
    status: WorkOrderStatus
    status_display: str = Field(..., alias="get_status_display")
    received_at: dt.datetime
    unit_name: str | None = None
    due_date: dt.date | None
    answer: str
    answered_at: dt.datetime | None
    satisfaction: int | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_unit_name(obj: WorkOrder) -> str | None:
        return obj.unit.name if obj.unit_id else None


class BatchIn(Schema):
    orders: list[dict]


class BatchItemOut(Schema):
    external_id: str
    outcome: str = Field(..., description="created, existing or invalid")
    order: HotlineOrderOut | None = None
    errors: dict[str, list[str]] | None = None


class FeedOut(Schema):
    items: list[HotlineOrderOut]
    next: str = Field(..., description="Ask with this cursor next time")
    has_more: bool


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    rows: int
    created: int
    skipped: int
    dry_run: bool
    numbers: list[str]
    skipped_rows: list[dict]


def _hotline_actor(request) -> Actor:
    actor = request_actor(request)
    actor.require(policy.is_hotline(actor))
    return actor


def _hotline_order(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_related("unit").get(pk=order.pk)


@hotline_router.post("/work-orders", response={200: HotlineOrderOut, 201: HotlineOrderOut})
def hotline_push(request, payload: HotlinePushIn):
    """One order from 12345: 201 the first time, 200 with the stored order (unchanged) when the
    same ``external_id`` comes again."""
    actor = _hotline_actor(request)
    order, created = hotline.receive(actor=actor, record=payload.dict())
    return Status(201 if created else 200, _hotline_order(order))


@hotline_router.post("/work-orders/batch", response=list[BatchItemOut])
def hotline_push_batch(request, payload: BatchIn):
    """Up to 100 orders, each on its own: a bad one is ``invalid`` with its errors, the rest are
    stored. Each item has the push's fields."""
    actor = _hotline_actor(request)
    items = hotline.receive_batch(actor=actor, records=payload.orders)
    return [{"external_id": item.external_id, "outcome": item.outcome,
             "order": _hotline_order(item.order) if item.order else None, "errors": item.errors} for item in items]


@hotline_router.get("/results", response=FeedOut)
def hotline_results(request, since: str = "", limit: int = 100):
    """The hotline's orders changed after ``since`` (a cursor from the previous answer; empty:
    from the start), oldest change first. Keep ``next`` once the items are stored."""
    page = hotline.results(actor=_hotline_actor(request), since=since, limit=limit)
    return {"items": page.items, "next": page.next, "has_more": page.has_more}


@hotline_router.post("/imports", response=ImportOut, auth=api.auth)
def hotline_import(request, file: File[UploadedFile] = None, dry_run: bool = False):
    """A 12345 export (.csv UTF-8/GB18030 or .xlsx): multipart ``file``, or the file as the body
    (``Content-Type: text/csv`` or the .xlsx type). All rows or none: with any bad row nothing is
    imported and the 422 lists every problem by row and column. Rows already imported are skipped."""
    actor = request_actor(request)
    if file is not None:
        content, name = file.read(), file.name or ""
    else:
        content, name = request.body, ""
    if not content:
        raise ValidationError({"file": _("Send the file.")})
    try:
        report = imports.import_file(actor=actor, content=content, filename=name, dry_run=dry_run)
    except imports.ImportRefused as refused:
        rows = [{"row": e.row, "column": e.column, "message": e.message} for e in refused.report.errors]
        errors: dict[str, list[str]] = {}
        for error in refused.report.errors:
            errors.setdefault(f"row {error.row}: {error.column}", []).append(error.message)
        return api.create_response(request, {"detail": "invalid input", "errors": errors, "rows": rows,
                                             "imported": 0}, status=422)
    return {"rows": report.rows, "created": len(report.created), "skipped": len(report.skipped),
            "dry_run": report.dry_run, "numbers": [order.number for order in report.created],
            "skipped_rows": [{"row": row, "external_id": ext, "number": number}
                             for row, ext, number in report.skipped]}
