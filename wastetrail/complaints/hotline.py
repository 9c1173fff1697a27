"""The 12345 hotline's side of work orders: its field names and codes mapped to ours, the push
(one order or a batch) and the result feed it pulls (docs/hotline.md).

The hotline speaks in its own terms: its order number (kept as ``external_id``), its category
codes (``WorkOrderCategory.hotline_code``), type names in Chinese (投诉, 举报...), districts by
name or adcode, times in local time. ``normalise`` turns one such record into the arguments of
``services.workorder_receive`` and names every field it cannot map, so that the push and the
file import (complaints.imports) refuse the same things with the same messages.

The result feed is pull, not push: the hotline asks for the orders changed after a cursor it
keeps. A lost response is simply asked for again, with the same cursor; nothing here has to
remember what was delivered.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.complaints import policy, services
from wastetrail.complaints.models import WorkOrder, WorkOrderCategory, WorkOrderSource, WorkOrderType
from wastetrail.core.districts import DISTRICT_NAMES

# The hotline's type names (as its exports and forms write them) and our own values.
TYPE_NAMES: dict[str, str] = {
    "咨询": WorkOrderType.CONSULTATION, "求助": WorkOrderType.HELP, "建议": WorkOrderType.SUGGESTION,
    "投诉": WorkOrderType.COMPLAINT, "举报": WorkOrderType.REPORT,
    **{value: value for value in WorkOrderType.values},
}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M")
FIELDS = ("external_id", "received_at", "order_type", "category_code", "district", "address", "lon", "lat",
          "title", "description", "complainant_name", "complainant_phone", "anonymous")
BATCH_LIMIT = 100
FEED_LIMIT = 500
# Orders changed within the last seconds are held back from the feed: a transaction that set
# updated_at earlier but commits later would otherwise slip behind a cursor already handed out.
FEED_SETTLE_SECONDS = 5


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or order number that a spreadsheet stored as a number
    return str(value).strip()


# --- mapping ----------------------------------------------------------------------------------
class Catalogue:
    """The categories by every name the hotline may use for them, read once per import."""

    def __init__(self) -> None:
        self.by_key: dict[str, WorkOrderCategory] = {}
        for category in WorkOrderCategory.objects.all():
            for key in (category.code, category.name_zh, category.hotline_code):
                if key:
                    self.by_key.setdefault(key.strip().upper(), category)

    def find(self, value: str) -> WorkOrderCategory | None:
        return self.by_key.get(value.strip().upper())


def _district(value: Any) -> int:
    text = _text(value)
    if text.isdigit() and int(text) in DISTRICT_NAMES:
        return int(text)
    for adcode, (zh, en) in DISTRICT_NAMES.items():
        # 蓬江区 / 蓬江 / Pengjiang District / Pengjiang; 台山市 / 台山
        if text and text in (zh, zh[:-1], en, en.removesuffix(" District")):
            return adcode
    raise ValidationError(_("Unknown district %(value)s: give a Jiangmen district's name or adcode.")
                          % {"value": repr(text)})


def _time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = _text(value)
        parsed = parse_datetime(text.replace("T", " ", 1)) if "T" in text or "+" in text else None
        for pattern in TIME_FORMATS:
            if parsed is not None:
                break
            try:
                parsed = dt.datetime.strptime(text, pattern)
            except ValueError:
                continue
        if parsed is None:
            raise ValidationError(_("Give the time as YYYY-MM-DD HH:MM (local time)."))
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _coordinate(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        raise ValidationError(_("Give a number (WGS-84 degrees).")) from None
    if not number.is_finite():
        raise ValidationError(_("Give a number (WGS-84 degrees)."))
    return number


def _flag(value: Any) -> bool:
    return _text(value).lower() in ("1", "true", "yes", "y", "是")


def normalise(record: dict[str, Any], catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The hotline's record → ``workorder_receive`` arguments; a ValidationError naming every
    field (by the hotline's names) that cannot be mapped."""
    catalogue = catalogue or Catalogue()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"source": WorkOrderSource.HOTLINE}
    values["external_id"] = _text(record.get("external_id"))
    if not values["external_id"]:
        errors["external_id"] = _("Give the 12345 order number.")
    elif len(values["external_id"]) > 40:
        errors["external_id"] = _("The 12345 order number is longer than 40 characters.")
    values["description"] = _text(record.get("description"))
    if not values["description"]:
        errors["description"] = _("Describe what happened.")
    order_type = _text(record.get("order_type"))
    values["order_type"] = TYPE_NAMES.get(order_type, "")
    if order_type and not values["order_type"]:
        errors["order_type"] = (_("Unknown type %(value)s: 咨询, 求助, 建议, 投诉 or 举报.")
                                % {"value": repr(order_type)})
    code = _text(record.get("category_code"))
    values["category"] = catalogue.find(code) if code else None
    if code and values["category"] is None:
        errors["category_code"] = _("Unknown category code %(value)s.") % {"value": repr(code)}
    for name, parse in (("received_at", _time), ("lon", _coordinate), ("lat", _coordinate)):
        try:
            values[name] = parse(record.get(name))
        except ValidationError as exc:
            errors[name] = exc.messages[0]
    district = record.get("district")
    values["district"] = None
    if _text(district):
        try:
            values["district"] = _district(district)
        except ValidationError as exc:
            errors["district"] = exc.messages[0]
    elif values.get("lon") is None:
        errors["district"] = _("Give the district (name or adcode), or the position.")
    for name in ("title", "address", "complainant_name", "complainant_phone"):
        values[name] = _text(record.get(name))
    values["anonymous"] = _flag(record.get("anonymous"))
    if errors:
        raise ValidationError(errors)
    return values


