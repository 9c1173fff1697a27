"""Load the Jiangmen rulebook: five waste categories, the violation catalogue, the deadlines.

Rows are written with update_or_create by code, so running this on a database that already has
some of them (a city that typed them in by hand) converges instead of failing. The data lives in
this file on purpose: a migration must load what it loaded the day it was written, whatever later
code says. Sources and caveats are in docs/rulebook.md. Loading defaults is set-up, not an
administrator's decision, so it writes no audit rows; every later edit goes through the services.
"""

from decimal import Decimal

from django.db import migrations

JM = "江门市建筑垃圾管理办法"
SWL = "中华人民共和国固体废物污染环境防治法（2020）"
GD_CWR = "广东省建筑垃圾管理条例"
GD_AIR = "广东省大气污染防治条例"
NAT_2005 = "城市建筑垃圾管理规定（建设部令第139号，2005）"
AIR_LAW = "中华人民共和国大气污染防治法"
HOTLINE = "广东省12345热线工单办理时限（据公开报道）"

# code, name_zh, name_en, density t/m³ (planning defaults, see docs/rulebook.md), sort order
CATEGORIES = [
    ("excavated_soil", "工程渣土", "Excavated soil", Decimal("1.80"), 10),
    ("slurry", "工程泥浆", "Slurry", Decimal("1.30"), 20),
    ("construction_waste", "工程垃圾", "Construction waste", Decimal("1.50"), 30),
    ("demolition_waste", "拆除垃圾", "Demolition waste", Decimal("1.40"), 40),
    ("decoration_waste", "装修垃圾", "Decoration waste", Decimal("1.00"), 50),
]

JM_ART30_NOTE = (
    "Fine plus confiscation of illegal gains. Jiangmen Art. 30 as reported in the press (measures in "
    "force 2024-03-01); the same range as Solid Waste Law Art. 111(1)(3)-(4) for units. If the "
    "unit refuses to correct after an order to do so, Solid Waste Law Art. 119 allows a daily "
    "continuing penalty at the original amount."
)
SWL_ART111_NOTE = (
    "Units: 100,000-1,000,000 yuan plus confiscation of illegal gains (Art. 111(2)). A refusal to "
    "correct after an order allows a daily continuing penalty under Art. 119."
)
NAT_2005_NOTE = (
    "Ministry of Construction Order No. 139. Article numbers for Art. 22 and Art. 25 confirmed "
    "from local enforcement catalogues quoting the regulation; Art. 23, 24 and 26 follow the "
    "regulation's published order. Where the Solid Waste Law (2020) punishes the same act of a "
    "construction unit, the higher law applies."
)

