"""Quantities of waste per category, in m³ and tonnes: one parser and one conversion for every app.

The density in the rulebook turns an amount given in one unit into the other; estimates (registry),
plans and manifests all round the same way, so their figures reconcile to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from wastetrail.core.rulebook.models import WasteCategory

CENT = Decimal("0.01")
# What fits DecimalField(max_digits=12, decimal_places=2).
MAX_QUANTITY = Decimal("9999999999.99")


def tonnes_from_m3(m3: Decimal, density_t_per_m3: Decimal) -> Decimal:
    return (m3 * density_t_per_m3).quantize(CENT, rounding=ROUND_HALF_UP)


def m3_from_tonnes(tonnes: Decimal, density_t_per_m3: Decimal) -> Decimal:
    return (tonnes / density_t_per_m3).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_quantity(value: Any, *, label: str, field: str) -> Decimal | None:
    """A non-negative amount rounded to the cent, or None when left empty."""
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("%(label)s is not a number.") % {"label": label}}) from None
    if not number.is_finite() or number < 0:
        raise ValidationError({field: _("%(label)s cannot be negative.") % {"label": label}})
    # Checked before rounding: quantize() itself fails on numbers this large.
    if number > MAX_QUANTITY:
        raise ValidationError({field: _("%(label)s is too large.") % {"label": label}})
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def category_from(value: Any) -> WasteCategory | None:
    """A category given as an instance, a primary key or a code."""
    if isinstance(value, WasteCategory):
        return value
    if isinstance(value, int):
        return WasteCategory.objects.filter(pk=value).first()
    return WasteCategory.objects.filter(code=str(value or "").strip()).first()


def quantities_by_category(
    rows: Iterable[Mapping[str, Any]], *, field: str, kept_category_ids: frozenset[int] = frozenset()
) -> dict[WasteCategory, tuple[Decimal, Decimal]]:
    """Validated (m³, t) per category from rows of {category, quantity_m3, quantity_t}.

    Where only one unit is given the other follows from the category's density; rows with
    neither are dropped. A retired category is refused unless the record already had it
    (`kept_category_ids`). Errors are reported on `field`.
    """
    found: dict[WasteCategory, tuple[Decimal, Decimal]] = {}
    for row in rows:
        category = category_from(row.get("category"))
        if category is None:
            raise ValidationError({field: _("Unknown waste category “%(code)s”.") % {
                "code": row.get("category")}})
        if category in found:
            raise ValidationError({field: _("%(category)s is listed twice.") % {"category": category}})
        if not category.is_active and category.pk not in kept_category_ids:
            raise ValidationError({field: _("%(category)s is no longer in use.") % {"category": category}})
        m3 = parse_quantity(row.get("quantity_m3"), label=f"{category} (m³)", field=field)
        tonnes = parse_quantity(row.get("quantity_t"), label=f"{category} (t)", field=field)
        if m3 is None and tonnes is None:
            continue
        density = category.density_t_per_m3
        if tonnes is None:
            tonnes = tonnes_from_m3(m3, density)
        elif m3 is None:
            m3 = m3_from_tonnes(tonnes, density)
        if max(m3, tonnes) > MAX_QUANTITY:
            raise ValidationError({field: _("%(category)s: the quantity is too large.") % {"category": category}})
        found[category] = (m3, tonnes)
    return found
