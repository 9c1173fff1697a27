"""Writes of handling plans: create a draft (a revision when a plan is already filed), edit it,
file it, discard it.

Every service checks permission (plans.policy), then the current state under a row lock,
runs in one transaction and appends exactly one audit row. Wrong state raises DomainError,
bad input ValidationError({field: message}); either way nothing changes. Foreign keys are
model instances (the API and the forms resolve ids first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.chain import to_json_value
from wastetrail.core.audit.services import audit_record
from wastetrail.core.errors import DomainError
from wastetrail.core.modelwrite import snapshot, validated_create, validated_update
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.rulebook.quantities import category_from, quantities_by_category
from wastetrail.plans import policy
from wastetrail.plans.models import HandlingPlan, PlanQuantity, PlanStatus, PlanStream
from wastetrail.registry.models import Project, ReceivingSite, SiteStatus

TEXT_FIELDS = ["contact_name", "contact_phone", "reduction_measures", "pollution_control_measures",
               "reuse_rate_target", "other_matters"]
# Part (1), copied from the registry when the plan is filed.
SNAPSHOT_FIELDS = ["project_name", "project_code", "project_address", "construction_unit_name",
                   "construction_unit_uscc", "owner_name"]
STREAM_FIELDS = ["category", "quantity_m3", "carrier", "site", "daily_start", "daily_end", "valid_from",
                 "valid_to", "transport_mode", "route"]
# Filing needs every part that GD 条例 Art. 8 asks for.
REQUIRED_FOR_FILING = ["contact_name", "contact_phone", "reduction_measures", "pollution_control_measures",
                       "reuse_rate_target"]


# --- input ----------------------------------------------------------------------------------
def _reject_unknown(fields: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _category(value: Any, field: str) -> WasteCategory:
    category = category_from(value)
    if category is None:
        raise ValidationError({field: _("Unknown waste category “%(code)s”.") % {"code": value}})
    return category


def quantities_in_both_units(rows: Iterable[Mapping[str, Any]]) -> dict[WasteCategory, tuple[Decimal, Decimal]]:
    """Part (2) by category, both units, as the registry's estimates (core.rulebook.quantities)."""
    return quantities_by_category(rows, field="quantities")


def _instance(model: type, value: Any) -> Any:
    if value is None or isinstance(value, model):
        return value
    return model.objects.filter(pk=value).first()


def streams_checked(rows: Iterable[Mapping[str, Any]]) -> list[PlanStream]:
    """Part (4) rows as unsaved PlanStreams, each field checked; errors under "streams" name the
    row. Rules across rows and parts are checked when the plan is filed (see _filing_problems)."""
    streams: list[PlanStream] = []
    for number, row in enumerate(rows, 1):
        _reject_unknown(row, STREAM_FIELDS)
        values = {key: _clean_text(value) for key, value in row.items()}
        values["category"] = _category(values.get("category"), "streams")
        for key, model in (("carrier", Organisation), ("site", ReceivingSite)):
            values[key] = _instance(model, values.get(key))
        values.setdefault("route", "")
        if values.get("transport_mode") in (None, ""):
            values.pop("transport_mode", None)
        stream = PlanStream(**{k: v for k, v in values.items() if v is not None})
        try:
            stream.full_clean(exclude=["plan"])
        except ValidationError as exc:
            raise ValidationError({"streams": [
                _("Stream %(n)d, %(field)s: %(message)s") % {
                    "n": number, "field": PlanStream._meta.get_field(field).verbose_name, "message": message}
                for field, messages in exc.message_dict.items() for message in messages
            ]}) from None
        streams.append(stream)
    return streams


# --- snapshots for the audit trail ----------------------------------------------------------
def _quantities_snapshot(plan: HandlingPlan) -> dict[str, list[str]]:
    return {q.category.code: [str(q.quantity_m3), str(q.quantity_t)]
            for q in plan.quantities.select_related("category")}


def _streams_snapshot(plan: HandlingPlan) -> list[dict[str, Any]]:
    return [
        {"category": s.category.code, "quantity_m3": str(s.quantity_m3), "carrier": s.carrier_id,
         "site": s.site_id, "daily_start": to_json_value(s.daily_start), "daily_end": to_json_value(s.daily_end),
         "valid_from": to_json_value(s.valid_from), "valid_to": to_json_value(s.valid_to),
         "transport_mode": s.transport_mode, "route": s.route}
        for s in plan.streams.select_related("category").order_by("id")
    ]


def _plan_snapshot(plan: HandlingPlan) -> dict[str, Any]:
    return snapshot(plan, ["version", "status", *TEXT_FIELDS]) | {
        "quantities": _quantities_snapshot(plan), "streams": _streams_snapshot(plan),
    }


