"""Turn DATABASE_URL into a Django DATABASES entry (SQLite and PostgreSQL only)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def parse_database_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as dj-database-url reads them.
        if not url.startswith("sqlite:///"):
            raise ImproperlyConfigured("DATABASE_URL for SQLite must start with sqlite:///")
        path = url[len("sqlite:///"):]
        if not path:
            raise ImproperlyConfigured("DATABASE_URL for SQLite needs a file path")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": unquote(path),
            # IMMEDIATE makes writers queue for the lock at BEGIN instead of failing mid-way,
            # which keeps read-then-write sequences (like the audit chain) serialised.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    if parts.scheme in {"postgres", "postgresql"}:
        options = dict(parse_qsl(parts.query))
        test_name = options.pop("test_name", None)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            "TEST": {"NAME": test_name},
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported; use sqlite:/// or postgresql://"
    )
