"""Writes for work orders: receive, classify, dispatch, sign for, return, extend, handle, answer,
rate, close, reopen, link, request a case, and the worker's deadline marks.

Each step checks permission (complaints.policy), then the state under a row lock against
``TRANSITIONS`` (a wrong state raises DomainError and changes nothing), then the input
(ValidationError naming the field), and writes the change, one history event, the monthly
counters it moves and exactly one audit row in one transaction. ``today``/``now`` parameters
exist for the worker and for tests; doors never pass them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy
from wastetrail.complaints.models import (
    RETURN_DEADLINE_CODE,
    TRANSITIONS,
    EventKind,
    ExtensionRequest,
    ExtensionStatus,
    Satisfaction,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderEvent,
    WorkOrderMonthlyStat,
    WorkOrderNumberCounter,
    WorkOrderPhoto,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
    deadline_code,
    tracking_code_hash,
)
from wastetrail.complaints.routing import route_unit
from wastetrail.core import sms
from wastetrail.core.audit.services import audit_record
from wastetrail.core.districts import DISTRICT_NAMES, district_at
from wastetrail.core.errors import DomainError
from wastetrail.core.images import check_photos
from wastetrail.core.rulebook.calendar import rulebook_calendar
from wastetrail.core.rulebook.selectors import deadline_working_days, parameter_value
from wastetrail.core.validators import MOBILE_RE

PHOTO_LIMIT = 6
# A complainant may send the order back this many times by rating it "dissatisfied"; after that
# the rating closes it (and counts), and only a dispatcher can reopen it.
PUBLIC_REOPEN_LIMIT = 2
WARNING_PARAMETER = "work_order_warning_working_days"
EXTENSION_LIMIT_PARAMETER = "work_order_extension_max_working_days"


# --- small helpers ----------------------------------------------------------------------------
def _today(now: dt.datetime) -> dt.date:
    return timezone.localdate(now)


def _lock(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_for_update().get(pk=order.pk)


@contextmanager
def _taking(step: str, order: WorkOrder, actor: Actor, may: Callable[[Actor, WorkOrder], bool]) -> Iterator[WorkOrder]:
    """The transaction of one step: the order's row locked, then the actor's permission and the
    state checked on the locked row (an object the caller loaded earlier may be stale)."""
    with transaction.atomic():
        locked = _lock(order)
        actor.require(may(actor, locked))
        _check_step(locked, step)
        yield locked


def _check_step(order: WorkOrder, step: str) -> None:
    if order.status not in TRANSITIONS[step]:
        raise DomainError(
            _("Work order %(number)s is %(status)s: it cannot be %(step)s now.") % {
                "number": order.number, "status": WorkOrderStatus(order.status).label,
                "step": STEP_LABELS[step]},
            code=f"cannot_{step}")


STEP_LABELS = {
    "classify": gettext_lazy("classified"), "dispatch": gettext_lazy("dispatched"),
    "accept": gettext_lazy("signed for"), "return": gettext_lazy("returned"), "handle": gettext_lazy("handled"),
    "answer": gettext_lazy("answered"), "request_extension": gettext_lazy("extended"),
    "rate": gettext_lazy("rated"), "close": gettext_lazy("closed"), "reopen": gettext_lazy("reopened"),
}


def _required_text(value: Any, field: str, message: str, limit: int = 5000) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationError({field: message})
    if len(text) > limit:
        raise ValidationError({field: _("Write at most %(limit)d characters.") % {"limit": limit}})
    return text


def _event(order: WorkOrder, kind: str, actor: Actor | None, at: dt.datetime, *, note: str = "",
           organisation_id: int | None = None, data: dict | None = None) -> WorkOrderEvent:
    return WorkOrderEvent.objects.create(
        order=order, kind=kind, at=at, actor=actor.user if actor else None, organisation_id=organisation_id,
        note=note, data=data or {})


def _audit(actor: Actor | None, action: str, order: WorkOrder, data: dict, organisation: int | None = None) -> None:
    audit_record(actor=actor.user if actor else None, action=f"workorder.{action}", target=order,
                 organisation=organisation, data={"number": order.number, "status": order.status, **data})


def _count(unit_id: int | None, at: dt.datetime, **increments: int) -> None:
    """Add to the unit's counters for the local month of ``at`` (inside the caller's transaction)."""
    if unit_id is None:
        return
    month = _today(at).replace(day=1)
    changes = {name: F(name) + value for name, value in increments.items()}
    if WorkOrderMonthlyStat.objects.filter(unit_id=unit_id, month=month).update(**changes):
        return
    try:
        with transaction.atomic():  # savepoint: a concurrent first write of the month may win
            WorkOrderMonthlyStat.objects.create(unit_id=unit_id, month=month, **increments)
    except IntegrityError:
        WorkOrderMonthlyStat.objects.filter(unit_id=unit_id, month=month).update(**changes)


def _next_number(day: dt.date) -> str:
    counter, _created = WorkOrderNumberCounter.objects.select_for_update().get_or_create(day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"WO{day:%Y%m%d}{counter.last:05d}"


def new_tracking_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _store_photos(order: WorkOrder, checked: list, *, by_complainant: bool) -> None:
    """Each photo under a random name with the extension of the format its content decoded as:
    the sender's file name (say, ``x.html`` on a PNG that is also a web page) is never kept, so
    nothing is ever served as anything but the image it was checked to be."""
    for photo in checked:
        photo.upload.name = f"{uuid.uuid4().hex}.{photo.extension}"
        WorkOrderPhoto.objects.create(order=order, file=photo.upload, width=photo.width, height=photo.height,
                                      by_complainant=by_complainant)


# --- receiving --------------------------------------------------------------------------------
def _position(lon: Any, lat: Any, *, required: bool) -> tuple[int | None, int | None, int | None]:
    """(lon_e6, lat_e6, district) of a WGS-84 position inside Jiangmen."""
    if lon in (None, "") and lat in (None, ""):
        if required:
            raise ValidationError({"location": _("Mark the place on the map or let the browser share your "
                                                 "location.")})
        return None, None, None
    try:
        lon_d, lat_d = Decimal(str(lon)), Decimal(str(lat))
    except (InvalidOperation, ValueError):
        raise ValidationError({"location": _("Give both longitude and latitude as numbers.")}) from None
    if not (lon_d.is_finite() and lat_d.is_finite() and -180 <= lon_d <= 180 and -90 <= lat_d <= 90):
        raise ValidationError({"location": _("The position is not on Earth.")})
    district = district_at(lon=float(lon_d), lat=float(lat_d))
    if district is None:
        raise ValidationError({"location": _("The place is outside Jiangmen: this platform handles "
                                             "Jiangmen's construction waste only.")})
    return int(lon_d * 1_000_000), int(lat_d * 1_000_000), district


def _district(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        district = int(value)
    except (TypeError, ValueError):
        district = None
    if district not in DISTRICT_NAMES:
        raise ValidationError({"district": _("Choose one of Jiangmen's districts.")})
    return district


def _complainant(name: Any, phone: Any, anonymous: bool, source: str) -> tuple[str, str]:
    if anonymous:
        return "", ""
    name = (name or "").strip()[:60]
    phone = "".join(str(phone or "").split())
    if source == WorkOrderSource.PUBLIC:
        errors = {}
        if not name:
            errors["complainant_name"] = _("Give your name, or report anonymously.")
        if not MOBILE_RE.match(phone):
            errors["complainant_phone"] = _("Give an 11-digit mobile number so that we can answer you, or "
                                            "report anonymously.")
        if errors:
            raise ValidationError(errors)
    elif phone and not (MOBILE_RE.match(phone) or (phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20)):
        raise ValidationError({"complainant_phone": _("Enter a mobile or landline number.")})
    return name, phone


def _classification(order_type: Any, category: WorkOrderCategory | None) -> tuple[str, WorkOrderCategory | None]:
    order_type = (order_type or "").strip() if isinstance(order_type, str) else ""
    if order_type and order_type not in WorkOrderType.values:
        raise ValidationError({"order_type": _("Choose consultation, help, suggestion, complaint or report.")})
    if category is not None and not category.is_active:
        raise ValidationError({"category": _("This category is no longer used.")})
    if not order_type and category is not None:
        order_type = category.default_type
    return order_type, category


def _check_flooding(client_key: str, now: dt.datetime) -> None:
    """A browser (by its address's keyed hash) may send a few reports an hour and a day."""
    if not client_key:
        return
    recent = WorkOrder.objects.filter(client_key=client_key, received_at__gte=now - dt.timedelta(days=1))
    per_hour, per_day = settings.PUBLIC_REPORTS_PER_HOUR, settings.PUBLIC_REPORTS_PER_DAY
    if recent.count() >= per_day or recent.filter(received_at__gte=now - dt.timedelta(hours=1)).count() >= per_hour:
        raise DomainError(_("Too many reports from this connection. Please try again later, or call 12345."),
                          code="rate_limited")


def workorder_receive(
    *,
    actor: Actor | None,
    source: str,
    description: Any,
    title: Any = "",
    order_type: Any = "",
    category: WorkOrderCategory | None = None,
    district: Any = None,
    lon: Any = None,
    lat: Any = None,
    address: Any = "",
    anonymous: bool = False,
    complainant_name: Any = "",
    complainant_phone: Any = "",
    reported_plate: Any = "",
    stacking_point: Any = None,
    external_id: Any = None,
    photos: Iterable = (),
    client_key: str = "",
    received_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> tuple[WorkOrder, str | None]:
    """A new work order and its tracking code (None for a hotline order pushed again).

    Public: no actor, a position inside Jiangmen, the complainant's name and mobile unless
    anonymous, at most ``PHOTO_LIMIT`` photos that decode, and the connection's report quota.
    Hotline: the hotline's own number (``external_id``) makes a repeat push return the stored
    order unchanged. Staff: a district or a position. An order that arrives with a type and a
    category (the hotline classifies) starts classified."""
    now = now or timezone.now()
    if source not in WorkOrderSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    if source == WorkOrderSource.PUBLIC:
        if actor is not None:
            raise ValidationError({"source": _("Staff record orders as staff, not through the public form.")})
    elif actor is None:
        raise ValidationError({"source": _("Only the public form accepts reports without signing in.")})
    elif source == WorkOrderSource.HOTLINE:
        actor.require(policy.can_receive_for_hotline(actor))
    else:
        actor.require(policy.can_receive_as_staff(actor))

    external = (str(external_id).strip() if external_id not in (None, "") else None)
    if source == WorkOrderSource.HOTLINE:
        if not external:
            raise ValidationError({"external_id": _("Give the 12345 order number.")})
        existing = WorkOrder.objects.filter(source=source, external_id=external).first()
        if existing is not None:
            return existing, None
    elif external:
        raise ValidationError({"external_id": _("Only hotline orders carry a 12345 order number.")})

    description = _required_text(description, "description", _("Describe what happened."))
    title = ((title or "").strip() if isinstance(title, str) else "")[:120] or description[:40]
    order_type, category = _classification(order_type, category)
    lon_e6, lat_e6, located_in = _position(lon, lat, required=source == WorkOrderSource.PUBLIC)
    chosen = _district(district)
    if located_in is None and chosen is None:
        raise ValidationError({"district": _("Choose the district, or give the position.")})
    name, phone = _complainant(complainant_name, complainant_phone, bool(anonymous), source)
    if source == WorkOrderSource.PUBLIC:  # before the photos are decoded: refused clients cost nothing
        _check_flooding(client_key, now)
    checked = check_photos(photos, limit=PHOTO_LIMIT)
    plate = ((reported_plate or "").strip().upper() if isinstance(reported_plate, str) else "")[:12]
    arrived = received_at or now
    if arrived > now + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("The time of receipt is in the future.")})

    code = new_tracking_code()
    # A category chosen at intake (by the hotline, staff, or a resident from the public list)
    # classifies the order; the dispatch centre may still reclassify it before dispatching.
    classified = bool(order_type and category)
    try:
        with transaction.atomic():
            order = _create_received(
                actor=actor, source=source, external=external, code=code, classified=classified,
                order_type=order_type, category=category, title=title, description=description,
                district=located_in or chosen, address=address, lon_e6=lon_e6, lat_e6=lat_e6,
                anonymous=bool(anonymous), name=name, phone=phone, client_key=client_key, plate=plate,
                stacking_point=stacking_point, arrived=arrived, checked=checked)
    except IntegrityError:
        # The same 12345 number pushed twice at once: the other request stored it.
        existing = WorkOrder.objects.filter(source=source, external_id=external).first() if external else None
        if existing is None:
            raise
        return existing, None
    return order, code


