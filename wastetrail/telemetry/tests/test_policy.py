"""Who sees which truck, track and terminal (telemetry.policy), read through the selectors as every
page and API operation does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from wastetrail.accounts.policy import actor_for
from wastetrail.core.errors import NotFound
from wastetrail.manifests import services as manifest_services
from wastetrail.manifests.models import ManifestStatus
from wastetrail.telemetry import policy, selectors
from wastetrail.telemetry.tests.test_pages_support import (  # noqa: F401 - fixtures
    categories,
    departed,
    driver_with_login,
    fleets,
    issue,
    make_driver,
    make_project,
    make_ready_load,
    make_site,
    make_truck,
    make_vehicle,
    now,
    seed_live,
    seed_positions,
)

pytestmark = pytest.mark.django_db


def visible(actor) -> set[int]:
    return {truck.id for truck in selectors.live_trucks(actor=actor).trucks}


def test_regulators_city_and_district_see_every_truck(cast, fleets):  # noqa: F811
    fleet = fleets()
    everything = {v.pk for v in fleet.mine + fleet.theirs}
    assert visible(cast.actor("reg_officer")) == everything
    assert visible(cast.actor("district_officer")) == everything


def test_a_transport_company_sees_its_own_fleet_and_not_another_companys(cast, fleets):  # noqa: F811
    fleet = fleets()
    assert visible(cast.actor("transport_admin")) == {v.pk for v in fleet.mine}
    assert visible(cast.actor("transport_other_admin")) == {v.pk for v in fleet.theirs}
    with pytest.raises(NotFound):
        selectors.vehicle_live(actor=cast.actor("transport_admin"), vehicle_id=fleet.theirs[0].pk)
    with pytest.raises(NotFound):
        selectors.vehicle_track(actor=cast.actor("transport_admin"), vehicle_id=fleet.theirs[0].pk,
                                start=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                                end=dt.datetime(2026, 6, 2, tzinfo=dt.UTC))


def test_a_driver_does_not_follow_his_colleagues(cast, fleets):  # noqa: F811
    fleets()
    assert visible(cast.actor("driver")) == set()


@pytest.mark.parametrize("username", ["construction_admin", "site_operator", "developer_admin", "property_manager",
                                      "hotline_client", "outsider"])
def test_parties_without_an_open_manifest_see_no_truck(cast, fleets, username):  # noqa: F811
    fleets()
    assert visible(cast.actor(username)) == set()


def test_nobody_logged_out_sees_anything(cast, fleets):  # noqa: F811
    fleets()
    assert visible(actor_for(AnonymousUser())) == set()
    assert not policy.can_see_terminals(actor_for(AnonymousUser()))
    assert not policy.can_see_live_map(actor_for(AnonymousUser()))


def test_the_construction_unit_and_the_site_see_the_truck_carrying_their_open_manifest_while_it_is_open(
        cast, fleets, departed, now):  # noqa: F811
    fleet = fleets()
    manifest = departed()
    truck = manifest.vehicle_id
    for username in ("construction_staff", "site_operator"):
        assert visible(cast.actor(username)) == {truck}, username
        found = selectors.vehicle_live(actor=cast.actor(username), vehicle_id=truck).truck
        assert (found.manifest_id, found.manifest_number) == (manifest.pk, manifest.number)
        assert found.state == selectors.TruckState.LOADED  # no load sensor; departed manifest
    # Another construction unit, and the other trucks of the same fleet: no.
    assert visible(cast.actor("outsider")) == set()
    assert fleet.mine[0].pk not in visible(cast.actor("construction_staff"))

    site = cast.actor("site_operator")
    arrived = manifest_services.manifest_arrive(actor=site, manifest=manifest, now=now + dt.timedelta(hours=1))
    assert visible(cast.actor("construction_staff")) == {truck}  # at the gate, not yet weighed
    assert selectors.vehicle_live(actor=site, vehicle_id=truck).truck.state == selectors.TruckState.LOADED
    manifest_services.manifest_receive(actor=site, manifest=arrived, outcome=ManifestStatus.ACCEPTED, volume_m3="12",
                                       now=now + dt.timedelta(hours=1, minutes=5))
    assert visible(cast.actor("construction_staff")) == set()
    assert visible(cast.actor("site_operator")) == set()


def test_an_issued_manifest_that_has_not_departed_shows_no_truck(cast, make_ready_load, issue):  # noqa: F811
    load = make_ready_load()
    seed_live(load.vehicle)
    issue(load)
    assert visible(cast.actor("construction_staff")) == set()


def test_a_party_of_the_load_sees_the_track_only_since_the_departure(cast, departed):  # noqa: F811
    manifest = departed()
    departure = manifest.departed_at
    seed_positions(manifest.vehicle, departure - dt.timedelta(minutes=30), 60, step=dt.timedelta(minutes=1))
    start, end = departure - dt.timedelta(hours=1), departure + dt.timedelta(hours=1)

    carrier = selectors.vehicle_track(actor=cast.actor("transport_admin"), vehicle_id=manifest.vehicle_id,
                                      start=start, end=end)
    assert carrier.total == 60 and carrier.shown_from is None
    emitter = selectors.vehicle_track(actor=cast.actor("construction_staff"), vehicle_id=manifest.vehicle_id,
                                      start=start, end=end)
    assert emitter.shown_from == departure
    assert emitter.total == 30
    assert min(point.t for point in emitter.points) >= int(departure.timestamp())


def test_terminals_are_for_regulators_and_each_transport_companys_own(cast, fleets):  # noqa: F811
    fleet = fleets()
    listed = {t.pk for t in selectors.terminal_status_list(actor=cast.actor("transport_admin"))}
    assert listed == {v.terminal.pk for v in fleet.mine}
    assert len(selectors.terminal_status_list(actor=cast.actor("district_officer"))) == 4
    for username in ("construction_admin", "site_operator", "driver"):
        actor = cast.actor(username)
        assert not policy.can_see_terminals(actor)
        assert not selectors.terminal_status_list(actor=actor).exists()
