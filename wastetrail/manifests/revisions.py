"""Revision requests (Trackdéchets' « révision »): changing a manifest's fields after their party
has signed.

A party (the staff of its organisation) proposes new values with a reason; every *other* party
of the manifest approves or refuses (never the person who asked, even if he also works for one of
them: manifests.policy says who asks, decides and withdraws); the change applies only when all
have approved, in the transaction of the last approval, after checking that the manifest still
holds the values the request was made against. One refusal refuses it; the requester may cancel
it while pending. Regulators see requests but do not decide. Fields not yet signed are changed
by their own party directly (``manifest_amend``), never through a request.

Which fields may be revised, and by whom, is data (``REVISABLE_BY``) checked by a pure function
(``check_revisable``); the services below follow the house pattern: lock, check who, check the
state, check the input, write and one audit row, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.services import audit_record
from wastetrail.core.errors import DomainError
from wastetrail.manifests import policy
from wastetrail.manifests.models import (
    FIELD_PARTY,
    RECEIVED_STATUSES,
    REFUSAL_STATUSES,
    DisposalMethod,
    Manifest,
    ManifestRevisionDecision,
    ManifestRevisionRequest,
    ManifestStatus,
    QuantityUnit,
    RevisionStatus,
    RevisionVerdict,
    SignatureStep,
)
from wastetrail.manifests.rules import receipt_from, to_m3
from wastetrail.manifests.services import estimates_from, live_redirect, lock_manifest, save_fields, signed_steps
from wastetrail.registry.models import Driver, ReceivingSite

# --- the rule: which fields, by whom, when (pure) -------------------------------------------
# What each party may ask to revise. The emitter may also ask for a new route (it planned it);
# like every field here it goes through revision only once the party owning it has signed.
REVISABLE_BY: dict[str, tuple[str, ...]] = {
    SignatureStep.EMITTER: ("estimated_m3", "estimated_t", "emitter_address", "disposal_method", "route"),
    SignatureStep.TRANSPORTER: ("driver", "route"),
    SignatureStep.RECEIVER: ("receipt",),
}
REVISABLE: frozenset[str] = frozenset(field for fields in REVISABLE_BY.values() for field in fields)
# Whose signature locks each revisable field. "receipt" stands for the receiver's weighing fields.
LOCKED_BY: dict[str, str] = {field: FIELD_PARTY.get(field, SignatureStep.RECEIVER) for field in REVISABLE}
# What a revised receipt is given as (the whole receipt, re-checked by rules.receipt_from) ...
RECEIPT_INPUT = ("outcome", "gross_t", "tare_t", "volume_m3", "refused_quantity", "refusal_reason")
# ... and what it changes on the manifest ("outcome": the received status).
RECEIPT_FIELDS = ("outcome", "gross_t", "tare_t", "net_t", "received_m3", "quantity_unit", "received_quantity",
                  "accepted_quantity", "refused_quantity", "refusal_reason", "accepted_m3")
# Order in which an organisation holding two roles is named (it decides once, as its first role).
STEP_ORDER = (SignatureStep.EMITTER, SignatureStep.TRANSPORTER, SignatureStep.RECEIVER)


def revisable_fields(requester_steps: Collection[str]) -> tuple[str, ...]:
    """The fields a party (all the roles its organisation holds on the manifest) may ask to revise."""
    fields: list[str] = []
    for step in STEP_ORDER:
        if step in requester_steps:
            fields += [field for field in REVISABLE_BY[step] if field not in fields]
    return tuple(fields)


def check_revisable(fields: Iterable[str], *, requester_steps: Collection[str], signed: Collection[str]) -> None:
    """Refuse a request for fields that cannot be revised (ValidationError naming each field) or
    that are not locked yet (DomainError ``field_not_locked``: their own party changes them)."""
    allowed = revisable_fields(requester_steps)
    errors: dict[str, str] = {}
    unlocked: list[str] = []
    for field in fields:
        if field in RECEIPT_FIELDS or field == "volume_m3":
            errors[field] = _("Revise the receipt as a whole, under \"receipt\".")
        elif field not in REVISABLE:
            errors[field] = _("This field cannot be revised (status, number, parties, vehicle, site, category, "
                              "approvals and times never change after issue).")
        elif field not in allowed:
            errors[field] = _("Your party may not ask to revise this field.")
        elif LOCKED_BY[field] not in signed:
            unlocked.append(field)
    if errors:
        raise ValidationError(errors)
    if unlocked:
        raise DomainError(_("%(fields)s not signed yet: its own party changes it directly; a revision request "
                            "is only for fields locked by a signature.") % {"fields": ", ".join(unlocked)},
                          code="field_not_locked")


# --- parties: who asks, who decides and who withdraws is manifests.policy's --------------------
def requestable_fields(actor: Actor, manifest: Manifest, party: str | None = None) -> tuple[str, ...]:
    """What the request form offers: the party's revisable fields that are locked now."""
    _step, org = policy.requesting_party(actor, manifest, party)
    signed = signed_steps(manifest)
    return tuple(field for field in revisable_fields(policy.steps_of(manifest, org)) if LOCKED_BY[field] in signed)


