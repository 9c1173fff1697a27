"""Make the audit table append-only in the database itself, not only in the ORM."""

from django.db import migrations

from wastetrail.core.audit.triggers import install_append_only_triggers, remove_append_only_triggers


def forward(apps, schema_editor):
    install_append_only_triggers(schema_editor.connection)


def backward(apps, schema_editor):
    remove_append_only_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