def _create_received(*, actor, source, external, code, classified, order_type, category, title, description,
                     district, address, lon_e6, lat_e6, anonymous, name, phone, client_key, plate, stacking_point,
                     arrived, checked) -> WorkOrder:
    """The insert half of workorder_receive, inside its transaction."""
    number = _next_number(_today(arrived))
    order = WorkOrder.objects.create(
        number=number, tracking_code_hash=tracking_code_hash(number, code), source=source,
        external_id=external, status=WorkOrderStatus.CLASSIFIED if classified else WorkOrderStatus.RECEIVED,
        order_type=order_type, category=category, title=title, description=description,
        district=district, address=((address or "").strip() if isinstance(address, str) else "")[:300],
        lon_e6=lon_e6, lat_e6=lat_e6, anonymous=anonymous, complainant_name=name,
        complainant_phone=phone, client_key=client_key if source == WorkOrderSource.PUBLIC else "",
        reported_plate=plate, stacking_point=stacking_point, received_at=arrived,
        received_by=actor.user if actor else None,
    )
    _store_photos(order, checked, by_complainant=True)
    _event(order, EventKind.RECEIVED, actor, arrived, data={"source": source})
    if classified:
        _event(order, EventKind.CLASSIFIED, actor, arrived,
               data={"order_type": order_type, "category": category.code})
    _audit(actor, "receive", order, {"source": source, "external_id": external, "order_type": order_type,
                                     "category": category.code if category else None,
                                     "district": order.district, "photos": len(checked)})
    if phone:
        text = _("[Jiangmen construction waste] Your report is received. Tracking number %(number)s, "
                 "code %(code)s.") % {"number": number, "code": code}
        transaction.on_commit(lambda: sms.send(phone, text))
    return order


