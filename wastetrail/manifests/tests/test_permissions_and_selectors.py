"""Who may act at each step, and who sees which manifests (others get NotFound)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import NotFound
from wastetrail.manifests import selectors, services
from wastetrail.manifests.models import Manifest, ManifestStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", ["transport_admin", "site_operator", "driver", "reg_officer", "outsider",
                                      "developer_admin"])
def test_only_the_construction_units_staff_issue(cast, make_ready_load, issue, username):
    load = make_ready_load()
    with pytest.raises(PermissionDenied):
        issue(load, actor=cast.actor(username))
    assert not Manifest.objects.exists()


@pytest.mark.parametrize("username,allowed", [
    ("driver", True), ("transport_admin", True), ("transport_other_admin", False),
    ("construction_staff", False), ("site_operator", False), ("reg_officer", False),
])
def test_the_carrier_or_the_assigned_driver_departs(cast, make_ready_load, issue, username, allowed):
    manifest = issue(make_ready_load())
    if allowed:
        departed = services.manifest_depart(actor=cast.actor(username), manifest=manifest)
        assert departed.status == ManifestStatus.DEPARTED
    else:
        before = AuditEntry.objects.count()
        with pytest.raises(PermissionDenied):
            services.manifest_depart(actor=cast.actor(username), manifest=manifest)
        assert Manifest.objects.get(pk=manifest.pk).status == ManifestStatus.ISSUED
        assert AuditEntry.objects.count() == before


def test_a_driver_not_assigned_cannot_depart(cast, make_ready_load, issue, make_driver):
    manifest = issue(make_ready_load())
    services.manifest_amend(actor=cast.actor("transport_admin"), manifest=manifest,
                            changes={"driver": make_driver()})
    with pytest.raises(PermissionDenied):
        services.manifest_depart(actor=cast.actor("driver"), manifest=manifest)


@pytest.mark.parametrize("username", ["construction_staff", "transport_admin", "driver", "reg_officer"])
def test_only_the_receiving_site_arrives_receives_and_closes(cast, make_ready_load, issue, username):
    manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=issue(make_ready_load()))
    with pytest.raises(PermissionDenied):
        services.manifest_arrive(actor=cast.actor(username), manifest=manifest)
    manifest = services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest)
    with pytest.raises(PermissionDenied):
        services.manifest_receive(actor=cast.actor(username), manifest=manifest, outcome="accepted", volume_m3="5")
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest, outcome="accepted",
                                         volume_m3="5")
    with pytest.raises(PermissionDenied):
        services.manifest_close(actor=cast.actor(username), manifest=manifest)


@pytest.mark.parametrize("username", ["transport_admin", "site_operator", "outsider", "driver"])
def test_only_the_emitter_cancels(cast, make_ready_load, issue, username):
    manifest = issue(make_ready_load())
    with pytest.raises(PermissionDenied):
        services.manifest_cancel(actor=cast.actor(username), manifest=manifest, reason="x")


def test_only_the_carriers_staff_amend(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    for username in ("construction_staff", "driver", "site_operator"):
        with pytest.raises(PermissionDenied):
            services.manifest_amend(actor=cast.actor(username), manifest=manifest, changes={"route": "x"})


@pytest.mark.parametrize("username,sees", [
    ("construction_staff", True), ("construction_admin", True), ("transport_admin", True), ("driver", True),
    ("site_operator", True), ("reg_officer", True), ("district_officer", True),
    ("outsider", False), ("transport_other_admin", False), ("developer_admin", False), ("hotline_client", False),
])
def test_parties_and_regulators_see_the_manifest_others_get_not_found(cast, make_ready_load, issue, username, sees):
    manifest = issue(make_ready_load())
    actor = cast.actor(username)
    if sees:
        assert selectors.manifest_get(actor=actor, pk=manifest.pk) == manifest
        assert selectors.manifest_by_number(actor=actor, number=manifest.number.lower()) == manifest
        assert list(selectors.manifest_list(actor=actor)) == [manifest]
    else:
        with pytest.raises(NotFound):
            selectors.manifest_get(actor=actor, pk=manifest.pk)
        with pytest.raises(NotFound):
            selectors.manifest_by_number(actor=actor, number=manifest.number)
        assert list(selectors.manifest_list(actor=actor)) == []


def test_a_driver_sees_only_the_loads_assigned_to_him(cast, make_ready_load, issue, make_driver):
    mine = issue(make_ready_load())
    other = issue(make_ready_load(), driver=make_driver())
    assert list(selectors.manifest_list(actor=cast.actor("driver"))) == [mine]
    with pytest.raises(NotFound):
        selectors.manifest_get(actor=cast.actor("driver"), pk=other.pk)


def test_list_filters_and_open_manifest_lookup(cast, make_ready_load, issue):
    load = make_ready_load()
    manifest = issue(load)
    actor = cast.actor("reg_officer")
    assert list(selectors.manifest_list(actor=actor, status="issued", project=load.project.pk)) == [manifest]
    assert list(selectors.manifest_list(actor=actor, status="closed")) == []
    assert list(selectors.manifest_list(actor=actor, search=load.vehicle.plate)) == [manifest]
    assert selectors.open_manifest_for(load.vehicle) == manifest
