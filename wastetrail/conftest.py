"""Fixtures shared by every app's tests: the fixed cast of users, one per role, plus outsiders."""

from __future__ import annotations

import pytest

from wastetrail.testing import Cast, build_cast


@pytest.fixture(autouse=True)
def postgres_only(request):
    """`@pytest.mark.postgres` tests (partitions, COPY, row locks) skip on SQLite with a reason."""
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgresql://...)")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings, request):
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher.

    Mark a test with `@pytest.mark.real_hashing` to keep the production setting.
    """
    if "real_hashing" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def audit_triggers_around_flushes(request):
    """Keep the audit table append-only in every test, yet let transactional tests end.

    Transactional tests (live server, concurrency) end with a flush, which on SQLite is a
    DELETE that the append-only trigger refuses; drop the triggers just before that flush.
    """
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in names or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )
    if not transactional and "db" not in names:
        yield
        return
    # Requesting the database fixture here orders it before us: set up first, torn down
    # (flushed) after our teardown below.
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.db import connection

    from wastetrail.core.audit.triggers import (
        install_append_only_triggers,
        remove_append_only_triggers,
    )

    install_append_only_triggers(connection)
    yield
    if connection.vendor == "sqlite" and transactional:
        remove_append_only_triggers(connection)


@pytest.fixture(autouse=True)
def english_messages(settings):
    """Tests read messages in English (the catalogue's source language) so that they say what
    they check; the Chinese default is tested on its own (test_language.py)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
