"""Rulebook writes: only a regulator administrator, one audit row each, bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook import selectors, services
from wastetrail.core.rulebook.calendar import DatabaseCalendar
from wastetrail.core.rulebook.models import (
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    Violation,
    WasteCategory,
)

pytestmark = pytest.mark.django_db

NEW_CATEGORY = {"code": "river_sludge", "name_zh": "河道淤泥", "name_en": "River sludge",
                "density_t_per_m3": Decimal("1.60")}
NEW_VIOLATION = {"code": "jm_test_unsealed", "title_zh": "未密闭运输", "title_en": "Unsealed transport",
                 "legal_basis": "测试依据", "article": "第1条", "fine_min_yuan": 1_000, "fine_max_yuan": 5_000}
NEW_DEADLINE = {"code": "plan_review", "name_zh": "处理方案审查", "name_en": "Plan review", "working_days": 3}


def state() -> tuple:
    """Everything a failed write must leave untouched."""
    return (
        list(WasteCategory.objects.order_by("pk").values()),
        list(Violation.objects.order_by("pk").values()),
        list(DeadlineRule.objects.order_by("pk").values()),
        list(CalendarOverride.objects.order_by("pk").values()),
        list(CalendarYearNotice.objects.order_by("pk").values()),
        AuditEntry.objects.count(),
    )


def new_audit_rows(before: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))


def last_seq() -> int:
    entry = AuditEntry.objects.order_by("-seq").first()
    return entry.seq if entry else 0


# --- who may write --------------------------------------------------------------------------
WRITES = {
    "category_create": lambda actor: services.category_create(actor=actor, **NEW_CATEGORY),
    "category_update": lambda actor: services.category_update(
        actor=actor, category=WasteCategory.objects.get(code="slurry"), density_t_per_m3=Decimal("1.25")),
    "violation_create": lambda actor: services.violation_create(actor=actor, **NEW_VIOLATION),
    "violation_update": lambda actor: services.violation_update(
        actor=actor, violation=Violation.objects.get(code="gd_cwr_art21_missing_ledger"), fine_min_yuan=25_000),
    "deadline_create": lambda actor: services.deadline_create(actor=actor, **NEW_DEADLINE),
    "deadline_update": lambda actor: services.deadline_update(
        actor=actor, deadline=DeadlineRule.objects.get(code="approval_review_emission"), working_days=7),
    "override_create": lambda actor: services.calendar_override_create(
        actor=actor, date=dt.date(2027, 2, 6), is_working_day=True, note="2027年春节调休"),
    "notice_create": lambda actor: services.calendar_notice_create(
        actor=actor, year=2027, source="国办发明电〔2026〕7号"),
}


@pytest.mark.parametrize("write", WRITES)
def test_a_regulator_administrator_writes_with_exactly_one_audit_row(cast, write):
    before = last_seq()
    obj = WRITES[write](cast.actor("reg_admin"))
    rows = new_audit_rows(before)
    assert len(rows) == 1
    noun, verb = write.rsplit("_", 1)
    noun = {"override": "calendar_override", "notice": "calendar_notice"}.get(noun, noun)
    assert rows[0].action == f"rulebook.{noun}.{verb}"
    assert rows[0].object_id == str(obj.pk)
    assert rows[0].actor_id == cast.user("reg_admin").pk


@pytest.mark.parametrize("username", ["reg_officer", "outsider", "transport_admin"])
@pytest.mark.parametrize("write", WRITES)
def test_anyone_else_is_refused_and_nothing_changes(cast, username, write):
    before = state()
    with pytest.raises(PermissionDenied):
        WRITES[write](cast.actor(username))
    assert state() == before


def test_an_update_records_old_and_new_values(cast):
    before = last_seq()
    services.category_update(actor=cast.actor("reg_admin"), category=WasteCategory.objects.get(code="slurry"),
                             density_t_per_m3=Decimal("1.25"), name_en="Engineering slurry")
    (row,) = new_audit_rows(before)
    assert row.data == {"density_t_per_m3": ["1.30", "1.25"], "name_en": ["Slurry", "Engineering slurry"]}


def test_an_update_that_changes_nothing_writes_nothing(cast):
    before = state()
    services.category_update(actor=cast.actor("reg_admin"), category=WasteCategory.objects.get(code="slurry"),
                             density_t_per_m3=Decimal("1.30"))
    assert state() == before


def test_deleting_an_override_is_audited_with_what_was_deleted(cast):
    admin = cast.actor("reg_admin")
    override = services.calendar_override_create(actor=admin, date=dt.date(2026, 3, 4), is_working_day=False)
    before = last_seq()
    services.calendar_override_delete(actor=admin, override=override)
    (row,) = new_audit_rows(before)
    assert row.action == "rulebook.calendar_override.delete"
    assert row.data == {"date": "2026-03-04", "is_working_day": False, "note": ""}
    assert not CalendarOverride.objects.exists()


def test_a_new_override_changes_deadlines_at_once(cast):
    start = dt.date(2026, 3, 2)
    assert DatabaseCalendar().add_working_days(start, 2).date == dt.date(2026, 3, 4)
    services.calendar_override_create(actor=cast.actor("reg_admin"), date=dt.date(2026, 3, 3),
                                      is_working_day=False, note="台风")
    assert DatabaseCalendar().add_working_days(start, 2).date == dt.date(2026, 3, 5)


# --- bad input ------------------------------------------------------------------------------
BAD_INPUT = [
    ("fine min above max", lambda a: services.violation_create(
        actor=a, **NEW_VIOLATION | {"fine_min_yuan": 9_000, "fine_max_yuan": 5_000}), "fine_max_yuan"),
    ("fine min above max on update", lambda a: services.violation_update(
        actor=a, violation=Violation.objects.get(code="nat_air_art116_unsealed_vehicle"),
        fine_min_yuan=50_000), "fine_max_yuan"),
    ("negative fine", lambda a: services.violation_create(
        actor=a, **NEW_VIOLATION | {"fine_min_yuan": -1}), "fine_min_yuan"),
    ("negative density", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"density_t_per_m3": Decimal("-1.2")}), "density_t_per_m3"),
    ("implausible density", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"density_t_per_m3": Decimal("18.00")}), "density_t_per_m3"),
    ("zero working days", lambda a: services.deadline_create(
        actor=a, **NEW_DEADLINE | {"working_days": 0}), "working_days"),
    ("zero working days on update", lambda a: services.deadline_update(
        actor=a, deadline=DeadlineRule.objects.get(code="work_order_consultation"), working_days=0),
     "working_days"),
    ("beyond the legal maximum", lambda a: services.deadline_update(
        actor=a, deadline=DeadlineRule.objects.get(code="approval_review_disposal"), working_days=21),
     "working_days"),
    ("duplicate category code", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"code": "slurry"}), "code"),
    ("duplicate violation code", lambda a: services.violation_create(
        actor=a, **NEW_VIOLATION | {"code": "jm_art30_dumping"}), "code"),
    ("duplicate deadline code", lambda a: services.deadline_create(
        actor=a, **NEW_DEADLINE | {"code": "work_order_report"}), "code"),
    ("code that is not a slug", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"code": "河道 淤泥"}), "code"),
    ("changing a code", lambda a: services.category_update(
        actor=a, category=WasteCategory.objects.get(code="slurry"), code="mud"), "code"),
    ("unknown field", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"colour": "brown"}), "colour"),
    ("missing Chinese name", lambda a: services.category_create(
        actor=a, **NEW_CATEGORY | {"name_zh": "  "}), "name_zh"),
    ("notice year out of range", lambda a: services.calendar_notice_create(
        actor=a, year=1900, source="x"), "year"),
    ("notice without a source", lambda a: services.calendar_notice_create(
        actor=a, year=2027, source=""), "source"),
]


@pytest.mark.parametrize(("case", "write", "field"), BAD_INPUT, ids=[case for case, _, _ in BAD_INPUT])
def test_bad_input_names_the_field_and_changes_nothing(cast, case, write, field):
    before = state()
    with pytest.raises(ValidationError) as excinfo:
        write(cast.actor("reg_admin"))
    assert field in excinfo.value.message_dict, excinfo.value.message_dict
    assert state() == before


def test_a_duplicate_override_date_is_a_field_error(cast):
    admin = cast.actor("reg_admin")
    services.calendar_override_create(actor=admin, date=dt.date(2027, 2, 6), is_working_day=True)
    before = state()
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_override_create(actor=admin, date=dt.date(2027, 2, 6), is_working_day=False)
    assert "date" in excinfo.value.message_dict
    assert state() == before


def test_every_problem_is_reported_at_once(cast):
    with pytest.raises(ValidationError) as excinfo:
        services.violation_create(actor=cast.actor("reg_admin"),
                                  **NEW_VIOLATION | {"fine_min_yuan": 9_000, "title_zh": ""})
    assert {"fine_max_yuan", "title_zh"} <= set(excinfo.value.message_dict)


# --- reads for other apps -------------------------------------------------------------------
def test_categories_by_codes_refuses_unknown_codes_naming_them(cast):
    found = selectors.categories_by_codes(["slurry", "excavated_soil", "slurry"])
    assert [c.code for c in found] == ["slurry", "excavated_soil"]
    with pytest.raises(ValidationError) as excinfo:
        selectors.categories_by_codes(["slurry", "lava", "gravel"], field="accepted_categories")
    assert "lava, gravel" in excinfo.value.message_dict["accepted_categories"][0]


def test_categories_by_codes_refuses_a_retired_category(cast):
    services.category_update(actor=cast.actor("reg_admin"), category=WasteCategory.objects.get(code="slurry"),
                             is_active=False)
    with pytest.raises(ValidationError):
        selectors.categories_by_codes(["slurry"])
    assert selectors.categories_by_codes(["slurry"], active_only=False)[0].code == "slurry"


def test_deadline_due_follows_the_rulebook_and_the_calendar(cast):
    # Emission approval applied for on Tuesday Sep 30 2025: 5 working days after the holiday.
    due = selectors.deadline_due("approval_review_emission", dt.date(2025, 9, 30))
    assert due.date == dt.date(2025, 10, 14)
    assert due.official
    services.deadline_update(actor=cast.actor("reg_admin"),
                             deadline=DeadlineRule.objects.get(code="approval_review_emission"), working_days=1)
    assert selectors.deadline_due("approval_review_emission", dt.date(2025, 9, 30)).date == dt.date(2025, 10, 9)


def test_a_missing_deadline_rule_is_a_domain_error():
    with pytest.raises(DomainError):
        selectors.deadline_working_days("no_such_deadline")


@pytest.mark.parametrize("username", ["reg_officer", "outsider", "driver", "hotline_client"])
def test_every_logged_in_user_reads_the_rulebook(cast, username):
    actor = cast.actor(username)
    assert selectors.category_list(actor=actor).count() == 5
    assert selectors.violation_list(actor=actor, search="江门").count() == 4
    assert selectors.deadline_get(actor=actor, code="work_order_complaint").working_days == 15


def test_losing_a_race_for_the_same_code_is_a_field_error_not_a_crash(cast, monkeypatch):
    # Another administrator's insert lands between our uniqueness check and our insert: here,
    # the insert skips the check, as the racing transaction effectively did.
    monkeypatch.setattr(services, "validated_create", lambda model, **values: model.objects.create(**values))
    before = state()
    with pytest.raises(ValidationError) as excinfo:
        services.category_create(actor=cast.actor("reg_admin"), **NEW_CATEGORY | {"code": "slurry"})
    assert "code" in excinfo.value.message_dict
    assert state() == before
