"""Ledgers (台账): one row per manifest for a project, a transport company or a receiving site,
over a period, as CSV or Excel.

Who may download which ledger: the project's construction unit (its administrators and staff),
the transport company's, the site operator's, and regulators. An object the actor cannot see at
all is NotFound (404, as if it did not exist); one the actor sees but whose ledger is not theirs
(a developer on its project, a driver on his company, any party on a public site) is
PermissionDenied (403). Rows come from ``selectors.manifest_list``, so a district regulator's
ledger holds only the manifests of its districts.

Rows are read with one query (``select_related``) and ``.iterator()``: a year of a big site's
loads streams without holding every model in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from wastetrail.accounts import selectors as account_selectors
from wastetrail.accounts.models import OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.errors import NotFound
from wastetrail.manifests import selectors
from wastetrail.manifests.models import Manifest, ManifestStatus, QuantityUnit
from wastetrail.manifests.policy import can_download_ledger
from wastetrail.registry import selectors as registry_selectors
from wastetrail.registry.models import Vehicle

CHUNK_SIZE = 500
FORMATS = ("xlsx", "csv")


# --- what a ledger covers -------------------------------------------------------------------
class ScopeKind:
    PROJECT = "project"
    CARRIER = "carrier"
    SITE = "site"


@dataclass(frozen=True)
class LedgerScope:
    kind: str
    pk: int
    name: str
    slug: str  # ASCII, for file names

    @property
    def title(self) -> str:
        labels = {ScopeKind.PROJECT: _("Construction project"), ScopeKind.CARRIER: _("Transport unit"),
                  ScopeKind.SITE: _("Receiving site")}
        return f"{labels[self.kind]}: {self.name}"


@dataclass(frozen=True)
class LedgerRequest:
    """Everything a download needs, checked before a byte is written."""

    scope: LedgerScope
    start: dt.date | None
    end: dt.date | None
    status: str | None
    format: str

    @property
    def period_label(self) -> str:
        if not self.start and not self.end:
            return _("all dates")
        return f"{self.start or '…'} – {self.end or '…'}"

    @property
    def filename(self) -> str:
        start = self.start.isoformat() if self.start else "start"
        end = self.end.isoformat() if self.end else "now"
        return f"ledger-{self.scope.kind}-{self.scope.slug}-{start}-{end}.{self.format}"


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")


def ledger_scope(*, actor: Actor, kind: str, pk: Any) -> LedgerScope:
    """The ledger's subject as the actor may see it: NotFound if invisible, PermissionDenied if
    visible but not the actor's to download."""
    if kind == ScopeKind.PROJECT:
        project = registry_selectors.project_get(actor=actor, pk=pk)
        if not can_download_ledger(actor, project.construction_unit_id):
            raise PermissionDenied(_("Only the construction unit and regulators may download this ledger."))
        code = _ascii_slug(project.code)
        return LedgerScope(kind, project.pk, f"{project.name} ({project.code})", code or str(project.pk))
    if kind == ScopeKind.CARRIER:
        organisation = account_selectors.organisation_get(actor=actor, pk=pk)
        if organisation.kind != OrganisationKind.TRANSPORT_COMPANY:
            raise NotFound
        if not can_download_ledger(actor, organisation.pk):
            raise PermissionDenied(_("Only the transport company's staff and regulators may download this ledger."))
        return LedgerScope(kind, organisation.pk, organisation.name, str(organisation.pk))
    if kind == ScopeKind.SITE:
        site = registry_selectors.site_get(actor=actor, pk=pk)
        if not can_download_ledger(actor, site.operator_id):
            raise PermissionDenied(_("Only the site operator's staff and regulators may download this ledger."))
        return LedgerScope(kind, site.pk, site.name, str(site.pk))
    raise NotFound


def _date(raw: str | dt.date | None, field: str, errors: dict[str, str]) -> dt.date | None:
    if isinstance(raw, dt.date):
        return raw
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
        return None


def ledger_request(*, scope: LedgerScope, start: str | dt.date | None, end: str | dt.date | None,
                   status: str | None, format: str | None) -> LedgerRequest:  # noqa: A002 - the query parameter
    """Check the query: a known format, valid dates with from ≤ to, a known status. Error keys
    are the query parameters' names (``format``, ``from``, ``to``, ``status``)."""
    errors: dict[str, str] = {}
    fmt = (format or "xlsx").strip().lower()
    if fmt not in FORMATS:
        errors["format"] = _("Choose xlsx or csv.")
    first, last = _date(start, "from", errors), _date(end, "to", errors)
    if first and last and first > last:
        errors["to"] = _("The end of the period cannot be before its start.")
    status = (status or "").strip() or None
    if status and status not in ManifestStatus.values:
        errors["status"] = _("Unknown status.")
    if errors:
        raise ValidationError(errors)
    return LedgerRequest(scope=scope, start=first, end=last, status=status, format=fmt)


