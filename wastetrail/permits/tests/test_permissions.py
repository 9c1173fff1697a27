"""Who sees and who decides: holders their own, regulators all (districts theirs); holders
cannot decide; outsiders get nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.permits import selectors, services
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.registry.tests.conftest import XINHUI

pytestmark = pytest.mark.django_db


def visible(cast, username):
    return set(selectors.approval_list(actor=cast.actor(username)).values_list("pk", flat=True))


def test_holders_see_their_own_and_regulators_see_all(cast, make_approval):
    emission = make_approval(ApprovalKind.EMISSION)
    transport = make_approval(ApprovalKind.TRANSPORT)
    disposal = make_approval(ApprovalKind.DISPOSAL)
    assert visible(cast, "construction_staff") == {emission.pk}
    assert visible(cast, "driver") == {transport.pk}
    assert visible(cast, "site_operator") == {disposal.pk}
    assert visible(cast, "reg_officer") == {emission.pk, transport.pk, disposal.pk}
    assert visible(cast, "outsider") == set() and visible(cast, "transport_other_admin") == set()
    with pytest.raises(NotFound):
        selectors.approval_get(actor=cast.actor("transport_other_admin"), pk=transport.pk)


def test_a_district_regulator_sees_what_lies_or_is_registered_in_its_district(cast, make_approval, make_project):
    in_pengjiang = make_approval(ApprovalKind.EMISSION)  # the project lies in 蓬江区
    xinhui_project = make_project(at=XINHUI)
    elsewhere = services.approval_apply(actor=cast.actor("construction_admin"), kind="emission",
                                        holder=cast.org("construction"), project=xinhui_project)
    transport = make_approval(ApprovalKind.TRANSPORT)  # holder registered in 江海区
    # The construction unit is registered in 蓬江区, so its Xinhui project's approval is seen too.
    assert visible(cast, "district_officer") == {in_pengjiang.pk, elsewhere.pk}
    assert transport.pk not in visible(cast, "district_officer")
    with pytest.raises(NotFound):
        selectors.approval_get(actor=cast.actor("district_officer"), pk=transport.pk)


def test_only_a_holders_admin_or_staff_may_apply_for_it(cast):
    for username in ("outsider", "driver", "reg_admin", "transport_other_admin"):
        with pytest.raises(PermissionDenied):
            services.approval_apply(actor=cast.actor(username), kind="transport", holder=cast.org("transport"))
    assert not Approval.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("username", ["transport_admin", "construction_admin", "outsider", "driver"])
def test_holders_and_others_cannot_decide(cast, make_approval, username):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPLIED)
    with pytest.raises(PermissionDenied):
        services.approval_start_review(actor=cast.actor(username), approval=approval)
    under_review = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)
    with pytest.raises(PermissionDenied):
        services.approval_reject(actor=cast.actor(username), approval=under_review, reason="x")
    assert Approval.objects.get(pk=under_review.pk).status == ApprovalStatus.UNDER_REVIEW


def test_a_regulator_officer_reviews_and_a_district_officer_only_in_its_district(cast, make_approval):
    emission = make_approval(ApprovalKind.EMISSION)
    transport = make_approval(ApprovalKind.TRANSPORT)
    assert services.approval_start_review(actor=cast.actor("district_officer"), approval=emission).status \
        == ApprovalStatus.UNDER_REVIEW
    with pytest.raises(PermissionDenied):
        services.approval_start_review(actor=cast.actor("district_officer"), approval=transport)
    assert services.approval_start_review(actor=cast.actor("reg_officer"), approval=transport).status \
        == ApprovalStatus.UNDER_REVIEW


def test_the_review_queue_is_for_regulators_and_ordered_by_deadline(cast, make_approval):
    first = make_approval(ApprovalKind.TRANSPORT)
    second = make_approval(ApprovalKind.DISPOSAL, ApprovalStatus.UNDER_REVIEW)
    make_approval(ApprovalKind.EMISSION, ApprovalStatus.APPROVED)
    Approval.objects.filter(pk=second.pk).update(review_due=first.review_due.replace(year=first.review_due.year - 1))
    queue = list(selectors.review_queue(actor=cast.actor("reg_officer")))
    assert [a.pk for a in queue] == [second.pk, first.pk]
    with pytest.raises(PermissionDenied):
        selectors.review_queue(actor=cast.actor("transport_admin"))
