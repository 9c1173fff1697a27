"""Writes for approvals: apply, review, decide, suspend, reinstate, revoke, expire, attach.

Each service checks permission (permits.policy), then the current state under a row lock (a
wrong state raises DomainError and changes nothing), then the input (ValidationError naming the
field), and writes the change and exactly one audit row in one transaction.
``today`` parameters exist for the daily job and for tests; doors never pass them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.services import audit_record
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.rulebook.selectors import deadline_due
from wastetrail.permits import policy
from wastetrail.permits.models import (
    HOLDER_KIND,
    REVIEW_DEADLINE,
    TRANSITIONS,
    Approval,
    ApprovalAttachment,
    ApprovalKind,
    ApprovalNumberCounter,
    ApprovalStatus,
    approval_number,
    validate_attachment,
)
from wastetrail.registry.models import Project, ReceivingSite, Vehicle

EXPIRY_WARNING_DEADLINE = "approval_expiry_warning"
MAX_CAP = Decimal("999999999999.99")


def _status_label(status: str) -> str:
    return str(ApprovalStatus(status).label)


def _next_number(kind: str, year: int) -> str:
    # get_or_create runs its insert in a savepoint, so two first applications of a year race
    # safely; the row lock then serialises the serials.
    counter, _created = ApprovalNumberCounter.objects.select_for_update().get_or_create(year=year, kind=kind)
    counter.last += 1
    counter.save(update_fields=["last"])
    return approval_number(kind, year, counter.last)


def _store_attachment(approval: Approval, upload: UploadedFile, name: str, actor: Actor) -> ApprovalAttachment:
    try:
        validate_attachment(upload)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from None
    label = (name or "").strip() or os.path.basename(upload.name or "")[:200]
    return ApprovalAttachment.objects.create(approval=approval, file=upload, name=label[:200],
                                             uploaded_by=actor.user)


# --- applying -------------------------------------------------------------------------------
def _check_subject(kind: str, holder: Organisation, project: Project | None,
                   site: ReceivingSite | None) -> None:
    errors: dict[str, str] = {}
    if holder.kind != HOLDER_KIND[kind]:
        errors["holder"] = _("A %(approval)s is held by a %(kind)s.") % {
            "approval": ApprovalKind(kind).label.lower(),
            "kind": OrganisationKind(HOLDER_KIND[kind]).label.lower(),
        }
    if kind == ApprovalKind.EMISSION:
        if project is None:
            errors["project"] = _("An emission approval is for a construction project: choose one.")
        elif project.construction_unit_id != holder.pk:
            errors["project"] = _("The project is not one of the holder's.")
    elif project is not None:
        errors["project"] = _("Only an emission approval names a project.")
    if kind == ApprovalKind.DISPOSAL:
        if site is None:
            errors["site"] = _("A disposal approval is for a receiving site: choose one.")
        elif site.operator_id != holder.pk:
            errors["site"] = _("The receiving site is not operated by the holder.")
    elif site is not None:
        errors["site"] = _("Only a disposal approval names a receiving site.")
    if errors:
        raise ValidationError(errors)


def approval_apply(
    *,
    actor: Actor,
    kind: str,
    holder: Organisation | None,
    project: Project | None = None,
    site: ReceivingSite | None = None,
    note: str = "",
    attachments: Iterable[UploadedFile] = (),
    today: dt.date | None = None,
) -> Approval:
    """The holder applies. The review deadline counts the rulebook's working days for the kind
    from the day of application (that day itself does not count)."""
    if holder is None:
        raise ValidationError({"holder": _("This field is required.")})
    actor.require(policy.can_apply_for(actor, holder.pk))
    if kind not in ApprovalKind.values:
        raise ValidationError({"kind": _("Choose emission, transport or disposal.")})
    _check_subject(kind, holder, project, site)
    now = timezone.now()
    applied_on = today or timezone.localdate(now)
    due = deadline_due(REVIEW_DEADLINE[kind], applied_on)
    with transaction.atomic():
        approval = Approval.objects.create(
            number=_next_number(kind, applied_on.year), kind=kind, holder=holder, project=project,
            site=site, note=(note or "").strip(), applied_at=now, applied_by=actor.user,
            review_due=due.date, review_due_official=due.official,
        )
        stored = []
        for upload in attachments:
            try:
                stored.append(_store_attachment(approval, upload, "", actor))
            except ValidationError as exc:  # named after the field that carries them here
                raise ValidationError({"attachments": exc.messages}) from None
        audit_record(
            actor=actor.user, action="approval.apply", target=approval, organisation=holder,
            data={"number": approval.number, "kind": kind, "project": approval.project_id,
                  "site": approval.site_id, "review_due": due.date, "review_due_official": due.official,
                  "attachments": [a.name for a in stored]},
        )
    return approval


# --- transitions ----------------------------------------------------------------------------
def _refusal(step: str) -> str:
    # Looked up at call time so that the message is in the request's language.
    return {
        "start_review": _("Only an applied approval can be taken into review; this one is %(status)s."),
        "approve": _("Only an approval under review can be approved; this one is %(status)s."),
        "reject": _("Only an approval under review can be rejected; this one is %(status)s."),
        "suspend": _("Only an approved approval can be suspended; this one is %(status)s."),
        "reinstate": _("Only a suspended approval can be reinstated; this one is %(status)s."),
        "revoke": _("Only an approved or suspended approval can be revoked; this one is %(status)s."),
    }[step]


def _lock_in_state(approval: Approval, step: str) -> Approval:
    """The approval's row, locked, provided it is in a state the step starts from."""
    locked = Approval.objects.select_for_update().get(pk=approval.pk)
    if locked.status not in TRANSITIONS[step]:
        raise DomainError(_refusal(step) % {"status": _status_label(locked.status)},
                          code="wrong_state")
    return locked