# --- the dispatch centre --------------------------------------------------------------------
def workorder_classify(*, actor: Actor, order: WorkOrder, order_type: Any, category: WorkOrderCategory | None,
                       title: Any = None, now: dt.datetime | None = None) -> WorkOrder:
    now = now or timezone.now()
    if category is None:
        raise ValidationError({"category": _("Choose a category.")})
    order_type, category = _classification(order_type, category)
    with _taking("classify", order, actor, policy.can_dispatch) as order:
        order.order_type, order.category = order_type, category
        if isinstance(title, str) and title.strip():
            order.title = title.strip()[:120]
        if order.status == WorkOrderStatus.RECEIVED:
            order.status = WorkOrderStatus.CLASSIFIED
        order.save(update_fields=["order_type", "category", "title", "status", "updated_at"])
        _event(order, EventKind.CLASSIFIED, actor, now, data={"order_type": order_type, "category": category.code})
        _audit(actor, "classify", order, {"order_type": order_type, "category": category.code})
    return order


def _unit(unit: Organisation | None, order: WorkOrder) -> Organisation:
    if unit is None and order.status == WorkOrderStatus.RETURNED:
        # The table sent it to the unit that just returned it: a person decides where it goes now.
        raise ValidationError({"unit": _("The order was returned: choose the unit it goes to now.")})
    unit = unit or route_unit(order)
    if unit is None:
        raise ValidationError({"unit": _("No routing rule covers this district and category: choose the unit.")})
    if unit.kind not in policy.UNIT_KINDS or not unit.is_active:
        raise ValidationError({"unit": _("Work orders go to a regulator, street office, property manager or the "
                                         "housing authority.")})
    if unit.district is not None and unit.district != order.district:
        # Its handlers would see the complainant of an order outside their jurisdiction.
        raise ValidationError({"unit": _("%(unit)s works in another district than the order's.") % {
            "unit": unit.name}})
    return unit


