"""Importing 12345 exports: encodings, .xlsx, all-or-nothing with every problem listed,
repeated rows skipped; the API door and the command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from wastetrail.accounts import services as account_services
from wastetrail.complaints import imports
from wastetrail.complaints.models import WorkOrder
from wastetrail.core.audit.models import AuditEntry

HEADER = ["工单编号", "受理时间", "诉求类型", "分类编码", "所属区县", "详细地址", "诉求内容", "来电人", "联系电话"]
GOOD = [
    ["GD001", "2026-11-02 09:15", "举报", "CG-JZLJ-01", "蓬江区", "白沙大道", "河边倾倒建筑垃圾", "赵六",
     "13600136000"],
    ["GD002", "2026/11/02 10:40", "投诉", "CG-JZLJ-05", "新会区", "会城今古洲", "工地夜间施工", "钱七", "0750-3301234"],
]


def csv_bytes(rows, encoding="utf-8", header=HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def hotline(desk):
    return desk.actor("hotline_client")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding(desk, hotline, encoding):
    report = imports.import_file(actor=hotline, content=csv_bytes(GOOD, encoding), filename="export.csv")
    assert len(report.created) == 2 and report.errors == []
    first = WorkOrder.objects.get(external_id="GD001")
    assert (first.description, first.complainant_name, first.category.code, first.district) == (
        "河边倾倒建筑垃圾", "赵六", "illegal_dumping", 440703)
    assert WorkOrder.objects.get(external_id="GD002").complainant_phone == "0750-3301234"


def test_xlsx_with_cells_as_the_spreadsheet_types_them(desk, hotline):
    rows = [["GD010", dt.datetime(2026, 11, 2, 9, 15), "求助", "CG-JZLJ-03", 440703, "", "堆放点满了", "孙八",
             13500135000]]
    report = imports.import_file(actor=hotline, content=xlsx_bytes(rows), filename="export.xlsx")
    order = report.created[0]
    assert order.complainant_phone == "13500135000" and order.category.code == "stacking_point_full"
    assert order.received_at == dt.datetime(2026, 11, 2, 1, 15, tzinfo=dt.UTC)


def test_english_headers_are_accepted(desk, hotline):
    header = ["external_id", "received_at", "order_type", "category_code", "district", "address", "description",
              "complainant_name", "complainant_phone"]
    report = imports.import_file(actor=hotline, content=csv_bytes(GOOD, header=header))
    assert len(report.created) == 2


def test_a_file_with_bad_rows_imports_nothing_and_lists_every_problem(desk, hotline):
    rows = GOOD + [
        ["GD003", "2026-11-02 11:00", "举报", "CG-JZLJ-01", "广州市", "", "倾倒", "甲", "13600136001"],
        ["GD004", "2026-11-02 11:00", "举报", "CG-JZLJ-01", "江海区", "", "", "乙", "13600136002"],
        ["GD005", "2026-11-02 11:00", "举报", "CG-JZLJ-01", "江海区", "", "倾倒", "丙", "1360"],
        ["GD006", "2026-11-02 11:00", "举报", "CG-JZLJ-01", "火星", "", "", "丁", "not-a-phone"],
    ]
    audits = AuditEntry.objects.count()
    with pytest.raises(imports.ImportRefused) as refused:
        imports.import_file(actor=hotline, content=csv_bytes(rows, "gb18030"))
    problems = {(error.row, error.column) for error in refused.value.report.errors}
    assert problems == {(4, "所属区县"), (5, "诉求内容"), (6, "联系电话"), (7, "所属区县"), (7, "诉求内容"),
                        (7, "联系电话")}
    assert WorkOrder.objects.count() == 0 and AuditEntry.objects.count() == audits


def test_repeated_rows_are_skipped_and_counted(desk, hotline):
    imports.import_file(actor=hotline, content=csv_bytes(GOOD[:1]))
    report = imports.import_file(actor=hotline, content=csv_bytes(GOOD + [GOOD[1]]))
    assert len(report.created) == 1
    assert [(row, external_id) for row, external_id, _number in report.skipped] == [(2, "GD001"), (4, "GD002")]
    assert WorkOrder.objects.count() == 2


def test_missing_columns_and_unreadable_files_are_refused(desk, hotline):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="工单编号"):
        imports.import_file(actor=hotline, content=csv_bytes([["x"]], header=["诉求内容"]))
    with pytest.raises(ValidationError):
        imports.import_file(actor=hotline, content=b"PK\x03\x04garbage", filename="x.xlsx")
    with pytest.raises(ValidationError):
        imports.import_file(actor=hotline, content=b"\xff\xfe\x00\x00\x81\x30")


def test_a_dry_run_keeps_nothing(desk, hotline):
    report = imports.import_file(actor=hotline, content=csv_bytes(GOOD), dry_run=True)
    assert len(report.created) == 2 and WorkOrder.objects.count() == 0


def test_only_the_hotline_and_dispatchers_import(desk):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.import_file(actor=desk.actor("construction_admin"), content=csv_bytes(GOOD))
    assert len(imports.import_file(actor=desk.actor("reg_officer"), content=csv_bytes(GOOD)).created) == 2


# --- the API door and the command --------------------------------------------------------------
@pytest.fixture
def token(desk):
    _, secret = account_services.api_token_create(actor=desk.actor("hotline_client"), name="12345")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_api_imports_a_multipart_file_or_a_raw_body(client, desk, token):
    upload = SimpleUploadedFile("export.csv", csv_bytes(GOOD[:1], "gb18030"), content_type="text/csv")
    response = client.post("/api/hotline/imports", {"file": upload}, **token)
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["skipped"]) == (1, 0)
    raw = client.post("/api/hotline/imports", csv_bytes(GOOD), content_type="text/csv", **token)
    assert raw.status_code == 200 and (raw.json()["created"], raw.json()["skipped"]) == (1, 1)


def test_the_api_refuses_a_bad_file_with_every_row(client, desk, token):
    rows = GOOD + [["GD003", "", "举报", "CG-JZLJ-01", "广州市", "", "", "甲", "1"]]
    response = client.post("/api/hotline/imports", csv_bytes(rows), content_type="text/csv", **token)
    assert response.status_code == 422
    assert {(row["row"], row["column"]) for row in response.json()["rows"]} == {
        (4, "所属区县"), (4, "诉求内容"), (4, "联系电话")}
    assert response.json()["imported"] == 0 and WorkOrder.objects.count() == 0
    empty = client.post("/api/hotline/imports", b"", content_type="text/csv", **token)
    assert empty.status_code == 422


def test_the_command_imports_refuses_and_dry_runs(desk, tmp_path, capsys):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes(GOOD, "gb18030"))
    bad.write_bytes(csv_bytes(GOOD + [["GD003", "", "举报", "", "广州市", "", "x", "", ""]]))
    with pytest.raises(CommandError, match="1 problem"):
        call_command("workorders", "import", str(bad), "--as", "hotline_client")
    assert "row 4, 所属区县" in capsys.readouterr().err
    call_command("workorders", "import", str(good), "--as", "hotline_client", "--dry-run")
    assert "would import 2" in capsys.readouterr().out and WorkOrder.objects.count() == 0
    call_command("workorders", "import", str(good), "--as", "hotline_client")
    assert WorkOrder.objects.count() == 2
    call_command("workorders", "import", str(good), "--as", "hotline_client")
    assert "skipped 2 already imported" in capsys.readouterr().out
    with pytest.raises(CommandError, match="may not"):
        call_command("workorders", "import", str(good), "--as", "construction_admin")


def test_the_deadlines_command_prints_the_counts(desk, hotline, capsys):
    from django.utils import timezone

    from wastetrail.complaints import services

    long_ago = timezone.now() - dt.timedelta(days=60)
    order = imports.import_file(actor=hotline, content=csv_bytes(GOOD[:1])).created[0]
    services.workorder_dispatch(actor=desk.actor("reg_officer"), order=order, now=long_ago)
    call_command("workorders", "deadlines")
    out = capsys.readouterr().out
    assert "warned 0 work order(s), marked 1 overdue" in out and order.number in out
    call_command("workorders", "deadlines")
    assert "marked 0 overdue" in capsys.readouterr().out