def _required_reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({field: _("Give a reason.")})
    return text


def _save(approval: Approval, fields: list[str]) -> None:
    approval.save(update_fields=[*fields, "updated_at"])


def approval_start_review(*, actor: Actor, approval: Approval) -> Approval:
    actor.require(policy.can_decide(actor, approval))
    with transaction.atomic():
        locked = _lock_in_state(approval, "start_review")
        locked.status = ApprovalStatus.UNDER_REVIEW
        locked.review_started_at = timezone.now()
        _save(locked, ["status", "review_started_at"])
        audit_record(actor=actor.user, action="approval.start_review", target=locked,
                     organisation=locked.holder_id, data={"status": locked.status})
    return locked


def _decimal_cap(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        cap = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"quantity_cap_m3": _("Enter a number.")}) from None
    if not cap.is_finite() or cap <= 0:
        raise ValidationError({"quantity_cap_m3": _("The quantity cap must be more than zero.")})
    if cap > MAX_CAP:
        raise ValidationError({"quantity_cap_m3": _("The quantity cap is too large.")})
    return cap.quantize(Decimal("0.01"))


def _plates(vehicles: Iterable[Vehicle]) -> str:
    return ", ".join(sorted(v.plate for v in vehicles))


def _check_vehicles(approval: Approval, vehicles: list[Vehicle]) -> list[Vehicle]:
    """GD 大气条例 Art. 56: no transport approval for a truck that is not sealed or has no
    positioning terminal. The vehicles are re-read here so that the flags are current."""
    if approval.kind != ApprovalKind.TRANSPORT:
        if vehicles:
            raise ValidationError({"vehicles": _("Only a transport approval covers vehicles.")})
        return []
    if not vehicles:
        raise ValidationError({"vehicles": _("A transport approval covers at least one vehicle.")})
    current = list(Vehicle.objects.filter(pk__in={v.pk for v in vehicles}).select_related("terminal"))
    messages: list[str] = []
    foreign = [v for v in current if v.company_id != approval.holder_id]
    if foreign:
        messages.append(_("Not vehicles of the holder: %(plates)s.") % {"plates": _plates(foreign)})
    unsealed = [v for v in current if not v.sealed_body_certified]
    if unsealed:
        messages.append(_("Not certified as sealed (GD air pollution regulation, Art. 56): "
                          "%(plates)s.") % {"plates": _plates(unsealed)})
    untracked = [v for v in current if v._bound_terminal() is None]
    if untracked:
        messages.append(_("No positioning terminal bound (GD air pollution regulation, Art. 56): "
                          "%(plates)s.") % {"plates": _plates(untracked)})
    if messages:
        raise ValidationError({"vehicles": messages})
    return current