# --- values ---------------------------------------------------------------------------------
def _json(value: Any) -> Any:
    if isinstance(value, Decimal | str):  # str(): TextChoices members become plain strings
        return str(value)
    return value


def outcome_of(manifest: Manifest) -> str | None:
    """The receipt's outcome, also once closed (read from the quantities)."""
    if manifest.status in RECEIVED_STATUSES:
        return manifest.status
    if manifest.received_quantity is None:
        return None
    if not manifest.refused_quantity:
        return ManifestStatus.ACCEPTED
    if not manifest.accepted_quantity:
        return ManifestStatus.REFUSED
    return ManifestStatus.PARTIALLY_REFUSED


def current_values(manifest: Manifest, fields: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        if field == "driver":
            values[field] = manifest.driver_id
        elif field == "outcome":
            values[field] = outcome_of(manifest)
        else:
            values[field] = _json(getattr(manifest, field))
    return values


def _text(value: Any, field: str, *, required: bool = False, max_length: int | None = None) -> str:
    """A text value of the request (JSON may carry anything: a number or a list is refused by
    name rather than turned into text or failing further on)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Give this as text.")})
    text = value.strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if max_length is not None and len(text) > max_length:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": max_length}})
    return text


def _driver_id(value: Any) -> int:
    if isinstance(value, Driver):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({"driver": _("Choose an active driver of the transport company.")}) from None


def _receipt_values(manifest: Manifest, given: Any) -> dict[str, Any]:
    if not isinstance(given, Mapping):
        raise ValidationError({"receipt": _("Give the whole new receipt: outcome, the weights (gross and tare) or "
                                            "the volume, the refused quantity and the reason.")})
    unknown = sorted(set(given) - set(RECEIPT_INPUT))
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    refusal_reason = _text(given.get("refusal_reason"), "refusal_reason")
    try:
        receipt = receipt_from(outcome=given.get("outcome") or "", gross_t=given.get("gross_t"),
                               tare_t=given.get("tare_t"), volume_m3=given.get("volume_m3"),
                               refused=given.get("refused_quantity"), reason=refusal_reason)
    except ValidationError as exc:
        # The request has its own "reason": the receipt's one is refusal_reason, as on the manifest.
        raise ValidationError({"refusal_reason" if name == "reason" else name: errors
                               for name, errors in exc.error_dict.items()}) from None
    accepted_m3 = to_m3(receipt.accepted, receipt.unit, manifest.category.density_t_per_m3)
    return {"outcome": receipt.outcome, "gross_t": receipt.gross_t, "tare_t": receipt.tare_t,
            "net_t": receipt.net_t, "received_m3": receipt.received_m3, "quantity_unit": receipt.unit,
            "received_quantity": receipt.received, "accepted_quantity": receipt.accepted,
            "refused_quantity": receipt.refused, "refusal_reason": receipt.reason, "accepted_m3": accepted_m3}


def new_values(manifest: Manifest, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest fields the requested changes set, checked (ValidationError naming the field)
    and JSON-ready. Estimates: the other unit follows from the category's density unless both
    are given. A receipt is given whole and re-checked by rules.receipt_from."""
    values: dict[str, Any] = {}
    if "estimated_m3" in changes or "estimated_t" in changes:
        m3, t = estimates_from(changes.get("estimated_m3"), changes.get("estimated_t"), manifest.category)
        values |= {"estimated_m3": m3, "estimated_t": t}
    if "emitter_address" in changes:
        values["emitter_address"] = _text(changes["emitter_address"], "emitter_address", required=True,
                                          max_length=300)
    if "disposal_method" in changes:
        if changes["disposal_method"] not in DisposalMethod.values:
            raise ValidationError({"disposal_method": _("Choose a disposal method.")})
        values["disposal_method"] = changes["disposal_method"]
    if "route" in changes:
        values["route"] = _text(changes["route"], "route")
    if "driver" in changes:
        values["driver"] = _driver_id(changes["driver"])
    if "receipt" in changes:
        values |= _receipt_values(manifest, changes["receipt"])
    return {field: _json(value) for field, value in values.items()}


def _decimal(value: Any) -> Decimal:
    return Decimal(value) if value is not None else Decimal("0")


def overfills(*, capacity: Decimal | None, used: Decimal | None, added_m3: Decimal) -> bool:
    """Whether a receipt revision that changes the accepted volume by ``added_m3`` pushes the site
    past its capacity. Only one that adds can: a correction that lowers the accepted volume is
    always allowed, even on a site already past its capacity (e.g. its capacity was lowered)."""
    return capacity is not None and added_m3 > 0 and (used or Decimal("0")) + added_m3 > capacity


def _moves_refused_part(manifest: Manifest, values: Mapping[str, Any]) -> bool:
    """Whether a revised receipt changes the refused quantity or its unit: what a redirect carries."""
    return (_decimal(values.get("refused_quantity")) != _decimal(manifest.refused_quantity)
            or values.get("quantity_unit") != _json(manifest.quantity_unit))


def check_applicable(manifest: Manifest, values: Mapping[str, Any]) -> None:
    """What the manifest's current state must allow, checked when the request is made and again
    when it applies (the manifest may have moved on in between)."""
    if manifest.status == ManifestStatus.CANCELLED:
        raise DomainError(_("A cancelled manifest cannot be revised."), code="wrong_state")
    if "driver" in values:
        if not Driver.objects.filter(pk=values["driver"], company_id=manifest.carrier_id, is_active=True).exists():
            raise ValidationError({"driver": _("Choose an active driver of the transport company.")})
    if "outcome" not in values:
        return
    if manifest.status not in (*RECEIVED_STATUSES, ManifestStatus.CLOSED):
        raise DomainError(_("A receipt can only be revised once the load has been received."), code="wrong_state")
    outcome, redirect = values["outcome"], live_redirect(manifest)
    # The redirect carries the refused quantity as it was: changing it (or accepting everything)
    # would count that load twice or leave it without origin.
    if redirect is not None and _moves_refused_part(manifest, values):
        raise DomainError(_("The refused load was sent on under %(number)s: the refused quantity cannot change "
                            "while that manifest stands. Cancel that manifest first; once it has left it can no "
                            "longer be cancelled, and the refused part of this receipt stays as it is.") % {
                            "number": redirect.number}, code="redirect_exists")
    if manifest.status == ManifestStatus.CLOSED and outcome in REFUSAL_STATUSES and redirect is None:
        raise DomainError(_("This manifest is closed: a refusal now would leave the refused load without a new "
                            "destination. Issue a new manifest for it instead."), code="needs_new_destination")
    # Locked: the capacity checked here is the capacity written (see _write).
    site = ReceivingSite.objects.select_for_update().get(pk=manifest.site_id)
    added_m3 = _decimal(values["accepted_m3"]) - _decimal(manifest.accepted_m3)
    if overfills(capacity=site.capacity_m3, used=site.used_capacity_m3, added_m3=added_m3):
        raise DomainError(_("%(site)s has not enough capacity left for the revised accepted quantity.") % {
            "site": site.name}, code="site_full")


def _write(manifest: Manifest, values: Mapping[str, Any]) -> None:
    """Set the values on the locked manifest and keep what depends on them right: the status
    follows the receipt's outcome (a closed manifest stays closed) and the site's used capacity
    loses the old accepted volume and gains the new one."""
    fields: list[str] = []
    old_accepted_m3 = manifest.accepted_m3
    for field, value in values.items():
        if field == "driver":
            manifest.driver_id = value
        elif field == "outcome":
            if manifest.status in RECEIVED_STATUSES and manifest.status != value:
                manifest.status = value
                fields.append("status")
            continue
        elif field in ("emitter_address", "disposal_method", "route", "quantity_unit", "refusal_reason"):
            setattr(manifest, field, value)
        else:
            setattr(manifest, field, None if value is None else Decimal(value))
        fields.append(field)
    save_fields(manifest, fields)
    if "accepted_m3" in values:
        delta = _decimal(values["accepted_m3"]) - _decimal(old_accepted_m3)
        if delta:
            site = ReceivingSite.objects.select_for_update().get(pk=manifest.site_id)
            site.used_capacity_m3 = (site.used_capacity_m3 or Decimal("0")) + delta
            site.save(update_fields=["used_capacity_m3", "updated_at"])


def _differences(manifest: Manifest, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(changes, previous) for what actually differs; a receipt is kept whole if any of it differs."""
    previous = current_values(manifest, values)
    changed = {field for field, value in values.items() if previous[field] != value}
    if changed & set(RECEIPT_FIELDS):
        changed |= set(RECEIPT_FIELDS)
    changes = {field: value for field, value in values.items() if field in changed}
    return changes, {field: previous[field] for field in changes}


# --- services -------------------------------------------------------------------------------
def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _pending(manifest: Manifest) -> ManifestRevisionRequest | None:
    return manifest.revision_requests.filter(status=RevisionStatus.PENDING).first()


def _lock_revision(revision: ManifestRevisionRequest) -> tuple[Manifest, ManifestRevisionRequest]:
    """The manifest first, then the request: every revision service takes them in this order,
    so two decisions at once queue up instead of deadlocking."""
    manifest = lock_manifest(Manifest(pk=revision.manifest_id))
    locked = ManifestRevisionRequest.objects.select_for_update().get(pk=revision.pk)
    locked.manifest = manifest
    return manifest, locked


def _check_pending(revision: ManifestRevisionRequest) -> None:
    if revision.status != RevisionStatus.PENDING:
        raise DomainError(_("This revision request is no longer pending; it is %(status)s.") % {
            "status": RevisionStatus(revision.status).label}, code="revision_not_pending")


def _apply(manifest: Manifest, revision: ManifestRevisionRequest, at: dt.datetime) -> dict[str, Any]:
    """Apply an approved request to the locked manifest, or mark it failed with the reason and
    change nothing. Returns what the audit row records."""
    try:
        with transaction.atomic():  # a savepoint: a failure below leaves the manifest as it was
            now = current_values(manifest, revision.previous)
            stale = sorted(field for field, value in revision.previous.items() if now[field] != value)
            if stale:
                raise DomainError(_("The manifest changed since the request was made (%(fields)s): nothing was "
                                    "applied; ask again with the current values.") % {"fields": ", ".join(stale)},
                                  code="revision_stale")
            check_applicable(manifest, revision.changes)
            _write(manifest, revision.changes)
    except (DomainError, ValidationError) as exc:
        manifest.refresh_from_db()
        message = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
        revision.status, revision.failure_reason, revision.decided_at = RevisionStatus.FAILED, message, at
        revision.save(update_fields=["status", "failure_reason", "decided_at"])
        return {"applied": False, "failure": message, "code": getattr(exc, "code", "invalid")}
    revision.status, revision.decided_at = RevisionStatus.APPROVED, at
    revision.save(update_fields=["status", "decided_at"])
    return {"applied": True, "before": revision.previous, "after": revision.changes, "status": manifest.status}


def manifest_revision_request(
    *,
    actor: Actor,
    manifest: Manifest,
    changes: Mapping[str, Any],
    reason: str,
    party: str | None = None,
    now: dt.datetime | None = None,
) -> ManifestRevisionRequest:
    """A party asks to change fields locked by a signature. ``changes``: field → new value (see
    REVISABLE_BY; ``driver`` as a Driver or its id; ``receipt`` as a mapping of RECEIPT_INPUT).

    Refused: by a driver, a regulator or anyone not staff of a party (PermissionDenied); on a
    cancelled manifest, while another request is pending, or for an unsigned field (DomainError);
    without a reason, for a field that is not revisable or not the party's, or with a value
    that breaks a rule (ValidationError naming the field). If no other party exists (one
    organisation holds every role) the change applies at once."""
    at = _now(now)
    with transaction.atomic():
        locked = lock_manifest(manifest)
        step, organisation = policy.requesting_party(actor, locked, party)
        if locked.status == ManifestStatus.CANCELLED:
            raise DomainError(_("A cancelled manifest cannot be revised."), code="wrong_state")
        if not changes:
            raise ValidationError({"changes": _("Nothing to change.")})
        check_revisable(changes, requester_steps=policy.steps_of(locked, organisation),
                        signed=signed_steps(locked))
        pending = _pending(locked)
        if pending is not None:
            raise DomainError(_("Another revision request of this manifest is pending: it must be decided or "
                                "cancelled first."), code="revision_pending")
        text = _text(reason, "reason")
        if not text:
            raise ValidationError({"reason": _("Give the reason for the revision.")})
        values = new_values(locked, changes)
        new, previous = _differences(locked, values)
        if not new:
            raise ValidationError({"changes": _("The new values are the manifest's current ones.")})
        check_applicable(locked, new)
        try:
            with transaction.atomic():
                revision = ManifestRevisionRequest.objects.create(
                    manifest=locked, requested_step=step, requested_organisation_id=organisation,
                    requested_by=actor.user, reason=text, changes=new, previous=previous, created_at=at)
        except IntegrityError:
            # The partial unique index: another request slipped in (the manifest lock makes this
            # rare; a writer that does not lock could still get here).
            if _pending(locked) is not None:
                raise DomainError(_("Another revision request of this manifest is pending: it must be decided "
                                    "or cancelled first."), code="revision_pending") from None
            raise
        data: dict[str, Any] = {"revision": revision.pk, "step": step, "reason": text, "changes": new,
                                "previous": previous,
                                "approvers": sorted(policy.required_approvers(locked, organisation))}
        if not data["approvers"]:
            data |= _apply(locked, revision, at)
        audit_record(actor=actor.user, action="manifest.revision_request", target=locked,
                     organisation=organisation, data=data)
    return revision


def _decide(*, actor: Actor, revision: ManifestRevisionRequest, verdict: str, comment: str,
            now: dt.datetime | None) -> ManifestRevisionRequest:
    at = _now(now)
    with transaction.atomic():
        manifest, locked = _lock_revision(revision)
        actor.require(policy.is_revision_approver(actor, locked))
        _check_pending(locked)
        if policy.is_revision_requester(actor, locked):
            raise DomainError(_("You asked for this revision yourself: someone else of the organisation that has "
                                "to decide must approve or refuse it."), code="requester_cannot_decide")
        party = policy.deciding_party(actor, locked)
        if party is None:
            raise DomainError(_("Your organisation has already decided on this revision request."),
                              code="already_decided")
        text = _text(comment, "comment")
        if verdict == RevisionVerdict.REFUSE and not text:
            raise ValidationError({"comment": _("Say why you refuse the revision.")})
        organisation, step = party
        ManifestRevisionDecision.objects.create(request=locked, step=step, organisation_id=organisation,
                                                decided_by=actor.user, verdict=verdict, comment=text, decided_at=at)
        data: dict[str, Any] = {"revision": locked.pk, "step": step, "comment": text}
        if verdict == RevisionVerdict.REFUSE:
            locked.status, locked.decided_at = RevisionStatus.REFUSED, at
            locked.save(update_fields=["status", "decided_at"])
        elif not policy.undecided_approvers(locked):
            data |= _apply(manifest, locked, at)
        data["status"] = locked.status
        audit_record(actor=actor.user, action=f"manifest.revision_{verdict}", target=manifest,
                     organisation=organisation, data=data)
    return locked


def manifest_revision_approve(*, actor: Actor, revision: ManifestRevisionRequest, comment: str = "",
                              now: dt.datetime | None = None) -> ManifestRevisionRequest:
    """Another party approves. The last approval applies the change in its transaction — or, if
    the manifest no longer holds the previous values or its state no longer allows the change,
    the request ends ``failed`` with the reason and nothing is applied.

    Refused: for anyone not staff of a deciding party (PermissionDenied); for the person who
    asked (``requester_cannot_decide``), for an organisation that has decided
    (``already_decided``), once the request is no longer pending (DomainError)."""
    return _decide(actor=actor, revision=revision, verdict=RevisionVerdict.APPROVE, comment=comment, now=now)


def manifest_revision_refuse(*, actor: Actor, revision: ManifestRevisionRequest, comment: str,
                             now: dt.datetime | None = None) -> ManifestRevisionRequest:
    """Another party refuses (with a comment): one refusal ends the request."""
    return _decide(actor=actor, revision=revision, verdict=RevisionVerdict.REFUSE, comment=comment, now=now)


def manifest_revision_cancel(*, actor: Actor, revision: ManifestRevisionRequest,
                             now: dt.datetime | None = None) -> ManifestRevisionRequest:
    """The requesting organisation withdraws its pending request."""
    at = _now(now)
    with transaction.atomic():
        manifest, locked = _lock_revision(revision)
        actor.require(policy.can_withdraw_revision(actor, locked))
        _check_pending(locked)
        locked.status, locked.decided_at = RevisionStatus.CANCELLED, at
        locked.save(update_fields=["status", "decided_at"])
        audit_record(actor=actor.user, action="manifest.revision_cancel", target=manifest,
                     organisation=locked.requested_organisation_id,
                     data={"revision": locked.pk, "status": locked.status})
    return locked


# Labels of the stored keys, for pages and documents.
def field_label(field: str) -> str:
    if field == "outcome":
        return str(_("Outcome"))
    if field == "receipt":
        return str(_("Receipt"))
    return capfirst(str(Manifest._meta.get_field(field).verbose_name))


def value_label(field: str, value: Any, drivers: Mapping[int, str] | None = None) -> str:
    """A stored value as people read it."""
    if value is None or value == "":
        return "—"
    if field == "driver":
        return (drivers or {}).get(value, str(value))
    if field == "outcome":
        return str(ManifestStatus(value).label)
    if field == "disposal_method":
        return str(DisposalMethod(value).label)
    if field == "quantity_unit":
        return str(QuantityUnit(value).label)
    return str(value)
