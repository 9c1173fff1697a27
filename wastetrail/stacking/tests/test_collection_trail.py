"""A collection's manifest trail and who sees it: a cancelled manifest frees the point, every
manifest a collection travelled under (re-issued, redirected) stays in the point's history and in
a district bureau's view, the housing authority reads property managers' collection manifests,
and a carrier sees only its own collections of a point."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.manifests import selectors as manifest_selectors
from wastetrail.manifests import services as manifest_services
from wastetrail.manifests.models import ManifestStatus
from wastetrail.manifests.tests.conftest import _approve
from wastetrail.permits.models import ApprovalKind
from wastetrail.stacking import selectors, services
from wastetrail.stacking.models import CollectionRequest, CollectionStatus, PointStatus
from wastetrail.stacking.tests.conftest import IN_XINHUI, make_full

pytestmark = pytest.mark.django_db


def _xinhui_site(cast, categories, make_site, n: int):
    """A decoration-waste site outside the district bureau's Pengjiang, so it cannot see the
    load through the site."""
    site = make_site(at=(IN_XINHUI[0] + n * 0.01, IN_XINHUI[1]),
                     accepted_categories=["decoration_waste", "construction_waste"])
    _approve(cast, ApprovalKind.DISPOSAL, "site_operator", cast.org("site_operator"), site=site,
             categories=[categories["decoration_waste"]])
    return site


@pytest.fixture
def accepted(cast, stacking, carrier_approval, decoration_site, make_driver):
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=cast.actor("property_manager"), point=stacking.point,
                                                    carrier=cast.org("transport"))
    collection = services.collection_accept(actor=cast.actor("transport_admin"), collection=collection)
    _approval, truck = carrier_approval
    return collection, truck, make_driver(user=cast.user("driver")), decoration_site


def _issue(cast, collection, truck, driver, site):
    return services.collection_issue_manifest(actor=cast.actor("property_manager"), collection=collection,
                                              vehicle=truck, driver=driver, site=site)


# --- finding: a cancelled manifest must not block the point for good ---------------------------
def test_a_collection_whose_manifest_was_cancelled_can_be_cancelled_and_the_point_asks_again(
        cast, stacking, accepted):
    collection, truck, driver, site = accepted
    collection = _issue(cast, collection, truck, driver, site)
    pm = cast.actor("property_manager")
    # Under a live manifest the collection cannot be cancelled (the load may be on the road).
    rows = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        services.collection_cancel(actor=pm, collection=collection, reason="不要了")
    assert refused.value.code == "wrong_state" and AuditEntry.objects.count() == rows
    manifest_services.manifest_cancel(actor=pm, manifest=collection.manifest, reason="车坏了")
    collection.refresh_from_db()
    done = services.collection_cancel(actor=cast.actor("transport_admin"), collection=collection, reason="无车可派")
    assert done.status == CollectionStatus.CANCELLED
    again = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    assert again.status == CollectionStatus.REQUESTED


def test_the_point_page_offers_cancel_once_the_manifest_is_cancelled(cast, stacking, accepted, client):
    collection, truck, driver, site = accepted
    collection = _issue(cast, collection, truck, driver, site)
    client.force_login(cast.user("property_manager"))
    page = f"/stacking/points/{stacking.point.pk}/"
    assert 'data-testid="cancel-collection"' not in client.get(page).content.decode()
    manifest_services.manifest_cancel(actor=cast.actor("property_manager"), manifest=collection.manifest,
                                      reason="车坏了")
    assert 'data-testid="cancel-collection"' in client.get(page).content.decode()


# --- finding: the trail of re-issued and redirected manifests --------------------------------
def test_a_reissued_collection_keeps_its_cancelled_manifest_in_the_trail_and_the_bureaus_view(
        cast, stacking, accepted, categories, make_site):
    collection, truck, driver, _site = accepted
    far = _xinhui_site(cast, categories, make_site, 1)
    pm = cast.actor("property_manager")
    first = _issue(cast, collection, truck, driver, far).manifest
    manifest_services.manifest_cancel(actor=pm, manifest=first, reason="车坏了")
    collection.refresh_from_db()
    second = _issue(cast, collection, truck, driver, far).manifest
    history = selectors.point_history(actor=pm, pk=stacking.point.pk)
    [shown] = history.collections
    assert [m.number for m in shown.manifests] == [first.number, second.number]
    bureau = manifest_selectors.manifest_list(actor=cast.actor("district_officer"))
    assert set(bureau.filter(pk__in=[first.pk, second.pk]).values_list("pk", flat=True)) == {first.pk, second.pk}


def test_a_redirect_of_a_collections_refused_load_is_seen_by_the_points_district_bureau(
        cast, stacking, accepted, categories, make_site):
    collection, truck, driver, _site = accepted
    refusing, other = _xinhui_site(cast, categories, make_site, 1), _xinhui_site(cast, categories, make_site, 2)
    manifest = _issue(cast, collection, truck, driver, refusing).manifest
    manifest = manifest_services.manifest_depart(actor=cast.actor("driver"), manifest=manifest)
    manifest = manifest_services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest)
    manifest = manifest_services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest,
                                                  outcome="refused", volume_m3="9", reason="混入生活垃圾")
    redirect = manifest_services.manifest_redirect(actor=cast.actor("property_manager"), manifest=manifest,
                                                   site=other)
    assert redirect.project_id is None and redirect.parent_id == manifest.pk
    bureau = manifest_selectors.manifest_list(actor=cast.actor("district_officer"))
    assert bureau.filter(pk=manifest.pk).exists() and bureau.filter(pk=redirect.pk).exists()
    # Another district's property manager does not.
    assert not manifest_selectors.manifest_list(actor=cast.actor("other_pm")).filter(pk=redirect.pk).exists()
    [shown] = selectors.point_history(actor=cast.actor("property_manager"), pk=stacking.point.pk).collections
    assert [m.pk for m in shown.manifests] == [manifest.pk, redirect.pk]


# --- finding: the housing authority reads property managers' collection manifests ----------
def test_the_housing_authority_reads_property_managers_collection_manifests_only(
        cast, stacking, accepted, client):
    collection, truck, driver, site = accepted
    manifest = _issue(cast, collection, truck, driver, site).manifest
    housing = cast.actor("housing_officer")
    assert manifest_selectors.manifest_list(actor=housing).filter(pk=manifest.pk).exists()
    # Only collection manifests: no project's load.
    assert not manifest_selectors.manifest_list(actor=housing).exclude(source="collection").exists()
    client.force_login(cast.user("housing_officer"))
    assert client.get(f"/manifests/{manifest.pk}/").status_code == 200
    # Reading is not acting.
    with pytest.raises(PermissionDenied):
        manifest_services.manifest_cancel(actor=housing, manifest=manifest, reason="x")
    assert manifest_selectors.manifest_get(actor=housing, pk=manifest.pk).status == ManifestStatus.ISSUED


def test_the_housing_authority_does_not_see_a_street_offices_collection_manifest(
        cast, stacking, carrier_approval, decoration_site, make_driver):
    street = cast.actor("street_officer")
    services.fill_report_create(actor=street, point=stacking.bare_point, fill_percent=100)
    collection = services.collection_request_create(actor=street, point=stacking.bare_point,
                                                    carrier=cast.org("transport"))
    collection = services.collection_accept(actor=cast.actor("transport_admin"), collection=collection)
    _approval, truck = carrier_approval
    manifest = services.collection_issue_manifest(actor=street, collection=collection, vehicle=truck,
                                                  driver=make_driver(user=cast.user("driver")),
                                                  site=decoration_site).manifest
    assert not manifest_selectors.manifest_list(actor=cast.actor("housing_officer")).filter(pk=manifest.pk).exists()


# --- finding: a carrier sees its own business only --------------------------------------------
def test_a_carrier_sees_only_its_own_collections_of_a_point_and_their_rows(
        cast, stacking, carrier_approval, categories, make_truck):
    pm = cast.actor("property_manager")
    make_full(cast, stacking.point)
    services.fill_report_create(actor=None, point=stacking.point, fill_percent=100, note="门口堆满了",
                                client_key="resident-1")
    theirs = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    services.collection_cancel(actor=pm, collection=theirs, reason="改派")
    other_truck = make_truck(company=cast.org("transport_other"))
    _approve(cast, ApprovalKind.TRANSPORT, "transport_other_admin", cast.org("transport_other"),
             categories=[categories["decoration_waste"]], vehicles=[other_truck])
    others = services.collection_request_create(actor=pm, point=stacking.point,
                                                carrier=cast.org("transport_other"))
    history = selectors.point_history(actor=cast.actor("transport_admin"), pk=stacking.point.pk)
    assert [c.pk for c in history.collections] == [theirs.pk]
    assert history.fill_reports == []
    assert history.audit and {e.object_type for e in history.audit} == {"stacking.collectionrequest"}
    assert {e.object_id for e in history.audit} == {str(theirs.pk)}
    # The manager still sees everything.
    full = selectors.point_history(actor=pm, pk=stacking.point.pk)
    assert {c.pk for c in full.collections} == {theirs.pk, others.pk} and len(full.fill_reports) == 2


def test_the_history_api_for_a_carrier_leaves_out_other_carriers(cast, stacking, carrier_approval, client):
    pm = cast.actor("property_manager")
    make_full(cast, stacking.point)
    mine = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    client.force_login(cast.user("transport_admin"))
    body = client.get(f"/api/stacking/points/{stacking.point.pk}/history").json()
    assert [c["id"] for c in body["collections"]] == [mine.pk] and body["fill_reports"] == []
    assert all(row["action"].startswith("stacking.collection") for row in body["audit"])


# --- finding: closing a point with an open collection --------------------------------------
def test_a_point_with_an_open_collection_cannot_be_closed(cast, stacking, carrier_approval):
    pm = cast.actor("property_manager")
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=pm, point=stacking.point, carrier=cast.org("transport"))
    rows = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        services.point_set_status(actor=pm, point=stacking.point, status=PointStatus.CLOSED, reason="拆除")
    assert refused.value.code == "collection_open"
    stacking.point.refresh_from_db()
    assert stacking.point.status == PointStatus.FULL and AuditEntry.objects.count() == rows
    services.collection_cancel(actor=pm, collection=collection, reason="改期")
    closed = services.point_set_status(actor=pm, point=stacking.point, status=PointStatus.CLOSED, reason="拆除")
    assert closed.status == PointStatus.CLOSED


# --- finding: the collection lock takes the collection's row only -----------------------------
@pytest.mark.postgres
def test_locking_a_collection_locks_only_its_own_row(cast, stacking, carrier_approval):
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=cast.actor("property_manager"), point=stacking.point,
                                                    carrier=cast.org("transport"))
    with CaptureQueriesContext(connection) as queries:
        services.collection_accept(actor=cast.actor("transport_admin"), collection=collection)
    locking = [q["sql"] for q in queries.captured_queries
               if "FOR UPDATE" in q["sql"] and "stacking_collectionrequest" in q["sql"]]
    assert locking and all('FOR UPDATE OF "stacking_collectionrequest"' in sql for sql in locking), locking
    assert CollectionRequest.objects.get(pk=collection.pk).status == CollectionStatus.ACCEPTED