def _check_sites(approval: Approval, sites: list[ReceivingSite],
                 categories: list[WasteCategory]) -> list[ReceivingSite]:
    if approval.kind == ApprovalKind.DISPOSAL:
        # A disposal approval covers its own site, whatever else was sent.
        if any(s.pk != approval.site_id for s in sites):
            raise ValidationError({"sites": _("A disposal approval covers only its own receiving site.")})
        site = approval.site
        accepted = set(site.accepted_categories.values_list("pk", flat=True))
        refused = [c for c in categories if c.pk not in accepted]
        if refused:
            raise ValidationError({"categories": _("The site does not accept: %(categories)s.") % {
                "categories": ", ".join(str(c) for c in refused)}})
        return [site]
    if approval.kind == ApprovalKind.EMISSION and not sites:
        raise ValidationError({"sites": _("Name the receiving sites the waste may go to.")})
    return list({s.pk: s for s in sites}.values())


def _scope_snapshot(approval: Approval) -> dict[str, Any]:
    return {
        "categories": sorted(approval.categories.values_list("code", flat=True)),
        "vehicles": sorted(approval.vehicles.values_list("plate", flat=True)),
        "sites": sorted(approval.sites.values_list("pk", flat=True)),
        "quantity_cap_m3": approval.quantity_cap_m3,
        "valid_from": approval.valid_from, "valid_to": approval.valid_to,
    }


def approval_approve(
    *,
    actor: Actor,
    approval: Approval,
    categories: Iterable[WasteCategory],
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    vehicles: Iterable[Vehicle] = (),
    sites: Iterable[ReceivingSite] = (),
    quantity_cap_m3: Any = None,
    today: dt.date | None = None,
) -> Approval:
    """Grant the approval with its scope: categories, (transport) vehicles, receiving sites,
    an optional quantity cap and the validity period."""
    actor.require(policy.can_decide(actor, approval))
    today = today or timezone.localdate()
    categories = list(dict.fromkeys(categories))
    vehicles, sites = list(vehicles), list(sites)
    with transaction.atomic():
        locked = _lock_in_state(approval, "approve")
        errors: dict[str, str] = {}
        if not categories:
            errors["categories"] = _("Choose at least one waste category.")
        if valid_from is None:
            errors["valid_from"] = _("This field is required.")
        if valid_to is None:
            errors["valid_to"] = _("This field is required.")
        elif valid_from is not None and valid_to < valid_from:
            errors["valid_to"] = _("The end of the validity cannot be before its start.")
        elif valid_to < today:
            errors["valid_to"] = _("The validity would already have ended.")
        if errors:
            raise ValidationError(errors)
        cap = _decimal_cap(quantity_cap_m3)
        vehicles = _check_vehicles(locked, vehicles)
        sites = _check_sites(locked, sites, categories)
        now = timezone.now()
        locked.status = ApprovalStatus.APPROVED
        locked.valid_from, locked.valid_to, locked.quantity_cap_m3 = valid_from, valid_to, cap
        locked.decided_at, locked.decided_by = now, actor.user
        _save(locked, ["status", "valid_from", "valid_to", "quantity_cap_m3", "decided_at", "decided_by"])
        locked.categories.set(categories)
        locked.vehicles.set(vehicles)
        locked.sites.set(sites)
        audit_record(actor=actor.user, action="approval.approve", target=locked,
                     organisation=locked.holder_id,
                     data={"status": locked.status} | _scope_snapshot(locked))
    return locked


def _with_reason(*, actor: Actor, approval: Approval, step: str, reason: str, status: str, reason_field: str,
                 decides: bool = False) -> Approval:
    """A decision that needs a reason (reject, suspend, revoke): lock in the step's state, record
    the reason and the new status, one audit row."""
    actor.require(policy.can_decide(actor, approval))
    with transaction.atomic():
        locked = _lock_in_state(approval, step)
        setattr(locked, reason_field, _required_reason(reason))
        locked.status = status
        fields = ["status", reason_field]
        if decides:  # a rejection is the review's decision; suspensions and revocations come later
            locked.decided_at, locked.decided_by = timezone.now(), actor.user
            fields += ["decided_at", "decided_by"]
        _save(locked, fields)
        audit_record(actor=actor.user, action=f"approval.{step}", target=locked, organisation=locked.holder_id,
                     data={"status": locked.status, "reason": getattr(locked, reason_field)})
    return locked


