"""The staff map of stacking points: scoped like the lists, marked by what each point needs,
filtered like the list, one query for any number of points, capped, and 401 for scripts
without a session."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wastetrail.accounts.models import User
from wastetrail.manifests.tests.conftest import _approve
from wastetrail.permits.models import ApprovalKind
from wastetrail.stacking import services
from wastetrail.stacking.models import PointStatus
from wastetrail.stacking.services import COLLECTION_MIN_FILL
from wastetrail.stacking.tests.conftest import IN_PENGJIANG, make_full, point_kwargs

pytestmark = pytest.mark.django_db


def data(client, username: str, **params) -> dict:
    client.force_login(User.objects.get(username=username))
    response = client.get(reverse("stacking-map-data"), params)
    assert response.status_code == 200
    return response.json()


def names(payload: dict) -> set[str]:
    return {point["title"] for point in payload["points"]}


def marks(payload: dict) -> dict[str, str]:
    return {point["title"]: point["mark"] for point in payload["points"]}


def test_the_page_carries_its_config_and_keeps_the_filters(client, cast, stacking):
    client.force_login(User.objects.get(username="property_manager"))
    page = client.get(reverse("stacking-map"), {"status": "full"})
    assert page.status_code == 200 and 'id="stacking-config"' in page.content.decode()
    config = page.context["map_config"]
    assert config["dataUrl"] == reverse("stacking-map-data") + "?status=full"
    assert config["districtsUrl"] == reverse("map-layer", args=["districts"])
    assert [entry["value"] for entry in config["legend"]] == ["full", "collecting", "nearly_full", "open", "closed"]


def test_the_list_links_to_the_same_points_on_the_map(client, cast, stacking):
    client.force_login(User.objects.get(username="property_manager"))
    page = client.get(reverse("stacking-points-list"), {"status": "open", "page": "1"})
    [(label, url)] = page.context["heading_links"]
    assert url == reverse("stacking-map") + "?status=open"  # the same filter, not the page number
    assert f'href="{url}"' in page.content.decode()


def test_each_user_sees_the_points_the_lists_show_them(client, cast, stacking):
    everything = {stacking.point.name, stacking.bare_point.name, stacking.other_point.name}
    assert names(data(client, "reg_officer")) == everything
    assert names(data(client, "housing_officer")) == {stacking.point.name, stacking.other_point.name}
    assert names(data(client, "property_manager")) == {stacking.point.name}
    assert names(data(client, "other_pm")) == {stacking.other_point.name}
    assert names(data(client, "street_officer")) == {stacking.point.name, stacking.bare_point.name}
    assert names(data(client, "district_officer")) == {stacking.point.name, stacking.bare_point.name}
    assert names(data(client, "construction_admin")) == set()


def test_marks_say_what_each_point_needs(client, cast, stacking, carrier_approval):
    manager = cast.actor("property_manager")
    nearly = services.point_create(actor=manager, **point_kwargs(stacking.area, name="快满堆放点"))
    services.fill_report_create(actor=manager, point=nearly, fill_percent=COLLECTION_MIN_FILL)
    coming = make_full(cast, services.point_create(actor=manager, **point_kwargs(stacking.area, name="待清运堆放点")))
    services.collection_request_create(actor=manager, point=coming, carrier=cast.org("transport"))
    closed = services.point_create(actor=manager, **point_kwargs(stacking.area, name="已关闭堆放点"))
    services.point_set_status(actor=manager, point=closed, status=PointStatus.CLOSED, reason="装修施工")
    make_full(cast, stacking.point)
    below = services.point_create(actor=manager, **point_kwargs(stacking.area, name="半满堆放点"))
    services.fill_report_create(actor=manager, point=below, fill_percent=COLLECTION_MIN_FILL - 1)

    payload = data(client, "property_manager")
    assert marks(payload) == {stacking.point.name: "full", coming.name: "collecting", nearly.name: "nearly_full",
                              below.name: "open", closed.name: "closed"}
    assert [p["title"] for p in payload["points"]][:2] == sorted([stacking.point.name, coming.name])  # fullest first
    first = payload["points"][0]
    assert first["url"] == reverse("stacking-points-detail", args=[first["id"]])
    assert abs(first["lon"] - IN_PENGJIANG[0]) < 1e-6 and first["fill"] == "100 %"
    assert first["hours"] == "07:00–20:00" and first["area"] == stacking.area.name


def test_a_carrier_learns_nothing_of_another_carriers_collection(client, cast, stacking, carrier_approval,
                                                                 make_truck):
    other_truck = make_truck(company=cast.org("transport_other"))
    _approve(cast, ApprovalKind.TRANSPORT, "transport_other_admin", cast.org("transport_other"),
             categories=[carrier_approval[0].categories.get()], vehicles=[other_truck])
    manager = cast.actor("property_manager")
    point = make_full(cast, stacking.point)
    first = services.collection_request_create(actor=manager, point=point, carrier=cast.org("transport"))
    services.collection_cancel(actor=manager, collection=first, reason="改派")
    services.collection_request_create(actor=manager, point=point, carrier=cast.org("transport_other"))
    # The first carrier still sees the point it was once asked to collect from, as a full point.
    assert marks(data(client, "transport_admin")) == {point.name: "full"}
    assert marks(data(client, "transport_other_admin")) == {point.name: "collecting"}
    assert marks(data(client, "property_manager")) == {point.name: "collecting"}


def test_the_list_filters_apply(client, cast, stacking):
    make_full(cast, stacking.point)
    assert names(data(client, "reg_officer", status="full")) == {stacking.point.name}
    assert names(data(client, "reg_officer", district="440705")) == {stacking.other_point.name}
    assert names(data(client, "reg_officer", q="三巷")) == {stacking.bare_point.name}
    # A filter that does not validate is ignored, as on the list page: nothing breaks.
    assert len(data(client, "reg_officer", district="bogus")["points"]) == 3


def test_the_data_costs_the_same_queries_for_few_and_many_points(client, cast, stacking):
    data(client, "property_manager")  # warm up the session
    with CaptureQueriesContext(connection) as few:
        data(client, "property_manager")
    manager = cast.actor("property_manager")
    for number in range(8):
        services.point_create(actor=manager, **point_kwargs(stacking.area, name=f"{number}号点"))
    with CaptureQueriesContext(connection) as many:
        assert len(data(client, "property_manager")["points"]) == 9
    assert len(many) == len(few)


def test_the_data_is_capped(client, cast, stacking, monkeypatch):
    from wastetrail.stacking import map_views

    monkeypatch.setattr(map_views, "MAP_LIMIT", 2)
    payload = data(client, "reg_officer")
    assert len(payload["points"]) == 2 and payload["truncated"] is True and payload["limit"] == 2


def test_scripts_without_a_session_are_asked_to_log_in(client):
    assert client.get(reverse("stacking-map-data")).status_code == 401
    assert client.get(reverse("stacking-map")).status_code == 302
