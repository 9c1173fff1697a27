"""Fixtures shared by every app's tests: the fixed cast of users, one per role, plus outsiders."""

from __future__ import annotations

import pytest

from wastetrail.testing import Cast, build_cast


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