def _withdraw_pending_extension(order: WorkOrder, actor: Actor | None, now: dt.datetime, why: str) -> None:
    """A request made by the unit that held the order dies with its round (return, reopen)."""
    order.extensions.filter(status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.REJECTED, decided_by=actor.user if actor else None, decided_at=now,
        decision_note=why)


def workorder_dispatch(*, actor: Actor, order: WorkOrder, unit: Organisation | None = None, note: Any = "",
                       now: dt.datetime | None = None) -> WorkOrder:
    """To ``unit``, or to the one the routing table names. The answer is due the rulebook's
    working days for the type after today; the unit may return it until the return window ends."""
    now = now or timezone.now()
    today = _today(now)
    with _taking("dispatch", order, actor, policy.can_dispatch) as order:
        unit = _unit(unit, order)
        calendar = rulebook_calendar()
        due = calendar.add_working_days(today, deadline_working_days(deadline_code(order.order_type)))
        return_due = calendar.add_working_days(today, deadline_working_days(RETURN_DEADLINE_CODE))
        order.status, order.unit = WorkOrderStatus.DISPATCHED, unit
        order.dispatched_at, order.due_date, order.due_official = now, due.date, due.official
        order.return_due, order.extended_days = return_due.date, 0
        order.warned_at = order.overdue_at = order.accepted_at = order.handled_at = None
        order.save(update_fields=["status", "unit", "dispatched_at", "due_date", "due_official", "return_due",
                                  "extended_days", "warned_at", "overdue_at", "accepted_at", "handled_at",
                                  "updated_at"])
        note = (note or "").strip() if isinstance(note, str) else ""
        _event(order, EventKind.DISPATCHED, actor, now, note=note, organisation_id=unit.pk,
               data={"unit": unit.name, "due_date": due.date, "return_due": return_due.date})
        _count(unit.pk, now, dispatched=1)
        _audit(actor, "dispatch", order, {"unit": unit.pk, "due_date": due.date, "due_official": due.official,
                                          "return_due": return_due.date}, organisation=unit.pk)
    return order


