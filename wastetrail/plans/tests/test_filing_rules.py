"""What a draft must satisfy to be filed; each refusal names the field and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from wastetrail.core.audit.models import AuditEntry
from wastetrail.plans import services
from wastetrail.plans.models import HandlingPlan, PlanStatus
from wastetrail.registry import services as registry_services

pytestmark = pytest.mark.django_db


def refusal(cast, plan) -> dict[str, list[str]]:
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.plan_file(actor=cast.actor("construction_admin"), plan=plan)
    assert HandlingPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    assert AuditEntry.objects.count() == audit_rows
    return refused.value.message_dict


def test_a_plan_without_quantities_cannot_be_filed(cast, make_draft):
    assert "at least one" in refusal(cast, make_draft(quantities=[], streams=[]))["quantities"][0]


@pytest.mark.parametrize("field", ["contact_name", "contact_phone", "reduction_measures",
                                   "pollution_control_measures", "reuse_rate_target"])
def test_each_part_the_regulation_asks_for_is_required_to_file(cast, make_draft, field):
    errors = refusal(cast, make_draft(**{field: None if field == "reuse_rate_target" else ""}))
    assert list(errors) == [field]


def test_the_site_must_accept_the_streams_category(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(
        quantities=[{"category": "slurry", "quantity_m3": 100}],
        streams=[stream_row(category="slurry", quantity_m3=50)]))
    assert "does not accept Slurry" in errors["streams"][0]


def test_the_site_must_be_open(cast, make_draft, site):
    plan = make_draft()
    registry_services.site_update(actor=cast.actor("reg_admin"), site=site, status="stopped_accepting")
    assert "not open" in refusal(cast, plan)["streams"][0]


def test_the_carrier_must_be_a_transport_company(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(streams=[stream_row(carrier=cast.org("site_operator"))]))
    assert "not a transport company" in errors["streams"][0]


def test_the_transport_period_must_end_after_it_starts(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(streams=[stream_row(valid_from=dt.date(2026, 5, 1),
                                                          valid_to=dt.date(2026, 4, 30))]))
    assert "ends before it starts" in errors["streams"][0]


def test_the_daily_window_cannot_be_empty(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(streams=[stream_row(daily_start=dt.time(8), daily_end=dt.time(8))]))
    assert "ends when it starts" in errors["streams"][0]


def test_streams_cannot_carry_more_than_the_plan_quantity(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(streams=[stream_row(quantity_m3=6000), stream_row(quantity_m3=4001)]))
    assert "10001.00 m³" in errors["streams"][0] and "10000.00 m³" in errors["streams"][0]


def test_a_stream_of_an_unplanned_category_cannot_be_filed(cast, make_draft, stream_row):
    errors = refusal(cast, make_draft(
        quantities=[{"category": "excavated_soil", "quantity_m3": 100}],
        streams=[stream_row(category="construction_waste", quantity_m3=10)]))
    assert "more than the 0 m³ planned" in errors["streams"][0]


def test_streams_up_to_the_plan_quantity_and_an_overnight_window_are_filed(cast, make_draft, stream_row):
    plan = make_draft(streams=[stream_row(quantity_m3=6000), stream_row(quantity_m3=4000)])
    assert services.plan_file(actor=cast.actor("construction_admin"), plan=plan).status == PlanStatus.FILED


def test_bad_stream_input_names_the_row_and_writes_nothing(cast, project, plan_parts, stream_row):
    with pytest.raises(ValidationError) as refused:
        services.plan_draft_create(actor=cast.actor("construction_admin"), project=project,
                                   **plan_parts(streams=[stream_row(), stream_row(transport_mode="teleport")]))
    assert refused.value.message_dict["streams"][0].startswith("Stream 2, transport mode:")
    assert not HandlingPlan.objects.exists()


@pytest.mark.parametrize(("rows", "message"), [
    ([{"category": "gravel", "quantity_m3": 1}], "Unknown waste category"),
    ([{"category": "slurry", "quantity_m3": -1}], "cannot be negative"),
    ([{"category": "slurry", "quantity_m3": 1}, {"category": "slurry", "quantity_t": 2}], "listed twice"),
])
def test_bad_quantities_are_refused(cast, project, rows, message):
    with pytest.raises(ValidationError) as refused:
        services.plan_draft_create(actor=cast.actor("construction_admin"), project=project, quantities=rows)
    assert message in refused.value.message_dict["quantities"][0]
    assert not HandlingPlan.objects.exists()


def test_a_reuse_target_over_100_percent_is_refused(cast, project):
    with pytest.raises(ValidationError) as refused:
        services.plan_draft_create(actor=cast.actor("construction_admin"), project=project,
                                   reuse_rate_target=Decimal("100.5"))
    assert "reuse_rate_target" in refused.value.message_dict
