"""Applying and every transition; every out-of-order step refused with nothing changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_trail_for
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook.models import CalendarOverride, DeadlineRule
from wastetrail.core.rulebook.selectors import deadline_due
from wastetrail.permits import services
from wastetrail.permits.models import TRANSITIONS, Approval, ApprovalKind, ApprovalStatus

pytestmark = pytest.mark.django_db


def test_an_emission_application_gets_a_number_and_a_deadline_in_working_days(cast, make_project):
    project = make_project()
    approval = services.approval_apply(actor=cast.actor("construction_staff"), kind="emission",
                                       holder=cast.org("construction"), project=project, note="一期土方",
                                       today=dt.date(2026, 3, 2))
    assert approval.status == ApprovalStatus.APPLIED
    assert approval.number == "江城管核〔2026〕排00001"
    assert approval.review_due == deadline_due("approval_review_emission", dt.date(2026, 3, 2)).date
    assert approval.review_due == dt.date(2026, 3, 9)  # Mon + 5 working days
    [entry] = audit_trail_for(approval)
    assert entry.action == "approval.apply" and entry.data["number"] == approval.number


def test_numbers_count_per_kind_and_year(cast, make_approval):
    first = make_approval(ApprovalKind.EMISSION)
    second = make_approval(ApprovalKind.EMISSION)
    transport = make_approval(ApprovalKind.TRANSPORT)
    disposal = make_approval(ApprovalKind.DISPOSAL)
    year = first.applied_at.year
    assert [first.number[-6:], second.number[-6:]] == ["排00001", "排00002"]
    assert transport.number == f"江城管核〔{year}〕运00001"
    assert disposal.number == f"江城管核〔{year}〕消00001"


def test_the_review_deadline_skips_national_day_and_counts_the_make_up_saturday(cast):
    # 2025: Oct 1-8 off, Saturday Oct 11 worked. 5 working days after Tue Sep 30:
    # Oct 9, 10, 11 (Sat, make-up), 13, 14.
    approval = services.approval_apply(actor=cast.actor("transport_admin"), kind="transport",
                                       holder=cast.org("transport"), today=dt.date(2025, 9, 30))
    assert approval.review_due == dt.date(2025, 10, 14)
    assert approval.review_due_official is True


def test_the_deadline_follows_the_rulebook_and_says_when_the_data_is_not_official(cast):
    DeadlineRule.objects.filter(code="approval_review_transport").update(working_days=1)
    # Beyond the holidays package's years the substituted days are unknown.
    far = services.approval_apply(actor=cast.actor("transport_admin"), kind="transport",
                                  holder=cast.org("transport"), today=dt.date(2101, 3, 1))
    assert far.review_due == dt.date(2101, 3, 2)  # Tuesday 1 March + 1 working day
    assert far.review_due_official is False
    assert not CalendarOverride.objects.exists()


@pytest.mark.parametrize(("kind", "user", "holder", "error_field"), [
    ("emission", "construction_admin", "construction", "project"),
    ("disposal", "site_operator", "site_operator", "site"),
])
def test_an_application_needs_its_subject(cast, kind, user, holder, error_field):
    with pytest.raises(ValidationError) as exc:
        services.approval_apply(actor=cast.actor(user), kind=kind, holder=cast.org(holder))
    assert error_field in exc.value.message_dict
    assert not Approval.objects.exists() and not AuditEntry.objects.exists()


def test_an_emission_application_for_another_units_project_is_refused(cast, make_project):
    others = make_project(construction_unit=cast.org("construction_other"))
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.approval_apply(actor=cast.actor("construction_admin"), kind="emission",
                                holder=cast.org("construction"), project=others)
    assert "not one of the holder" in exc.value.message_dict["project"][0]
    assert not Approval.objects.exists() and AuditEntry.objects.count() == audit_rows


def test_a_disposal_application_for_a_site_of_another_operator_is_refused(cast, make_site):
    site = make_site()
    with pytest.raises(ValidationError) as exc:
        # The transport company is the wrong kind of holder and does not operate the site.
        services.approval_apply(actor=cast.actor("transport_admin"), kind="disposal",
                                holder=cast.org("transport"), site=site)
    assert set(exc.value.message_dict) == {"holder", "site"}


def test_a_transport_application_names_no_project(cast, make_project):
    with pytest.raises(ValidationError) as exc:
        services.approval_apply(actor=cast.actor("transport_admin"), kind="transport",
                                holder=cast.org("transport"), project=make_project())
    assert "project" in exc.value.message_dict


def test_the_whole_path_approve_suspend_reinstate_revoke(cast, make_approval, categories, make_site, today):
    approval = make_approval("emission", ApprovalStatus.UNDER_REVIEW)
    reviewer = cast.actor("reg_officer")
    site = make_site()
    approval = services.approval_approve(
        actor=reviewer, approval=approval, categories=[categories["excavated_soil"], categories["slurry"]],
        sites=[site], quantity_cap_m3="12000", valid_from=today, valid_to=today + dt.timedelta(days=90),
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == cast.user("reg_officer")
    assert {c.code for c in approval.categories.all()} == {"excavated_soil", "slurry"}
    assert list(approval.sites.all()) == [site] and str(approval.quantity_cap_m3) == "12000.00"
    approval = services.approval_suspend(actor=reviewer, approval=approval, reason="超出核准范围")
    assert approval.status == ApprovalStatus.SUSPENDED and approval.suspension_reason == "超出核准范围"
    approval = services.approval_reinstate(actor=reviewer, approval=approval)
    assert approval.status == ApprovalStatus.APPROVED
    approval = services.approval_revoke(actor=reviewer, approval=approval, reason="倒卖核准文件")
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.REVOKED
    actions = [e.action for e in audit_trail_for(approval).order_by("seq")]
    assert actions == ["approval.apply", "approval.start_review", "approval.approve", "approval.suspend",
                       "approval.reinstate", "approval.revoke"]


def test_a_rejection_needs_a_reason_and_keeps_it(cast, make_approval):
    approval = make_approval("transport", ApprovalStatus.UNDER_REVIEW)
    with pytest.raises(ValidationError) as exc:
        services.approval_reject(actor=cast.actor("reg_officer"), approval=approval, reason="  ")
    assert "reason" in exc.value.message_dict
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.UNDER_REVIEW
    rejected = services.approval_reject(actor=cast.actor("reg_officer"), approval=approval, reason="车辆未密闭")
    assert (rejected.status, rejected.rejection_reason) == (ApprovalStatus.REJECTED, "车辆未密闭")


def test_suspension_and_revocation_need_a_reason(cast, make_approval):
    approval = make_approval("transport", ApprovalStatus.APPROVED)
    for service in (services.approval_suspend, services.approval_revoke):
        with pytest.raises(ValidationError):
            service(actor=cast.actor("reg_officer"), approval=approval, reason="")
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.APPROVED


def test_a_suspended_approval_whose_validity_ended_cannot_be_reinstated(cast, make_approval, today):
    approval = make_approval("transport", ApprovalStatus.SUSPENDED, valid_days=3)
    with pytest.raises(DomainError):
        services.approval_reinstate(actor=cast.actor("reg_officer"), approval=approval,
                                    today=today + dt.timedelta(days=4))
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.SUSPENDED


def _call(step: str, cast, approval, scope: dict):
    reviewer = cast.actor("reg_admin")
    calls = {
        "start_review": lambda: services.approval_start_review(actor=reviewer, approval=approval),
        "approve": lambda: services.approval_approve(actor=reviewer, approval=approval, **scope),
        "reject": lambda: services.approval_reject(actor=reviewer, approval=approval, reason="不符合条件"),
        "suspend": lambda: services.approval_suspend(actor=reviewer, approval=approval, reason="检查"),
        "reinstate": lambda: services.approval_reinstate(actor=reviewer, approval=approval),
        "revoke": lambda: services.approval_revoke(actor=reviewer, approval=approval, reason="违法"),
    }
    return calls[step]()


ALL_STATES = [s for s in ApprovalStatus.values if s != ApprovalStatus.EXPIRED]
WRONG = [(step, state) for step, sources in TRANSITIONS.items() for state in ALL_STATES if state not in sources]


@pytest.mark.parametrize(("step", "state"), WRONG)
def test_a_step_out_of_order_is_refused_and_changes_nothing(cast, make_approval, categories, today, step, state):
    approval = make_approval("emission", state)
    scope = {"categories": [categories["slurry"]], "valid_from": today, "valid_to": today,
             "sites": list(approval.sites.all()) or []}
    before = Approval.objects.filter(pk=approval.pk).values().get()
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(DomainError) as exc:
        _call(step, cast, approval, scope)
    assert ApprovalStatus(state).label.lower() in exc.value.message.lower()
    assert Approval.objects.filter(pk=approval.pk).values().get() == before
    assert AuditEntry.objects.count() == audit_rows


@pytest.mark.parametrize("step", list(TRANSITIONS))
def test_nothing_moves_an_expired_approval(cast, make_approval, categories, today, step):
    approval = make_approval("transport", ApprovalStatus.APPROVED)
    Approval.objects.filter(pk=approval.pk).update(status=ApprovalStatus.EXPIRED)
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        _call(step, cast, approval, {"categories": [categories["slurry"]], "valid_from": today, "valid_to": today})
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    assert AuditEntry.objects.count() == audit_rows


def test_a_stale_object_cannot_decide_twice(cast, make_approval):
    """The state is read from the locked row, not from the caller's copy."""
    approval = make_approval("transport", ApprovalStatus.UNDER_REVIEW)
    stale = Approval.objects.get(pk=approval.pk)
    services.approval_reject(actor=cast.actor("reg_officer"), approval=approval, reason="材料不全")
    with pytest.raises(DomainError):
        services.approval_reject(actor=cast.actor("reg_officer"), approval=stale, reason="again")
    assert AuditEntry.objects.filter(action="approval.reject").count() == 1