def _write_parts(plan: HandlingPlan, quantities: dict | None, streams: list[PlanStream] | None) -> None:
    if quantities is not None:
        plan.quantities.all().delete()
        PlanQuantity.objects.bulk_create(
            PlanQuantity(plan=plan, category=category, quantity_m3=m3, quantity_t=tonnes)
            for category, (m3, tonnes) in quantities.items()
        )
    if streams is not None:
        plan.streams.all().delete()
        for stream in streams:
            stream.pk, stream.plan = None, plan
        PlanStream.objects.bulk_create(streams)


# --- state ----------------------------------------------------------------------------------
def _locked_project(project: Project) -> Project:
    """Lock the project: every version change of its plan is serialised on this row."""
    locked = Project.objects.select_for_update(of=("self",))
    return locked.select_related("construction_unit", "owner").get(pk=project.pk)


def _locked_draft(plan: HandlingPlan, doing: str) -> HandlingPlan:
    current = HandlingPlan.objects.select_for_update().filter(pk=plan.pk).first()
    if current is None:
        raise DomainError(_("This draft no longer exists; it was discarded."), code="plan_gone")
    if current.status != PlanStatus.DRAFT:
        raise DomainError(_("Version %(version)s is %(status)s and can no longer be %(doing)s; every "
                            "filed version stays as it was filed. Create a new draft to revise the plan.") % {
            "version": current.version, "status": current.get_status_display().lower(), "doing": doing,
        }, code="plan_not_draft")
    return current