# --- rows -----------------------------------------------------------------------------------
def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def ledger_queryset(*, actor: Actor, request: LedgerRequest) -> QuerySet[Manifest]:
    """The actor's manifests in the scope and period, oldest first, one query."""
    scope = request.scope
    qs = selectors.manifest_list(
        actor=actor, status=request.status,
        project=scope.pk if scope.kind == ScopeKind.PROJECT else None,
        site=scope.pk if scope.kind == ScopeKind.SITE else None,
    )
    if scope.kind == ScopeKind.CARRIER:
        qs = qs.filter(carrier_id=scope.pk)
    # Local dates: "from 1 June" is from midnight in Asia/Shanghai, "to 30 June" includes that day.
    if request.start:
        qs = qs.filter(issued_at__gte=_day_start(request.start))
    if request.end:
        qs = qs.filter(issued_at__lt=_day_start(request.end + dt.timedelta(days=1)))
    # The ledger needs no signatures: drop the selector's prefetch so that it stays one query.
    return qs.prefetch_related(None).order_by("issued_at", "id")


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # lazy
    kind: str  # text, datetime, number
    width: int
    value: Callable[[Manifest], Any]


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    # Naive local time: Excel has no time zones, and the ledger is read in the city's.
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _label(field: str, model=Manifest) -> Any:
    """The field's verbose name, evaluated in the language active when the file is written."""
    return lazy(lambda: capfirst(str(model._meta.get_field(field).verbose_name)), str)()


def _column(field: str, kind: str, width: int, value: Callable[[Manifest], Any], model=Manifest) -> Column:
    return Column(field, _label(field, model), kind, width, value)


COLUMNS: tuple[Column, ...] = (
    _column("number", "text", 19, lambda m: m.number),
    _column("status", "text", 12, lambda m: m.get_status_display()),
    _column("issued_at", "datetime", 17, lambda m: _local(m.issued_at)),
    _column("departed_at", "datetime", 17, lambda m: _local(m.departed_at)),
    _column("arrived_at", "datetime", 17, lambda m: _local(m.arrived_at)),
    _column("received_at", "datetime", 17, lambda m: _local(m.received_at)),
    _column("closed_at", "datetime", 17, lambda m: _local(m.closed_at)),
    _column("project", "text", 28, lambda m: m.origin_display),
    _column("emitter", "text", 28, lambda m: m.emitter.name),
    _column("category", "text", 14, lambda m: str(m.category)),
    _column("estimated_m3", "number", 12, lambda m: m.estimated_m3),
    _column("estimated_t", "number", 12, lambda m: m.estimated_t),
    _column("carrier", "text", 28, lambda m: m.carrier.name),
    _column("plate", "text", 11, lambda m: m.vehicle.plate, model=Vehicle),
    _column("driver", "text", 10, lambda m: m.driver.name),
    _column("site", "text", 24, lambda m: m.site.name),
    _column("receiver", "text", 28, lambda m: m.receiver.name),
    _column("disposal_method", "text", 14, lambda m: m.get_disposal_method_display()),
    _column("quantity_unit", "text", 8, lambda m: m.get_quantity_unit_display() if m.quantity_unit else ""),
    _column("gross_t", "number", 11, lambda m: m.gross_t),
    _column("tare_t", "number", 11, lambda m: m.tare_t),
    _column("net_t", "number", 11, lambda m: m.net_t),
    _column("received_m3", "number", 12, lambda m: m.received_m3),
    _column("received_quantity", "number", 11, lambda m: m.received_quantity),
    _column("accepted_quantity", "number", 11, lambda m: m.accepted_quantity),
    _column("refused_quantity", "number", 11, lambda m: m.refused_quantity),
    _column("refusal_reason", "text", 30, lambda m: m.refusal_reason),
    _column("parent", "text", 19, lambda m: m.parent.number if m.parent_id else ""),
    _column("is_overdue", "text", 8, lambda m: _("Yes") if m.is_overdue else _("No")),
)


