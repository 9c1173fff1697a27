"""One load from issue to close, and each step refused out of order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest, ManifestStatus, SignatureStep
from wastetrail.registry.models import ReceivingSite

pytestmark = pytest.mark.django_db


def audit_actions(manifest: Manifest) -> list[str]:
    return list(AuditEntry.objects.filter(object_type="manifests.manifest", object_id=str(manifest.pk))
                .order_by("seq").values_list("action", flat=True))


def test_full_lifecycle_signs_each_step_fills_the_site_and_audits_once_per_step(cast, make_ready_load, issue, now):
    load = make_ready_load()
    manifest = issue(load, lon="113.0781", lat="22.5790")
    assert manifest.status == ManifestStatus.ISSUED
    assert manifest.number.startswith("JM") and len(manifest.number) == 16
    assert manifest.emitter == cast.org("construction") and manifest.carrier == cast.org("transport")
    assert manifest.receiver == cast.org("site_operator")
    assert manifest.emission_approval == load.emission and manifest.transport_approval == load.transport
    assert manifest.disposal_approval == load.disposal
    assert manifest.estimated_t == Decimal("32.40")  # 18 m³ × 1.80 t/m³
    assert manifest.route == "滨江大道—江门大道—龙湾路"
    assert manifest.disposal_method == "disposal"

    manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=manifest,
                                        now=now + dt.timedelta(minutes=5))
    manifest = services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest,
                                        now=now + dt.timedelta(hours=1))
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest, outcome="accepted",
                                         gross_t="45.60", tare_t="15.00")
    assert manifest.status == ManifestStatus.ACCEPTED
    assert manifest.net_t == Decimal("30.60")
    assert (manifest.received_quantity, manifest.accepted_quantity, manifest.refused_quantity) == (
        Decimal("30.60"), Decimal("30.60"), Decimal("0"))
    assert manifest.accepted_m3 == Decimal("17.00")  # 30.6 t ÷ 1.80
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("17.00")

    manifest = services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    assert manifest.status == ManifestStatus.CLOSED
    signatures = {s.step: s for s in manifest.signatures.all()}
    assert set(signatures) == set(SignatureStep.values)
    assert signatures["emitter"].organisation == cast.org("construction")
    assert (signatures["emitter"].lon_e6, signatures["emitter"].lat_e6) == (113078100, 22579000)
    assert signatures["transporter"].signed_by == cast.user("driver")
    assert signatures["receiver"].organisation == cast.org("site_operator")
    assert audit_actions(manifest) == ["manifest.issue", "manifest.depart", "manifest.arrive",
                                       "manifest.receive", "manifest.close"]


def test_volume_receipt_without_weighbridge_counts_m3_directly(cast, make_ready_load, arrived):
    load = make_ready_load()
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="accepted", volume_m3="17.5")
    assert manifest.quantity_unit == "m3" and manifest.accepted_m3 == Decimal("17.50")
    assert manifest.net_t is None
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("17.50")


def test_cancel_before_departure_frees_the_vehicle(cast, make_ready_load, issue):
    load = make_ready_load()
    first = issue(load)
    cancelled = services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=first, reason="装车延误")
    assert cancelled.status == ManifestStatus.CANCELLED and cancelled.cancellation_reason == "装车延误"
    second = issue(load)
    assert second.status == ManifestStatus.ISSUED


def test_cancel_needs_a_reason(cast, make_ready_load, issue):
    from django.core.exceptions import ValidationError
    manifest = issue(make_ready_load())
    with pytest.raises(ValidationError) as err:
        services.manifest_cancel(actor=cast.actor("construction_staff"), manifest=manifest, reason=" ")
    assert "reason" in err.value.message_dict
    assert Manifest.objects.get(pk=manifest.pk).status == ManifestStatus.ISSUED


@pytest.mark.parametrize("step", ["cancel", "arrive", "receive", "close", "redirect"])
def test_out_of_order_steps_on_an_issued_manifest_are_refused(cast, make_ready_load, issue, step):
    manifest = issue(make_ready_load(extra_sites=1))
    before = AuditEntry.objects.count()
    calls = {
        "cancel": lambda: services.manifest_cancel(actor=cast.actor("construction_staff"),
                                                   manifest=services.manifest_depart(
                                                       actor=cast.actor("driver"), manifest=manifest),
                                                   reason="x"),
        "arrive": lambda: services.manifest_arrive(actor=cast.actor("site_operator"), manifest=manifest),
        "receive": lambda: services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest,
                                                     outcome="accepted", volume_m3="10"),
        "close": lambda: services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest),
        "redirect": lambda: services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest,
                                                       site=manifest.site),
    }
    with pytest.raises(DomainError) as err:
        calls[step]()
    assert err.value.code == "wrong_state"
    if step == "cancel":
        before += 1  # the departure itself
        assert Manifest.objects.get(pk=manifest.pk).status == ManifestStatus.DEPARTED
    else:
        assert Manifest.objects.get(pk=manifest.pk).status == ManifestStatus.ISSUED
    assert AuditEntry.objects.count() == before


def test_a_second_departure_is_refused(cast, make_ready_load, issue):
    manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=issue(make_ready_load()))
    with pytest.raises(DomainError, match="Only an issued manifest can depart"):
        services.manifest_depart(actor=cast.actor("transport_admin"), manifest=manifest)
    assert manifest.signatures.filter(step="transporter").count() == 1


def test_a_closed_manifest_cannot_be_received_again(cast, make_ready_load, arrived):
    load = make_ready_load()
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="accepted", volume_m3="10")
    manifest = services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    with pytest.raises(DomainError):
        services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest, outcome="accepted",
                                  volume_m3="10")
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("10.00")


def test_overdue_job_flags_loads_on_the_road_past_their_expected_arrival_once(cast, make_ready_load, issue, now):
    late = issue(make_ready_load())  # expected 4 h after departure by default
    on_time = issue(make_ready_load(), expected_arrival_at=now + dt.timedelta(hours=8))
    flagged = services.manifests_mark_overdue(now=now + dt.timedelta(hours=5))
    assert [m.pk for m in flagged] == [late.pk]
    assert Manifest.objects.get(pk=late.pk).is_overdue
    assert not Manifest.objects.get(pk=on_time.pk).is_overdue
    assert services.manifests_mark_overdue(now=now + dt.timedelta(hours=5)) == []
    assert audit_actions(late) == ["manifest.issue", "manifest.overdue"]


def test_overdue_job_ignores_arrived_loads(cast, make_ready_load, arrived, now):
    manifest = arrived(make_ready_load())
    assert services.manifests_mark_overdue(now=now + dt.timedelta(days=2)) == []
    assert not Manifest.objects.get(pk=manifest.pk).is_overdue


def test_transporter_may_change_driver_and_route_before_departure_but_not_emitter_fields(
        cast, make_ready_load, issue, make_driver):
    manifest = issue(make_ready_load())
    other = make_driver()
    amended = services.manifest_amend(actor=cast.actor("transport_admin"), manifest=manifest,
                                      changes={"driver": other, "route": "江门大道"})
    assert amended.driver == other and amended.route == "江门大道"
    with pytest.raises(DomainError) as err:
        services.manifest_amend(actor=cast.actor("transport_admin"), manifest=manifest,
                                changes={"estimated_m3": Decimal("5")})
    assert err.value.code == "field_locked"


def test_transporter_fields_lock_once_it_has_signed(cast, make_ready_load, issue):
    manifest = services.manifest_depart(actor=cast.actor("transport_admin"), manifest=issue(make_ready_load()))
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        services.manifest_amend(actor=cast.actor("transport_admin"), manifest=manifest, changes={"route": "x"})
    assert services.locked_fields(manifest) >= {"route", "driver", "vehicle", "estimated_m3"}
    assert Manifest.objects.get(pk=manifest.pk).route == "滨江大道—江门大道—龙湾路"
    assert AuditEntry.objects.count() == before


def test_the_redirect_of_a_closed_refusal_cannot_be_cancelled(cast, make_ready_load, arrived, now):
    load = make_ready_load(extra_sites=1)
    refused = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                        outcome="partially_refused", volume_m3="16", refused_quantity="6",
                                        reason="混入生活垃圾", now=now)
    follow_up = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=refused,
                                           site=load.sites[1], now=now)
    staff = cast.actor("construction_staff")
    services.manifest_close(actor=cast.actor("site_operator"), manifest=refused, now=now)
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refusal:
        services.manifest_cancel(actor=staff, manifest=follow_up, reason="装车延误", now=now)
    assert refusal.value.code == "carries_closed_refusal"
    follow_up.refresh_from_db()
    assert follow_up.status == ManifestStatus.ISSUED and AuditEntry.objects.count() == audit_rows


def test_the_redirect_of_an_open_refusal_may_be_cancelled_and_replaced(cast, make_ready_load, arrived, now):
    load = make_ready_load(extra_sites=1)
    refused = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                        outcome="refused", volume_m3="16", reason="含危险废物", now=now)
    staff = cast.actor("construction_staff")
    first = services.manifest_redirect(actor=staff, manifest=refused, site=load.sites[1], now=now)
    services.manifest_cancel(actor=staff, manifest=first, reason="改派", now=now)
    second = services.manifest_redirect(actor=staff, manifest=refused, site=load.sites[1], now=now)
    assert second.parent_id == refused.pk and second.estimated_m3 == Decimal("16.00")
