"""A collection's load under an electronic manifest, end to end: issue → depart → arrive →
receive → close, after which the collection is done and the point open and empty again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from wastetrail.core.errors import DomainError
from wastetrail.manifests import selectors as manifest_selectors
from wastetrail.manifests import services as manifest_services
from wastetrail.manifests.models import Manifest, ManifestSource, ManifestStatus
from wastetrail.stacking import services
from wastetrail.stacking.models import CollectionStatus, PointStatus
from wastetrail.stacking.tests.conftest import make_full

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(cast, stacking, carrier_approval, decoration_site, make_driver):
    make_full(cast, stacking.point)
    collection = services.collection_request_create(actor=cast.actor("property_manager"), point=stacking.point,
                                                    carrier=cast.org("transport"))
    collection = services.collection_accept(actor=cast.actor("transport_admin"), collection=collection)
    _approval, truck = carrier_approval
    driver = make_driver(user=cast.user("driver"))
    return collection, truck, driver, decoration_site


def test_collection_manifest_end_to_end(cast, stacking, accepted):
    collection, truck, driver, site = accepted
    pm = cast.actor("property_manager")
    collection = services.collection_issue_manifest(actor=pm, collection=collection, vehicle=truck,
                                                    driver=driver, site=site)
    manifest = collection.manifest
    assert collection.status == CollectionStatus.IN_TRANSIT
    assert manifest.source == ManifestSource.COLLECTION
    assert (manifest.project_id, manifest.plan_id, manifest.emission_approval_id) == (None, None, None)
    assert manifest.emitter_id == cast.org("property_manager").pk
    assert manifest.emitter_address == stacking.point.address
    assert manifest.category.code == "decoration_waste"
    assert manifest.estimated_m3 == Decimal("10.00")
    # Every party sees it, as for any load; the district regulator through the point's district.
    for who in ("property_manager", "transport_admin", "driver", "site_operator", "reg_officer",
                "district_officer"):
        assert manifest_selectors.manifest_list(actor=cast.actor(who)).filter(pk=manifest.pk).exists(), who
    assert not manifest_selectors.manifest_list(actor=cast.actor("other_pm")).filter(pk=manifest.pk).exists()

    manifest = manifest_services.manifest_depart(actor=cast.actor("driver"), manifest=manifest)
    manifest = manifest_services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest)
    manifest = manifest_services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest,
                                                  outcome="accepted", volume_m3="9.5")
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.IN_TRANSIT  # done only when the manifest closes
    manifest_services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    collection.refresh_from_db()
    stacking.point.refresh_from_db()
    assert collection.status == CollectionStatus.DONE and collection.done_at
    assert (stacking.point.status, stacking.point.fill_percent) == (PointStatus.OPEN, 0)
    assert Manifest.objects.get(pk=manifest.pk).status == ManifestStatus.CLOSED


def test_only_the_points_manager_issues_and_with_the_accepting_carriers_truck(cast, stacking, accepted, make_truck):
    collection, truck, driver, site = accepted
    for who in ("transport_admin", "other_pm", "reg_officer"):
        with pytest.raises(PermissionDenied):
            services.collection_issue_manifest(actor=cast.actor(who), collection=collection, vehicle=truck,
                                               driver=driver, site=site)
    other_truck = make_truck(company=cast.org("transport_other"))
    with pytest.raises(ValidationError) as exc:
        services.collection_issue_manifest(actor=cast.actor("property_manager"), collection=collection,
                                           vehicle=other_truck, driver=driver, site=site)
    assert "vehicle" in exc.value.message_dict
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.ACCEPTED and not Manifest.objects.exists()


def test_issuing_checks_still_apply_to_collections(cast, stacking, accepted, make_site, make_truck):
    collection, truck, driver, _site = accepted
    refusing = make_site(accepted_categories=["excavated_soil"])  # no disposal approval either
    with pytest.raises(DomainError) as err:
        services.collection_issue_manifest(actor=cast.actor("property_manager"), collection=collection,
                                           vehicle=truck, driver=driver, site=refusing)
    assert err.value.code == "no_disposal_approval"
    unapproved = make_truck()  # not in the transport approval's vehicles
    with pytest.raises(DomainError) as err:
        services.collection_issue_manifest(actor=cast.actor("property_manager"), collection=collection,
                                           vehicle=unapproved, driver=driver, site=_site)
    assert err.value.code == "no_transport_approval"
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.ACCEPTED and not Manifest.objects.exists()


def test_a_cancelled_manifest_can_be_replaced(cast, stacking, accepted):
    collection, truck, driver, site = accepted
    pm = cast.actor("property_manager")
    collection = services.collection_issue_manifest(actor=pm, collection=collection, vehicle=truck, driver=driver,
                                                    site=site)
    with pytest.raises(DomainError):
        services.collection_issue_manifest(actor=pm, collection=collection, vehicle=truck, driver=driver, site=site)
    manifest_services.manifest_cancel(actor=pm, manifest=collection.manifest, reason="车坏了")
    collection = services.collection_issue_manifest(actor=pm, collection=collection, vehicle=truck, driver=driver,
                                                    site=site)
    assert collection.manifest.status == ManifestStatus.ISSUED
    assert Manifest.objects.count() == 2


def test_collection_manifest_renders_in_pdf_and_api(cast, stacking, accepted, client):
    from wastetrail.manifests.pdf import manifest_pdf

    collection, truck, driver, site = accepted
    collection = services.collection_issue_manifest(actor=cast.actor("property_manager"), collection=collection,
                                                    vehicle=truck, driver=driver, site=site)
    manifest = manifest_selectors.manifest_get(actor=cast.actor("property_manager"), pk=collection.manifest_id)
    assert manifest_pdf(manifest, base_url="http://testserver/").startswith(b"%PDF")
    client.force_login(cast.user("property_manager"))
    body = client.get(f"/api/manifests/{manifest.pk}").json()
    assert body["source"] == "collection" and body["project_id"] is None
    # project_name is a project's name only; where a collection's load comes from is `origin`.
    assert body["emission_approval_number"] is None and body["project_name"] is None
    assert body["origin"] == stacking.point.address
    assert client.get(f"/manifests/{manifest.pk}/").status_code == 200
    assert client.get("/manifests/").status_code == 200