# code, title_zh, title_en, legal basis, article, fine min, fine max, daily penalty, description
VIOLATIONS = [
    ("jm_art30_no_plan_filed", "未编制或未备案建筑垃圾处理方案", "No handling plan drawn up or filed",
     JM, "第30条", 100_000, 1_000_000, True, JM_ART30_NOTE),
    ("jm_art30_not_cleared", "未及时清运建筑垃圾", "Waste not cleared in time",
     JM, "第30条", 100_000, 1_000_000, True, JM_ART30_NOTE),
    ("jm_art30_dumping", "擅自倾倒、抛撒或者堆放建筑垃圾", "Dumping, scattering or piling waste",
     JM, "第30条", 100_000, 1_000_000, True, JM_ART30_NOTE),
    ("jm_art30_not_used_or_disposed", "未按照规定利用或者处置建筑垃圾", "Waste not used or disposed of as required",
     JM, "第30条", 100_000, 1_000_000, True, JM_ART30_NOTE),
    ("nat_swl_art111_no_plan_filed", "工程施工单位未编制建筑垃圾处理方案报备案",
     "Construction unit did not draw up and file a handling plan",
     SWL, "第111条第1款第3项", 100_000, 1_000_000, True, SWL_ART111_NOTE),
    ("nat_swl_art111_not_cleared", "工程施工单位未及时清运施工过程中产生的固体废物",
     "Construction unit did not clear solid waste from the works in time",
     SWL, "第111条第1款第3项", 100_000, 1_000_000, True, SWL_ART111_NOTE),
    ("nat_swl_art111_dumping", "工程施工单位擅自倾倒、抛撒或者堆放建筑垃圾",
     "Construction unit dumped, scattered or piled construction waste",
     SWL, "第111条第1款第4项", 100_000, 1_000_000, True, SWL_ART111_NOTE),
    ("nat_swl_art111_not_used_or_disposed", "工程施工单位未按照规定利用或者处置施工过程中产生的固体废物",
     "Construction unit did not use or dispose of solid waste from the works as required",
     SWL, "第111条第1款第4项", 100_000, 1_000_000, True, SWL_ART111_NOTE),
    ("nat_swl_art119_daily_penalty", "受到罚款处罚、被责令改正而拒不改正（按日连续处罚）",
     "Refusal to correct after a fine and an order to correct (daily continuing penalty)",
     SWL, "第119条", 100_000, 1_000_000, True,
     "From the day after the order to correct, the original fine may be imposed again for every "
     "day the violation continues. The range shown is the per-day amount for the Art. 111(1)(3)-(4) "
     "cases; for other cases it is the original fine."),
    ("gd_cwr_art21_missing_ledger", "未按规定建立建筑垃圾管理台账", "Missing waste ledgers (台账)",
     GD_CWR, "第21条", 20_000, 200_000, False,
     "Ledgers required of construction units, contractors and carriers by Art. 10-11 (in force 2023-03-01)."),
    ("gd_cwr_art22_mixed_transport", "运输中将工程渣土、工程泥浆与其他建筑垃圾混装",
     "Excavated soil or slurry mixed with other waste in transport",
     GD_CWR, "第22条", 30_000, 300_000, False,
     "Art. 11 requires 渣土 and 泥浆 to be carried separately from other construction waste."),
    ("gd_air_unsealed_or_no_positioning", "渣土运输车辆未密闭或者未安装卫星定位装置",
     "Muck truck not sealed or without satellite positioning",
     GD_AIR, "第56条、第83条", 5_000, 20_000, False,
     "Without sealing or positioning no transport/disposal approval is granted (Art. 56); fine under Art. 83."),
    ("nat_2005_art22_unlicensed_carrier", "施工单位将建筑垃圾交给个人或者未经核准从事建筑垃圾运输的单位处置",
     "Construction unit handed waste to an individual or an unapproved carrier",
     NAT_2005, "第22条第2款", 10_000, 100_000, False, NAT_2005_NOTE),
    ("nat_2005_art23_littering_en_route", "运输建筑垃圾过程中沿途丢弃、遗撒建筑垃圾",
     "Waste dropped or spilled along the route",
     NAT_2005, "第23条", 5_000, 50_000, False, NAT_2005_NOTE),
    ("nat_2005_art24_approval_transfer", "涂改、倒卖、出租、出借或者以其他形式非法转让处置核准文件",
     "Altering, selling, renting, lending or otherwise transferring an approval document",
     NAT_2005, "第24条", 5_000, 20_000, False, NAT_2005_NOTE),
    ("nat_2005_art25_unapproved_contractor", "施工单位未经核准擅自处置建筑垃圾",
     "Construction unit disposed of waste without approval",
     NAT_2005, "第25条第1项", 10_000, 100_000, False, NAT_2005_NOTE),
    ("nat_2005_art25_unapproved_owner_carrier", "建设单位、运输单位未经核准擅自处置建筑垃圾",
     "Developer or carrier disposed of waste without approval",
     NAT_2005, "第25条第1项", 5_000, 30_000, False, NAT_2005_NOTE),
    ("nat_2005_art25_beyond_scope_contractor", "施工单位处置超出核准范围的建筑垃圾",
     "Construction unit disposed of waste beyond the approval's scope",
     NAT_2005, "第25条第2项", 10_000, 100_000, False, NAT_2005_NOTE),
    ("nat_2005_art25_beyond_scope_owner_carrier", "建设单位、运输单位处置超出核准范围的建筑垃圾",
     "Developer or carrier disposed of waste beyond the approval's scope",
     NAT_2005, "第25条第2项", 5_000, 30_000, False, NAT_2005_NOTE),
    ("nat_2005_art26_random_dumping_unit", "单位随意倾倒、抛撒或者堆放建筑垃圾",
     "A unit dumped, scattered or piled waste at random",
     NAT_2005, "第26条", 5_000, 50_000, False, NAT_2005_NOTE),
    ("nat_2005_art26_random_dumping_person", "个人随意倾倒、抛撒或者堆放建筑垃圾",
     "A person dumped, scattered or piled waste at random",
     NAT_2005, "第26条", 0, 200, False, NAT_2005_NOTE + " For individuals: up to 200 yuan."),
    ("nat_air_art115_uncovered", "建筑土方、工程渣土、建筑垃圾未及时清运或者未采用密闭式防尘网遮盖",
     "Earth, muck or waste not cleared in time or not covered with dust netting",
     AIR_LAW, "第115条第1款第2项", 10_000, 100_000, True,
     "Refusal to correct: works stopped for rectification (Art. 115); dust from construction is "
     "among the cases Art. 123(4) allows a daily continuing penalty for."),
    ("nat_air_art116_unsealed_vehicle", "运输渣土等散装物料的车辆未采取密闭或者其他措施防止物料遗撒",
     "Vehicle carrying muck or other bulk material not sealed against spillage",
     AIR_LAW, "第116条", 2_000, 20_000, False,
     "Refusal to correct: the vehicle may not be driven on the road."),
]

