"""Fixtures shared by every app's tests: the fixed cast of users, one per role, plus outsiders."""

from __future__ import annotations

import pytest

from wastetrail.testing import Cast, build_cast


@pytest.fixture(autouse=True)
def fast_password_hashing(settings, request):
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher.

    Mark a test with `@pytest.mark.real_hashing` to keep the production setting.
    """
    if "real_hashing" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
