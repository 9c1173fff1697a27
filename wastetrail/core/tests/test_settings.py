"""Settings come from the environment and refuse bad values at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from wastetrail.dburl import parse_database_url

PROJECT = Path(__file__).resolve().parents[3]


def _run(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    return subprocess.run(
        [sys.executable, "-c", code], env=clean | env, cwd=PROJECT, capture_output=True, text=True,
        timeout=60,
    )


def test_secret_key_is_required_outside_debug():
    result = _run({"DJANGO_SETTINGS_MODULE": "wastetrail.settings"}, "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_settings_read_the_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.TIME_ZONE, s.LANGUAGE_CODE, s.DATABASES['default']['NAME'])"
    )
    result = _run({
        "DJANGO_SETTINGS_MODULE": "wastetrail.settings", "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "wastetrail.jiangmen.gov.cn, 10.0.0.5",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "['wastetrail.jiangmen.gov.cn',", "'10.0.0.5']", "Asia/Shanghai", "zh-hans",
        f"{tmp_path}/db.sqlite3",
    ]


def test_a_bad_boolean_names_the_variable():
    result = _run({"DJANGO_SETTINGS_MODULE": "wastetrail.settings", "DEBUG": "maybe"},
                  "import django; django.setup()")
    assert "DEBUG must be a boolean" in result.stderr


def test_the_console_script_wraps_manage_py(tmp_path):
    script = Path(sys.executable).parent / "wastetrail"
    if not script.exists():
        pytest.fail("the `wastetrail` console script is not installed; run `make setup`")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
    }
    subprocess.run([script, "migrate", "-v", "0"], env=env, check=True, timeout=120)
    result = subprocess.run([script, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout


def test_postgres_urls_are_parsed():
    config = parse_database_url("postgresql://wt:s%40cret@db.internal:6432/wastetrail?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("wastetrail", "wt", "s@cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", "6432")
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_sqlite_urls_relative_and_absolute():
    assert parse_database_url("sqlite:///var/x.sqlite3")["NAME"] == "var/x.sqlite3"
    assert parse_database_url("sqlite:////srv/x.sqlite3")["NAME"] == "/srv/x.sqlite3"


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "sqlite:///"])
def test_unsupported_database_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured):
        parse_database_url(url)
