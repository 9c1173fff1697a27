"""Identifiers of vehicles and terminals: licence plates (GA 36-2018), VINs (GB 16735 / ISO 3779)
and JT/T 808 terminal numbers.

As in wastetrail.core.validators, each rule has a pure ``is_valid_*`` (or ``*_problem``) function
that the gateway and property tests use without Django's error machinery, and a ``validate_*``
that raises a ValidationError saying exactly what is wrong.
"""

from __future__ import annotations

import re
import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# --- Licence plates (GA 36-2018) ------------------------------------------------------------
# The 31 mainland provinces, autonomous regions and municipalities. Hong Kong and Macau issue
# their own plates and are not registered here.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# I and O are never used: they read as 1 and 0.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PLATE_CHARACTERS = PLATE_LETTERS + string.digits
NEW_ENERGY_MARKS = "DF"  # D pure electric, F other new-energy (hybrid, fuel cell)

ORDINARY_PLATE_LENGTH = 7
NEW_ENERGY_PLATE_LENGTH = 8

# Characters people type between the parts of a plate ("粤J·12345", "粤J 12345").
_PLATE_SEPARATORS = re.compile(r"[\s·•・\-]")


def normalize_plate(value: str) -> str:
    return _PLATE_SEPARATORS.sub("", value or "").upper()


def _is_small_new_energy_serial(serial: str) -> bool:
    # 小型新能源: D/F first, then a letter or digit, then four digits (粤JD12345, 粤JDA1234).
    return (
        len(serial) == 6 and serial[0] in NEW_ENERGY_MARKS and serial[1] in PLATE_CHARACTERS
        and serial[2:].isdigit()
    )


def _is_large_new_energy_serial(serial: str) -> bool:
    # 大型新能源: five digits, then D/F last (粤J12345D).
    return len(serial) == 6 and serial[:5].isdigit() and serial[5] in NEW_ENERGY_MARKS


def plate_problem(value: str) -> ValidationError | None:
    """What is wrong with a (normalised) plate, or None when it is a valid mainland plate."""
    plate = value or ""
    if not plate:
        return ValidationError(_("Enter the plate number, such as 粤J12345."), code="plate_empty")
    if plate[0] not in PROVINCES:
        return ValidationError(
            _("A plate starts with the abbreviation of a mainland province, such as 粤 for "
              "Guangdong; “%(char)s” is not one."),
            code="plate_province", params={"char": plate[0]},
        )
    if len(plate) not in (ORDINARY_PLATE_LENGTH, NEW_ENERGY_PLATE_LENGTH):
        return ValidationError(
            _("A plate has 7 characters (8 for a new-energy vehicle); this one has %(n)d."),
            code="plate_length", params={"n": len(plate)},
        )
    letters_i_o = sorted({ch for ch in plate[1:] if ch in "IO"})
    if letters_i_o:
        return ValidationError(
            _("Plates never use the letters I or O (they would read as 1 and 0); "
              "check the character %(chars)s."),
            code="plate_i_o", params={"chars": " ".join(letters_i_o)},
        )
    if plate[1] not in PLATE_LETTERS:
        return ValidationError(
            _("The second character is the letter of the issuing city, such as J for Jiangmen; "
              "“%(char)s” is not a letter."),
            code="plate_city", params={"char": plate[1]},
        )
    bad = sorted({ch for ch in plate[2:] if ch not in PLATE_CHARACTERS})
    if bad:
        return ValidationError(
            _("After the city letter a plate has only letters and digits; remove %(chars)s."),
            code="plate_chars", params={"chars": " ".join(bad)},
        )
    serial = plate[2:]
    if len(plate) == NEW_ENERGY_PLATE_LENGTH and not (
        _is_small_new_energy_serial(serial) or _is_large_new_energy_serial(serial)
    ):
        return ValidationError(
            _("An 8-character plate is a new-energy plate: D or F comes first (small vehicles, "
              "e.g. 粤JD12345) or last (large vehicles, e.g. 粤J12345D), and the other positions "
              "are digits."),
            code="plate_new_energy",
        )
    return None


def is_valid_plate(value: str) -> bool:
    return plate_problem(value) is None


def validate_plate(value: str) -> None:
    problem = plate_problem(value)
    if problem is not None:
        raise problem


def is_new_energy_plate(plate: str) -> bool:
    return len(plate) == NEW_ENERGY_PLATE_LENGTH


# --- Plate colour (JT/T 808-2019 Table 10 via JT/T 697.7 / JT/T 415) ------------------------
PLATE_COLOUR_GREEN = 5
PLATE_COLOUR_OTHER = 9


def plate_colour_problem(plate: str, colour: int | None) -> ValidationError | None:
    """New-energy plates are green (gradient green small, yellow-green large); nothing else is.

    Platforms without a yellow-green code report large new-energy plates as "other" (9), so an
    8-character plate is accepted as green or other.
    """
    if colour is None or not is_valid_plate(plate):
        return None
    if is_new_energy_plate(plate) and colour not in (PLATE_COLOUR_GREEN, PLATE_COLOUR_OTHER):
        return ValidationError(
            _("A new-energy plate (8 characters) is green: choose green, or other for a "
              "yellow-green plate."),
            code="plate_colour_new_energy",
        )
    if not is_new_energy_plate(plate) and colour == PLATE_COLOUR_GREEN:
        return ValidationError(
            _("Only new-energy plates (8 characters) are green; muck trucks usually carry yellow "
              "plates."),
            code="plate_colour_green",
        )
    return None