# --- the responsible unit ---------------------------------------------------------------------
def workorder_accept(*, actor: Actor, order: WorkOrder, now: dt.datetime | None = None) -> WorkOrder:
    now = now or timezone.now()
    with _taking("accept", order, actor, policy.can_handle) as order:
        order.status, order.accepted_at = WorkOrderStatus.ACCEPTED, now
        order.save(update_fields=["status", "accepted_at", "updated_at"])
        _event(order, EventKind.ACCEPTED, actor, now, organisation_id=order.unit_id)
        _audit(actor, "accept", order, {}, organisation=order.unit_id)
    return order


def workorder_return(*, actor: Actor, order: WorkOrder, reason: Any, now: dt.datetime | None = None) -> WorkOrder:
    """Not the unit's duty: back to the dispatch centre, with the reason, within the window."""
    now = now or timezone.now()
    reason = _required_text(reason, "reason", _("Say why this is not your unit's duty, and whose it is."))
    with _taking("return", order, actor, policy.can_handle) as order:
        if order.return_due is not None and _today(now) > order.return_due:
            raise DomainError(_("The time to return this order ended on %(date)s: handle it, or ask the dispatch "
                                "centre.") % {"date": order.return_due.isoformat()}, code="return_window_passed")
        unit_id = order.unit_id
        # The returning unit lets go of the order, and of the complainant's details with it.
        order.status, order.return_count, order.unit = WorkOrderStatus.RETURNED, order.return_count + 1, None
        order.save(update_fields=["status", "return_count", "unit", "updated_at"])
        _withdraw_pending_extension(order, actor, now, str(_("The order was returned.")))
        _event(order, EventKind.RETURNED, actor, now, note=reason, organisation_id=unit_id)
        _count(unit_id, now, returned=1)
        _audit(actor, "return", order, {"unit": unit_id, "reason": reason}, organisation=unit_id)
    return order


