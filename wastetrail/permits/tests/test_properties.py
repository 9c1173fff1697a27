"""Property test: whatever random sequence of steps (in or out of order, with good or bad
input, with the clock moving and the daily job running), an approval never reaches an invalid
state, a refused step changes nothing, and every change leaves exactly one audit row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.permits import services
from wastetrail.permits.models import SCOPED_STATUSES, TRANSITIONS, Approval, ApprovalKind, ApprovalStatus

pytestmark = pytest.mark.django_db

STEP = st.one_of(
    st.tuples(st.just("start_review")),
    st.tuples(st.just("approve"), st.integers(-3, 3), st.integers(-3, 30), st.sets(st.integers(0, 3)),
              st.booleans()),
    st.tuples(st.just("reject"), st.sampled_from(["", "材料不全"])),
    st.tuples(st.just("suspend"), st.sampled_from(["", "超范围"])),
    st.tuples(st.just("reinstate")),
    st.tuples(st.just("revoke"), st.sampled_from(["", "违法转让"])),
    st.tuples(st.just("wait_and_expire"), st.integers(0, 20)),
)


def _row(pk: int) -> dict:
    approval = Approval.objects.get(pk=pk)
    return Approval.objects.filter(pk=pk).values().get() | {
        "categories": sorted(approval.categories.values_list("pk", flat=True)),
        "vehicles": sorted(approval.vehicles.values_list("pk", flat=True)),
        "sites": sorted(approval.sites.values_list("pk", flat=True)),
    }


def _check_invariants(approval: Approval, clock: dt.date, expired_through: dt.date | None) -> None:
    if approval.status in SCOPED_STATUSES:
        assert approval.valid_from and approval.valid_to and approval.decided_at
        assert approval.valid_from <= approval.valid_to
        assert approval.categories.exists()
        if approval.kind == ApprovalKind.TRANSPORT:
            vehicles = list(approval.vehicles.select_related("terminal"))
            assert vehicles
            assert all(v.sealed_body_certified and v._bound_terminal() and v.company_id == approval.holder_id
                       for v in vehicles)
    else:
        assert approval.valid_from is None and approval.valid_to is None
    if approval.status == ApprovalStatus.EXPIRED:
        assert approval.valid_to < clock
    if approval.status == ApprovalStatus.APPROVED and expired_through is not None:
        assert approval.valid_to >= expired_through
    if approval.status == ApprovalStatus.REJECTED:
        assert approval.rejection_reason.strip()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([ApprovalKind.TRANSPORT, ApprovalKind.EMISSION]), steps=st.lists(STEP, max_size=10))
def test_random_sequences_never_reach_an_invalid_state(cast, categories, make_project, make_site, make_truck,
                                                      kind, steps):
    reviewer = cast.actor("reg_officer")
    start = dt.date(2026, 6, 1)
    # Everything an example creates is rolled back at its end: examples do not see each other.
    with transaction.atomic():
        trucks = [make_truck(), make_truck(sealed=False), make_truck(terminal=False),
                  make_truck(company=cast.org("transport_other"))]
        site = make_site()
        project = make_project()
        holder_user = "transport_admin" if kind == ApprovalKind.TRANSPORT else "construction_admin"
        holder = cast.org("transport" if kind == ApprovalKind.TRANSPORT else "construction")
        approval = services.approval_apply(actor=cast.actor(holder_user), kind=kind, holder=holder,
                                           project=project if kind == ApprovalKind.EMISSION else None,
                                           today=start)
        clock, expired_through = start, None
        for step in steps:
            name = step[0]
            before = _row(approval.pk)
            audit_rows = AuditEntry.objects.count()
            try:
                if name == "start_review":
                    services.approval_start_review(actor=reviewer, approval=approval)
                elif name == "approve":
                    _, from_offset, to_offset, truck_indexes, with_site = step
                    services.approval_approve(
                        actor=reviewer, approval=approval, categories=[categories["excavated_soil"]],
                        vehicles=[trucks[i] for i in sorted(truck_indexes)],
                        sites=[site] if with_site else [],
                        valid_from=clock + dt.timedelta(days=from_offset),
                        valid_to=clock + dt.timedelta(days=to_offset), today=clock,
                    )
                elif name == "reject":
                    services.approval_reject(actor=reviewer, approval=approval, reason=step[1])
                elif name == "suspend":
                    services.approval_suspend(actor=reviewer, approval=approval, reason=step[1])
                elif name == "reinstate":
                    services.approval_reinstate(actor=reviewer, approval=approval, today=clock)
                elif name == "revoke":
                    services.approval_revoke(actor=reviewer, approval=approval, reason=step[1])
                else:
                    clock += dt.timedelta(days=step[1])
                    run = services.approvals_expire(today=clock)
                    expired_through = clock
                    after = Approval.objects.get(pk=approval.pk)
                    expected = 1 if before["status"] != after.status else 0
                    assert AuditEntry.objects.count() == audit_rows + expected
                    assert len(run.expired) == expected
            except (DomainError, ValidationError):
                assert _row(approval.pk) == before, f"{name} was refused but changed the approval"
                assert AuditEntry.objects.count() == audit_rows
            else:
                after = Approval.objects.get(pk=approval.pk)
                if name != "wait_and_expire":
                    assert before["status"] in TRANSITIONS[name]
                    assert AuditEntry.objects.count() == audit_rows + 1
                elif after.status != before["status"]:
                    assert (before["status"], after.status) == (ApprovalStatus.APPROVED, ApprovalStatus.EXPIRED)
            approval = Approval.objects.get(pk=approval.pk)
            _check_invariants(approval, clock, expired_through)
        transaction.set_rollback(True)
