"""The daily job: approvals past their validity expire (once, with one audit row each), those
ending within the rulebook's warning period are listed; the command prints both."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.rulebook.models import DeadlineRule
from wastetrail.core.rulebook.selectors import deadline_due
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.permits.services import approvals_expire

pytestmark = pytest.mark.django_db


def test_approvals_past_their_validity_expire_once(make_approval, today):
    ending = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=2)
    lasting = make_approval(ApprovalKind.EMISSION, ApprovalStatus.APPROVED, valid_days=365)
    suspended = make_approval(ApprovalKind.DISPOSAL, ApprovalStatus.SUSPENDED, valid_days=2)
    on_last_day = approvals_expire(today=today + dt.timedelta(days=2))
    assert on_last_day.expired == []  # valid_to is the last valid day
    run = approvals_expire(today=today + dt.timedelta(days=3))
    assert [a.pk for a in run.expired] == [ending.pk]
    assert Approval.objects.get(pk=ending.pk).status == ApprovalStatus.EXPIRED
    assert Approval.objects.get(pk=lasting.pk).status == ApprovalStatus.APPROVED
    assert Approval.objects.get(pk=suspended.pk).status == ApprovalStatus.SUSPENDED
    [entry] = AuditEntry.objects.filter(action="approval.expire")
    assert entry.object_id == str(ending.pk) and entry.actor_label == "system"
    assert entry.organisation_id == ending.holder_id
    assert approvals_expire(today=today + dt.timedelta(days=3)).expired == []
    assert AuditEntry.objects.filter(action="approval.expire").count() == 1


def test_holders_are_warned_within_the_rulebooks_warning_period(make_approval, today):
    warn_until = deadline_due("approval_expiry_warning", today).date
    days_to_edge = (warn_until - today).days
    inside = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=days_to_edge)
    outside = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=days_to_edge + 1)
    make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.SUSPENDED, valid_days=1)
    run = approvals_expire(today=today)
    assert run.warn_until == warn_until
    assert [a.pk for a in run.warnings] == [inside.pk]
    assert outside.pk not in [a.pk for a in run.expired]


def test_the_warning_period_comes_from_the_rulebook(make_approval, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=20)
    DeadlineRule.objects.filter(code="approval_expiry_warning").update(working_days=1)
    assert approvals_expire(today=today).warnings == []
    DeadlineRule.objects.filter(code="approval_expiry_warning").update(working_days=30)
    assert approvals_expire(today=today).warnings == [approval]


def test_the_command_prints_what_it_expired_and_warned(make_approval, today):
    ending = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=1)
    warned = make_approval(ApprovalKind.EMISSION, ApprovalStatus.APPROVED, valid_days=4)
    out = io.StringIO()
    call_command("approvals", "expire", "--date", (today + dt.timedelta(days=2)).isoformat(), stdout=out)
    text = out.getvalue()
    assert "expired 1 approval(s)" in text and f"expired {ending.number}" in text
    assert f"warn {warned.number}" in text
    assert Approval.objects.get(pk=ending.pk).status == ApprovalStatus.EXPIRED


def test_the_command_refuses_a_bad_date(cast):
    with pytest.raises(CommandError, match="not a date"):
        call_command("approvals", "expire", "--date", "2026-02-30")
