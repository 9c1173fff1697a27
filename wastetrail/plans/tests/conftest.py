"""Plan fixtures: a project of the cast's construction unit, an open site, and the parts of a
plan that can be filed. Builders go through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wastetrail.plans import services
from wastetrail.registry.tests.conftest import categories, make_project, make_site, token_for  # noqa: F401


@pytest.fixture
def project(make_project):  # noqa: F811 - the imported fixture
    return make_project()


@pytest.fixture
def site(make_site):  # noqa: F811 - the imported fixture
    return make_site()


@pytest.fixture
def stream_row(cast, site):
    def make(**overrides) -> dict:
        return {
            "category": "excavated_soil", "quantity_m3": Decimal("8000"), "carrier": cast.org("transport"),
            "site": site, "daily_start": dt.time(22, 0), "daily_end": dt.time(6, 0),
            "valid_from": dt.date(2026, 3, 1), "valid_to": dt.date(2026, 12, 31),
            "transport_mode": "sealed_truck", "route": "滨江大道—江门大道—龙湾路",
        } | overrides

    return make


@pytest.fixture
def plan_parts(stream_row):
    """Everything a draft needs to be filed."""
    def make(**overrides) -> dict:
        return {
            "contact_name": "吴施工", "contact_phone": "13807500001",
            "reduction_measures": "土方就地平衡，分类堆放，回填利用。",
            "pollution_control_measures": "围挡、喷淋、车辆冲洗。",
            "reuse_rate_target": Decimal("60"), "other_matters": "",
            "quantities": [{"category": "excavated_soil", "quantity_m3": Decimal("10000")}],
            "streams": [stream_row()],
        } | overrides

    return make


@pytest.fixture
def make_draft(cast, project, plan_parts):
    def make(*, actor=None, of=None, **overrides):
        return services.plan_draft_create(actor=actor or cast.actor("construction_admin"),
                                          project=of or project, **plan_parts(**overrides))

    return make


@pytest.fixture
def filed_plan(cast, make_draft):
    def make(**overrides):
        return services.plan_file(actor=cast.actor("construction_admin"), plan=make_draft(**overrides))

    return make
