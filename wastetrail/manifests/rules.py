"""Receipt rules (Trackdéchets-style), pure: no database, so that they are property-tested.

A load is received as a net weight (gross − tare, in t) or, without a weighbridge, as a volume
(m³). Then:
- accepted ⇒ refused = 0;
- refused ⇒ refused = received (nothing accepted);
- partially refused ⇒ 0 < refused < received;
- any refusal needs a reason. accepted + refused = received, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from wastetrail.core.rulebook.quantities import CENT, MAX_QUANTITY, m3_from_tonnes, tonnes_from_m3
from wastetrail.manifests.models import ManifestStatus, QuantityUnit

ZERO = Decimal("0")
OUTCOMES = (ManifestStatus.ACCEPTED, ManifestStatus.PARTIALLY_REFUSED, ManifestStatus.REFUSED)


@dataclass(frozen=True)
class Receipt:
    outcome: str
    unit: str
    gross_t: Decimal | None
    tare_t: Decimal | None
    net_t: Decimal | None
    received_m3: Decimal | None
    received: Decimal
    accepted: Decimal
    refused: Decimal
    reason: str


def decimal_field(value: Any, field: str) -> Decimal | None:
    """A non-negative amount to the cent, or None when not given; ValidationError naming the field."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter a number.")}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: _("Enter a number of zero or more.")})
    if amount > MAX_QUANTITY:
        raise ValidationError({field: _("The number is too large.")})
    return amount.quantize(CENT)


def receipt_from(
    *,
    outcome: str,
    gross_t: Any = None,
    tare_t: Any = None,
    volume_m3: Any = None,
    refused: Any = None,
    reason: str = "",
) -> Receipt:
    """Check a receipt and work out its quantities, or raise ValidationError naming the field."""
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": _("Choose accepted, partially refused or refused.")})
    gross, tare = decimal_field(gross_t, "gross_t"), decimal_field(tare_t, "tare_t")
    volume = decimal_field(volume_m3, "volume_m3")
    net = None
    if gross is not None or tare is not None:
        if gross is None:
            raise ValidationError({"gross_t": _("Enter the gross weight as well as the tare.")})
        if tare is None:
            raise ValidationError({"tare_t": _("Enter the tare weight as well as the gross.")})
        net = gross - tare
        if net <= 0:
            raise ValidationError({"tare_t": _("The tare must be less than the gross weight.")})
        received, unit = net, QuantityUnit.TONNE
    elif volume is not None:
        if volume <= 0:
            raise ValidationError({"volume_m3": _("The volume must be more than zero.")})
        received, unit = volume, QuantityUnit.CUBIC_METRE
    else:
        raise ValidationError({"gross_t": _("Weigh the load (gross and tare) or enter its volume.")})

    refused_amount = decimal_field(refused, "refused_quantity")
    text = (reason or "").strip()
    if outcome == ManifestStatus.ACCEPTED:
        if refused_amount not in (None, ZERO):
            raise ValidationError({"refused_quantity": _("An accepted load refuses nothing.")})
        refused_amount = ZERO
    elif outcome == ManifestStatus.REFUSED:
        if refused_amount is not None and refused_amount != received:
            raise ValidationError({"refused_quantity": _(
                "A refused load refuses all that was received (%(received)s).") % {"received": received}})
        refused_amount = received
    else:
        if refused_amount is None or not (ZERO < refused_amount < received):
            raise ValidationError({"refused_quantity": _(
                "A partial refusal refuses more than zero and less than the %(received)s received.")
                % {"received": received}})
    if outcome != ManifestStatus.ACCEPTED and not text:
        raise ValidationError({"reason": _("Give the reason for the refusal.")})
    return Receipt(outcome=outcome, unit=unit, gross_t=gross if net is not None else None,
                   tare_t=tare if net is not None else None, net_t=net,
                   received_m3=volume if net is None else None, received=received,
                   accepted=received - refused_amount, refused=refused_amount,
                   reason=text if outcome != ManifestStatus.ACCEPTED else "")


def to_m3(quantity: Decimal, unit: str, density_t_per_m3: Decimal) -> Decimal:
    """Volume of a quantity in t or m³, converted with the category's density."""
    if unit == QuantityUnit.CUBIC_METRE:
        return quantity
    return m3_from_tonnes(quantity, density_t_per_m3)


def to_t(quantity: Decimal, unit: str, density_t_per_m3: Decimal) -> Decimal:
    if unit == QuantityUnit.TONNE:
        return quantity
    return tonnes_from_m3(quantity, density_t_per_m3)
