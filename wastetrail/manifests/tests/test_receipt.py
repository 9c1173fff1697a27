"""Weighing and refusal rules (Trackdéchets-style), capacity on acceptance, and a refused load's
new destination."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.manifests import services
from wastetrail.manifests.models import Manifest, ManifestStatus
from wastetrail.manifests.rules import receipt_from
from wastetrail.registry.models import ReceivingSite

amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2, allow_nan=False,
                      allow_infinity=False)
outcomes = st.sampled_from(["accepted", "partially_refused", "refused", "lost"])


@given(outcome=outcomes, gross=st.one_of(st.none(), amounts), tare=st.one_of(st.none(), amounts),
       volume=st.one_of(st.none(), amounts), refused=st.one_of(st.none(), amounts),
       reason=st.sampled_from(["", "  ", "混入生活垃圾"]))
def test_a_receipt_is_refused_or_loses_no_quantity(outcome, gross, tare, volume, refused, reason):
    try:
        receipt = receipt_from(outcome=outcome, gross_t=gross, tare_t=tare, volume_m3=volume,
                               refused=refused, reason=reason)
    except ValidationError as exc:
        assert exc.message_dict  # always names a field
        return
    assert receipt.received > 0
    assert receipt.accepted + receipt.refused == receipt.received
    assert receipt.accepted >= 0 and receipt.refused >= 0
    if receipt.outcome == "accepted":
        assert receipt.refused == 0 and receipt.reason == ""
    elif receipt.outcome == "refused":
        assert receipt.refused == receipt.received and receipt.reason
    else:
        assert 0 < receipt.refused < receipt.received and receipt.reason
    if receipt.net_t is not None:
        assert receipt.net_t == receipt.gross_t - receipt.tare_t > 0


@pytest.mark.parametrize("kwargs,field", [
    ({"outcome": "accepted", "gross_t": "30", "tare_t": "30"}, "tare_t"),
    ({"outcome": "accepted", "gross_t": "30"}, "tare_t"),
    ({"outcome": "accepted"}, "gross_t"),
    ({"outcome": "accepted", "volume_m3": "10", "refused": "1"}, "refused_quantity"),
    ({"outcome": "refused", "volume_m3": "10", "refused": "4", "reason": "x"}, "refused_quantity"),
    ({"outcome": "refused", "volume_m3": "10"}, "reason"),
    ({"outcome": "partially_refused", "volume_m3": "10", "refused": "10", "reason": "x"}, "refused_quantity"),
    ({"outcome": "partially_refused", "volume_m3": "10", "refused": "0", "reason": "x"}, "refused_quantity"),
    ({"outcome": "partially_refused", "volume_m3": "10", "refused": "3"}, "reason"),
    ({"outcome": "maybe", "volume_m3": "10"}, "outcome"),
])
def test_receipt_rules_name_the_offending_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        receipt_from(**kwargs)
    assert field in err.value.message_dict




@pytest.mark.django_db
def test_a_bad_receipt_changes_nothing(cast, make_ready_load, arrived):
    load = make_ready_load()
    manifest = arrived(load)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.manifest_receive(actor=cast.actor("site_operator"), manifest=manifest,
                                  outcome="partially_refused", gross_t="40", tare_t="15", refused_quantity="30",
                                  reason="超量")
    stored = Manifest.objects.get(pk=manifest.pk)
    assert stored.status == ManifestStatus.ARRIVED and stored.received_quantity is None
    assert not stored.signatures.filter(step="receiver").exists()
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == 0
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_partial_refusal_counts_only_the_accepted_part_and_needs_a_new_destination_to_close(
        cast, make_ready_load, arrived, now):
    load = make_ready_load(extra_sites=1)
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="partially_refused", gross_t="45", tare_t="15",
                                         refused_quantity="9", reason="混入生活垃圾")
    assert (manifest.received_quantity, manifest.accepted_quantity, manifest.refused_quantity) == (
        Decimal("30.00"), Decimal("21.00"), Decimal("9.00"))
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("11.67")  # 21 t ÷ 1.8

    with pytest.raises(DomainError) as err:
        services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    assert err.value.code == "needs_new_destination"

    other_site = load.sites[1]
    follow_up = services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest,
                                           site=other_site, now=now)
    assert follow_up.parent == manifest and follow_up.site == other_site
    assert follow_up.vehicle == manifest.vehicle and follow_up.status == ManifestStatus.ISSUED
    assert (follow_up.estimated_t, follow_up.estimated_m3) == (Decimal("9.00"), Decimal("5.00"))
    with pytest.raises(DomainError) as err:
        services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest, site=other_site,
                                   now=now)
    assert err.value.code == "already_redirected"

    closed = services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    assert closed.status == ManifestStatus.CLOSED


@pytest.mark.django_db
def test_a_refused_load_fills_no_capacity_and_cannot_be_redirected_to_the_same_site(
        cast, make_ready_load, arrived, now):
    load = make_ready_load()
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="refused", volume_m3="16", reason="泥浆未脱水")
    assert manifest.accepted_quantity == 0 and manifest.refused_quantity == Decimal("16.00")
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == 0
    with pytest.raises(ValidationError) as err:
        services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest, site=load.site,
                                   now=now)
    assert "site" in err.value.message_dict


@pytest.mark.django_db
def test_a_redirect_goes_through_the_issuing_checks(cast, make_ready_load, arrived, make_site, now):
    load = make_ready_load()
    manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                         outcome="refused", volume_m3="16", reason="泥浆未脱水")
    unapproved = make_site()
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as err:
        services.manifest_redirect(actor=cast.actor("construction_staff"), manifest=manifest, site=unapproved,
                                   now=now)
    assert err.value.code == "no_emission_approval"
    assert Manifest.objects.count() == 1 and AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_accepted_loads_add_up_on_the_site(cast, make_ready_load, arrived):
    load = make_ready_load()
    for volume in ("10", "12.5"):
        manifest = services.manifest_receive(actor=cast.actor("site_operator"), manifest=arrived(load),
                                             outcome="accepted", volume_m3=volume)
        services.manifest_close(actor=cast.actor("site_operator"), manifest=manifest)
    assert ReceivingSite.objects.get(pk=load.site.pk).used_capacity_m3 == Decimal("22.50")
