"""Identifier validators: USCC (GB 32100-2015), resident ID (GB 11643-1999), mobile, masking."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.core.validators import (
    USCC_ALPHABET,
    is_valid_id_number,
    is_valid_uscc,
    mask_id_number,
    mask_name,
    mask_phone,
    uscc_check_character,
    validate_mobile,
    validate_uscc,
)

# Codes as published by registered organisations (the first is the standard's own example).
REAL_USCCS = ["91350100M000100Y43", "91440300708461136T", "914407007079850396"]


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_codes_pass(code):
    assert is_valid_uscc(code)
    validate_uscc(code)


def test_lower_case_is_accepted_by_the_validator():
    validate_uscc(REAL_USCCS[1].lower())


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91440300708461136", "18 characters"),
        ("91440300708461136TT", "18 characters"),
        ("9144030070846113IT", "cannot contain I"),
        ("91440300708461136U", "check character"),
    ],
)
def test_bad_codes_get_a_message_saying_what_is_wrong(code, fragment):
    with pytest.raises(ValidationError) as caught:
        validate_uscc(code)
    assert fragment in caught.value.messages[0]


uscc_body = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@given(uscc_body)
def test_the_check_character_makes_any_body_valid(body):
    assert is_valid_uscc(body + uscc_check_character(body))


@given(uscc_body, st.integers(min_value=0, max_value=16), st.sampled_from(USCC_ALPHABET))
def test_any_single_character_change_is_caught(body, position, replacement):
    code = body + uscc_check_character(body)
    changed = code[:position] + replacement + code[position + 1:]
    if changed != code:
        assert not is_valid_uscc(changed)


def test_resident_id_check_character():
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("1101051949123100")


@pytest.mark.parametrize("phone", ["13800138000", "19912345678"])
def test_mainland_mobiles_pass(phone):
    validate_mobile(phone)


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "+8613800138000", ""])
def test_other_numbers_are_refused(phone):
    with pytest.raises(ValidationError):
        validate_mobile(phone)


def test_masking_keeps_only_what_identifies_without_exposing():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_name("刘德华") == "刘**"
    assert mask_phone("") == ""