# --- Vehicle identification number (GB 16735-2019, ISO 3779) ---------------------------------
# Position 9 is a check character. ISO 3779 leaves it optional, but GB 16735 makes it mandatory
# for vehicles made or sold in China, so every VIN we register must carry a correct one.
VIN_LENGTH = 17
VIN_TRANSLITERATION: dict[str, int] = {
    **{d: int(d) for d in string.digits},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
VIN_ALPHABET = "".join(VIN_TRANSLITERATION)  # no I, O or Q
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_CHECK_POSITION = 8  # zero-based: the 9th character


def normalize_vin(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def vin_check_character(vin: str) -> str:
    """The check character for a 17-character VIN (its own 9th character is ignored)."""
    total = sum(VIN_TRANSLITERATION[ch] * w for ch, w in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problem(value: str) -> ValidationError | None:
    vin = value or ""
    if len(vin) != VIN_LENGTH:
        return ValidationError(
            _("A VIN has 17 characters; this one has %(n)d."), code="vin_length",
            params={"n": len(vin)},
        )
    bad = sorted({ch for ch in vin if ch not in VIN_TRANSLITERATION})
    if bad:
        return ValidationError(
            _("A VIN contains only digits and capital letters other than I, O and Q; "
              "check %(chars)s."),
            code="vin_chars", params={"chars": " ".join(bad)},
        )
    expected = vin_check_character(vin)
    if vin[VIN_CHECK_POSITION] != expected:
        return ValidationError(
            _("The check character (9th position) of this VIN should be %(expected)s, not "
              "%(found)s; please look for a typing error."),
            code="vin_check", params={"expected": expected, "found": vin[VIN_CHECK_POSITION]},
        )
    return None


def is_valid_vin(value: str) -> bool:
    return vin_problem(value) is None


def validate_vin(value: str) -> None:
    problem = vin_problem(value)
    if problem is not None:
        raise problem


# --- JT/T 808 terminals -----------------------------------------------------------------------
# The message header carries the terminal's phone number as BCD: 6 bytes (12 digits) in
# JT/T 808-2013, 10 bytes (20 digits) in 2019, left-padded with zeros. The canonical form we
# store and look up has no leading zeros, so the gateway finds a terminal whichever version it
# speaks.
TERMINAL_PHONE_MIN_DIGITS = 11
TERMINAL_PHONE_MAX_DIGITS = {"2013": 12, "2019": 20}
# Terminal ID: 7 bytes in 2013, 30 in 2019; capital letters and digits.
TERMINAL_ID_MAX_LENGTH = {"2013": 7, "2019": 30}
MANUFACTURER_ID_MAX_LENGTH = {"2013": 5, "2019": 11}
TERMINAL_MODEL_MAX_LENGTH = {"2013": 20, "2019": 30}


def canonical_terminal_phone(value: str) -> str:
    """Digits without separators or BCD left padding: "013912345678" → "13912345678"."""
    digits = re.sub(r"[\s\-]", "", value or "")
    return digits.lstrip("0") if digits.isdigit() else digits


def terminal_phone_problem(value: str, protocol: str = "2019") -> ValidationError | None:
    phone = value or ""
    if not phone.isdigit():
        return ValidationError(
            _("A terminal phone number has only digits."), code="terminal_phone_digits"
        )
    longest = TERMINAL_PHONE_MAX_DIGITS.get(protocol, TERMINAL_PHONE_MAX_DIGITS["2019"])
    if not TERMINAL_PHONE_MIN_DIGITS <= len(phone) <= longest:
        return ValidationError(
            _("A JT/T 808-%(protocol)s terminal phone number has %(min)d to %(max)d digits "
              "(without leading zeros); this one has %(n)d."),
            code="terminal_phone_length",
            params={"protocol": protocol, "min": TERMINAL_PHONE_MIN_DIGITS, "max": longest,
                    "n": len(phone)},
        )
    return None


def validate_terminal_phone(value: str) -> None:
    problem = terminal_phone_problem(value)
    if problem is not None:
        raise problem


TERMINAL_ID_RE = re.compile(r"^[0-9A-Z]+$")


def terminal_id_problem(value: str, protocol: str = "2019") -> ValidationError | None:
    terminal_id = value or ""
    if not TERMINAL_ID_RE.match(terminal_id):
        return ValidationError(
            _("A terminal ID consists of capital letters and digits."), code="terminal_id_chars"
        )
    longest = TERMINAL_ID_MAX_LENGTH.get(protocol, TERMINAL_ID_MAX_LENGTH["2019"])
    if len(terminal_id) > longest:
        return ValidationError(
            _("A JT/T 808-%(protocol)s terminal ID has at most %(max)d characters; this one has "
              "%(n)d."),
            code="terminal_id_length",
            params={"protocol": protocol, "max": longest, "n": len(terminal_id)},
        )
    return None


def validate_terminal_id(value: str) -> None:
    problem = terminal_id_problem(value)
    if problem is not None:
        raise problem