# Service field names → the hotline's (the rest are the same).
SERVICE_FIELDS = {"category": "category_code", "location": "lon"}


def service_errors(exc: ValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {"__all__": exc.messages}
    return {SERVICE_FIELDS.get(name, name): messages for name, messages in exc.message_dict.items()}


# --- receiving ----------------------------------------------------------------------------------
def receive(*, actor: Actor, record: dict[str, Any], catalogue: Catalogue | None = None,
            now: dt.datetime | None = None) -> tuple[WorkOrder, bool]:
    """One pushed order: (the order, whether it is new). The same ``external_id`` again returns
    the stored order unchanged, whatever else the record says."""
    actor.require(policy.is_hotline(actor) or policy.is_dispatcher(actor))
    values = normalise(record, catalogue)
    try:
        order, code = services.workorder_receive(actor=actor, now=now, **values)
    except ValidationError as exc:
        raise ValidationError(service_errors(exc)) from None
    return order, code is not None


@dataclass
class BatchItem:
    external_id: str
    outcome: str  # created, existing or invalid
    order: WorkOrder | None = None
    errors: dict[str, list[str]] | None = None


def receive_batch(*, actor: Actor, records: list[dict[str, Any]]) -> list[BatchItem]:
    """Each record on its own (unlike the file import): a bad one is reported and the others
    are stored, so the hotline resends only what failed."""
    actor.require(policy.is_hotline(actor) or policy.is_dispatcher(actor))
    if len(records) > BATCH_LIMIT:
        raise ValidationError({"orders": _("Send at most %(limit)d orders at once.") % {"limit": BATCH_LIMIT}})
    catalogue = Catalogue()
    items = []
    for record in records:
        external_id = _text(record.get("external_id"))
        try:
            with transaction.atomic():
                order, created = receive(actor=actor, record=record, catalogue=catalogue)
        except ValidationError as exc:
            items.append(BatchItem(external_id, "invalid", errors=service_errors(exc)))
            continue
        items.append(BatchItem(external_id, "created" if created else "existing", order))
    return items


# --- the result feed ---------------------------------------------------------------------------
def encode_cursor(order: WorkOrder) -> str:
    raw = f"{order.updated_at.astimezone(dt.UTC).isoformat()}|{order.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.split("|")
        parsed = dt.datetime.fromisoformat(at)
        if timezone.is_naive(parsed):
            raise ValueError
        return parsed, int(pk)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"since": _("This cursor was not given by this feed.")}) from None


@dataclass
class FeedPage:
    items: list[WorkOrder]
    next: str  # the cursor to ask with next time (the one asked with, if nothing changed)
    has_more: bool


def results(*, actor: Actor, since: str = "", limit: int = 100, now: dt.datetime | None = None) -> FeedPage:
    """Hotline orders changed after the cursor, oldest change first. Two indexed queries."""
    actor.require(policy.is_hotline(actor))
    if not 1 <= limit <= FEED_LIMIT:
        raise ValidationError({"limit": _("Ask for 1 to %(limit)d orders.") % {"limit": FEED_LIMIT}})
    now = now or timezone.now()
    settle = getattr(settings, "HOTLINE_FEED_SETTLE_SECONDS", FEED_SETTLE_SECONDS)
    qs = (WorkOrder.objects.filter(source=WorkOrderSource.HOTLINE, updated_at__lte=now - dt.timedelta(seconds=settle))
          .select_related("unit").order_by("updated_at", "id"))
    if since:
        at, pk = decode_cursor(since)
        qs = qs.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=pk))
    items = list(qs[:limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    return FeedPage(items=items, next=encode_cursor(items[-1]) if items else since, has_more=has_more)
