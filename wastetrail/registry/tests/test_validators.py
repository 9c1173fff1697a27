"""Plates (GA 36-2018), plate colours (JT/T 808), VINs (GB 16735 / ISO 3779), terminal numbers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.registry.validators import (
    PLATE_CHARACTERS,
    PLATE_LETTERS,
    PROVINCES,
    VIN_ALPHABET,
    VIN_CHECK_POSITION,
    VIN_TRANSLITERATION,
    VIN_WEIGHTS,
    canonical_terminal_phone,
    is_valid_plate,
    is_valid_vin,
    normalize_plate,
    plate_colour_problem,
    terminal_id_problem,
    terminal_phone_problem,
    validate_plate,
    validate_vin,
    vin_check_character,
)


def test_there_are_31_mainland_provinces():
    assert len(PROVINCES) == len(set(PROVINCES)) == 31
    assert "粤" in PROVINCES and "港" not in PROVINCES


@pytest.mark.parametrize("plate", [
    "粤J12345",   # ordinary
    "粤JA1234",   # ordinary with a letter
    "京AF0236",   # ordinary: an F in an ordinary 7-character plate is just a letter
    "粤JD12345",  # small new-energy, pure electric
    "粤JF12345",  # small new-energy, other
    "粤JDA1234",  # small new-energy, letter in 2nd serial position
    "粤J12345D",  # large new-energy
    "粤J12345F",
])
def test_valid_plates_pass(plate):
    assert is_valid_plate(plate)
    validate_plate(plate)


@pytest.mark.parametrize(("plate", "code", "fragment"), [
    ("", "plate_empty", "Enter the plate"),
    ("港J12345", "plate_province", "“港” is not one"),
    ("AJ12345", "plate_province", "province"),
    ("粤J1234", "plate_length", "has 6"),
    ("粤J1234567", "plate_length", "has 9"),
    ("粤I12345", "plate_i_o", "I or O"),
    ("粤J1O345", "plate_i_o", "I or O"),
    ("粤112345", "plate_city", "letter of the issuing city"),
    ("粤J12#45", "plate_chars", "#"),
    ("粤J123456", "plate_new_energy", "D or F"),    # 8 characters without D/F
    ("粤JA12345", "plate_new_energy", "D or F"),
    ("粤J1234D5", "plate_new_energy", "D or F"),    # D in the wrong position
    ("粤JDA123B", "plate_new_energy", "D or F"),    # small NEV ends in digits
])
def test_invalid_plates_say_what_is_wrong(plate, code, fragment):
    assert not is_valid_plate(plate)
    with pytest.raises(ValidationError) as caught:
        validate_plate(plate)
    assert caught.value.code == code
    assert fragment in caught.value.messages[0]


def test_typing_variants_are_normalised():
    assert normalize_plate(" 粤j·12345 ") == "粤J12345"
    assert normalize_plate("粤J-D12345") == "粤JD12345"


ordinary_plates = st.builds(
    lambda p, c, s: p + c + "".join(s),
    st.sampled_from(PROVINCES), st.sampled_from(PLATE_LETTERS),
    st.lists(st.sampled_from(PLATE_CHARACTERS), min_size=5, max_size=5),
)
small_nev_plates = st.builds(
    lambda p, c, m, x, d: p + c + m + x + d,
    st.sampled_from(PROVINCES), st.sampled_from(PLATE_LETTERS), st.sampled_from("DF"),
    st.sampled_from(PLATE_CHARACTERS), st.from_regex(r"\A[0-9]{4}\Z"),
)
large_nev_plates = st.builds(
    lambda p, c, d, m: p + c + d + m,
    st.sampled_from(PROVINCES), st.sampled_from(PLATE_LETTERS), st.from_regex(r"\A[0-9]{5}\Z"),
    st.sampled_from("DF"),
)


@given(st.one_of(ordinary_plates, small_nev_plates, large_nev_plates))
def test_every_well_formed_plate_passes(plate):
    assert is_valid_plate(plate)


@given(ordinary_plates, st.integers(min_value=1, max_value=6), st.sampled_from("IO"))
def test_an_i_or_o_anywhere_after_the_province_is_refused(plate, position, letter):
    assert not is_valid_plate(plate[:position] + letter + plate[position + 1:])


@given(st.text(max_size=10))
def test_the_plate_check_never_crashes(text):
    assert is_valid_plate(text) in (True, False)


# --- plate colour ---------------------------------------------------------------------------
def test_new_energy_plates_are_green_and_ordinary_ones_are_not():
    assert plate_colour_problem("粤JD12345", 5) is None
    assert plate_colour_problem("粤J12345D", 9) is None     # yellow-green reported as "other"
    assert plate_colour_problem("粤JD12345", 2).code == "plate_colour_new_energy"
    assert plate_colour_problem("粤J12345", 5).code == "plate_colour_green"
    assert plate_colour_problem("粤J12345", 2) is None


# --- VIN ------------------------------------------------------------------------------------
# The check-digit worked example (check character X) and a widely published Honda Accord VIN.
REAL_VINS = ["1M8GDM9AXKP042788", "1HGCM82633A004352"]


def test_the_worked_example_has_check_character_x():
    assert vin_check_character("1M8GDM9AXKP042788") == "X"
    assert is_valid_vin("1M8GDM9AXKP042788")


@pytest.mark.parametrize("vin", REAL_VINS)
def test_real_vins_pass(vin):
    validate_vin(vin)


@pytest.mark.parametrize(("vin", "code"), [
    ("1M8GDM9AXKP04278", "vin_length"),
    ("1M8GDM9AXKP0427888", "vin_length"),
    ("1M8GDM9AXKP04278O", "vin_chars"),
    ("IM8GDM9AXKP042788", "vin_chars"),
    ("1M8GDM9A1KP042788", "vin_check"),
])
def test_bad_vins_say_what_is_wrong(vin, code):
    with pytest.raises(ValidationError) as caught:
        validate_vin(vin)
    assert caught.value.code == code


def test_a_wrong_check_character_names_the_right_one():
    with pytest.raises(ValidationError) as caught:
        validate_vin("1M8GDM9A1KP042788")
    assert "should be X, not 1" in caught.value.messages[0]


vins = st.lists(st.sampled_from(VIN_ALPHABET), min_size=17, max_size=17).map(
    lambda chars: "".join(chars[:8]) + vin_check_character("".join(chars)) + "".join(chars[9:])
)


@given(vins)
def test_a_vin_with_its_computed_check_character_passes(vin):
    assert is_valid_vin(vin)


@given(vins, st.integers(min_value=0, max_value=16), st.sampled_from(VIN_ALPHABET))
def test_any_single_substitution_that_changes_the_sum_is_caught(vin, position, replacement):
    # 11 is prime and every weight except the check position's is 1..10, so changing one
    # character's value by less than 11 always changes the remainder.
    changed = vin[:position] + replacement + vin[position + 1:]
    if position == VIN_CHECK_POSITION or VIN_TRANSLITERATION[replacement] == VIN_TRANSLITERATION[vin[position]]:
        return
    assert VIN_WEIGHTS[position] != 0
    assert not is_valid_vin(changed)


# --- JT/T 808 terminal numbers ---------------------------------------------------------------
def test_terminal_phone_padding_is_removed():
    assert canonical_terminal_phone("013912345678") == "13912345678"
    assert canonical_terminal_phone("00000000013912345678") == "13912345678"
    assert canonical_terminal_phone("139 1234 5678") == "13912345678"


def test_terminal_phone_length_depends_on_the_protocol_version():
    assert terminal_phone_problem("13912345678", "2013") is None
    assert terminal_phone_problem("1064912345678", "2013").code == "terminal_phone_length"  # 13 digits
    assert terminal_phone_problem("1064912345678", "2019") is None
    assert terminal_phone_problem("1391234567", "2019").code == "terminal_phone_length"
    assert terminal_phone_problem("1391234567x", "2019").code == "terminal_phone_digits"


def test_terminal_id_length_depends_on_the_protocol_version():
    assert terminal_id_problem("A123456", "2013") is None
    assert terminal_id_problem("A1234567", "2013").code == "terminal_id_length"
    assert terminal_id_problem("A" * 30, "2019") is None
    assert terminal_id_problem("a-1", "2019").code == "terminal_id_chars"