def row_for(manifest: Manifest) -> list[Any]:
    return [column.value(manifest) for column in COLUMNS]


def ledger_manifests(*, actor: Actor, request: LedgerRequest) -> Iterator[Manifest]:
    return ledger_queryset(actor=actor, request=request).iterator(chunk_size=CHUNK_SIZE)


def ledger_rows(*, actor: Actor, request: LedgerRequest) -> Iterator[list[Any]]:
    """One list of typed values per manifest (local naive datetimes, Decimals, text)."""
    for manifest in ledger_manifests(actor=actor, request=request):
        yield row_for(manifest)


@dataclass
class Totals:
    """Accepted quantities are summed in the unit they were measured in: weighed loads in t,
    loads measured by volume in m³ (no density conversion: each figure is what was recorded)."""

    count: int = 0
    estimated_m3: Decimal = Decimal("0")
    estimated_t: Decimal = Decimal("0")
    accepted_t: Decimal = Decimal("0")
    accepted_m3: Decimal = Decimal("0")

    def add(self, manifest: Manifest) -> None:
        self.count += 1
        self.estimated_m3 += manifest.estimated_m3
        self.estimated_t += manifest.estimated_t
        if manifest.accepted_quantity is None:
            return
        if manifest.quantity_unit == QuantityUnit.TONNE:
            self.accepted_t += manifest.accepted_quantity
        elif manifest.quantity_unit == QuantityUnit.CUBIC_METRE:
            self.accepted_m3 += manifest.accepted_quantity


def headers() -> list[str]:
    return [str(column.label) for column in COLUMNS]


# --- writers --------------------------------------------------------------------------------
class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell that starts with one of these as a formula. Names, routes and reasons
# are typed by users, so such text is written with a leading apostrophe (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def defused(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return defused(value)


def csv_chunks(*, actor: Actor, request: LedgerRequest, batch: int = 200) -> Iterator[bytes]:
    """UTF-8 with a byte order mark (so that Excel opens the Chinese text correctly). The
    response is consumed after the view has returned: keep the request's language for it."""
    language = translation.get_language()
    writer = csv.writer(_Echo())
    with translation.override(language):
        yield "\ufeff".encode() + writer.writerow(headers()).encode()
        lines: list[str] = []
        for row in ledger_rows(actor=actor, request=request):
            lines.append(writer.writerow([_csv_value(value) for value in row]))
            if len(lines) >= batch:
                yield "".join(lines).encode()
                lines = []
        if lines:
            yield "".join(lines).encode()


def xlsx_bytes(*, actor: Actor, request: LedgerRequest) -> bytes:
    """A workbook: title row (scope and period), bold frozen header, typed cells, totals."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Ledger")[:31])
    for index, column in enumerate(COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "B3"  # the title and header rows, and the number column
    bold = Font(bold=True)

    def cell(value: Any, *, font: Font | None = None, number_format: str | None = None) -> WriteOnlyCell:
        written = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # Text stays text: openpyxl would store "=…" as a live formula.
            written.data_type = "s"
        if font is not None:
            written.font = font
        if number_format is not None:
            written.number_format = number_format
        return written

    status = f" · {_('Status')}: {ManifestStatus(request.status).label}" if request.status else ""
    title = f"{_('Manifest ledger')} · {request.scope.title} · {_('Period')}: {request.period_label}{status}"
    sheet.append([cell(title, font=Font(bold=True, size=13))])
    sheet.append([cell(label, font=bold) for label in headers()])
    formats = {"datetime": "yyyy-mm-dd hh:mm", "number": "#,##0.00"}
    totals = Totals()
    for manifest in ledger_manifests(actor=actor, request=request):
        totals.add(manifest)
        row = row_for(manifest)
        sheet.append([
            cell(value, number_format=formats.get(column.kind)) if value not in (None, "") else None
            for column, value in zip(COLUMNS, row, strict=True)
        ])
    sheet.append([])
    labels = [_("Total"), _("Manifests"), str(_label("estimated_m3")), str(_label("estimated_t")),
              _("Accepted (t)"), _("Accepted (m³)")]
    sheet.append([cell(label, font=bold) for label in labels])
    number = formats["number"]
    sheet.append([None, cell(totals.count, number_format="0"),
                  cell(totals.estimated_m3, number_format=number), cell(totals.estimated_t, number_format=number),
                  cell(totals.accepted_t, number_format=number), cell(totals.accepted_m3, number_format=number)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
