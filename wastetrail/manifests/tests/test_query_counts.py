"""The manifests API's lists cost a constant number of queries, whatever the number of manifests,
the page size or the signatures each manifest carries (issue 3: "API lists run a constant
number of queries whatever the page size")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.registry.tests.conftest import token_for  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
BASE = "/api/manifests"
# One of each party that sees manifests: the regulator, the emitter, the carrier, the driver
# (visible through his driver record), the receiving site.
READERS = ["reg_officer", "construction_staff", "transport_admin", "driver", "site_operator"]


@pytest.fixture
def lifecycle(cast, now, issue):
    """Issue a manifest for the load and take it through every step to closed (three
    signatures), as each party; several per truck, one after the other."""

    def make(load) -> Manifest:
        manifest = issue(load)
        manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=manifest,
                                            now=now + dt.timedelta(minutes=10))
        site = cast.actor("site_operator")
        manifest = services.manifest_arrive(actor=site, manifest=manifest, now=now + dt.timedelta(hours=1))
        manifest = services.manifest_receive(actor=site, manifest=manifest, outcome=ManifestStatus.ACCEPTED,
                                             volume_m3="12", now=now + dt.timedelta(hours=1, minutes=5))
        return services.manifest_close(actor=site, manifest=manifest, now=now + dt.timedelta(hours=1, minutes=6))

    return make


@pytest.fixture
def redirected(cast, now, arrived):
    """A partially refused load and its redirect to the load's second site: a manifest with a
    parent, and one whose receipt and refusal are filled."""

    def make(load) -> Manifest:
        manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                             outcome=ManifestStatus.PARTIALLY_REFUSED, volume_m3="12",
                                             refused_quantity="3", reason="混有生活垃圾",
                                             now=now + dt.timedelta(hours=1, minutes=5))
        return services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest,
                                          site=load.sites[1], now=now + dt.timedelta(hours=2))

    return make


def counted(client, url: str, auth: dict) -> tuple[dict, int]:
    client.get(url, **auth)  # the token's first use is recorded; count a steady request
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **auth)
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


@pytest.mark.parametrize("username", READERS)
def test_the_list_runs_the_same_queries_for_one_manifest_and_for_twenty(client, cast, make_ready_load, issue,
                                                                        lifecycle, redirected, token_for,  # noqa: F811
                                                                        username):
    auth = token_for(username)
    load = make_ready_load(extra_sites=1)
    first = issue(load)
    body, one = counted(client, BASE, auth)
    assert body["count"] == 1

    # Cancelled (which frees the truck), then seventeen closed loads and a redirected one.
    services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=first, reason="换车")
    for _ in range(17):
        lifecycle(load)
    redirected(load)  # two more: the partially refused load and its redirect
    body, twenty = counted(client, BASE, auth)
    assert body["count"] == 20 and len(body["items"]) == 20
    assert sum(len(m["signatures"]) for m in body["items"]) == 1 + 17 * 3 + 3 + 1
    assert any(m["parent_number"] for m in body["items"])
    assert twenty == one


@pytest.mark.parametrize("username", ["reg_officer", "site_operator"])
def test_a_page_of_five_and_a_page_of_fifty_run_the_same_queries(client, make_ready_load, lifecycle, redirected,
                                                                 token_for, username):  # noqa: F811
    auth = token_for(username)
    load = make_ready_load(extra_sites=1)
    for _ in range(19):
        lifecycle(load)
    redirected(load)
    small, five = counted(client, f"{BASE}?limit=5", auth)
    large, fifty = counted(client, f"{BASE}?limit=50", auth)
    assert (small["count"], len(small["items"])) == (21, 5)
    assert (large["count"], len(large["items"])) == (21, 21)
    assert fifty == five
    # A later page costs the same as the first.
    last, offset = counted(client, f"{BASE}?limit=5&offset=15", auth)
    assert len(last["items"]) == 5 and offset == five


@pytest.mark.parametrize("username", ["reg_officer", "driver"])
def test_the_signatures_cost_the_same_queries_for_one_signature_and_for_three(client, make_ready_load, issue,
                                                                              lifecycle, token_for,  # noqa: F811
                                                                              username):
    auth = token_for(username)
    load = make_ready_load()
    closed = lifecycle(load)
    issued = issue(load)
    signed_once, one = counted(client, f"{BASE}/{issued.pk}/signatures", auth)
    signed_thrice, three = counted(client, f"{BASE}/{closed.pk}/signatures", auth)
    assert [s["step"] for s in signed_once] == ["emitter"]
    assert [s["step"] for s in signed_thrice] == ["emitter", "transporter", "receiver"]
    assert three == one


def test_a_manifest_read_costs_the_same_queries_for_one_signature_and_for_three(client, make_ready_load, lifecycle,
                                                                                redirected, token_for):  # noqa: F811
    auth = token_for("reg_officer")
    load = make_ready_load(extra_sites=1)
    closed = lifecycle(load)
    child = redirected(load)
    _, closed_cost = counted(client, f"{BASE}/{closed.pk}", auth)
    body, child_cost = counted(client, f"{BASE}/{child.pk}", auth)
    assert body["parent_number"] and len(body["signatures"]) == 1
    _, by_number = counted(client, f"{BASE}/by-number/{closed.number}", auth)
    assert closed_cost == child_cost == by_number
