"""Seed the rulebook parameter the reconciliation uses: how far a project's outflow of a category
may exceed its filed plan before it is flagged.

Ten per cent is a city policy value: no national or Guangdong text sets a tolerance between a
handling plan's quantities and what actually leaves (see docs/rulebook.md). The value is held
here as it was on the day the migration was written; later edits go through the audited service.
"""

from decimal import Decimal

from django.db import migrations

PARAMETERS = [
    {
        "code": "plan_outflow_tolerance_percent",
        "name_zh": "处理方案外运量容差",
        "name_en": "Tolerance on a project's outflow over its handling plan",
        "value": Decimal("10.00"),
        "unit": "%",
        "min_value": Decimal("0.00"),
        "max_value": Decimal("100.00"),
        "basis": (
            "City policy value, no national or provincial source: neither the Solid Waste Law, "
            "the Guangdong regulation (GD 条例 Art. 8) nor the Jiangmen measures set a tolerance "
            "between the quantities of a filed handling plan and what leaves the site. 10% is a "
            "working default for the reconciliation flag (estimates made before works start are "
            "rarely closer); a category flagged above it should lead to a revised plan being filed."
        ),
    },
]


def load(apps, schema_editor):
    RulebookParameter = apps.get_model("core", "RulebookParameter")
    for row in PARAMETERS:
        RulebookParameter.objects.update_or_create(code=row["code"], defaults={
            key: value for key, value in row.items() if key != "code"})


def unload(apps, schema_editor):
    apps.get_model("core", "RulebookParameter").objects.filter(
        code__in=[row["code"] for row in PARAMETERS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_rulebook_parameter"),
    ]

    operations = [
        migrations.RunPython(load, unload),
    ]