def workorder_request_extension(*, actor: Actor, order: WorkOrder, working_days: Any, reason: Any,
                                now: dt.datetime | None = None) -> ExtensionRequest:
    now = now or timezone.now()
    reason = _required_text(reason, "reason", _("Say why more time is needed."))
    limit = int(parameter_value(EXTENSION_LIMIT_PARAMETER))
    try:
        days = int(working_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= limit:
        raise ValidationError({"working_days": _("Ask for 1 to %(limit)d working days.") % {"limit": limit}})
    with _taking("request_extension", order, actor, policy.can_handle) as order:
        if order.extensions.filter(status=ExtensionStatus.PENDING).exists():
            raise DomainError(_("An extension request for this order is already waiting for a decision."),
                              code="extension_pending")
        extension = ExtensionRequest.objects.create(order=order, working_days=days, reason=reason,
                                                    requested_by=actor.user, requested_at=now)
        order.save(update_fields=["updated_at"])
        _event(order, EventKind.EXTENSION_REQUESTED, actor, now, note=reason, organisation_id=order.unit_id,
               data={"working_days": days})
        _audit(actor, "request_extension", order, {"extension": extension.pk, "working_days": days,
                                                   "reason": reason}, organisation=order.unit_id)
    return extension


def workorder_decide_extension(*, actor: Actor, extension: ExtensionRequest, approve: bool, note: Any = "",
                               now: dt.datetime | None = None) -> ExtensionRequest:
    """A supervisor approves (the deadline moves by the working days asked) or rejects."""
    now = now or timezone.now()
    note = (note or "").strip() if isinstance(note, str) else ""
    if not approve and not note:
        raise ValidationError({"note": _("Say why the extension is refused.")})
    with transaction.atomic():
        order = _lock(extension.order)
        actor.require(policy.can_supervise(actor, order))
        extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
        if extension.requested_by_id == actor.user.pk or actor.role_in(order.unit_id) is not None:
            raise DomainError(_("A supervisor outside the unit decides its extension requests."),
                              code="own_extension")
        if extension.status != ExtensionStatus.PENDING:
            raise DomainError(_("This extension request has already been decided."), code="extension_decided")
        fields = ["updated_at"]
        extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
        extension.decided_by, extension.decided_at, extension.decision_note = actor.user, now, note
        if approve:
            if order.status not in TRANSITIONS["request_extension"]:
                raise DomainError(_("The order is no longer being handled: nothing to extend."),
                                  code="cannot_extend")
            extension.previous_due = order.due_date
            new_due = rulebook_calendar().add_working_days(order.due_date, extension.working_days)
            extension.new_due = order.due_date = new_due.date
            order.due_official = order.due_official and new_due.official
            order.extended_days += extension.working_days
            fields += ["due_date", "due_official", "extended_days"]
            if order.due_date >= _today(now):  # the new deadline lies ahead: warn and mark afresh
                order.warned_at = order.overdue_at = None
                fields += ["warned_at", "overdue_at"]
        extension.save()
        order.save(update_fields=fields)
        kind = EventKind.EXTENSION_APPROVED if approve else EventKind.EXTENSION_REJECTED
        _event(order, kind, actor, now, note=note, data={"working_days": extension.working_days,
                                                         "new_due": extension.new_due})
        _audit(actor, "decide_extension", order, {"extension": extension.pk, "approved": approve,
                                                  "due_date": order.due_date, "note": note})
    return extension


def workorder_handle(*, actor: Actor, order: WorkOrder, note: Any, photos: Iterable = (),
                     now: dt.datetime | None = None) -> WorkOrder:
    """What the unit did (inspected, stopped the dumping, cleared the point...), with evidence."""
    now = now or timezone.now()
    note = _required_text(note, "note", _("Record what was done."))
    checked = check_photos(photos, limit=PHOTO_LIMIT)
    with _taking("handle", order, actor, policy.can_handle) as order:
        order.status, order.handled_at, order.handling_note = WorkOrderStatus.HANDLED, now, note
        order.save(update_fields=["status", "handled_at", "handling_note", "updated_at"])
        _store_photos(order, checked, by_complainant=False)
        _event(order, EventKind.HANDLED, actor, now, note=note, organisation_id=order.unit_id,
               data={"photos": len(checked)})
        _audit(actor, "handle", order, {"note": note, "photos": len(checked)}, organisation=order.unit_id)
    return order


def workorder_answer(*, actor: Actor, order: WorkOrder, answer: Any, now: dt.datetime | None = None) -> WorkOrder:
    """The reply the complainant (and the hotline) receives. Whether it beat the deadline and how
    many working days it took since receipt are fixed now, for the statistics."""
    now = now or timezone.now()
    answer = _required_text(answer, "answer", _("Write the answer to the complainant."))
    with _taking("answer", order, actor, policy.can_handle) as order:
        today = _today(now)
        # The unit's handling time: from this round's dispatch (a reopened order starts a new round).
        days = rulebook_calendar().working_days_between(_today(order.dispatched_at), today)
        order.status, order.answered_at, order.answer = WorkOrderStatus.ANSWERED, now, answer
        order.handling_working_days, order.answered_late = max(days, 0), today > order.due_date
        order.save(update_fields=["status", "answered_at", "answer", "handling_working_days", "answered_late",
                                  "updated_at"])
        _event(order, EventKind.ANSWERED, actor, now, note=answer, organisation_id=order.unit_id)
        _count(order.unit_id, now, answered=1, answered_on_time=0 if order.answered_late else 1,
               handling_working_days=order.handling_working_days)
        _audit(actor, "answer", order, {"answer": answer, "late": order.answered_late,
                                        "working_days": order.handling_working_days}, organisation=order.unit_id)
    if order.complainant_phone and not order.anonymous:
        phone = order.complainant_phone
        text = _("[Jiangmen construction waste] Work order %(number)s has been answered. Please rate the "
                 "answer with your tracking code.") % {"number": order.number}
        transaction.on_commit(lambda: sms.send(phone, text))
    return order


# --- follow-up ----------------------------------------------------------------------------------
def _reopen(order: WorkOrder, actor: Actor | None, now: dt.datetime, reason: str) -> None:
    """Back to the same unit with a fresh deadline (the order's clock restarts, as 12345 重办)."""
    calendar = rulebook_calendar()
    today = _today(now)
    due = calendar.add_working_days(today, deadline_working_days(deadline_code(order.order_type)))
    order.status, order.reopen_count = WorkOrderStatus.DISPATCHED, order.reopen_count + 1
    order.dispatched_at, order.due_date, order.due_official = now, due.date, due.official
    order.return_due = calendar.add_working_days(today, deadline_working_days(RETURN_DEADLINE_CODE)).date
    order.accepted_at = order.handled_at = order.answered_at = order.closed_at = None
    order.warned_at = order.overdue_at = None
    order.extended_days = 0
    order.save()
    _withdraw_pending_extension(order, actor, now, str(_("The order was reopened.")))
    _event(order, EventKind.REOPENED, actor, now, note=reason, organisation_id=order.unit_id,
           data={"due_date": due.date})
    # A new round for the unit: counted as a dispatch, so answered never outnumbers dispatched.
    _count(order.unit_id, now, reopened=1, dispatched=1)


def workorder_rate(*, actor: Actor | None, order: WorkOrder, satisfaction: Any, comment: Any = "",
                   now: dt.datetime | None = None) -> WorkOrder:
    """The complainant's rating (no actor: the public page, after the tracking code was checked),
    or the dispatch centre's record of a follow-up call. Satisfied or basically satisfied closes
    the order; dissatisfied reopens it, up to ``PUBLIC_REOPEN_LIMIT`` times."""
    now = now or timezone.now()
    try:
        value = Satisfaction(int(satisfaction))
    except (TypeError, ValueError):
        raise ValidationError({"satisfaction": _("Choose satisfied, basically satisfied or dissatisfied.")}) from None
    comment = ((comment or "").strip() if isinstance(comment, str) else "")[:500]
    if value == Satisfaction.DISSATISFIED and not comment:
        raise ValidationError({"comment": _("Tell us what is still wrong, so that the unit can put it right.")})
    with transaction.atomic():
        order = _lock(order)
        if actor is not None:
            actor.require(policy.can_dispatch(actor, order))
        _check_step(order, "rate")
        order.satisfaction, order.rated_at, order.rating_comment = value, now, comment
        order.save(update_fields=["satisfaction", "rated_at", "rating_comment", "updated_at"])
        _event(order, EventKind.RATED, actor, now, note=comment, data={"satisfaction": int(value)})
        _count(order.unit_id, now, rated=1, satisfaction_points=int(value),
               satisfied=int(value != Satisfaction.DISSATISFIED))
        if value == Satisfaction.DISSATISFIED and order.reopen_count < PUBLIC_REOPEN_LIMIT:
            _reopen(order, actor, now, comment)
        else:
            order.status, order.closed_at = WorkOrderStatus.CLOSED, now
            order.save(update_fields=["status", "closed_at", "updated_at"])
            _event(order, EventKind.CLOSED, actor, now)
        _audit(actor, "rate", order, {"satisfaction": int(value), "comment": comment})
    return order


def workorder_close(*, actor: Actor, order: WorkOrder, note: Any = "", now: dt.datetime | None = None) -> WorkOrder:
    """The dispatch centre closes an answered order that got no rating (follow-up unanswered)."""
    now = now or timezone.now()
    note = _required_text(note, "note", _("Record the follow-up: who was called, and what they said."))
    with _taking("close", order, actor, policy.can_dispatch) as order:
        order.status, order.closed_at = WorkOrderStatus.CLOSED, now
        order.save(update_fields=["status", "closed_at", "updated_at"])
        _event(order, EventKind.CLOSED, actor, now, note=note)
        _audit(actor, "close", order, {"note": note})
    return order


def workorder_reopen(*, actor: Actor, order: WorkOrder, reason: Any, now: dt.datetime | None = None) -> WorkOrder:
    now = now or timezone.now()
    reason = _required_text(reason, "reason", _("Say why the order is reopened."))
    with _taking("reopen", order, actor, policy.can_dispatch) as order:
        _reopen(order, actor, now, reason)
        _audit(actor, "reopen", order, {"reason": reason, "due_date": order.due_date})
    return order


# --- links ------------------------------------------------------------------------------------
LINK_FIELDS = ("vehicle", "project", "site", "stacking_point")


def workorder_link(*, actor: Actor, order: WorkOrder, now: dt.datetime | None = None, **links: Any) -> WorkOrder:
    """Point the order at the vehicle, project, receiving site or stacking point it concerns
    (None clears a link). Only the fields given change."""
    now = now or timezone.now()
    unknown = set(links) - set(LINK_FIELDS)
    if unknown:
        raise ValidationError({name: _("Unknown link.") for name in unknown})
    with transaction.atomic():
        order = _lock(order)
        actor.require(policy.can_link(actor, order))
        for name, value in links.items():
            setattr(order, name, value)
        order.save(update_fields=[*links, "updated_at"])
        data = {name: getattr(value, "pk", None) for name, value in links.items()}
        _event(order, EventKind.LINKED, actor, now, data=data)
        _audit(actor, "link", order, data)
    return order


def workorder_request_case(*, actor: Actor, order: WorkOrder, note: Any, now: dt.datetime | None = None) -> WorkOrder:
    """Ask for an enforcement case (the enforcement app opens it from this order)."""
    now = now or timezone.now()
    note = _required_text(note, "note", _("Say which violation the case is about and what evidence there is."))
    with transaction.atomic():
        order = _lock(order)
        actor.require(policy.can_link(actor, order))
        if order.case_requested_at is not None:
            raise DomainError(_("A case has already been requested for this order."), code="case_requested")
        order.case_requested_at, order.case_request_note = now, note
        order.save(update_fields=["case_requested_at", "case_request_note", "updated_at"])
        _event(order, EventKind.CASE_REQUESTED, actor, now, note=note)
        _audit(actor, "request_case", order, {"note": note})
    return order


# --- the worker -------------------------------------------------------------------------------
def _tell_unit(order: WorkOrder, template: str) -> None:
    """A text to the unit's contact phone once the mark is committed (the pages show the mark too)."""
    phone = order.unit.contact_phone if order.unit_id else ""
    if phone:
        text = template % {"number": order.number, "date": order.due_date.isoformat()}
        transaction.on_commit(lambda: sms.send(phone, text))


def workorders_mark_deadlines(*, now: dt.datetime | None = None) -> tuple[list[WorkOrder], list[WorkOrder]]:
    """Warn the units whose orders are due within the rulebook's warning days, and mark overdue
    the orders still not answered after their due day. Each order is marked once; each mark is
    one event and one audit row. Returns (warned, overdue)."""
    now = now or timezone.now()
    today = _today(now)
    calendar = rulebook_calendar()
    warn_days = int(parameter_value(WARNING_PARAMETER))
    horizon = calendar.add_working_days(today, warn_days).date
    in_hand = (WorkOrderStatus.DISPATCHED, WorkOrderStatus.ACCEPTED, WorkOrderStatus.HANDLED)
    warned, overdue = [], []
    candidates = WorkOrder.objects.filter(status__in=in_hand, due_date__lte=horizon).filter(
        overdue_at__isnull=True).only("pk").order_by("due_date", "pk")
    for pk in candidates.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            order = WorkOrder.objects.select_for_update(of=("self",)).select_related("unit").get(pk=pk)
            if order.status not in in_hand or order.overdue_at is not None or order.due_date > horizon:
                continue
            if today > order.due_date:
                order.overdue_at = now
                order.save(update_fields=["overdue_at", "updated_at"])
                _event(order, EventKind.OVERDUE, None, now, organisation_id=order.unit_id,
                       data={"due_date": order.due_date})
                _count(order.unit_id, now, overdue=1)
                _audit(None, "overdue", order, {"due_date": order.due_date}, organisation=order.unit_id)
                _tell_unit(order, _("[Jiangmen construction waste] Work order %(number)s is overdue: its answer was "
                                    "due on %(date)s."))
                overdue.append(order)
            elif order.warned_at is None:
                left = calendar.working_days_between(today, order.due_date)
                order.warned_at = now
                order.save(update_fields=["warned_at", "updated_at"])
                _event(order, EventKind.WARNED, None, now, organisation_id=order.unit_id,
                       data={"due_date": order.due_date, "working_days_left": left})
                _audit(None, "warn", order, {"due_date": order.due_date, "working_days_left": left},
                       organisation=order.unit_id)
                _tell_unit(order, _("[Jiangmen construction waste] Work order %(number)s must be answered by "
                                    "%(date)s."))
                warned.append(order)
    return warned, overdue
