"""Writes to the rulebook. Only a regulator administrator edits it; each write is one
transaction with one audit row, and bad input changes nothing.

Codes (and an override's date, a notice's year) never change once created: other apps, API
clients and the audit trail refer to rows by them. Retire a row with ``is_active`` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor, can_edit_rulebook
from wastetrail.core.audit.services import audit_record
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update
from wastetrail.core.rulebook.models import (
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    RulebookParameter,
    Violation,
    WasteCategory,
)

M = TypeVar("M", bound=models.Model)
Checks = Callable[[Mapping[str, Any]], dict[str, list[str]]]

CATEGORY_FIELDS = ["code", "name_zh", "name_en", "density_t_per_m3", "sort_order", "is_active"]
VIOLATION_FIELDS = ["code", "title_zh", "title_en", "description", "legal_basis", "article",
                    "fine_min_yuan", "fine_max_yuan", "daily_penalty_allowed", "is_active"]
DEADLINE_FIELDS = ["code", "name_zh", "name_en", "working_days", "legal_max_working_days", "legal_basis"]
OVERRIDE_FIELDS = ["date", "is_working_day", "note"]
NOTICE_FIELDS = ["year", "source"]
PARAMETER_FIELDS = ["code", "name_zh", "name_en", "value", "basis"]
# Set by the migration that creates the parameter: the code reading it relies on them.
PARAMETER_FIXED_FIELDS = ("code", "unit", "min_value", "max_value")

# No construction or demolition waste is denser than rock (about 2.7 t/m³): a larger figure is
# a typing error (18 for 1.8), and it would silently turn every m³ estimate into nonsense.
MAX_PLAUSIBLE_DENSITY = Decimal("3.00")
# The PRC's statutory holidays begin in 1950; the date type ends in 9999.
NOTICE_YEAR_RANGE = (1950, dt.MAXYEAR)
CENT = Decimal("0.01")


# --- shared steps ---------------------------------------------------------------------------
def _clean_values(fields: list[str], values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    return {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}


def _raise_errors(instance: models.Model, errors: dict[str, list[str]]) -> None:
    """Raise the cross-field errors together with every plain field error, so one round trip
    shows the user all that is wrong."""
    if not errors:
        return
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    raise ValidationError(errors)


def _create(*, actor: Actor, model: type[M], fields: list[str], action: str, values: Mapping[str, Any],
            checks: Checks | None = None, unique_field: str) -> M:
    actor.require(can_edit_rulebook(actor))
    values = _clean_values(fields, values)
    _raise_errors(model(**values), checks(values) if checks else {})
    try:
        with transaction.atomic():
            instance = validated_create(model, **values)
            audit_record(actor=actor.user, action=action, target=instance, data=snapshot(instance, fields))
    except IntegrityError:
        # Lost a race with another administrator creating the same key between the uniqueness
        # check and the insert; anything else is not the user's input and stays an error.
        if model.objects.filter(**{unique_field: values.get(unique_field)}).exists():
            raise ValidationError({unique_field: _("This already exists.")}) from None
        raise
    return instance


def _update(*, actor: Actor, instance: M, fields: list[str], action: str, changes: Mapping[str, Any],
            checks: Checks | None = None, fixed_field: str) -> M:
    actor.require(can_edit_rulebook(actor))
    changes = _clean_values(fields, changes)
    model = type(instance)
    with transaction.atomic():
        current = model.objects.select_for_update().get(pk=instance.pk)
        if fixed_field in changes and changes[fixed_field] != getattr(current, fixed_field):
            raise ValidationError({fixed_field: _(
                "This cannot change once created; deactivate or delete the row and create a new one."
            )})
        if checks:
            merged = {name: getattr(current, name) for name in fields} | changes
            probe = model(**merged)
            probe.pk = current.pk
            _raise_errors(probe, checks(merged))
        diff = validated_update(current, changes)
        if diff:
            audit_record(actor=actor.user, action=action, target=current, data=diff)
    return current


def _delete(*, actor: Actor, instance: models.Model, fields: list[str], action: str) -> None:
    actor.require(can_edit_rulebook(actor))
    model = type(instance)
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=instance.pk).first()
        if current is None:
            return
        audit_record(actor=actor.user, action=action, target=current, data=snapshot(current, fields))
        current.delete()


# --- categories -----------------------------------------------------------------------------
def category_checks(values: Mapping[str, Any]) -> dict[str, list[str]]:
    try:
        density = Decimal(str(values.get("density_t_per_m3")))
    except (InvalidOperation, ValueError):
        return {}  # not a number: the field's own validation says so
    if density.is_finite() and density > MAX_PLAUSIBLE_DENSITY:
        return {"density_t_per_m3": [_(
            "No construction waste is denser than %(max)s t/m³; check the figure."
        ) % {"max": MAX_PLAUSIBLE_DENSITY}]}
    return {}


def category_create(*, actor: Actor, **values: Any) -> WasteCategory:
    return _create(actor=actor, model=WasteCategory, fields=CATEGORY_FIELDS, values=values,
                   action="rulebook.category.create", checks=category_checks, unique_field="code")


def category_update(*, actor: Actor, category: WasteCategory, **changes: Any) -> WasteCategory:
    return _update(actor=actor, instance=category, fields=CATEGORY_FIELDS, changes=changes,
                   action="rulebook.category.update", checks=category_checks, fixed_field="code")


# --- violations -----------------------------------------------------------------------------
def violation_checks(values: Mapping[str, Any]) -> dict[str, list[str]]:
    low, high = values.get("fine_min_yuan"), values.get("fine_max_yuan")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        return {"fine_max_yuan": [_("The maximum fine cannot be less than the minimum fine.")]}
    return {}


def violation_create(*, actor: Actor, **values: Any) -> Violation:
    return _create(actor=actor, model=Violation, fields=VIOLATION_FIELDS, values=values,
                   action="rulebook.violation.create", checks=violation_checks, unique_field="code")


def violation_update(*, actor: Actor, violation: Violation, **changes: Any) -> Violation:
    return _update(actor=actor, instance=violation, fields=VIOLATION_FIELDS, changes=changes,
                   action="rulebook.violation.update", checks=violation_checks, fixed_field="code")


# --- deadlines ------------------------------------------------------------------------------
def deadline_checks(values: Mapping[str, Any]) -> dict[str, list[str]]:
    days, legal_max = values.get("working_days"), values.get("legal_max_working_days")
    if isinstance(days, int) and isinstance(legal_max, int) and days > legal_max:
        return {"working_days": [_(
            "At most %(max)d working days: the law allows no more."
        ) % {"max": legal_max}]}
    return {}


def deadline_create(*, actor: Actor, **values: Any) -> DeadlineRule:
    return _create(actor=actor, model=DeadlineRule, fields=DEADLINE_FIELDS, values=values,
                   action="rulebook.deadline.create", checks=deadline_checks, unique_field="code")


def deadline_update(*, actor: Actor, deadline: DeadlineRule, **changes: Any) -> DeadlineRule:
    return _update(actor=actor, instance=deadline, fields=DEADLINE_FIELDS, changes=changes,
                   action="rulebook.deadline.update", checks=deadline_checks, fixed_field="code")


# --- calendar -------------------------------------------------------------------------------
def calendar_override_create(*, actor: Actor, **values: Any) -> CalendarOverride:
    return _create(actor=actor, model=CalendarOverride, fields=OVERRIDE_FIELDS, values=values,
                   action="rulebook.calendar_override.create", unique_field="date")


def calendar_override_update(*, actor: Actor, override: CalendarOverride, **changes: Any) -> CalendarOverride:
    return _update(actor=actor, instance=override, fields=OVERRIDE_FIELDS, changes=changes,
                   action="rulebook.calendar_override.update", fixed_field="date")


def calendar_override_delete(*, actor: Actor, override: CalendarOverride) -> None:
    _delete(actor=actor, instance=override, fields=OVERRIDE_FIELDS,
            action="rulebook.calendar_override.delete")


def notice_checks(values: Mapping[str, Any]) -> dict[str, list[str]]:
    year = values.get("year")
    low, high = NOTICE_YEAR_RANGE
    if isinstance(year, int) and not low <= year <= high:
        return {"year": [_("Enter a year from %(low)d to %(high)d.") % {"low": low, "high": high}]}
    return {}


def calendar_notice_create(*, actor: Actor, **values: Any) -> CalendarYearNotice:
    return _create(actor=actor, model=CalendarYearNotice, fields=NOTICE_FIELDS, values=values,
                   action="rulebook.calendar_notice.create", checks=notice_checks, unique_field="year")


def calendar_notice_update(*, actor: Actor, notice: CalendarYearNotice, **changes: Any) -> CalendarYearNotice:
    return _update(actor=actor, instance=notice, fields=NOTICE_FIELDS, changes=changes,
                   action="rulebook.calendar_notice.update", checks=notice_checks, fixed_field="year")


def calendar_notice_delete(*, actor: Actor, notice: CalendarYearNotice) -> None:
    _delete(actor=actor, instance=notice, fields=NOTICE_FIELDS, action="rulebook.calendar_notice.delete")


# --- parameters -----------------------------------------------------------------------------
def parameter_value_problems(parameter: RulebookParameter, value: Any) -> list[str]:
    """What is wrong with ``value`` for this parameter (not a number, outside its bounds)."""
    if isinstance(value, bool) or value in (None, ""):
        return [_("Enter a number.")]
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return [_("Enter a number.")]
    if not number.is_finite():
        return [_("Enter a number.")]
    low, high, unit = parameter.min_value, parameter.max_value, parameter.unit
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            message = _("Enter a value from %(low)s to %(high)s %(unit)s.")
        elif low is not None:
            message = _("Enter a value of at least %(low)s %(unit)s.")
        else:
            message = _("Enter a value of at most %(high)s %(unit)s.")
        return [(message % {"low": low, "high": high, "unit": unit}).replace(" .", ".")]
    return []


def parameter_update(*, actor: Actor, parameter: RulebookParameter, **changes: Any) -> RulebookParameter:
    """Change a parameter's value, names or basis. The code, unit and bounds are fixed; a value
    that is not a number or lies outside the bounds is refused and nothing changes."""
    actor.require(can_edit_rulebook(actor))
    fixed = [name for name in PARAMETER_FIXED_FIELDS if name in changes and name != "code"]
    changes = _clean_values(PARAMETER_FIELDS + fixed, changes)
    with transaction.atomic():
        current = RulebookParameter.objects.select_for_update().get(pk=parameter.pk)
        errors: dict[str, list[str]] = {}
        for name in (*fixed, "code"):
            if name in changes and changes[name] != getattr(current, name):
                errors[name] = [_("This is fixed: the checks that read the parameter rely on it.")]
        if "value" in changes:
            problems = parameter_value_problems(current, changes["value"])
            if problems:
                errors["value"] = problems
            else:
                value = Decimal(str(changes["value"]).strip())
                # Stored to the cent: say 12.5 as 12.50 in the audit row too. More places than
                # that are left for the field's validation to refuse, not silently rounded.
                changes["value"] = value.quantize(CENT) if value == value.quantize(CENT) else value
        if errors:
            raise ValidationError(errors)
        diff = validated_update(current, {name: value for name, value in changes.items() if name not in fixed})
        if diff:
            audit_record(actor=actor.user, action="rulebook.parameter.update", target=current, data=diff)
    return current
