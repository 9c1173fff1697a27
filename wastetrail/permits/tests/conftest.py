"""Approval fixtures: the registry's builders, trucks fit for Art. 56, and approvals brought to
any state through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from wastetrail.permits import services
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.registry import services as registry_services
from wastetrail.registry.tests import conftest as registry_fixtures

# The registry's fixtures, shared (pytest finds fixtures by name in this module).
categories = registry_fixtures.categories
make_project = registry_fixtures.make_project
make_site = registry_fixtures.make_site
make_vehicle = registry_fixtures.make_vehicle
token_for = registry_fixtures.token_for


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def make_truck(cast, make_vehicle):
    """A vehicle fit for a transport approval (sealed, terminal bound), or not, as asked."""
    serial = iter(range(1, 10_000))

    def make(*, company=None, sealed: bool = True, terminal: bool = True, **overrides):
        company = company or cast.org("transport")
        fields = {} if sealed else {"sealed_body_certified": False, "sealed_body_certificate_no": ""}
        vehicle = make_vehicle(company=company, **fields, **overrides)
        if terminal:
            n = next(serial)
            registry_services.terminal_create(
                actor=cast.actor("reg_admin"), company=company, phone=f"1450000{n:04d}",
                terminal_id=f"P{n:06d}", vehicle=vehicle,
            )
        return vehicle

    return make


HOLDER_USER = {
    ApprovalKind.EMISSION: "construction_admin",
    ApprovalKind.TRANSPORT: "transport_admin",
    ApprovalKind.DISPOSAL: "site_operator",
}
HOLDER_ORG = {
    ApprovalKind.EMISSION: "construction",
    ApprovalKind.TRANSPORT: "transport",
    ApprovalKind.DISPOSAL: "site_operator",
}


@pytest.fixture
def make_approval(cast, categories, make_project, make_site, make_truck, today):
    """An approval of ``kind`` brought to ``status`` through the services."""

    def make(kind: str = ApprovalKind.EMISSION, status: str = ApprovalStatus.APPLIED, *,
             valid_days: int = 180, **scope) -> Approval:
        holder = cast.org(HOLDER_ORG[kind])
        subject = {}
        if kind == ApprovalKind.EMISSION:
            subject["project"] = make_project()
        elif kind == ApprovalKind.DISPOSAL:
            subject["site"] = make_site()
        approval = services.approval_apply(actor=cast.actor(HOLDER_USER[kind]), kind=kind, holder=holder,
                                           **subject)
        if status == ApprovalStatus.APPLIED:
            return approval
        reviewer = cast.actor("reg_officer")
        approval = services.approval_start_review(actor=reviewer, approval=approval)
        if status == ApprovalStatus.UNDER_REVIEW:
            return approval
        if status == ApprovalStatus.REJECTED:
            return services.approval_reject(actor=reviewer, approval=approval, reason="材料不全")
        approval = services.approval_approve(actor=reviewer, approval=approval,
                                             **(approve_scope(kind, cast, categories, make_site, make_truck,
                                                              today, valid_days) | scope))
        if status == ApprovalStatus.APPROVED:
            return approval
        if status == ApprovalStatus.SUSPENDED:
            return services.approval_suspend(actor=reviewer, approval=approval, reason="超范围运输")
        if status == ApprovalStatus.REVOKED:
            return services.approval_revoke(actor=reviewer, approval=approval, reason="转让核准文件")
        raise ValueError(status)

    return make


def approve_scope(kind, cast, categories, make_site, make_truck, today, valid_days=180) -> dict:
    scope = {"categories": [categories["excavated_soil"]], "valid_from": today,
             "valid_to": today + dt.timedelta(days=valid_days)}
    if kind == ApprovalKind.TRANSPORT:
        scope["vehicles"] = [make_truck()]
    if kind == ApprovalKind.EMISSION:
        scope["sites"] = [make_site()]
    return scope
