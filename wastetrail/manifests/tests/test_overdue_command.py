"""`wastetrail manifests overdue`: flags late loads once, names them, refuses a bad time."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from wastetrail.manifests.models import Manifest

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("manifests", "overdue", *args, stdout=out)
    return out.getvalue()


def test_the_job_flags_a_late_load_once_and_names_it(make_ready_load, issue, now):
    manifest = issue(make_ready_load())
    late = timezone.localtime(manifest.expected_arrival_at + dt.timedelta(minutes=5))
    output = run("--at", late.strftime("%Y-%m-%dT%H:%M"))
    assert "flagged 1 manifest(s) overdue" in output and manifest.number in output
    assert Manifest.objects.get(pk=manifest.pk).is_overdue
    assert "flagged 0 manifest(s)" in run("--at", late.strftime("%Y-%m-%dT%H:%M"))


def test_a_load_still_in_time_is_not_flagged(make_ready_load, issue):
    manifest = issue(make_ready_load())
    early = timezone.localtime(manifest.expected_arrival_at - dt.timedelta(minutes=5))
    assert "flagged 0" in run("--at", early.strftime("%Y-%m-%dT%H:%M"))
    assert not Manifest.objects.get(pk=manifest.pk).is_overdue


def test_a_bad_time_is_refused_with_its_reason():
    with pytest.raises(CommandError, match="not a date and time"):
        run("--at", "tomorrow")
