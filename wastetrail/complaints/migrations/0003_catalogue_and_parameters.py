"""Seed the work-order category catalogue and the rulebook parameters work orders use.

The categories are what construction-waste complaints to Jiangmen's 12345 are about; the
``hotline_code`` values are placeholders in the 12345 system's style (城管-建筑垃圾-nn) until the
hotline centre supplies its own list — an administrator edits them. The deadlines themselves are
rulebook rows seeded by core 0005 (work_order_<type>, work_order_return_not_ours).
"""

from decimal import Decimal

from django.db import migrations

CATEGORIES = [
    # code, zh, en, default type, hotline code, public, order
    ("illegal_dumping", "偷倒乱倒建筑垃圾", "Illegal dumping of construction waste", "report", "CG-JZLJ-01", True, 10),
    ("truck_spillage", "运输车辆撒漏、未密闭", "Spillage from a truck, body not sealed", "report", "CG-JZLJ-02", True, 20),
    ("stacking_point_full", "装修垃圾堆放点已满未清运", "Stacking point full, not collected", "help", "CG-JZLJ-03",
     True, 30),
    ("stacking_point_dirty", "装修垃圾堆放点脏乱", "Stacking point dirty or waste outside", "complaint", "CG-JZLJ-04",
     True, 40),
    ("site_out_of_hours", "工地或消纳场超时作业", "Site working outside permitted hours", "complaint", "CG-JZLJ-05",
     True, 50),
    ("site_dust", "工地扬尘、车辆带泥上路", "Dust from a site, mud on the road", "complaint", "CG-JZLJ-06", True, 60),
    ("decoration_waste_question", "装修垃圾投放咨询", "Question about decoration waste", "consultation",
     "CG-JZLJ-07", True, 70),
    ("help_request", "建筑垃圾清运求助", "Help with clearing construction waste", "help", "CG-JZLJ-08", False, 80),
    ("suggestion", "建筑垃圾管理建议", "Suggestion on construction-waste management", "suggestion", "CG-JZLJ-09",
     False, 90),
    ("other", "其他", "Other", "complaint", "CG-JZLJ-99", True, 999),
]

PARAMETERS = [
    {
        "code": "work_order_warning_working_days",
        "name_zh": "工单到期预警（剩余工作日）",
        "name_en": "Work-order deadline warning (working days left)",
        "value": Decimal("1.00"), "unit": "working days",
        "min_value": Decimal("0.00"), "max_value": Decimal("10.00"),
        "basis": ("City policy value: the worker warns the responsible unit when this many working days or fewer "
                  "are left before an order's answer is due (Guangdong 12345 practice warns a day ahead)."),
    },
    {
        "code": "work_order_extension_max_working_days",
        "name_zh": "工单单次延期上限（工作日）",
        "name_en": "Longest single work-order extension (working days)",
        "value": Decimal("15.00"), "unit": "working days",
        "min_value": Decimal("1.00"), "max_value": Decimal("60.00"),
        "basis": ("City policy value: Guangdong 12345 rules let a supervisor extend a complex order once by "
                  "up to its original time limit; 15 working days is the longest original limit."),
    },
]


def load(apps, schema_editor):
    Category = apps.get_model("complaints", "WorkOrderCategory")
    for code, zh, en, order_type, hotline, public, order in CATEGORIES:
        Category.objects.update_or_create(code=code, defaults={
            "name_zh": zh, "name_en": en, "default_type": order_type, "hotline_code": hotline,
            "public": public, "sort_order": order})
    RulebookParameter = apps.get_model("core", "RulebookParameter")
    for row in PARAMETERS:
        RulebookParameter.objects.update_or_create(code=row["code"], defaults={
            key: value for key, value in row.items() if key != "code"})


def unload(apps, schema_editor):
    apps.get_model("complaints", "WorkOrderCategory").objects.filter(
        code__in=[row[0] for row in CATEGORIES]).delete()
    apps.get_model("core", "RulebookParameter").objects.filter(
        code__in=[row["code"] for row in PARAMETERS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("complaints", "0002_initial"),
        ("core", "0007_plan_outflow_tolerance"),
    ]

    operations = [
        migrations.RunPython(load, unload),
    ]
