"""Every issuing check refuses with its own reason and changes nothing (no manifest, no number
taken, no audit row); and the one-open-manifest-per-vehicle rule holds in the database itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.manifests.models import Manifest, ManifestNumberCounter, ManifestStatus
from wastetrail.permits import services as permit_services
from wastetrail.registry.models import ReceivingSite, Terminal, Vehicle

pytestmark = pytest.mark.django_db


def suspend(cast, approval):
    permit_services.approval_suspend(actor=cast.actor("reg_officer"), approval=approval, reason="检查")


def break_load(cast, load, what, make_driver):
    """Spoil one precondition of a ready load; returns extra issue arguments."""
    if what == "no_emission_approval":
        suspend(cast, load.emission)
    elif what == "no_transport_approval":
        suspend(cast, load.transport)
    elif what == "no_disposal_approval":
        suspend(cast, load.disposal)
    elif what == "vehicle_not_sealed":
        Vehicle.objects.filter(pk=load.vehicle.pk).update(sealed_body_certified=False)
    elif what == "vehicle_not_in_service":
        Vehicle.objects.filter(pk=load.vehicle.pk).update(status="suspended")
    elif what == "no_terminal":
        Terminal.objects.filter(vehicle=load.vehicle).update(vehicle=None)
    elif what == "driver_not_of_carrier":
        return {"driver": make_driver(company=cast.org("transport_other"))}
    elif what == "site_refuses_category":
        load.site.accepted_categories.remove(load.category)
    elif what == "site_not_open":
        ReceivingSite.objects.filter(pk=load.site.pk).update(status="stopped_accepting")
    elif what == "site_full":
        ReceivingSite.objects.filter(pk=load.site.pk).update(used_capacity_m3=Decimal("499990"))
    elif what == "outside_plan":
        return {"now_shift": dt.timedelta(hours=-11)}  # noon: outside the 22:00–06:00 window
    return {}


CHECKS = ["no_emission_approval", "no_transport_approval", "no_disposal_approval", "vehicle_not_sealed",
          "vehicle_not_in_service", "no_terminal", "driver_not_of_carrier", "site_refuses_category",
          "site_not_open", "site_full", "outside_plan"]


@pytest.mark.parametrize("check", CHECKS)
def test_issuing_check_refuses_with_its_reason_and_changes_nothing(cast, make_ready_load, make_driver, now, check):
    from wastetrail.manifests import services
    load = make_ready_load()
    extra = break_load(cast, load, check, make_driver)
    at = now + extra.pop("now_shift", dt.timedelta(0))
    audit_before, counters_before = AuditEntry.objects.count(), list(ManifestNumberCounter.objects.values())
    with pytest.raises(DomainError) as err:
        services.manifest_issue(actor=cast.actor("construction_staff"), now=at, **load.issue_kwargs(**extra))
    assert err.value.code == check
    assert err.value.message
    assert not Manifest.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    assert list(ManifestNumberCounter.objects.values()) == counters_before


def test_a_project_without_a_filed_plan_cannot_issue(cast, make_ready_load, issue):
    load = make_ready_load(file_plan=False)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError, match="no filed handling plan") as err:
        issue(load)
    assert err.value.code == "no_filed_plan"
    assert not Manifest.objects.exists() and AuditEntry.objects.count() == before


def test_a_vehicle_with_an_open_manifest_cannot_take_another(cast, make_ready_load, issue):
    load = make_ready_load()
    first = issue(load)
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as err:
        issue(load)
    assert err.value.code == "vehicle_busy" and first.number in err.value.message
    assert Manifest.objects.count() == 1 and AuditEntry.objects.count() == before


def test_the_database_refuses_a_second_open_manifest_for_a_vehicle(make_ready_load, issue):
    first = issue(make_ready_load())
    twin = Manifest.objects.get(pk=first.pk)
    twin.pk, twin.number = None, first.number + "X"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)
    # A closed or cancelled manifest does not hold the vehicle.
    Manifest.objects.filter(pk=first.pk).update(status=ManifestStatus.CANCELLED, cancellation_reason="test")
    twin.pk = None
    twin.save(force_insert=True)
    assert Manifest.objects.filter(vehicle=first.vehicle, status=ManifestStatus.ISSUED).count() == 1


@pytest.mark.parametrize("field,kwargs", [
    ("estimated_m3", {"estimated_m3": None}),
    ("estimated_m3", {"estimated_m3": "0"}),
    ("estimated_m3", {"estimated_m3": "-3"}),
    ("estimated_m3", {"estimated_m3": "abc"}),
    ("site", {"site": None}),
    ("vehicle", {"vehicle": None}),
    ("disposal_method", {"disposal_method": "burn"}),
    ("lon", {"lon": "200", "lat": "22"}),
])
def test_bad_input_names_the_field_and_changes_nothing(make_ready_load, issue, field, kwargs):
    load = make_ready_load()
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        issue(load, **kwargs)
    assert field in err.value.message_dict
    assert not Manifest.objects.exists() and AuditEntry.objects.count() == before


def test_expected_arrival_must_follow_departure(make_ready_load, issue, now):
    with pytest.raises(ValidationError) as err:
        issue(make_ready_load(), expected_arrival_at=now - dt.timedelta(minutes=1))
    assert "expected_arrival_at" in err.value.message_dict


def test_a_weight_estimate_is_converted_to_volume_with_the_category_density(make_ready_load, issue):
    manifest = issue(make_ready_load(), estimated_m3=None, estimated_t="27")
    assert (manifest.estimated_m3, manifest.estimated_t) == (Decimal("15.00"), Decimal("27.00"))