def plan_draft_create(
    *,
    actor: Actor,
    project: Project,
    quantities: Iterable[Mapping[str, Any]] | None = None,
    streams: Iterable[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> HandlingPlan:
    """Start the next version as a draft. When a plan is filed, the draft starts as a copy of it
    (a revision); given fields and parts replace what was copied."""
    actor.require(policy.can_write_plans_of(actor, project))
    _reject_unknown(fields, TEXT_FIELDS)
    fields = {key: _clean_text(value) for key, value in fields.items()}
    quantity_rows = quantities_in_both_units(quantities) if quantities is not None else None
    stream_rows = streams_checked(streams) if streams is not None else None
    with transaction.atomic():
        project = _locked_project(project)
        plans = HandlingPlan.objects.filter(project=project)
        draft = plans.filter(status=PlanStatus.DRAFT).first()
        if draft is not None:
            raise DomainError(_("The project already has a draft (version %(version)s); edit or discard "
                                "it first.") % {"version": draft.version}, code="draft_exists")
        filed = plans.filter(status=PlanStatus.FILED).first()
        latest = plans.order_by("-version").values_list("version", flat=True).first() or 0
        if filed is not None:
            start = {name: getattr(filed, name) for name in TEXT_FIELDS}
        else:
            unit = project.construction_unit
            start = {"contact_name": unit.contact_name, "contact_phone": unit.contact_phone}
        plan = validated_create(HandlingPlan, project=project, version=latest + 1, status=PlanStatus.DRAFT,
                                created_by=actor.user, **(start | fields))
        if filed is not None:
            _write_parts(
                plan,
                quantity_rows if quantity_rows is not None else {
                    q.category: (q.quantity_m3, q.quantity_t) for q in filed.quantities.select_related("category")},
                stream_rows if stream_rows is not None else list(filed.streams.all()),
            )
        else:
            _write_parts(plan, quantity_rows, stream_rows)
        audit_record(actor=actor.user, action="plan.draft_create", target=plan,
                     organisation=project.construction_unit_id,
                     data=_plan_snapshot(plan) | {"project": project.code,
                                                  "revises_version": filed.version if filed else None})
    return plan


def plan_draft_update(
    *,
    actor: Actor,
    plan: HandlingPlan,
    quantities: Iterable[Mapping[str, Any]] | None = None,
    streams: Iterable[Mapping[str, Any]] | None = None,
    **changes: Any,
) -> HandlingPlan:
    """Change a draft's text parts; given quantities or streams replace the whole list."""
    actor.require(policy.can_write_plans_of(actor, plan.project))
    _reject_unknown(changes, TEXT_FIELDS)
    changes = {key: _clean_text(value) for key, value in changes.items()}
    quantity_rows = quantities_in_both_units(quantities) if quantities is not None else None
    stream_rows = streams_checked(streams) if streams is not None else None
    with transaction.atomic():
        plan = _locked_draft(plan, _("edited"))
        diff = validated_update(plan, changes)
        for key, rows, read in (("quantities", quantity_rows, _quantities_snapshot),
                                ("streams", stream_rows, _streams_snapshot)):
            if rows is None:
                continue
            before = read(plan)
            _write_parts(plan, rows if key == "quantities" else None, rows if key == "streams" else None)
            after = read(plan)
            if before != after:
                diff[key] = [before, after]
        if diff:
            # The parts live in other tables; the draft changed all the same.
            HandlingPlan.objects.filter(pk=plan.pk).update(updated_at=timezone.now())
            audit_record(actor=actor.user, action="plan.draft_update", target=plan,
                         organisation=plan.project.construction_unit_id, data=diff)
    return plan


def _filing_problems(plan: HandlingPlan) -> dict[str, list[str]]:
    """Everything that keeps a draft from being filed, by field."""
    problems: dict[str, list[str]] = defaultdict(list)
    for name in REQUIRED_FOR_FILING:
        if getattr(plan, name) in (None, ""):
            problems[name].append(_("A filed plan needs this."))
    quantities = {q.category_id: q for q in plan.quantities.select_related("category")}
    if not quantities:
        problems["quantities"].append(_("Give the quantity of at least one waste category."))
    streamed: dict[int, Decimal] = defaultdict(Decimal)
    categories: dict[int, WasteCategory] = {}
    streams = plan.streams.select_related("category", "carrier", "site").prefetch_related("site__accepted_categories")
    for number, stream in enumerate(streams.order_by("id"), 1):
        label = _("Stream %(n)d (%(category)s → %(site)s)") % {
            "n": number, "category": stream.category, "site": stream.site}
        streamed[stream.category_id] += stream.quantity_m3
        categories[stream.category_id] = stream.category
        if stream.carrier.kind != OrganisationKind.TRANSPORT_COMPANY:
            problems["streams"].append(_("%(stream)s: the carrier is not a transport company.") % {"stream": label})
        if stream.site.status != SiteStatus.OPEN:
            problems["streams"].append(_("%(stream)s: the receiving site is not open (%(status)s).") % {
                "stream": label, "status": stream.site.get_status_display().lower()})
        if stream.category not in stream.site.accepted_categories.all():
            problems["streams"].append(_("%(stream)s: the receiving site does not accept %(category)s.") % {
                "stream": label, "category": stream.category})
        if stream.valid_to < stream.valid_from:
            problems["streams"].append(_("%(stream)s: the transport period ends before it starts.") % {
                "stream": label})
        if stream.daily_end == stream.daily_start:
            problems["streams"].append(_("%(stream)s: the daily transport time ends when it starts.") % {
                "stream": label})
    for category_id, total in streamed.items():
        planned = quantities[category_id].quantity_m3 if category_id in quantities else Decimal("0")
        if total > planned:
            problems["streams"].append(_(
                "%(category)s: the streams carry %(streamed)s m³ away, more than the %(planned)s m³ planned."
            ) % {"category": categories[category_id], "streamed": total, "planned": planned})
    return dict(problems)


def plan_file(*, actor: Actor, plan: HandlingPlan) -> HandlingPlan:
    """File (备案) a draft. The version filed before it, if any, is superseded in the same
    transaction; the audit row is the report of the change to the filing authority."""
    actor.require(policy.can_write_plans_of(actor, plan.project))
    with transaction.atomic():
        project = _locked_project(plan.project)
        plan = _locked_draft(plan, _("filed"))
        problems = _filing_problems(plan)
        if problems:
            raise ValidationError(problems)
        now = timezone.now()
        previous = HandlingPlan.objects.filter(project=project, status=PlanStatus.FILED).exclude(pk=plan.pk)
        previous_version = previous.values_list("version", flat=True).first()
        # Supersede first: the partial unique index allows one filed plan per project at any moment.
        previous.update(status=PlanStatus.SUPERSEDED, superseded_at=now, updated_at=now)
        owner = project.owner
        frozen = {
            "project_name": project.name, "project_code": project.code, "project_address": project.address,
            "construction_unit_name": project.construction_unit.name,
            "construction_unit_uscc": project.construction_unit.uscc,
            "owner_name": owner.name if owner else "",
        }
        filed = HandlingPlan.objects.filter(pk=plan.pk, status=PlanStatus.DRAFT).update(
            status=PlanStatus.FILED, filed_at=now, filed_by=actor.user, updated_at=now, **frozen)
        if filed != 1:  # pragma: no cover - the row lock above makes this unreachable
            raise DomainError(_("The draft changed while it was being filed; try again."))
        plan.refresh_from_db()
        audit_record(
            actor=actor.user, action="plan.file", target=plan, organisation=project.construction_unit_id,
            data=_plan_snapshot(plan) | snapshot(plan, SNAPSHOT_FIELDS) | {
                "supersedes_version": previous_version,
                "receiving_sites": sorted({s["site"] for s in _streams_snapshot(plan)}),
            },
        )
    return plan


def plan_draft_discard(*, actor: Actor, plan: HandlingPlan) -> None:
    """Delete a draft. Filed and superseded versions are never deleted."""
    actor.require(policy.can_write_plans_of(actor, plan.project))
    with transaction.atomic():
        _locked_project(plan.project)
        plan = _locked_draft(plan, _("discarded"))
        audit_record(actor=actor.user, action="plan.draft_discard", target=plan,
                     organisation=plan.project.construction_unit_id, data=_plan_snapshot(plan))
        plan.delete()