APPROVAL_BASIS = "城市建筑垃圾管理规定第7条（20日内决定）；行政许可法第82条（期限以工作日计算）"
# code, name_zh, name_en, working days, legal maximum, legal basis
DEADLINES = [
    ("approval_review_emission", "排放核准审查", "Emission approval review", 5, 20, APPROVAL_BASIS),
    ("approval_review_transport", "运输核准审查", "Transport approval review", 5, 20, APPROVAL_BASIS),
    ("approval_review_disposal", "消纳核准审查", "Disposal approval review", 5, 20, APPROVAL_BASIS),
    ("approval_expiry_warning", "核准到期提醒", "Warning before an approval expires", 10, None,
     "Platform practice: warn this many working days before the validity ends."),
    ("work_order_consultation", "咨询类工单办理", "Work order: consultation", 2, None, HOTLINE),
    ("work_order_help", "求助类工单办理", "Work order: request for help", 10, None, HOTLINE),
    ("work_order_suggestion", "建议类工单办理", "Work order: suggestion", 10, None, HOTLINE),
    ("work_order_complaint", "投诉类工单办理", "Work order: complaint", 15, None, HOTLINE),
    ("work_order_report", "举报类工单办理", "Work order: report", 15, None, HOTLINE),
    ("work_order_return_not_ours", "非本单位职责工单退回", "Work order: return as not ours", 1, None,
     HOTLINE + "（退回时限）"),
]


def load_defaults(apps, schema_editor):
    WasteCategory = apps.get_model("core", "WasteCategory")
    Violation = apps.get_model("core", "Violation")
    DeadlineRule = apps.get_model("core", "DeadlineRule")
    for code, name_zh, name_en, density, sort_order in CATEGORIES:
        WasteCategory.objects.update_or_create(code=code, defaults={
            "name_zh": name_zh, "name_en": name_en, "density_t_per_m3": density,
            "sort_order": sort_order, "is_active": True,
        })
    for code, title_zh, title_en, basis, article, fine_min, fine_max, daily, description in VIOLATIONS:
        Violation.objects.update_or_create(code=code, defaults={
            "title_zh": title_zh, "title_en": title_en, "legal_basis": basis, "article": article,
            "fine_min_yuan": fine_min, "fine_max_yuan": fine_max, "daily_penalty_allowed": daily,
            "description": description, "is_active": True,
        })
    for code, name_zh, name_en, working_days, legal_max, basis in DEADLINES:
        DeadlineRule.objects.update_or_create(code=code, defaults={
            "name_zh": name_zh, "name_en": name_en, "working_days": working_days,
            "legal_max_working_days": legal_max, "legal_basis": basis,
        })


def unload_defaults(apps, schema_editor):
    """Remove the rows this migration loaded. Categories already used elsewhere are protected
    by their foreign keys, so unloading then stops with an error instead of losing data."""
    apps.get_model("core", "DeadlineRule").objects.filter(code__in=[row[0] for row in DEADLINES]).delete()
    apps.get_model("core", "Violation").objects.filter(code__in=[row[0] for row in VIOLATIONS]).delete()
    apps.get_model("core", "WasteCategory").objects.filter(code__in=[row[0] for row in CATEGORIES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_deadline_legal_maximum"),
    ]

    operations = [
        migrations.RunPython(load_defaults, unload_defaults),
    ]