def approval_reject(*, actor: Actor, approval: Approval, reason: str) -> Approval:
    return _with_reason(actor=actor, approval=approval, step="reject", reason=reason,
                        status=ApprovalStatus.REJECTED, reason_field="rejection_reason", decides=True)


def approval_suspend(*, actor: Actor, approval: Approval, reason: str) -> Approval:
    return _with_reason(actor=actor, approval=approval, step="suspend", reason=reason,
                        status=ApprovalStatus.SUSPENDED, reason_field="suspension_reason")


def approval_reinstate(*, actor: Actor, approval: Approval, today: dt.date | None = None) -> Approval:
    actor.require(policy.can_decide(actor, approval))
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = _lock_in_state(approval, "reinstate")
        if locked.valid_to < today:
            raise DomainError(_("The validity ended on %(date)s: apply for a new approval instead.") % {
                "date": locked.valid_to.isoformat()}, code="validity_ended")
        locked.status = ApprovalStatus.APPROVED
        _save(locked, ["status"])
        audit_record(actor=actor.user, action="approval.reinstate", target=locked,
                     organisation=locked.holder_id,
                     data={"status": locked.status, "suspension_reason": locked.suspension_reason})
    return locked


def approval_revoke(*, actor: Actor, approval: Approval, reason: str) -> Approval:
    return _with_reason(actor=actor, approval=approval, step="revoke", reason=reason,
                        status=ApprovalStatus.REVOKED, reason_field="revocation_reason")


def approval_attachment_add(*, actor: Actor, approval: Approval, file: UploadedFile,
                            name: str = "") -> ApprovalAttachment:
    """The holder or a reviewer adds a document; not once the approval is closed."""
    actor.require(policy.can_attach(actor, approval))
    closed = (ApprovalStatus.REJECTED, ApprovalStatus.REVOKED, ApprovalStatus.EXPIRED)
    with transaction.atomic():
        locked = Approval.objects.select_for_update().get(pk=approval.pk)
        if locked.status in closed:
            raise DomainError(_("This approval is %(status)s: no more documents can be added.") % {
                "status": _status_label(locked.status)}, code="wrong_state")
        attachment = _store_attachment(locked, file, name, actor)
        audit_record(actor=actor.user, action="approval.attach", target=locked,
                     organisation=locked.holder_id,
                     data={"attachment": attachment.pk, "name": attachment.name, "size": file.size})
    return attachment


# --- the daily job --------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpiryRun:
    today: dt.date
    expired: list[Approval]
    warn_until: dt.date
    warnings: list[Approval]


def approvals_expire(*, today: dt.date) -> ExpiryRun:
    """Expire every approved approval whose validity ended before ``today`` and list those
    ending within the rulebook's warning period (``approval_expiry_warning`` working days).

    Each approval expires in its own transaction with a conditional UPDATE, so a decision taken
    at the same moment (a suspension, say) wins or loses cleanly and a rerun does nothing twice.
    """
    candidates = list(
        Approval.objects.filter(status=ApprovalStatus.APPROVED, valid_to__lt=today)
        .values_list("pk", "holder_id", "valid_to")
    )
    expired_ids: list[int] = []
    for pk, holder_id, valid_to in candidates:
        with transaction.atomic():
            changed = Approval.objects.filter(
                pk=pk, status=ApprovalStatus.APPROVED, valid_to__lt=today,
            ).update(status=ApprovalStatus.EXPIRED, updated_at=timezone.now())
            if changed:
                audit_record(actor=None, action="approval.expire", object_type="permits.approval",
                             object_id=str(pk), organisation=holder_id,
                             data={"status": ApprovalStatus.EXPIRED, "valid_to": valid_to,
                                   "today": today})
                expired_ids.append(pk)
    warn_until = deadline_due(EXPIRY_WARNING_DEADLINE, today).date
    warnings = list(
        Approval.objects.filter(status=ApprovalStatus.APPROVED, valid_to__gte=today,
                                valid_to__lte=warn_until)
        .select_related("holder").order_by("valid_to", "pk")
    )
    expired = list(Approval.objects.filter(pk__in=expired_ids).select_related("holder").order_by("pk"))
    return ExpiryRun(today=today, expired=expired, warn_until=warn_until, warnings=warnings)
