"""Importing the 12345 hotline's exported files (.csv or .xlsx) as work orders.

**All or nothing.** The whole file is checked first, every row through the same mapping as the
push (complaints.hotline) and the same service as every other order, inside one transaction. If
any row has a problem, the transaction is rolled back and the report lists every row's problems
by row number and column: nothing is imported, so the file can be corrected and sent again
without working out which half went in. Rows whose 工单编号 is already stored (or repeated in
the file) are skipped and counted, never changed, so importing the same file twice is harmless.

Encodings: UTF-8 with or without a byte-order mark, and GB18030 (what Chinese Excel writes when
it saves "CSV"), told apart by trying UTF-8 strictly first. Headers are the 12345 export's
Chinese column names or the push API's English field names (docs/hotline.md).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.complaints import hotline, policy, services
from wastetrail.complaints.models import WorkOrder
from wastetrail.core.districts import DISTRICT_NAMES

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
# Our field ← the column headers that carry it (the 12345 export's, then the API's own names).
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "external_id", "order_number"),
    "received_at": ("受理时间", "来电时间", "received_at"),
    "order_type": ("诉求类型", "工单类型", "order_type", "type"),
    "category_code": ("分类编码", "诉求分类编码", "诉求分类", "category_code", "category"),
    "district": ("所属区县", "区县", "district"),
    "address": ("详细地址", "事发地址", "地址", "address"),
    "lon": ("经度", "lon"),
    "lat": ("纬度", "lat"),
    "title": ("标题", "诉求标题", "title"),
    "description": ("诉求内容", "内容", "description"),
    "complainant_name": ("来电人", "诉求人", "complainant_name", "complainant"),
    "complainant_phone": ("联系电话", "来电号码", "complainant_phone", "phone"),
    "anonymous": ("是否匿名", "匿名", "anonymous"),
}
REQUIRED = ("external_id", "description")
XLSX_MAGIC = b"PK\x03\x04"
# Stand-ins while checking a row whose own value could not be mapped: the service then still
# checks the row's other cells, so one bad cell does not hide the next (nothing is kept).
STAND_INS = {"description": "-", "district": next(iter(DISTRICT_NAMES))}


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # the file's header, or the field when the file lacks the column
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: list[WorkOrder] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (row, 工单编号, our number)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def imported(self) -> bool:
        return not self.errors and not self.dry_run


class ImportRefused(Exception):
    """The file has problems; ``report.errors`` lists them all and nothing was imported."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{len(report.errors)} problem(s)")
        self.report = report


# --- reading ------------------------------------------------------------------------------------
def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationError({"file": _("The file is neither UTF-8 nor GB18030 text.")}) from None


def _csv_rows(content: bytes) -> list[list[Any]]:
    return list(csv.reader(io.StringIO(_decode(content), newline="")))


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise ValidationError({"file": _("The file is not a readable .xlsx workbook.")}) from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def read_table(content: bytes, filename: str = "") -> list[list[Any]]:
    """The rows of the first sheet (.xlsx, recognised by its content) or of the CSV text."""
    if len(content) > MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // 2**20}})
    if content.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)
    return _csv_rows(content)


def _header_map(header: list[Any]) -> dict[str, tuple[int, str]]:
    """Our field → (its column's index, the file's header)."""
    names = {hotline._text(cell).lstrip("\ufeff"): index for index, cell in enumerate(header)}
    found = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[name] = (names[alias], alias)
                break
    missing = [COLUMNS[name][0] for name in REQUIRED if name not in found]
    if "district" not in found and "lon" not in found:
        missing.append(COLUMNS["district"][0])
    if missing:
        raise ValidationError({"file": _("The file lacks the columns %(columns)s.") % {"columns": ", ".join(missing)}})
    return found


def parse(content: bytes, filename: str = "") -> tuple[dict[str, str], list[tuple[int, dict[str, Any]]]]:
    """The file's header for each of our fields, and (row number, record by our field names) for
    each non-empty row."""
    table = read_table(content, filename)
    if not table:
        raise ValidationError({"file": _("The file is empty.")})
    columns = _header_map(table[0])
    records = []
    for number, row in enumerate(table[1:], start=2):
        if all(hotline._text(cell) == "" for cell in row):
            continue
        records.append((number, {name: row[index] if index < len(row) else None
                                 for name, (index, _header) in columns.items()}))
    if len(records) > MAX_ROWS:
        raise ValidationError({"file": _("The file has more than %(limit)d rows: split it.") % {"limit": MAX_ROWS}})
    return {name: header for name, (_index, header) in columns.items()}, records


# --- importing ----------------------------------------------------------------------------------
def _column(field_name: str, headers: dict[str, str]) -> str:
    return headers.get(field_name, field_name)


def import_file(*, actor: Actor, content: bytes, filename: str = "", dry_run: bool = False) -> ImportReport:
    """Check every row, then import them all, or nothing (ImportRefused with every problem).
    ``dry_run`` checks and reports what would happen, and keeps nothing."""
    actor.require(policy.can_receive_for_hotline(actor))
    headers, records = parse(content, filename)
    report = ImportReport(rows=len(records), dry_run=dry_run)
    catalogue = hotline.Catalogue()
    with transaction.atomic():
        for number, record in records:
            _import_row(actor, number, record, catalogue, headers, report)
        if report.errors or dry_run:
            transaction.set_rollback(True)
    if report.errors:
        report.created = []
        raise ImportRefused(report)
    return report


def _import_row(actor: Actor, number: int, record: dict[str, Any], catalogue: hotline.Catalogue,
                headers: dict[str, str], report: ImportReport) -> None:
    problems: dict[str, list[str]] = {}
    try:
        values = hotline.normalise(record, catalogue)
    except ValidationError as exc:
        problems.update(exc.message_dict)
        record = {**record, **{name: STAND_INS[name] for name in problems if name in STAND_INS}}
        record.update({name: None for name in problems if name not in STAND_INS})
        try:
            values = hotline.normalise(record, catalogue)
        except ValidationError:
            values = None  # e.g. no 工单编号: nothing more to check on this row
    if values is not None:
        try:
            with transaction.atomic():
                order, code = services.workorder_receive(actor=actor, **values)
        except ValidationError as exc:
            for name, messages in hotline.service_errors(exc).items():
                problems.setdefault(name, []).extend(messages)
        else:
            if not problems:
                if code is None:
                    report.skipped.append((number, values["external_id"], order.number))
                else:
                    report.created.append(order)
    for name, messages in problems.items():
        for message in messages:
            report.errors.append(RowError(number, _column(name, headers), message))
