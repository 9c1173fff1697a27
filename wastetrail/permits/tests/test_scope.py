"""The approved scope: GD 大气条例 Art. 56 (sealed and tracked trucks only), the holder's own
vehicles, validity dates, categories a disposal site accepts; and the valid_approval helper."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.permits import services
from wastetrail.permits.models import Approval, ApprovalKind, ApprovalStatus
from wastetrail.permits.selectors import valid_approval

pytestmark = pytest.mark.django_db


def approve(cast, approval, **scope):
    return services.approval_approve(actor=cast.actor("reg_officer"), approval=approval, **scope)


def assert_unchanged(approval, audit_rows):
    stored = Approval.objects.get(pk=approval.pk)
    assert stored.status == ApprovalStatus.UNDER_REVIEW and stored.valid_from is None
    assert not stored.vehicles.exists() and not stored.categories.exists()
    assert AuditEntry.objects.count() == audit_rows


@pytest.fixture
def transport_review(make_approval):
    return make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.UNDER_REVIEW)


def test_a_truck_without_sealed_body_or_terminal_is_refused_by_plate(cast, transport_review, make_truck,
                                                                    categories, today):
    fit = make_truck()
    unsealed = make_truck(sealed=False)
    untracked = make_truck(terminal=False)
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["excavated_soil"]],
                vehicles=[fit, unsealed, untracked], valid_from=today, valid_to=today)
    messages = exc.value.message_dict["vehicles"]
    assert any("sealed" in m and unsealed.plate in m and untracked.plate not in m for m in messages)
    assert any("terminal" in m and untracked.plate in m and unsealed.plate not in m for m in messages)
    assert not any(fit.plate in m for m in messages)
    assert_unchanged(transport_review, audit_rows)
    granted = approve(cast, transport_review, categories=[categories["excavated_soil"]], vehicles=[fit],
                      valid_from=today, valid_to=today)
    assert list(granted.vehicles.all()) == [fit]


def test_the_flags_are_read_when_approving_not_when_the_vehicle_was_loaded(cast, transport_review, make_truck,
                                                                          categories, today):
    truck = make_truck()
    truck.terminal.delete()  # unbound since the page was opened
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["slurry"]], vehicles=[truck],
                valid_from=today, valid_to=today)
    assert truck.plate in exc.value.message_dict["vehicles"][0]


def test_vehicles_of_another_company_are_refused(cast, transport_review, make_truck, categories, today):
    foreign = make_truck(company=cast.org("transport_other"))
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["slurry"]], vehicles=[foreign],
                valid_from=today, valid_to=today)
    assert foreign.plate in exc.value.message_dict["vehicles"][0]
    assert "holder" in exc.value.message_dict["vehicles"][0]
    assert_unchanged(transport_review, audit_rows)


def test_a_transport_approval_covers_at_least_one_vehicle(cast, transport_review, categories, today):
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["slurry"]], valid_from=today, valid_to=today)
    assert "vehicles" in exc.value.message_dict


def test_only_transport_approvals_cover_vehicles(cast, make_approval, make_truck, make_site, categories, today):
    approval = make_approval(ApprovalKind.EMISSION, ApprovalStatus.UNDER_REVIEW)
    with pytest.raises(ValidationError) as exc:
        approve(cast, approval, categories=[categories["slurry"]], vehicles=[make_truck()], sites=[make_site()],
                valid_from=today, valid_to=today)
    assert "vehicles" in exc.value.message_dict


@pytest.mark.parametrize(("valid_from", "valid_to", "field"), [
    (10, 9, "valid_to"), (-10, -1, "valid_to"), (None, 5, "valid_from"), (0, None, "valid_to"),
])
def test_the_validity_period_is_checked(cast, transport_review, make_truck, categories, today,
                                        valid_from, valid_to, field):
    def day(offset):
        return None if offset is None else today + dt.timedelta(days=offset)

    truck = make_truck()
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["slurry"]], vehicles=[truck],
                valid_from=day(valid_from), valid_to=day(valid_to))
    assert field in exc.value.message_dict
    assert_unchanged(transport_review, audit_rows)


def test_categories_are_required_and_the_cap_must_be_positive(cast, transport_review, make_truck, categories, today):
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[], vehicles=[make_truck()], valid_from=today, valid_to=today)
    assert "categories" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        approve(cast, transport_review, categories=[categories["slurry"]], vehicles=[make_truck()],
                quantity_cap_m3="0", valid_from=today, valid_to=today)
    assert "quantity_cap_m3" in exc.value.message_dict


def test_an_emission_approval_names_where_the_waste_may_go(cast, make_approval, categories, today):
    approval = make_approval(ApprovalKind.EMISSION, ApprovalStatus.UNDER_REVIEW)
    with pytest.raises(ValidationError) as exc:
        approve(cast, approval, categories=[categories["slurry"]], valid_from=today, valid_to=today)
    assert "sites" in exc.value.message_dict


def test_a_disposal_approval_covers_its_own_site_and_only_what_it_accepts(cast, make_approval, make_site,
                                                                         categories, today):
    approval = make_approval(ApprovalKind.DISPOSAL, ApprovalStatus.UNDER_REVIEW)
    with pytest.raises(ValidationError) as exc:  # the site accepts soil and construction waste
        approve(cast, approval, categories=[categories["slurry"]], valid_from=today, valid_to=today)
    assert "categories" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        approve(cast, approval, categories=[categories["excavated_soil"]], sites=[make_site()],
                valid_from=today, valid_to=today)
    assert "sites" in exc.value.message_dict
    granted = approve(cast, approval, categories=[categories["excavated_soil"]], valid_from=today, valid_to=today)
    assert list(granted.sites.all()) == [approval.site]


# --- valid_approval -------------------------------------------------------------------------
def test_valid_approval_finds_the_transport_approval_covering_a_truck(cast, make_approval, make_truck,
                                                                    categories, today):
    truck = make_truck()
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, vehicles=[truck], valid_days=30)
    holder = cast.org("transport")
    assert valid_approval("transport", holder, today, vehicle=truck, category=categories["excavated_soil"]) == approval
    assert valid_approval("transport", holder.pk, today + dt.timedelta(days=30), vehicle=truck) == approval
    # Outside the validity, another truck, another category, another holder, another kind: none.
    assert valid_approval("transport", holder, today + dt.timedelta(days=31), vehicle=truck) is None
    assert valid_approval("transport", holder, today - dt.timedelta(days=1)) is None
    assert valid_approval("transport", holder, today, vehicle=make_truck()) is None
    assert valid_approval("transport", holder, today, category=categories["slurry"]) is None
    assert valid_approval("transport", cast.org("transport_other"), today) is None
    assert valid_approval("emission", holder, today) is None


def test_a_transport_approval_naming_no_site_covers_every_site(cast, make_approval, make_site, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED)
    assert valid_approval("transport", cast.org("transport"), today, site=make_site()) == approval


def test_valid_approval_matches_the_project_and_the_sites_of_an_emission_approval(cast, make_approval,
                                                                                 make_site, today):
    approval = make_approval(ApprovalKind.EMISSION, ApprovalStatus.APPROVED)
    holder = cast.org("construction")
    [site] = approval.sites.all()
    assert valid_approval("emission", holder, today, project=approval.project, site=site) == approval
    assert valid_approval("emission", holder, today, site=make_site()) is None
    other = make_approval(ApprovalKind.EMISSION, ApprovalStatus.UNDER_REVIEW)
    assert valid_approval("emission", holder, today, project=other.project) is None


def test_valid_approval_matches_a_disposal_site(cast, make_approval, make_site, categories, today):
    approval = make_approval(ApprovalKind.DISPOSAL, ApprovalStatus.APPROVED)
    holder = cast.org("site_operator")
    soil = categories["excavated_soil"]
    assert valid_approval("disposal", holder, today, site=approval.site, category=soil) == approval
    assert valid_approval("disposal", holder, today, site=make_site()) is None


@pytest.mark.parametrize("status", [ApprovalStatus.SUSPENDED, ApprovalStatus.REVOKED, ApprovalStatus.UNDER_REVIEW,
                                    ApprovalStatus.REJECTED])
def test_an_approval_not_in_force_is_never_valid(cast, make_approval, today, status):
    make_approval(ApprovalKind.TRANSPORT, status)
    assert valid_approval("transport", cast.org("transport"), today) is None


def test_an_approval_past_its_validity_is_not_valid_even_before_the_daily_job(cast, make_approval, today):
    approval = make_approval(ApprovalKind.TRANSPORT, ApprovalStatus.APPROVED, valid_days=0)
    assert valid_approval("transport", cast.org("transport"), today) == approval
    assert valid_approval("transport", cast.org("transport"), today + dt.timedelta(days=1)) is None
