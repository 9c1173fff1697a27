"""Shared steps of create/update services: validate a model fully, record what changed.

Services stay explicit about rules and audit actions; this module only removes the repetition
of "set fields, full_clean, save, diff".
"""

from __future__ import annotations

from typing import Any

from django.db import models

from wastetrail.core.audit.chain import to_json_value


def _field_value(instance: models.Model, name: str) -> Any:
    field = instance._meta.get_field(name)
    if field.is_relation and field.many_to_one:
        return getattr(instance, field.attname)
    return getattr(instance, name)


def validated_create(model: type[models.Model], **values: Any) -> models.Model:
    """Build, validate every field and constraint, then insert. Raises ValidationError."""
    instance = model(**values)
    instance.full_clean()
    instance.save(force_insert=True)
    return instance


def validated_update(instance: models.Model, changes: dict[str, Any]) -> dict[str, list]:
    """Apply changes, validate, save only changed fields; return {field: [old, new]}."""
    diff: dict[str, list] = {}
    for name, new in changes.items():
        old = _field_value(instance, name)
        setattr(instance, name, new)
        new_value = _field_value(instance, name)
        if old != new_value:
            diff[name] = [to_json_value(old), to_json_value(new_value)]
    if not diff:
        return diff
    instance.full_clean()
    update_fields = [instance._meta.get_field(n).name for n in diff]
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    return diff


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: to_json_value(_field_value(instance, name)) for name in fields}
