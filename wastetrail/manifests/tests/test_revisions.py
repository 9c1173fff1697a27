"""Revision requests: a party asks to change fields locked by a signature, every other party
approves (or one refuses), the change applies with the last approval — and every refusal of the
rules says why and writes nothing."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from wastetrail.accounts.models import Membership, Role
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.errors import DomainError
from wastetrail.manifests import policy, revisions, services
from wastetrail.manifests.models import (
    Manifest,
    ManifestRevisionDecision,
    ManifestRevisionRequest,
    ManifestStatus,
    RevisionStatus,
    SignatureStep,
)
from wastetrail.manifests.revision_selectors import revision_list, revisions_waiting_for
from wastetrail.registry.models import ReceivingSite

pytestmark = pytest.mark.django_db
EMITTER, CARRIER, RECEIVER = "construction_staff", "transport_admin", "site_operator"


def ask(cast, manifest, changes, *, user=EMITTER, reason="称重有误", **kwargs):
    return revisions.manifest_revision_request(actor=cast.actor(user), manifest=manifest, changes=changes,
                                               reason=reason, **kwargs)


def approve(cast, revision, user):
    return revisions.manifest_revision_approve(actor=cast.actor(user), revision=revision)


def fresh(manifest) -> Manifest:
    return Manifest.objects.get(pk=manifest.pk)


def used(site) -> Decimal:
    return ReceivingSite.objects.get(pk=site.pk).used_capacity_m3


class NothingWritten:
    """Counts revision rows, decisions and audit rows before and after a refused call."""

    def __enter__(self):
        self.before = self._counts()
        return self

    def __exit__(self, *exc):
        assert self._counts() == self.before
        return False

    @staticmethod
    def _counts():
        return (ManifestRevisionRequest.objects.count(), ManifestRevisionDecision.objects.count(),
                AuditEntry.objects.count())


@pytest.fixture
def received(cast, now, arrived):
    """A manifest weighed (or measured) and received by the site."""

    def make(load, *, outcome="accepted", close=False, **receipt) -> Manifest:
        manifest = arrived(load)
        receipt = receipt or {"volume_m3": "10"}
        manifest = services.manifest_receive(actor=cast.actor(RECEIVER), manifest=manifest, outcome=outcome,
                                             now=now + dt.timedelta(hours=2), **receipt)
        if close:
            manifest = services.manifest_close(actor=cast.actor(RECEIVER), manifest=manifest)
        return manifest

    return make


# --- the rule (pure) -------------------------------------------------------------------------
def test_the_rule_names_what_each_party_may_revise_once_it_is_signed():
    everyone = (SignatureStep.EMITTER, SignatureStep.TRANSPORTER, SignatureStep.RECEIVER)
    revisions.check_revisable(["estimated_m3", "route"], requester_steps=["emitter"], signed=everyone)
    revisions.check_revisable(["driver", "route"], requester_steps=["transporter"], signed=everyone)
    revisions.check_revisable(["receipt"], requester_steps=["receiver"], signed=everyone)
    # an organisation holding two roles asks for the fields of both
    assert revisions.revisable_fields(["emitter", "transporter"]) == (
        "estimated_m3", "estimated_t", "emitter_address", "disposal_method", "route", "driver")

    with pytest.raises(ValidationError) as refused:
        revisions.check_revisable(["receipt", "status"], requester_steps=["emitter"], signed=everyone)
    assert set(refused.value.message_dict) == {"receipt", "status"}
    with pytest.raises(DomainError) as unlocked:
        revisions.check_revisable(["driver"], requester_steps=["transporter"], signed=["emitter"])
    assert unlocked.value.code == "field_not_locked" and "driver" in unlocked.value.message
    with pytest.raises(ValidationError) as piecemeal:
        revisions.check_revisable(["gross_t"], requester_steps=["receiver"], signed=everyone)
    assert "as a whole" in piecemeal.value.message_dict["gross_t"][0]


def test_every_other_organisation_decides_once_even_with_two_roles():
    three = Manifest(emitter_id=1, carrier_id=2, receiver_id=3)
    assert policy.required_approvers(three, 1) == {2: "transporter", 3: "receiver"}
    carrier_also_receives = Manifest(emitter_id=1, carrier_id=2, receiver_id=2)
    assert policy.required_approvers(carrier_also_receives, 1) == {2: "transporter"}
    # the requester's organisation never approves, whichever of its roles it asks for
    emitter_also_carries = Manifest(emitter_id=1, carrier_id=1, receiver_id=3)
    assert policy.required_approvers(emitter_also_carries, 1) == {3: "receiver"}
    assert policy.steps_of(emitter_also_carries, 1) == ("emitter", "transporter")


# --- a whole revision -----------------------------------------------------------------------
def test_an_emitter_revision_applies_when_every_other_party_has_approved(cast, make_ready_load, issue):
    load = make_ready_load()
    manifest = issue(load)

    revision = ask(cast, manifest, {"estimated_m3": "20"}, reason="装载量估算有误")
    assert revision.status == RevisionStatus.PENDING
    assert revision.requested_step == "emitter" and revision.requested_organisation == cast.org("construction")
    # the other unit follows from the density (1.8 t/m³)
    assert revision.changes == {"estimated_m3": "20.00", "estimated_t": "36.00"}
    assert revision.previous == {"estimated_m3": "18.00", "estimated_t": "32.40"}

    approve(cast, revision, CARRIER)
    assert fresh(manifest).estimated_m3 == Decimal("18.00")  # not before everyone has approved
    assert ManifestRevisionRequest.objects.get(pk=revision.pk).status == RevisionStatus.PENDING

    revision = approve(cast, revision, RECEIVER)
    assert revision.status == RevisionStatus.APPROVED and revision.decided_at is not None
    stored = fresh(manifest)
    assert (stored.estimated_m3, stored.estimated_t) == (Decimal("20.00"), Decimal("36.00"))
    assert list(revision.decisions.values_list("step", "verdict")) == [("transporter", "approve"),
                                                                      ("receiver", "approve")]
    actions = list(AuditEntry.objects.filter(action__startswith="manifest.revision").values_list("action", flat=True))
    assert actions == ["manifest.revision_request", "manifest.revision_approve", "manifest.revision_approve"]
    final = AuditEntry.objects.filter(action="manifest.revision_approve").order_by("seq").last()
    assert final.object_id == str(manifest.pk) and final.data["applied"] is True
    assert final.data["before"]["estimated_m3"] == "18.00" and final.data["after"]["estimated_m3"] == "20.00"


def test_both_estimates_given_are_kept_as_given(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"estimated_m3": "20", "estimated_t": "30"})
    assert revision.changes == {"estimated_m3": "20.00", "estimated_t": "30.00"}


def test_the_carrier_revises_the_driver_after_departure(cast, make_ready_load, issue, make_driver, now):
    manifest = issue(make_ready_load())
    manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=manifest, now=now)
    relief = make_driver()
    revision = ask(cast, manifest, {"driver": relief.pk, "route": "江门大道"}, user=CARRIER, reason="换班")
    approve(cast, revision, EMITTER)
    revision = approve(cast, revision, RECEIVER)
    assert revision.status == RevisionStatus.APPROVED
    assert (fresh(manifest).driver_id, fresh(manifest).route) == (relief.pk, "江门大道")


def test_one_refusal_refuses_the_request_and_changes_nothing(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"disposal_method": "recycling"})
    with NothingWritten(), pytest.raises(ValidationError) as no_comment:
        revisions.manifest_revision_refuse(actor=cast.actor(CARRIER), revision=revision, comment=" ")
    assert "comment" in no_comment.value.message_dict

    revision = revisions.manifest_revision_refuse(actor=cast.actor(CARRIER), revision=revision,
                                                  comment="场站不具备资源化条件")
    assert revision.status == RevisionStatus.REFUSED
    assert fresh(manifest).disposal_method == "disposal"
    with NothingWritten(), pytest.raises(DomainError) as late:
        approve(cast, revision, RECEIVER)
    assert late.value.code == "revision_not_pending"


def test_a_party_cannot_decide_twice(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"emitter_address": "江门市蓬江区新地址 1 号"})
    approve(cast, revision, CARRIER)
    with NothingWritten(), pytest.raises(DomainError) as twice:
        approve(cast, revision, "transport_admin")
    assert twice.value.code == "already_decided"
    with NothingWritten(), pytest.raises(DomainError):
        revisions.manifest_revision_refuse(actor=cast.actor(CARRIER), revision=revision, comment="改主意")


@pytest.mark.parametrize("user", [EMITTER, "construction_admin", "reg_officer", "outsider", "driver"])
def test_the_requester_regulators_outsiders_and_drivers_do_not_decide(cast, make_ready_load, issue, user):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"emitter_address": "新地址"})
    with NothingWritten(), pytest.raises(PermissionDenied):
        approve(cast, revision, user)


def test_the_requester_cannot_decide_for_another_party_he_also_works_for(cast, make_ready_load, issue):
    Membership.objects.create(user=cast.user(EMITTER), organisation=cast.org("transport"), role=Role.STAFF)
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"emitter_address": "新地址"}, party="emitter")
    for decide in (lambda: approve(cast, revision, EMITTER),
                   lambda: revisions.manifest_revision_refuse(actor=cast.actor(EMITTER), revision=revision,
                                                              comment="自己拒绝")):
        with NothingWritten(), pytest.raises(DomainError) as own:
            decide()
        assert own.value.code == "requester_cannot_decide"
    # nothing offers it to him either
    assert not policy.can_decide_revision(cast.actor(EMITTER), revision)
    assert list(revisions_waiting_for(actor=cast.actor(EMITTER))) == []
    # another person of the transport company decides for it
    assert list(revisions_waiting_for(actor=cast.actor(CARRIER))) == [revision]
    approve(cast, revision, CARRIER)
    assert approve(cast, revision, RECEIVER).status == RevisionStatus.APPROVED


def test_when_one_organisation_holds_every_role_the_change_applies_at_once(cast, make_ready_load, issue, now):
    manifest = issue(make_ready_load())
    construction = cast.org("construction")
    Manifest.objects.filter(pk=manifest.pk).update(carrier=construction, receiver=construction)

    revision = ask(cast, fresh(manifest), {"estimated_m3": "20"}, now=now)
    assert revision.status == RevisionStatus.APPROVED and revision.decided_at == now
    assert not revision.decisions.exists()
    stored = fresh(manifest)
    assert (stored.estimated_m3, stored.estimated_t) == (Decimal("20.00"), Decimal("36.00"))
    entry = AuditEntry.objects.get(action__startswith="manifest.revision")
    assert entry.action == "manifest.revision_request" and entry.object_id == str(manifest.pk)
    assert entry.data["approvers"] == [] and entry.data["applied"] is True
    assert entry.data["before"]["estimated_m3"] == "18.00" and entry.data["after"]["estimated_m3"] == "20.00"


# --- refusals that write nothing ------------------------------------------------------------
@pytest.mark.parametrize("user", ["driver", "reg_officer", "reg_admin", "outsider", "transport_other_admin"])
def test_only_the_staff_of_a_party_may_ask(cast, make_ready_load, issue, user):
    manifest = issue(make_ready_load())
    with NothingWritten(), pytest.raises(PermissionDenied):
        ask(cast, manifest, {"emitter_address": "新地址"}, user=user)


def test_an_unsigned_field_is_changed_by_its_party_not_revised(cast, make_ready_load, issue, make_driver):
    manifest = issue(make_ready_load())  # the transporter has not signed yet
    relief = make_driver()
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"driver": relief.pk}, user=CARRIER)
    assert refused.value.code == "field_not_locked"
    with NothingWritten(), pytest.raises(DomainError) as route:
        ask(cast, manifest, {"route": "另一条路"})  # the emitter may ask for a route, once signed
    assert route.value.code == "field_not_locked"


def test_a_receipt_is_not_revised_before_the_load_is_received(cast, make_ready_load, arrived):
    manifest = arrived(make_ready_load())
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "9"}}, user=RECEIVER)
    assert refused.value.code == "field_not_locked"


@pytest.mark.parametrize("field,value", [
    ("status", "closed"), ("number", "JM20990101000001"), ("vehicle", 1), ("site", 1), ("category", 1),
    ("emitter", 1), ("carrier", 1), ("receiver", 1), ("emission_approval", 1), ("issued_at", "2026-01-01"),
    ("planned_departure_at", "2026-01-01"), ("nonsense", 1),
])
def test_fields_that_never_change_after_issue_are_refused(cast, make_ready_load, issue, field, value):
    manifest = issue(make_ready_load())
    with NothingWritten(), pytest.raises(ValidationError) as refused:
        ask(cast, manifest, {field: value})
    assert field in refused.value.message_dict


def test_a_party_may_not_ask_for_another_partys_fields(cast, make_ready_load, received):
    manifest = received(make_ready_load())
    with NothingWritten(), pytest.raises(ValidationError) as refused:
        ask(cast, manifest, {"estimated_m3": "5"}, user=RECEIVER)
    assert "estimated_m3" in refused.value.message_dict
    with NothingWritten(), pytest.raises(ValidationError):
        ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "9"}})


@pytest.mark.parametrize("changes,reason,field", [
    ({"estimated_m3": "20"}, "  ", "reason"),
    ({}, "x", "changes"),
    ({"estimated_m3": "-1"}, "x", "estimated_m3"),
    ({"estimated_m3": "abc"}, "x", "estimated_m3"),
    ({"estimated_m3": None}, "x", "estimated_m3"),
    ({"disposal_method": "burning"}, "x", "disposal_method"),
    ({"emitter_address": " "}, "x", "emitter_address"),
    ({"estimated_m3": "18"}, "x", "changes"),  # nothing differs from the manifest
])
def test_bad_input_says_which_field_and_writes_nothing(cast, make_ready_load, issue, changes, reason, field):
    manifest = issue(make_ready_load())
    with NothingWritten(), pytest.raises(ValidationError) as refused:
        ask(cast, manifest, changes, reason=reason)
    assert field in refused.value.message_dict


@pytest.mark.parametrize("changes,reason,field", [
    ({"receipt": {"outcome": "refused", "volume_m3": "10", "refusal_reason": 5}}, "x", "refusal_reason"),
    ({"receipt": {"outcome": "refused", "volume_m3": "10", "refusal_reason": ["超标"]}}, "x", "refusal_reason"),
    ({"route": 5}, "x", "route"),
    ({"emitter_address": ["新地址"]}, "x", "emitter_address"),
    ({"emitter_address": "新地址"}, 5, "reason"),
    ({"emitter_address": "新地址"}, {"why": "x"}, "reason"),
])
def test_text_that_is_not_text_is_refused_by_name(cast, make_ready_load, received, changes, reason, field):
    manifest = received(make_ready_load(), volume_m3="10")
    user = RECEIVER if "receipt" in changes else EMITTER
    with NothingWritten(), pytest.raises(ValidationError) as refused:
        ask(cast, manifest, changes, reason=reason, user=user)
    assert refused.value.message_dict[field] == ["Give this as text."]


def test_the_new_driver_must_be_an_active_driver_of_the_carrier(cast, make_ready_load, issue, make_driver, now):
    manifest = services.manifest_depart(actor=cast.actor("driver"), manifest=issue(make_ready_load()), now=now)
    stranger = make_driver(company=cast.org("transport_other"))
    for driver in (stranger.pk, 999999, "x"):
        with NothingWritten(), pytest.raises(ValidationError) as refused:
            ask(cast, manifest, {"driver": driver}, user=CARRIER)
        assert "driver" in refused.value.message_dict


def test_a_cancelled_manifest_is_not_revised(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    manifest = services.manifest_cancel(actor=cast.actor(EMITTER), manifest=manifest, reason="取消")
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"emitter_address": "新地址"})
    assert refused.value.code == "wrong_state"


# --- one pending request at a time ----------------------------------------------------------
def test_a_second_pending_request_is_refused(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    ask(cast, manifest, {"emitter_address": "新地址"})
    with NothingWritten(), pytest.raises(DomainError) as second:
        ask(cast, manifest, {"disposal_method": "backfill"})
    assert second.value.code == "revision_pending"


def test_the_database_refuses_a_second_pending_request(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    first = ask(cast, manifest, {"emitter_address": "新地址"})
    with pytest.raises(IntegrityError), transaction.atomic():
        ManifestRevisionRequest.objects.create(
            manifest=manifest, requested_step="emitter", requested_organisation=first.requested_organisation,
            requested_by=first.requested_by, reason="x", changes={}, previous={}, created_at=first.created_at)


def test_a_request_that_slips_past_the_check_meets_the_index_and_gets_the_same_refusal(
        cast, make_ready_load, issue, monkeypatch):
    manifest = issue(make_ready_load())
    ask(cast, manifest, {"emitter_address": "新地址"})
    real = revisions._pending
    calls = iter([None])  # the first look misses the pending request; the index does not
    monkeypatch.setattr(revisions, "_pending", lambda m: next(calls, real(m)))
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"disposal_method": "backfill"})
    assert refused.value.code == "revision_pending"


def test_the_requester_cancels_its_pending_request_and_may_ask_again(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"emitter_address": "新地址"})
    with NothingWritten(), pytest.raises(PermissionDenied):
        revisions.manifest_revision_cancel(actor=cast.actor(CARRIER), revision=revision)
    revision = revisions.manifest_revision_cancel(actor=cast.actor("construction_admin"), revision=revision)
    assert revision.status == RevisionStatus.CANCELLED
    with NothingWritten(), pytest.raises(DomainError) as again:
        revisions.manifest_revision_cancel(actor=cast.actor(EMITTER), revision=revision)
    assert again.value.code == "revision_not_pending"
    with pytest.raises(DomainError):
        approve(cast, revision, CARRIER)
    assert ask(cast, manifest, {"emitter_address": "另一个地址"}).status == RevisionStatus.PENDING


# --- applying: stale values and the manifest's state ----------------------------------------
def test_stale_previous_values_fail_the_request_and_apply_nothing(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"estimated_m3": "20"})
    approve(cast, revision, CARRIER)
    # something outside the services changes the field meanwhile
    Manifest.objects.filter(pk=manifest.pk).update(estimated_m3=Decimal("19"))

    revision = approve(cast, revision, RECEIVER)
    assert revision.status == RevisionStatus.FAILED
    assert "estimated_m3" in revision.failure_reason and "nothing was applied" in revision.failure_reason
    stored = fresh(manifest)
    assert (stored.estimated_m3, stored.estimated_t) == (Decimal("19.00"), Decimal("32.40"))
    final = AuditEntry.objects.filter(action="manifest.revision_approve").order_by("seq").last()
    assert final.data["applied"] is False and final.data["code"] == "revision_stale"
    # the manifest is free for a new request
    assert ask(cast, manifest, {"estimated_m3": "21"}).status == RevisionStatus.PENDING


def test_a_weighed_receipt_revision_moves_the_sites_used_capacity(cast, make_ready_load, received):
    load = make_ready_load()
    manifest = received(load, gross_t="30", tare_t="12")  # 18 t = 10 m³ at 1.8 t/m³
    assert used(load.site) == Decimal("10.00")

    revision = ask(cast, manifest, {"receipt": {"outcome": "partially_refused", "gross_t": "30", "tare_t": "12",
                                                "refused_quantity": "3.6", "refusal_reason": "混有生活垃圾"}},
                   user=RECEIVER, reason="漏记拒收部分")
    assert revision.changes["outcome"] == "partially_refused" and revision.previous["outcome"] == "accepted"
    approve(cast, revision, EMITTER)
    revision = approve(cast, revision, CARRIER)

    assert revision.status == RevisionStatus.APPROVED
    stored = fresh(manifest)
    assert stored.status == ManifestStatus.PARTIALLY_REFUSED
    assert (stored.accepted_quantity, stored.refused_quantity, stored.accepted_m3) == (
        Decimal("14.40"), Decimal("3.60"), Decimal("8.00"))
    assert stored.refusal_reason == "混有生活垃圾"
    assert used(load.site) == Decimal("8.00")  # −10 + 8


def test_a_closed_manifest_stays_closed_when_its_receipt_is_revised(cast, make_ready_load, received):
    load = make_ready_load()
    manifest = received(load, close=True, volume_m3="10")
    revision = ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "12"}}, user=RECEIVER)
    assert revision.previous["outcome"] == "accepted"
    approve(cast, revision, EMITTER)
    approve(cast, revision, CARRIER)
    stored = fresh(manifest)
    assert stored.status == ManifestStatus.CLOSED and stored.accepted_m3 == Decimal("12.00")
    assert used(load.site) == Decimal("12.00")


def test_a_closed_accepted_manifest_cannot_become_a_refusal(cast, make_ready_load, received):
    manifest = received(make_ready_load(), close=True, volume_m3="10")
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"receipt": {"outcome": "refused", "volume_m3": "10", "refusal_reason": "超标"}},
            user=RECEIVER)
    assert refused.value.code == "needs_new_destination"


def test_a_refusal_revised_after_the_manifest_closed_fails_at_the_last_approval(cast, make_ready_load, received):
    load = make_ready_load()
    manifest = received(load, volume_m3="10")
    revision = ask(cast, manifest, {"receipt": {"outcome": "refused", "volume_m3": "10",
                                                "refusal_reason": "含危险废物"}}, user=RECEIVER)
    approve(cast, revision, EMITTER)
    services.manifest_close(actor=cast.actor(RECEIVER), manifest=manifest)  # the state moves on

    revision = approve(cast, revision, CARRIER)
    assert revision.status == RevisionStatus.FAILED and "closed" in revision.failure_reason
    stored = fresh(manifest)
    assert stored.status == ManifestStatus.CLOSED and stored.refused_quantity == Decimal("0.00")
    assert used(load.site) == Decimal("10.00")


def test_an_accepted_revision_cannot_orphan_a_redirected_load(cast, make_ready_load, received, now):
    load = make_ready_load(extra_sites=1)
    manifest = received(load, outcome="partially_refused", volume_m3="10", refused_quantity="4", reason="杂物")
    services.manifest_redirect(actor=cast.actor(EMITTER), manifest=manifest, site=load.sites[1],
                               now=now + dt.timedelta(hours=3))
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "10"}}, user=RECEIVER)
    assert refused.value.code == "redirect_exists"


@pytest.fixture
def redirected(cast, make_ready_load, received, now):
    """A load partly refused (4 of 10 m³) whose refused part is sent on to another site."""

    def make():
        load = make_ready_load(extra_sites=1)
        manifest = received(load, outcome="partially_refused", volume_m3="10", refused_quantity="4", reason="杂物")
        child = services.manifest_redirect(actor=cast.actor(EMITTER), manifest=manifest, site=load.sites[1],
                                           now=now + dt.timedelta(hours=3))
        return load, fresh(manifest), child

    return make


@pytest.mark.parametrize("receipt", [
    {"outcome": "partially_refused", "volume_m3": "10", "refused_quantity": "3", "refusal_reason": "杂物"},
    {"outcome": "refused", "volume_m3": "10", "refusal_reason": "杂物"},
    # the same number in another unit is another quantity
    {"outcome": "partially_refused", "gross_t": "30", "tare_t": "12", "refused_quantity": "4",
     "refusal_reason": "杂物"},
])
def test_the_refused_part_cannot_change_while_it_is_redirected(cast, redirected, receipt):
    _load, manifest, child = redirected()
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"receipt": receipt}, user=RECEIVER)
    assert refused.value.code == "redirect_exists"
    assert child.number in refused.value.message and "Cancel" in refused.value.message


def test_a_redirected_receipt_may_still_correct_what_it_accepted(cast, redirected):
    _load, manifest, _child = redirected()
    revision = ask(cast, manifest, {"receipt": {"outcome": "partially_refused", "volume_m3": "12",
                                                "refused_quantity": "4", "refusal_reason": "杂物"}}, user=RECEIVER)
    approve(cast, revision, EMITTER)
    assert approve(cast, revision, CARRIER).status == RevisionStatus.APPROVED
    assert fresh(manifest).accepted_m3 == Decimal("8.00")


def test_once_the_redirect_is_cancelled_the_refused_part_may_change(cast, redirected):
    _load, manifest, child = redirected()
    services.manifest_cancel(actor=cast.actor(EMITTER), manifest=child, reason="改派")
    revision = ask(cast, manifest, {"receipt": {"outcome": "partially_refused", "volume_m3": "10",
                                                "refused_quantity": "3", "refusal_reason": "杂物"}}, user=RECEIVER)
    assert revision.status == RevisionStatus.PENDING


def test_a_redirect_made_before_the_last_approval_fails_the_revision(cast, make_ready_load, received, now):
    load = make_ready_load(extra_sites=1)
    manifest = received(load, outcome="partially_refused", volume_m3="10", refused_quantity="4", reason="杂物")
    revision = ask(cast, manifest, {"receipt": {"outcome": "partially_refused", "volume_m3": "10",
                                                "refused_quantity": "3", "refusal_reason": "杂物"}}, user=RECEIVER)
    approve(cast, revision, EMITTER)
    child = services.manifest_redirect(actor=cast.actor(EMITTER), manifest=manifest, site=load.sites[1],
                                       now=now + dt.timedelta(hours=3))  # the state moves on

    revision = approve(cast, revision, CARRIER)
    assert revision.status == RevisionStatus.FAILED and child.number in revision.failure_reason
    stored = fresh(manifest)
    assert (stored.refused_quantity, stored.accepted_m3) == (Decimal("4.00"), Decimal("6.00"))
    assert used(load.site) == Decimal("6.00")
    final = AuditEntry.objects.filter(action="manifest.revision_approve").order_by("seq").last()
    assert final.data["applied"] is False and final.data["code"] == "redirect_exists"


def test_an_accepted_load_revised_to_a_refusal_needs_a_new_destination_to_close(cast, make_ready_load, received):
    manifest = received(make_ready_load(), volume_m3="10")
    revision = ask(cast, manifest, {"receipt": {"outcome": "refused", "volume_m3": "10", "refusal_reason": "超标"}},
                   user=RECEIVER)
    approve(cast, revision, EMITTER)
    approve(cast, revision, CARRIER)
    stored = fresh(manifest)
    assert stored.status == ManifestStatus.REFUSED and stored.accepted_m3 == Decimal("0.00")
    with pytest.raises(DomainError) as close:
        services.manifest_close(actor=cast.actor(RECEIVER), manifest=stored)
    assert close.value.code == "needs_new_destination"


def test_a_receipt_revision_is_checked_by_the_receipt_rules(cast, make_ready_load, received):
    manifest = received(make_ready_load(), volume_m3="10")
    for receipt, field in [
        ({"outcome": "partially_refused", "volume_m3": "10", "refused_quantity": "10", "refusal_reason": "x"},
         "refused_quantity"),
        ({"outcome": "refused", "volume_m3": "10"}, "refusal_reason"),
        ({"outcome": "accepted", "gross_t": "10", "tare_t": "12"}, "tare_t"),
        ({"outcome": "maybe", "volume_m3": "10"}, "outcome"),
        ({"outcome": "accepted", "volume_m3": "10", "colour": "red"}, "colour"),
        ("accepted", "receipt"),
    ]:
        with NothingWritten(), pytest.raises(ValidationError) as refused:
            ask(cast, manifest, {"receipt": receipt}, user=RECEIVER)
        assert field in refused.value.message_dict


def test_a_revision_cannot_overfill_the_site(cast, make_ready_load, received, make_site):
    load = make_ready_load()
    manifest = received(load, volume_m3="10")
    ReceivingSite.objects.filter(pk=load.site.pk).update(capacity_m3=Decimal("15"))
    with NothingWritten(), pytest.raises(DomainError) as refused:
        ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "16"}}, user=RECEIVER)
    assert refused.value.code == "site_full"


@pytest.mark.parametrize("capacity,used,added,refused", [
    (Decimal("15"), Decimal("10"), Decimal("6"), True),  # adds past the capacity
    (Decimal("15"), Decimal("10"), Decimal("5"), False),  # fills it exactly
    (Decimal("8"), Decimal("10"), Decimal("-1"), False),  # past capacity already: a lowering is a correction
    (Decimal("8"), Decimal("10"), Decimal("0.01"), True),  # ... but adding is not
    (None, Decimal("10"), Decimal("100"), False),  # no capacity declared
])
def test_only_a_revision_that_adds_volume_can_overfill_a_site(capacity, used, added, refused):
    assert revisions.overfills(capacity=capacity, used=used, added_m3=added) is refused


def test_a_revision_that_lowers_the_accepted_volume_of_a_full_site_applies(cast, make_ready_load, received):
    load = make_ready_load()
    manifest = received(load, volume_m3="10")
    ReceivingSite.objects.filter(pk=load.site.pk).update(capacity_m3=Decimal("10"))  # full
    revision = ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "9"}}, user=RECEIVER)
    approve(cast, revision, EMITTER)
    assert approve(cast, revision, CARRIER).status == RevisionStatus.APPROVED
    assert used(load.site) == Decimal("9.00")
    with NothingWritten(), pytest.raises(DomainError) as more:
        ask(cast, manifest, {"receipt": {"outcome": "accepted", "volume_m3": "10.01"}}, user=RECEIVER)
    assert more.value.code == "site_full"


# --- reading --------------------------------------------------------------------------------
def test_waiting_requests_are_those_my_organisation_still_has_to_decide(cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"emitter_address": "新地址"})

    def waiting(user):
        return list(revisions_waiting_for(actor=cast.actor(user)))

    assert waiting(CARRIER) == [revision] and waiting(RECEIVER) == [revision]
    assert waiting(EMITTER) == [] and waiting("reg_officer") == [] and waiting("driver") == []
    approve(cast, revision, CARRIER)
    assert waiting(CARRIER) == [] and waiting(RECEIVER) == [revision]
    # everyone who sees the manifest sees the request; outsiders do not
    assert list(revision_list(actor=cast.actor("reg_officer"))) == [revision]
    assert list(revision_list(actor=cast.actor("driver"))) == [revision]
    assert list(revision_list(actor=cast.actor("outsider"))) == []


# --- two parties approving at the same moment (PostgreSQL) ----------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_last_approvals_at_once_apply_the_change_once(cast, make_ready_load, received):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    from django.apps import apps
    importlib.import_module("wastetrail.core.migrations.0005_jiangmen_defaults").load_defaults(apps, None)

    def race(revision):
        start, results = threading.Barrier(2), [None, None]

        def run(i, user):
            try:
                start.wait()
                results[i] = approve(cast, revision, user)
            except BaseException as exc:  # asserted below
                results[i] = exc
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(i, user)) for i, user in enumerate((EMITTER, CARRIER))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    # a few rounds: without the locks the race is lost only some of the time
    for _round in range(3):
        load = make_ready_load()
        manifest = received(load, gross_t="30", tare_t="12")
        revision = ask(cast, manifest, {"receipt": {"outcome": "accepted", "gross_t": "30", "tare_t": "3"}},
                       user=RECEIVER)
        results = race(revision)
        assert all(isinstance(r, ManifestRevisionRequest) for r in results), results
        assert ManifestRevisionRequest.objects.get(pk=revision.pk).status == RevisionStatus.APPROVED
        assert ManifestRevisionDecision.objects.filter(request=revision).count() == 2
        assert fresh(manifest).accepted_m3 == Decimal("15.00")  # 27 t at 1.8 t/m³
        assert used(load.site) == Decimal("15.00")  # counted once: −10 + 15
        assert AuditEntry.objects.filter(action="manifest.revision_approve", object_id=str(manifest.pk),
                                         data__applied=True).count() == 1


# --- pages ----------------------------------------------------------------------------------
def _page(client, cast, user, manifest) -> str:
    client.force_login(cast.user(user))
    response = client.get(reverse("manifests-detail", args=[manifest.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_manifest_page_shows_requests_and_offers_each_party_its_buttons(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    page = _page(client, cast, EMITTER, manifest)
    assert 'data-testid="revisions-none"' in page and reverse("manifests-revision-new", args=[manifest.pk]) in page
    revision = ask(cast, manifest, {"emitter_address": "江门市蓬江区新地址 8 号"}, reason="门牌号写错")

    carrier = _page(client, cast, CARRIER, manifest)
    assert "江门市蓬江区新地址 8 号" in carrier and "门牌号写错" in carrier
    assert reverse("manifests-revision-approve", args=[manifest.pk, revision.pk]) in carrier
    assert 'data-testid="revision-refuse"' in carrier and 'data-testid="revision-cancel"' not in carrier
    emitter = _page(client, cast, EMITTER, manifest)
    assert 'data-testid="revision-cancel"' in emitter and 'data-testid="revision-approve"' not in emitter
    assert 'data-testid="revision-new"' not in emitter  # one pending request at a time
    for user in ("reg_officer", "driver"):
        seen = _page(client, cast, user, manifest)
        assert "门牌号写错" in seen and "<form" not in seen.split('data-testid="revisions"')[1].split("</section>")[0]


def test_the_request_form_is_prefilled_and_files_what_changed(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    client.force_login(cast.user(EMITTER))
    url = reverse("manifests-revision-new", args=[manifest.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form["estimated_m3"].initial == Decimal("18.00") and "driver" not in form.fields
    assert "outcome" not in form.fields

    before = AuditEntry.objects.count()
    missing = client.post(url, {"estimated_m3": "20", "estimated_t": "32.40",
                                "emitter_address": manifest.emitter_address, "disposal_method": "disposal",
                                "route": manifest.route, "reason": ""})
    assert missing.status_code == 400 and "reason" in missing.context["form"].errors
    assert ManifestRevisionRequest.objects.count() == 0 and AuditEntry.objects.count() == before

    response = client.post(url, {"estimated_m3": "20", "estimated_t": "32.40",
                                 "emitter_address": manifest.emitter_address, "disposal_method": "disposal",
                                 "route": manifest.route, "reason": "实测方量"})
    assert response.status_code == 302 and response["Location"].endswith(f"/manifests/{manifest.pk}/")
    assert ManifestRevisionRequest.objects.get().changes == {"estimated_m3": "20.00", "estimated_t": "36.00"}


def test_the_site_revises_its_receipt_from_the_page(client, cast, make_ready_load, received):
    manifest = received(make_ready_load(), volume_m3="10")
    client.force_login(cast.user(RECEIVER))
    url = reverse("manifests-revision-new", args=[manifest.pk])
    form = client.get(url).context["form"]
    assert form["outcome"].initial == "accepted" and form["volume_m3"].initial == Decimal("10.00")
    assert "estimated_m3" not in form.fields
    bad = client.post(url, {"outcome": "partially_refused", "volume_m3": "10", "refused_quantity": "4",
                            "refusal_reason": "", "reason": "复核"})
    assert bad.status_code == 400 and "refusal_reason" in bad.context["form"].errors
    response = client.post(url, {"outcome": "partially_refused", "volume_m3": "10", "refused_quantity": "4",
                                 "refusal_reason": "杂物", "reason": "复核"})
    assert response.status_code == 302
    assert ManifestRevisionRequest.objects.get().changes["refused_quantity"] == "4.00"


def test_the_pages_decide_and_come_back_to_the_manifest(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    revision = ask(cast, manifest, {"disposal_method": "backfill"})
    client.force_login(cast.user(CARRIER))
    refuse_url = reverse("manifests-revision-refuse", args=[manifest.pk, revision.pk])
    assert client.get(refuse_url).status_code == 405
    before = AuditEntry.objects.count()
    no_comment = client.post(refuse_url, {"comment": ""}, follow=True)
    assert "Say why you refuse the revision." in no_comment.content.decode()
    assert AuditEntry.objects.count() == before

    approved = client.post(reverse("manifests-revision-approve", args=[manifest.pk, revision.pk]))
    assert approved.status_code == 302 and approved["Location"].endswith(f"/manifests/{manifest.pk}/")
    client.force_login(cast.user(RECEIVER))
    done = client.post(reverse("manifests-revision-approve", args=[manifest.pk, revision.pk]), follow=True)
    assert "the revision is applied" in done.content.decode()
    assert fresh(manifest).disposal_method == "backfill"

    again = ask(cast, manifest, {"disposal_method": "disposal"})
    client.force_login(cast.user("reg_officer"))
    assert client.post(reverse("manifests-revision-cancel", args=[manifest.pk, again.pk])).status_code == 403
    client.force_login(cast.user("outsider"))
    assert client.post(reverse("manifests-revision-cancel", args=[manifest.pk, again.pk])).status_code == 404
    client.force_login(cast.user(EMITTER))
    cancelled = client.post(reverse("manifests-revision-cancel", args=[manifest.pk, again.pk]))
    assert cancelled.status_code == 302
    assert ManifestRevisionRequest.objects.get(pk=again.pk).status == RevisionStatus.CANCELLED


def test_a_driver_gets_no_request_form(client, cast, make_ready_load, issue):
    manifest = issue(make_ready_load())
    client.force_login(cast.user("driver"))
    assert client.get(reverse("manifests-revision-new", args=[manifest.pk])).status_code == 403
