"""The demo scenario: reproducible from its seed, complete, and built through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from wastetrail.accounts.models import Organisation, OrganisationKind, User
from wastetrail.core.audit.services import audit_verify
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.manifests.models import Manifest
from wastetrail.registry.models import Driver, Project, ReceivingSite, Vehicle
from wastetrail.scenario.build import DEMO_PASSWORD, build_scenario

pytestmark = pytest.mark.django_db

# The demo's loads lead up to "now"; tests fix it so that two builds can be compared. An
# afternoon: day-window plan streams can have trucks on the road.
NOW = timezone.make_aware(dt.datetime.combine(timezone.localdate() - dt.timedelta(days=1), dt.time(15, 20)))


class _Rollback(Exception):
    pass


def _city() -> tuple:
    return (
        tuple(Organisation.objects.order_by("uscc").values_list("name", "uscc", "kind")),
        tuple(Project.objects.order_by("code").values_list("name", "code", "lon_e6", "lat_e6", "district")),
        tuple(ReceivingSite.objects.order_by("name").values_list("name", "kind", "boundary")),
        tuple(Vehicle.objects.order_by("plate").values_list("plate", "vin", "company__name")),
        tuple(Driver.objects.order_by("id_number").values_list("name", "id_number", "phone")),
    )


def _loads() -> tuple:
    return tuple(Manifest.objects.order_by("number").values_list(
        "number", "status", "vehicle__plate", "site__name", "parent__number", "estimated_m3", "gross_t", "tare_t",
        "received_quantity", "accepted_quantity", "refused_quantity", "refusal_reason", "is_overdue", "issued_at",
        "departed_at", "arrived_at", "received_at", "closed_at", "cancelled_at",
    )) + tuple(ReceivingSite.objects.order_by("name").values_list("name", "used_capacity_m3"))


def _built(seed: int, *, loads: bool = True) -> tuple:
    """Build inside a transaction that is then rolled back, so the next build starts empty."""
    try:
        with transaction.atomic():
            build_scenario(seed=seed, now=NOW, loads=loads)
            fingerprint = (_city(), _loads())
            raise _Rollback
    except _Rollback:
        return fingerprint


def test_the_same_seed_builds_the_same_city_and_loads_and_another_seed_another_city():
    first = _built(2024)
    assert len(first[1]) > 300
    assert first == _built(2024)
    assert first[0] != _built(7, loads=False)[0]


def test_the_scenario_has_every_party_and_the_promised_sizes():
    scenario = build_scenario(seed=2024, loads=False)
    assert scenario.counts["projects"] == 40
    assert scenario.counts["receiving_sites"] == 12
    assert scenario.counts["transport_companies"] == 8
    assert scenario.counts["vehicles"] == 150 and scenario.counts["drivers"] == 150
    assert set(Project.objects.values_list("district", flat=True)) == set(DISTRICT_NAMES)
    assert set(ReceivingSite.objects.values_list("district", flat=True)) == set(DISTRICT_NAMES)
    assert set(Organisation.objects.values_list("kind", flat=True)) == set(OrganisationKind.values)
    assert Vehicle.objects.filter(company__kind=OrganisationKind.TRANSPORT_COMPANY).count() == 150
    assert audit_verify()[1] is None


def test_the_scenario_has_paperwork_in_several_states():
    from wastetrail.permits.models import Approval
    from wastetrail.plans.models import HandlingPlan

    scenario = build_scenario(seed=2024, loads=False)
    statuses = set(Approval.objects.values_list("status", flat=True))
    assert {"approved", "applied", "under_review", "suspended"} <= statuses
    assert set(Approval.objects.values_list("kind", flat=True)) == {"emission", "transport", "disposal"}
    assert HandlingPlan.objects.filter(status="filed").count() == scenario.counts["plans_filed"] > 10
    assert HandlingPlan.objects.filter(status="draft").count() == scenario.counts["plans_draft"] > 0
    # Approved transport approvals only ever cover sealed trucks with a terminal (GD 大气条例 Art. 56).
    for approval in Approval.objects.filter(kind="transport", status="approved"):
        assert all(v.sealed_body_certified and hasattr(v, "terminal") for v in approval.vehicles.all())


def test_every_printed_login_works(client):
    scenario = build_scenario(seed=2024, loads=False)
    roles = {login.role for login in scenario.logins}
    assert len(scenario.logins) >= 10 and len(roles) == 3
    for login in scenario.logins:
        assert User.objects.get(username=login.username).check_password(DEMO_PASSWORD)
    assert client.login(username="driver1", password=DEMO_PASSWORD)


def test_demo_command_if_empty_leaves_existing_data_alone(capsys):
    build_scenario(seed=3, loads=False)  # the command itself is run in test_demo_loads
    count = Project.objects.count()
    call_command("demo", "--if-empty")
    assert Project.objects.count() == count
    assert "already has data" in capsys.readouterr().out
    with pytest.raises(CommandError, match="needs an empty one"):
        call_command("demo")
