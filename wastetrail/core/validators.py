"""Validators for identifiers used across the platform.

Each returns nothing and raises django ValidationError with a message the user can act on.
The pure check functions (``is_valid_*``) are separate so that property tests and the gateway
can use them without Django's error machinery.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------
# 18 characters from 0-9 and A-Z without I, O, S, V, Z; the last is a check character computed
# with weights 3^i mod 31 over the first 17.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


def validate_uscc(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d."),
            code="uscc_length", params={"n": len(code)},
        )
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s."),
            code="uscc_chars", params={"chars": " ".join(bad)},
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong; "
              "please check for a typing error."),
            code="uscc_check",
        )


# --- Mobile phone numbers (mainland China) --------------------------------------------------
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def validate_mobile(value: str) -> None:
    if not MOBILE_RE.match(value or ""):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 1."), code="mobile"
        )


# --- Resident identity card numbers (GB 11643-1999) -----------------------------------------
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    code = (value or "").upper()
    if not re.fullmatch(r"\d{17}[\dX]", code):
        return False
    return id_check_character(code[:17]) == code[17]


def validate_id_number(value: str) -> None:
    if not is_valid_id_number(value):
        raise ValidationError(
            _("Enter an 18-character resident ID number with a correct check character."),
            code="id_number",
        )


# --- Masking of personal data ---------------------------------------------------------------
def mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_phone(value: str) -> str:
    return mask_middle(value, 3, 4)


def mask_id_number(value: str) -> str:
    return mask_middle(value, 4, 4)


def mask_name(value: str) -> str:
    # Chinese convention: keep the family name, hide the given name.
    return value[:1] + "*" * (len(value) - 1) if value else ""
