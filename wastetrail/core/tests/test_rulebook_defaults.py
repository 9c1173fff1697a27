"""The Jiangmen defaults: loaded by migration, complete against DOMAIN §1-2, idempotent, reversible."""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.rulebook.models import DeadlineRule, Violation, WasteCategory

pytestmark = pytest.mark.django_db

defaults_migration = import_module("wastetrail.core.migrations.0005_jiangmen_defaults")

EXPECTED_CATEGORIES = {
    "excavated_soil": ("工程渣土", Decimal("1.80")),
    "slurry": ("工程泥浆", Decimal("1.30")),
    "construction_waste": ("工程垃圾", Decimal("1.50")),
    "demolition_waste": ("拆除垃圾", Decimal("1.40")),
    "decoration_waste": ("装修垃圾", Decimal("1.00")),
}

# Every row DOMAIN §1-2 names: (code, words in the legal basis, article, min, max, daily penalty)
EXPECTED_VIOLATIONS = [
    ("jm_art30_no_plan_filed", "江门", "第30条", 100_000, 1_000_000, True),
    ("jm_art30_not_cleared", "江门", "第30条", 100_000, 1_000_000, True),
    ("jm_art30_dumping", "江门", "第30条", 100_000, 1_000_000, True),
    ("jm_art30_not_used_or_disposed", "江门", "第30条", 100_000, 1_000_000, True),
    ("nat_swl_art111_no_plan_filed", "固体废物", "第111条第1款第3项", 100_000, 1_000_000, True),
    ("nat_swl_art111_not_cleared", "固体废物", "第111条第1款第3项", 100_000, 1_000_000, True),
    ("nat_swl_art111_dumping", "固体废物", "第111条第1款第4项", 100_000, 1_000_000, True),
    ("nat_swl_art111_not_used_or_disposed", "固体废物", "第111条第1款第4项", 100_000, 1_000_000, True),
    ("nat_swl_art119_daily_penalty", "固体废物", "第119条", 100_000, 1_000_000, True),
    ("gd_cwr_art21_missing_ledger", "广东省建筑垃圾管理条例", "第21条", 20_000, 200_000, False),
    ("gd_cwr_art22_mixed_transport", "广东省建筑垃圾管理条例", "第22条", 30_000, 300_000, False),
    ("gd_air_unsealed_or_no_positioning", "广东省大气污染防治条例", "第56条、第83条", 5_000, 20_000, False),
    ("nat_2005_art25_unapproved_contractor", "城市建筑垃圾管理规定", "第25条第1项", 10_000, 100_000, False),
    ("nat_2005_art25_unapproved_owner_carrier", "城市建筑垃圾管理规定", "第25条第1项", 5_000, 30_000, False),
    ("nat_2005_art25_beyond_scope_contractor", "城市建筑垃圾管理规定", "第25条第2项", 10_000, 100_000, False),
    ("nat_2005_art25_beyond_scope_owner_carrier", "城市建筑垃圾管理规定", "第25条第2项", 5_000, 30_000, False),
    ("nat_air_art115_uncovered", "大气污染防治法", "第115条第1款第2项", 10_000, 100_000, True),
    ("nat_air_art116_unsealed_vehicle", "大气污染防治法", "第116条", 2_000, 20_000, False),
]

EXPECTED_DEADLINES = {
    "approval_review_emission": (5, 20),
    "approval_review_transport": (5, 20),
    "approval_review_disposal": (5, 20),
    "work_order_consultation": (2, None),
    "work_order_help": (10, None),
    "work_order_suggestion": (10, None),
    "work_order_complaint": (15, None),
    "work_order_report": (15, None),
    "work_order_return_not_ours": (1, None),
}


def test_the_five_jiangmen_categories_are_loaded_with_planning_densities():
    loaded = {c.code: (c.name_zh, c.density_t_per_m3) for c in WasteCategory.objects.all()}
    assert loaded == EXPECTED_CATEGORIES
    assert all(c.name_en and c.is_active for c in WasteCategory.objects.all())
    # Ordered as the measures list them: soil, slurry, construction, demolition, decoration.
    assert list(WasteCategory.objects.values_list("code", flat=True)) == list(EXPECTED_CATEGORIES)


@pytest.mark.parametrize(("code", "basis", "article", "fine_min", "fine_max", "daily"), EXPECTED_VIOLATIONS)
def test_every_domain_violation_row_is_loaded_with_its_fine_range(code, basis, article, fine_min, fine_max, daily):
    violation = Violation.objects.get(code=code)
    assert basis in violation.legal_basis
    assert violation.article == article
    assert (violation.fine_min_yuan, violation.fine_max_yuan) == (fine_min, fine_max)
    assert violation.daily_penalty_allowed is daily
    assert violation.title_zh and violation.title_en and violation.description


def test_the_2005_regulation_rows_say_where_their_article_numbers_come_from():
    for violation in Violation.objects.filter(legal_basis__contains="城市建筑垃圾管理规定"):
        assert "confirmed" in violation.description or "published order" in violation.description


@pytest.mark.parametrize(("code", "expected"), EXPECTED_DEADLINES.items())
def test_deadlines_are_loaded_in_working_days(code, expected):
    rule = DeadlineRule.objects.get(code=code)
    assert (rule.working_days, rule.legal_max_working_days) == expected
    assert rule.legal_basis


def test_loading_twice_converges_instead_of_duplicating():
    counts = (WasteCategory.objects.count(), Violation.objects.count(), DeadlineRule.objects.count())
    WasteCategory.objects.filter(code="slurry").update(density_t_per_m3=Decimal("2.00"))
    defaults_migration.load_defaults(django_apps, None)
    assert (WasteCategory.objects.count(), Violation.objects.count(), DeadlineRule.objects.count()) == counts
    assert WasteCategory.objects.get(code="slurry").density_t_per_m3 == Decimal("1.30")


def test_unloading_removes_exactly_the_defaults_and_loading_restores_them():
    WasteCategory.objects.create(code="city_extra", name_zh="其他", name_en="Other", density_t_per_m3=1)
    defaults_migration.unload_defaults(django_apps, None)
    assert list(WasteCategory.objects.values_list("code", flat=True)) == ["city_extra"]
    assert not Violation.objects.exists() and not DeadlineRule.objects.exists()
    defaults_migration.load_defaults(django_apps, None)
    assert WasteCategory.objects.count() == 6
    assert Violation.objects.count() == len(defaults_migration.VIOLATIONS)


def test_loading_defaults_writes_no_audit_rows():
    before = AuditEntry.objects.count()
    defaults_migration.load_defaults(django_apps, None)
    assert AuditEntry.objects.count() == before
