"""docs/examples/stacking-*.md run as tests, with the runner of the manifest examples
(wastetrail/manifests/tests/test_worked_examples.py) and a world of their own."""

from __future__ import annotations

from typing import Any

import pytest

from wastetrail.accounts import services as account_services
from wastetrail.manifests.tests.test_worked_examples import EXAMPLES, run

pytestmark = pytest.mark.django_db
STACKING_EXAMPLES = sorted(EXAMPLES.glob("stacking-*.md"))


@pytest.fixture
def world(cast, stacking, carrier_approval, decoration_site, make_driver) -> dict[str, Any]:
    _approval, truck = carrier_approval
    driver = make_driver(user=cast.user("driver"))

    def token(username: str) -> str:
        return account_services.api_token_create(actor=cast.actor(username), name="worked example")[1]

    return {
        "manager_token": token("property_manager"), "other_manager_token": token("other_pm"),
        "carrier_token": token("transport_admin"), "driver_token": token("driver"),
        "site_token": token("site_operator"), "point_id": stacking.point.pk, "point_code": stacking.point.code,
        "carrier_id": cast.org("transport").pk, "vehicle_id": truck.pk, "driver_id": driver.pk,
        "decoration_site_id": decoration_site.pk,
    }


def test_there_is_a_stacking_example():
    assert [p.name for p in STACKING_EXAMPLES] == ["stacking-collection.md"]


@pytest.mark.parametrize("path", STACKING_EXAMPLES, ids=lambda p: p.name)
def test_stacking_worked_example(path, client, world):
    run(path, client, dict(world))
