"""Random sequences of manifest actions, through the real services and database, never reach an
invalid state or lose a quantity (issue 3, "Done means").

A small world — two projects with filed plans, three sealed trucks with terminals (and one
without), three drivers (one with a login, one without, one of another company), three receiving
sites of small finite capacity, and every approval granted through the permit services — is
driven by a ``RuleBasedStateMachine``: issue, cancel, depart, arrive, receive, close, redirect,
amend, the overdue job and an advancing clock. Steps are taken carefully (a manifest in a state
the step starts from, a user allowed to act, valid input), carelessly (any recent manifest, any
user — often one who is not allowed —, any input, so out of order and invalid), or as a few
careful moves forward (``progress``, which takes sequences deep: received, redirected, closed).
Each action must succeed exactly when an independent model of the rules (written here, not
imported from the app) says it may; a refusal must be a ``ValidationError`` / ``DomainError`` /
``PermissionDenied`` naming one of the reasons the model predicted, and must change nothing
(manifest rows, signatures, number counters, sites' used capacity, audit rows). After every step
the whole database is checked: statuses, one open manifest per vehicle, signatures against
statuses, ordered time stamps, receipt rules, live redirects for closed refusals, redirect
estimates, each site's used capacity against its accepted loads, one audit row per successful
action and an unbroken audit chain.

Why the machine runs through ``run_state_machine_as_test`` inside one pytest-django test rather
than ``@given`` on a test or as a ``TestCase`` class: the world costs about a second to build, so
it is built once per test by ordinary fixtures (which pytest-django only gives to test
functions); each hypothesis example then runs inside a savepoint that the machine's teardown
rolls back, so every example starts from the same world and the test's database is left as it
was found. Savepoints behave the same on SQLite and PostgreSQL.

A passing run takes about 20 s. A failing one takes a few minutes more: hypothesis shrinks the
sequence to a short one (``report_multiple_bugs=False``: one bug at a time, shrunk faster).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from wastetrail.accounts.policy import Actor
from wastetrail.core.audit.models import AuditEntry
from wastetrail.core.audit.services import audit_verify
from wastetrail.core.errors import DomainError
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests import services
from wastetrail.manifests.models import (
    Manifest,
    ManifestNumberCounter,
    ManifestSignature,
    ManifestStatus,
    SignatureStep,
)
from wastetrail.manifests.tests.conftest import _approve
from wastetrail.permits.models import ApprovalKind
from wastetrail.plans import services as plan_services
from wastetrail.registry.models import Driver, Project, ReceivingSite, Vehicle

pytestmark = pytest.mark.django_db

D = Decimal
CENT = D("0.01")
TRIP = dt.timedelta(hours=4)  # the default expected trip when the emitter gives none

ISSUED, DEPARTED, ARRIVED = ManifestStatus.ISSUED, ManifestStatus.DEPARTED, ManifestStatus.ARRIVED
ACCEPTED, PARTIAL, REFUSED = ManifestStatus.ACCEPTED, ManifestStatus.PARTIALLY_REFUSED, ManifestStatus.REFUSED
CLOSED, CANCELLED = ManifestStatus.CLOSED, ManifestStatus.CANCELLED

# The lifecycle as this test states it, independent of manifests.models.TRANSITIONS on purpose.
OPEN = {ISSUED, DEPARTED, ARRIVED}
RECEIVED = {ACCEPTED, PARTIAL, REFUSED}
REFUSALS = {PARTIAL, REFUSED}
STEPS = ["issue", "cancel", "depart", "arrive", "receive", "close", "redirect", "amend"]
SOURCES: dict[str, set[str]] = {
    "cancel": {ISSUED}, "depart": {ISSUED}, "arrive": {DEPARTED}, "receive": {ARRIVED},
    "close": RECEIVED, "redirect": REFUSALS, "amend": {ISSUED},
}
# How far along the lifecycle a status is: 0 issued, 1 departed, 2 arrived, 3 received, 4 closed.
# A cancelled manifest never left (stage 0).
STAGE = {ISSUED: 0, CANCELLED: 0, DEPARTED: 1, ARRIVED: 2, ACCEPTED: 3, PARTIAL: 3, REFUSED: 3, CLOSED: 4}

USERS = ["construction_staff", "construction_admin", "transport_admin", "driver", "site_operator",
         "outsider", "transport_other_admin", "reg_officer"]
EMITTER_STAFF = {"construction_staff", "construction_admin"}
CARRIER_STAFF = {"transport_admin"}
RECEIVER_STAFF = {"site_operator"}

SITE_CAPACITIES = (("60", "disposal"), ("100", "recycling"), ("400", "backfill"))


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the world ------------------------------------------------------------------------------
@dataclass
class World:
    projects: list[Project]
    vehicles: list[Vehicle]  # the last one has no terminal: issuing with it is refused
    drivers: list[Driver]  # with the "driver" login, without a login, of another company
    sites: list[ReceivingSite]
    category: WasteCategory
    actors: dict[str, Actor]
    start: dt.datetime


@pytest.fixture
def world(cast, categories, make_project, make_site, make_truck, make_driver, driver_with_login, now) -> World:
    soil = categories["excavated_soil"]
    sites = [make_site(capacity_m3=D(capacity), kind=kind) for capacity, kind in SITE_CAPACITIES]
    for site in sites:
        _approve(cast, ApprovalKind.DISPOSAL, "site_operator", cast.org("site_operator"), site=site,
                 categories=[soil])
    trucks = [make_truck() for _ in range(3)]
    _approve(cast, ApprovalKind.TRANSPORT, "transport_admin", cast.org("transport"), categories=[soil],
             vehicles=trucks)
    projects = [make_project() for _ in range(2)]
    today = timezone.localdate()
    for project in projects:
        _approve(cast, ApprovalKind.EMISSION, "construction_admin", cast.org("construction"), project=project,
                 categories=[soil], sites=sites)
        streams = [{
            "category": "excavated_soil", "quantity_m3": D("3000"), "carrier": cast.org("transport"),
            "site": site, "daily_start": dt.time(22, 0), "daily_end": dt.time(6, 0),
            "valid_from": today - dt.timedelta(days=1), "valid_to": today + dt.timedelta(days=90),
            "transport_mode": "sealed_truck", "route": "滨江大道—江门大道—龙湾路",
        } for site in sites]
        draft = plan_services.plan_draft_create(
            actor=cast.actor("construction_admin"), project=project, contact_name="吴施工",
            contact_phone="13807500001", reduction_measures="土方就地平衡。", pollution_control_measures="围挡、喷淋。",
            reuse_rate_target=D("60"), other_matters="",
            quantities=[{"category": "excavated_soil", "quantity_m3": D("10000")}], streams=streams)
        plan_services.plan_file(actor=cast.actor("construction_admin"), plan=draft)
    vehicles = [*trucks, make_truck(terminal=False)]
    drivers = [driver_with_login, make_driver(), make_driver(company=cast.org("transport_other"))]
    return World(projects=projects, vehicles=vehicles, drivers=drivers, sites=sites, category=soil,
                 actors={name: cast.actor(name) for name in USERS}, start=now)


# --- inputs ---------------------------------------------------------------------------------
# (estimated_m3, estimated_t) as a form would send them.
ESTIMATES = [("18", None), ("12.5", None), ("55", None), ("250", None), (None, "20"), ("8", "14.4"),
             ("0", None), ("-3", None), ("lots", None), (None, None)]
# Receipt measures: the kwargs, and either (unit, received quantity) or the field a refusal names.
MEASURES: dict[str, tuple[dict[str, str], tuple[str, Decimal] | str]] = {
    "weighed 45.60-15": ({"gross_t": "45.60", "tare_t": "15"}, ("t", D("30.60"))),
    "weighed 30-12": ({"gross_t": "30", "tare_t": "12"}, ("t", D("18"))),
    "weighed 20-20": ({"gross_t": "20", "tare_t": "20"}, "tare_t"),
    "weighed 15-30": ({"gross_t": "15", "tare_t": "30"}, "tare_t"),
    "gross only": ({"gross_t": "40"}, "tare_t"),
    "tare only": ({"tare_t": "12"}, "gross_t"),
    "volume 12.5": ({"volume_m3": "12.5"}, ("m3", D("12.5"))),
    "volume 17": ({"volume_m3": "17"}, ("m3", D("17"))),
    "volume 0": ({"volume_m3": "0"}, "volume_m3"),
    "volume lots": ({"volume_m3": "lots"}, "volume_m3"),
    "nothing": ({}, "gross_t"),
}
REFUSED_AMOUNTS = ["none", "zero", "half", "all", "more", "negative"]
OUTCOMES = [ACCEPTED, PARTIAL, REFUSED, "lost"]
REASONS = ["", "  ", "混入生活垃圾"]
POSITIONS: dict[str, tuple[Any, Any, bool]] = {  # lon, lat, valid
    "none": (None, None, True), "on earth": ("113.0781", "22.5790", True),
    "off earth": ("200", "22", False), "not a number": ("abc", "1", False), "half": ("113", None, False),
}
# Amendments: a label → a function of the world giving the changes.
AMENDMENTS = ["route", "driver with login", "driver without login", "foreign driver", "estimate", "site",
              "vehicle", "route and estimate", "nothing", "unknown field"]


def refused_amount(kind: str, received: Decimal) -> str | None:
    return {"none": None, "zero": "0", "half": str(q(received / 2)), "all": str(received),
            "more": str(received + 1), "negative": "-1"}[kind]


def labels_of(exc: Exception) -> set[str]:
    """A refusal as the reasons it names: "perm", a DomainError code, or "invalid:<field>"."""
    if isinstance(exc, PermissionDenied):
        return {"perm"}
    if isinstance(exc, DomainError):
        return {exc.code}
    return {f"invalid:{field}" for field in exc.message_dict}


def to_m3(quantity: Decimal, unit: str, density: Decimal) -> Decimal:
    return quantity if unit == "m3" else q(quantity / density)


def to_t(quantity: Decimal, unit: str, density: Decimal) -> Decimal:
    return quantity if unit == "t" else q(quantity * density)


def snapshot() -> tuple:
    """Everything a refused action must leave alone: every row of the manifest tables (raw SQL:
    this runs before every action), the sites' used capacity and the audit row count."""
    with connection.cursor() as cursor:
        rows = []
        for model in (Manifest, ManifestSignature, ManifestNumberCounter):
            cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY id")
            rows.append(cursor.fetchall())
        cursor.execute(f"SELECT id, used_capacity_m3 FROM {ReceivingSite._meta.db_table} ORDER BY id")
        rows.append(cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*) FROM {AuditEntry._meta.db_table}")
        rows.append(cursor.fetchall())
    return tuple(rows)


# --- the machine ----------------------------------------------------------------------------
class ManifestLifecycle(RuleBasedStateMachine):
    world: World  # set by the test (a subclass per test run)

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: the next starts from the world.
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.clock = self.world.start
        self.pks: list[int] = []  # manifests, in issue order
        # The model: what each manifest should be, kept from the actions, not read back.
        self.status: dict[int, str] = {}
        self.vehicle_of: dict[int, int] = {}
        self.driver_of: dict[int, int] = {}
        self.site_of: dict[int, int] = {}
        self.parent_of: dict[int, int] = {}
        self.arrival_due: dict[int, dt.datetime] = {}
        self.overdue: set[int] = set()
        self.receipt: dict[int, tuple[str, Decimal, Decimal, Decimal]] = {}  # unit, received, accepted, refused
        self.used = {site.pk: D("0") for site in self.world.sites}
        self.capacity = {site.pk: site.capacity_m3 for site in self.world.sites}
        self.verified_rows = -1

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- helpers -----------------------------------------------------------------------------
    def pick(self, which: int) -> int:
        """Mostly the latest manifests, so that sequences get deep into the lifecycle."""
        return self.pks[-1 - which % len(self.pks)]

    def in_window(self) -> bool:
        at = timezone.localtime(self.clock).time()
        return at >= dt.time(22, 0) or at < dt.time(6, 0)

    def busy(self, vehicle_id: int) -> bool:
        return any(self.vehicle_of[pk] == vehicle_id and self.status[pk] in OPEN for pk in self.pks)

    def live_redirect(self, pk: int) -> int | None:
        return next((c for c, p in self.parent_of.items() if p == pk and self.status[c] != CANCELLED), None)

    def remaining(self, site_id: int) -> Decimal:
        return self.capacity[site_id] - self.used[site_id]

    def attempt(self, step: str, expected: set[str], call) -> Any:
        """Run one action. ``expected``: every reason it should be refused for (empty: it must
        succeed). A refusal must name one of them and change nothing; a success writes exactly
        one audit row, for this step."""
        before = snapshot()
        last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        try:
            result = call()
        except (DomainError, PermissionDenied, ValidationError) as exc:
            labels = labels_of(exc)
            assert expected, f"{step} was refused ({labels}: {exc}) though every rule allows it"
            assert labels <= expected, f"{step} was refused for {labels} ({exc}); expected one of {expected}"
            assert snapshot() == before, f"a refused {step} ({labels}) changed something"
            return None
        assert not expected, f"{step} succeeded though it should be refused for {expected}"
        rows = list(AuditEntry.objects.filter(seq__gt=last_seq).order_by("seq").values_list("action", "object_id"))
        assert rows == [(f"manifest.{step}", str(result.pk))], f"{step} audited {rows}"
        return result

    # --- steps -------------------------------------------------------------------------------
    # Each step is taken either carefully (a manifest in a state the step starts from when there is
    # one, a user allowed to act, valid input) or carelessly (one of the latest manifests, any
    # user, any input). Either way the model predicts the outcome. The rules below choose them.
    def target(self, data: st.DataObject, careful: bool, step: str) -> int:
        fitting = [pk for pk in self.pks if self.status[pk] in SOURCES[step]]
        if careful and fitting:
            return data.draw(st.sampled_from(fitting[-3:]), label="manifest")
        return self.pick(data.draw(st.integers(0, 3), label="latest but"))

    @staticmethod
    def draw(data: st.DataObject, careful: bool, valid: list, anything: list, label: str) -> Any:
        return data.draw(st.sampled_from(valid if careful else anything), label=label)

    def issue(self, careful, data):
        w = self.world
        project = data.draw(st.sampled_from(w.projects), label="project")
        free = [i for i in range(3) if not self.busy(w.vehicles[i].pk)]
        vehicle_index = data.draw(st.sampled_from(free) if careful and free else st.integers(0, 3), label="vehicle")
        driver_index = data.draw(st.integers(0, 1 if careful else 2), label="driver")
        site = data.draw(st.sampled_from(w.sites), label="site")
        estimate = self.draw(data, careful, ESTIMATES[:6], ESTIMATES, "estimate")
        user = self.draw(data, careful, sorted(EMITTER_STAFF), USERS, "user")
        vehicle, driver = w.vehicles[vehicle_index], w.drivers[driver_index]
        density = w.category.density_t_per_m3
        expected: set[str] = set() if user in EMITTER_STAFF else {"perm"}
        m3_text, t_text = estimate
        m3 = t = None
        try:
            m3 = D(m3_text) if m3_text is not None else None
            t = D(t_text) if t_text is not None else None
        except ArithmeticError:
            expected.add("invalid:estimated_m3")
        if m3 is None and t is None or m3 is not None and m3 <= 0:
            expected.add("invalid:estimated_m3")
        if "invalid:estimated_m3" not in expected:
            m3 = m3 if m3 is not None else max(to_m3(t, "t", density), CENT)
            t = t if t is not None else max(to_t(m3, "m3", density), CENT)
            if vehicle_index == 3:
                expected.add("no_terminal")
            if driver_index == 2:
                expected.add("driver_not_of_carrier")
            if self.remaining(site.pk) < m3:
                expected.add("site_full")
            if not self.in_window():
                expected.add("outside_plan")
            if self.busy(vehicle.pk):
                expected.add("vehicle_busy")
        manifest = self.attempt("issue", expected, lambda: services.manifest_issue(
            actor=w.actors[user], project=project, category=w.category, vehicle=vehicle, driver=driver,
            site=site, estimated_m3=m3_text, estimated_t=t_text, now=self.clock))
        if manifest is None:
            return
        manifest.refresh_from_db()
        assert (manifest.status, manifest.estimated_m3, manifest.estimated_t) == (ISSUED, m3, t)
        assert (manifest.vehicle_id, manifest.driver_id, manifest.site_id, manifest.project_id) == (
            vehicle.pk, driver.pk, site.pk, project.pk)
        assert manifest.issued_at == manifest.planned_departure_at == self.clock and manifest.parent_id is None
        self.record_new(manifest, parent=None)

    def record_new(self, manifest: Manifest, parent: int | None) -> None:
        pk = manifest.pk
        self.pks.append(pk)
        self.status[pk] = ISSUED
        self.vehicle_of[pk], self.driver_of[pk], self.site_of[pk] = (
            manifest.vehicle_id, manifest.driver_id, manifest.site_id)
        self.arrival_due[pk] = self.clock + TRIP
        if parent is not None:
            self.parent_of[pk] = parent

    def cancel(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "cancel")
        user = self.draw(data, careful, sorted(EMITTER_STAFF), USERS, "user")
        reason = self.draw(data, careful, ["装车延误"], ["", "  ", "装车延误"], "reason")
        expected = set() if user in EMITTER_STAFF else {"perm"}
        if self.status[pk] not in SOURCES["cancel"]:
            expected.add("wrong_state")
        if not reason.strip():
            expected.add("invalid:reason")
        parent = self.parent_of.get(pk)
        if parent is not None and self.status[parent] == CLOSED:
            expected.add("carries_closed_refusal")  # it carries a closed manifest's refused part on
        if self.attempt("cancel", expected, lambda: services.manifest_cancel(
                actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), reason=reason, now=self.clock)):
            self.status[pk] = CANCELLED

    def depart(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "depart")
        assigned_to_login = self.driver_of[pk] == self.world.drivers[0].pk
        allowed = sorted(CARRIER_STAFF | ({"driver"} if assigned_to_login else set()))
        user = self.draw(data, careful, allowed, USERS, "user")
        position = self.draw(data, careful, ["none", "on earth"], sorted(POSITIONS), "position")
        lon, lat, valid = POSITIONS[position]
        expected = set() if user in allowed else {"perm"}
        if self.status[pk] not in SOURCES["depart"]:
            expected.add("wrong_state")
        if not valid:
            expected.add("invalid:lon")
        manifest = self.attempt("depart", expected, lambda: services.manifest_depart(
            actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), lon=lon, lat=lat, now=self.clock))
        if manifest:
            self.status[pk] = DEPARTED
            signature = manifest.signatures.get(step=SignatureStep.TRANSPORTER)
            assert signature.signed_by_id == self.world.actors[user].user.pk
            assert (signature.lon_e6 is None) == (lon is None)

    def arrive(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "arrive")
        user = self.draw(data, careful, sorted(RECEIVER_STAFF), USERS, "user")
        expected = set() if user in RECEIVER_STAFF else {"perm"}
        if self.status[pk] not in SOURCES["arrive"]:
            expected.add("wrong_state")
        if self.attempt("arrive", expected, lambda: services.manifest_arrive(
                actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), now=self.clock)):
            self.status[pk] = ARRIVED

    def receive(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "receive")
        allowed_refusals = {ACCEPTED: ["none", "zero"], REFUSED: ["none", "all"], PARTIAL: ["half"]}
        user = self.draw(data, careful, sorted(RECEIVER_STAFF), USERS, "user")
        outcome = self.draw(data, careful, sorted(RECEIVED), OUTCOMES, "outcome")
        measure = self.draw(data, careful, sorted(k for k, (_, m) in MEASURES.items() if isinstance(m, tuple)),
                            sorted(MEASURES), "measure")
        refused = self.draw(data, careful, allowed_refusals.get(outcome, []), REFUSED_AMOUNTS, "refused")
        reason = self.draw(data, careful and outcome in REFUSALS, ["混入生活垃圾"], REASONS, "reason")
        kwargs, measured = MEASURES[measure]
        expected = set() if user in RECEIVER_STAFF else {"perm"}
        if self.status[pk] not in SOURCES["receive"]:
            expected.add("wrong_state")
        unit, received = measured if isinstance(measured, tuple) else ("", D("10"))
        if not isinstance(measured, tuple):
            expected.add(f"invalid:{measured}")
        if outcome not in RECEIVED:
            expected.add("invalid:outcome")
        if outcome in RECEIVED and refused not in allowed_refusals[outcome]:
            expected.add("invalid:refused_quantity")
        if outcome in REFUSALS and not reason.strip():
            expected.add("invalid:reason")
        manifest = self.attempt("receive", expected, lambda: services.manifest_receive(
            actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), outcome=outcome,
            refused_quantity=refused_amount(refused, received), reason=reason, now=self.clock, **kwargs))
        if manifest is None:
            return
        refused_q = {ACCEPTED: D("0"), REFUSED: received, PARTIAL: q(received / 2)}[outcome]
        accepted_q = received - refused_q
        accepted_m3 = to_m3(accepted_q, unit, self.world.category.density_t_per_m3)
        manifest.refresh_from_db()
        assert (manifest.status, manifest.quantity_unit, manifest.received_quantity, manifest.accepted_quantity,
                manifest.refused_quantity, manifest.accepted_m3) == (
            outcome, unit, received, accepted_q, refused_q, accepted_m3)
        self.status[pk] = outcome
        self.receipt[pk] = (unit, received, accepted_q, refused_q)
        self.used[self.site_of[pk]] += accepted_m3

    def close(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "close")
        user = self.draw(data, careful, sorted(RECEIVER_STAFF), USERS, "user")
        expected = set() if user in RECEIVER_STAFF else {"perm"}
        if self.status[pk] not in SOURCES["close"]:
            expected.add("wrong_state")
        elif self.status[pk] in REFUSALS and self.live_redirect(pk) is None:
            expected.add("needs_new_destination")
        if self.attempt("close", expected, lambda: services.manifest_close(
                actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), now=self.clock)):
            self.status[pk] = CLOSED

    def redirect(self, careful, data, pk=None):
        pk = pk if pk is not None else self.target(data, careful, "redirect")
        user = self.draw(data, careful, sorted(EMITTER_STAFF), USERS, "user")
        others = [site for site in self.world.sites if site.pk != self.site_of[pk]]
        target = self.draw(data, careful, others, self.world.sites, "site")
        expected = set() if user in EMITTER_STAFF else {"perm"}
        if self.status[pk] not in SOURCES["redirect"]:
            expected.add("wrong_state")
        else:
            unit, _received, _accepted, refused = self.receipt[pk]
            estimate = max(to_m3(refused, unit, self.world.category.density_t_per_m3), CENT)
            if self.live_redirect(pk) is not None:
                expected.add("already_redirected")
            if target.pk == self.site_of[pk]:
                expected.add("invalid:site")
            if self.remaining(target.pk) < estimate:
                expected.add("site_full")
            if not self.in_window():
                expected.add("outside_plan")
            if self.busy(self.vehicle_of[pk]):
                expected.add("vehicle_busy")
        child = self.attempt("redirect", expected, lambda: services.manifest_redirect(
            actor=self.world.actors[user], manifest=Manifest.objects.get(pk=pk), site=target, now=self.clock))
        if child is None:
            return
        child.refresh_from_db()
        assert (child.parent_id, child.site_id, child.vehicle_id, child.status) == (
            pk, target.pk, self.vehicle_of[pk], ISSUED)
        self.record_new(child, parent=pk)

    def amend(self, careful, data, pk=None):
        w = self.world
        pk = pk if pk is not None else self.target(data, careful, "amend")
        user = self.draw(data, careful, sorted(CARRIER_STAFF), USERS, "user")
        amendment = self.draw(data, careful, AMENDMENTS[:3], AMENDMENTS, "amendment")
        changes: dict[str, Any] = {
            "route": {"route": "江门大道"}, "driver with login": {"driver": w.drivers[0]},
            "driver without login": {"driver": w.drivers[1]}, "foreign driver": {"driver": w.drivers[2]},
            "estimate": {"estimated_m3": D("5")}, "site": {"site": w.sites[1]}, "vehicle": {"vehicle": w.vehicles[1]},
            "route and estimate": {"route": "x", "estimated_t": D("3")}, "nothing": {},
            "unknown field": {"colour": "red"},
        }[amendment]
        if not changes:
            expected = {"invalid:changes"}  # checked before anything else
        else:
            expected = set() if user in CARRIER_STAFF else {"perm"}
            if self.status[pk] not in SOURCES["amend"]:
                expected.add("wrong_state")
            transporter_signed = STAGE[self.status[pk]] >= 1
            for field in changes:
                if field == "colour":
                    expected.add("invalid:colour")
                elif field in ("estimated_m3", "estimated_t", "site"):
                    expected.add("field_locked")  # the emitter signed at issue
                elif field == "vehicle":
                    expected.add("field_locked" if transporter_signed else "invalid:vehicle")
            if amendment == "foreign driver":
                expected.add("invalid:driver")
        manifest = self.attempt("amend", expected, lambda: services.manifest_amend(
            actor=w.actors[user], manifest=Manifest.objects.get(pk=pk), changes=changes))
        if manifest:
            manifest.refresh_from_db()
            if "driver" in changes:
                self.driver_of[pk] = changes["driver"].pk
            assert manifest.driver_id == self.driver_of[pk]
            if "route" in changes:
                assert manifest.route == changes["route"]

    # --- rules -------------------------------------------------------------------------------
    # Few rules, so that ``progress`` is drawn often enough for sequences to get deep into the
    # lifecycle, while the other two try every step carefully and carelessly, in or out of order.
    @rule(step=st.sampled_from(STEPS), data=st.data())
    def careful_step(self, step, data):
        if step != "issue" and not self.pks:
            step = "issue"
        getattr(self, step)(True, data)

    @rule(step=st.sampled_from(STEPS), data=st.data())
    def careless_step(self, step, data):
        if step != "issue" and not self.pks:
            step = "issue"
        getattr(self, step)(False, data)

    @rule(moves=st.integers(1, 4), data=st.data())
    def progress(self, moves, data):
        """A few careful moves forward, each a new load or the next step of an unfinished one."""
        for _ in range(moves):
            movable = [pk for pk in self.pks if self.status[pk] not in (CLOSED, CANCELLED)]
            if not movable or data.draw(st.integers(0, 3), label="new load?") == 0:
                self.issue(True, data)
                continue
            pk = data.draw(st.sampled_from(movable), label="manifest")
            step = {ISSUED: "depart", DEPARTED: "arrive", ARRIVED: "receive", ACCEPTED: "close"}.get(self.status[pk])
            if step is None:  # refused or partially refused: send the rest on, then close
                step = "close" if self.live_redirect(pk) is not None else "redirect"
            getattr(self, step)(True, data, pk=pk)

    # Minutes: mostly short, sometimes long enough for loads to be overdue or for the clock to
    # leave the plan's daily transport window.
    @rule(minutes=st.sampled_from([5, 15, 30, 60, 120, 900]))
    def advance_clock(self, minutes):
        self.clock += dt.timedelta(minutes=minutes)

    @rule(minutes=st.sampled_from([0, 30, 300]))
    def mark_overdue(self, minutes):
        """The job, run a little later (loads go overdue 4 h after their planned departure)."""
        self.clock += dt.timedelta(minutes=minutes)
        due = sorted(pk for pk in self.pks if self.status[pk] in (ISSUED, DEPARTED) and pk not in self.overdue
                     and self.arrival_due[pk] < self.clock)
        last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        flagged = [m.pk for m in services.manifests_mark_overdue(now=self.clock)]
        assert flagged == due
        rows = AuditEntry.objects.filter(seq__gt=last_seq).values_list("action", "object_id")
        assert sorted(rows, key=lambda row: int(row[1])) == [("manifest.overdue", str(pk)) for pk in due]
        self.overdue.update(due)

    # --- invariants --------------------------------------------------------------------------
    @invariant()
    def the_database_matches_the_model(self):
        stored = dict(Manifest.objects.values_list("pk", "status"))
        assert stored == self.status
        assert set(Manifest.objects.filter(is_overdue=True).values_list("pk", flat=True)) == self.overdue
        used = dict(ReceivingSite.objects.filter(pk__in=self.used).values_list("pk", "used_capacity_m3"))
        assert used == self.used, "a site's used capacity differs from the loads it accepted"

    @invariant()
    def every_manifest_is_valid_and_no_quantity_is_lost(self):
        manifests = {m.pk: m for m in Manifest.objects.all()}
        signatures: dict[int, dict[str, ManifestSignature]] = defaultdict(dict)
        for signature in ManifestSignature.objects.all():
            assert signature.step not in signatures[signature.manifest_id], "two signatures for one step"
            signatures[signature.manifest_id][signature.step] = signature
        live_redirects: dict[int, list[Manifest]] = defaultdict(list)
        for m in manifests.values():
            if m.parent_id is not None and m.status != CANCELLED:
                live_redirects[m.parent_id].append(m)
        open_per_vehicle = Counter(m.vehicle_id for m in manifests.values() if m.status in OPEN)
        assert all(n == 1 for n in open_per_vehicle.values()), "a vehicle carries two open manifests"
        accepted_per_site: dict[int, Decimal] = defaultdict(Decimal)
        density = self.world.category.density_t_per_m3
        for m in manifests.values():
            assert m.status in ManifestStatus.values
            stage = STAGE[m.status]
            self.check_signatures(m, signatures[m.pk], stage)
            self.check_times(m, stage)
            if stage >= 3:
                outcome = self.check_receipt(m, density)
                if m.status == CLOSED and outcome in REFUSALS:
                    assert live_redirects[m.pk], f"{m.number}: closed with its refused quantity sent nowhere"
                accepted_per_site[m.site_id] += m.accepted_m3
            else:
                assert (m.received_quantity, m.accepted_quantity, m.refused_quantity, m.accepted_m3) == (
                    None, None, None, None)
            assert len(live_redirects[m.pk]) <= 1, f"{m.number} has two live redirects"
            if m.parent_id is not None:
                self.check_redirect(m, manifests[m.parent_id], density)
        for site in ReceivingSite.objects.filter(pk__in=self.used):
            assert site.used_capacity_m3 == accepted_per_site[site.pk], f"{site.name}: capacity does not add up"

    @staticmethod
    def check_signatures(m: Manifest, signed: dict[str, ManifestSignature], stage: int) -> None:
        assert SignatureStep.EMITTER in signed, f"{m.number}: the emitter has not signed"
        assert (SignatureStep.TRANSPORTER in signed) == (stage >= 1), f"{m.number} {m.status}: transporter"
        assert (SignatureStep.RECEIVER in signed) == (stage >= 3), f"{m.number} {m.status}: receiver"
        for step, organisation, at in ((SignatureStep.EMITTER, m.emitter_id, m.issued_at),
                                       (SignatureStep.TRANSPORTER, m.carrier_id, m.departed_at),
                                       (SignatureStep.RECEIVER, m.receiver_id, m.received_at)):
            if step in signed:
                assert (signed[step].organisation_id, signed[step].signed_at) == (organisation, at)

    @staticmethod
    def check_times(m: Manifest, stage: int) -> None:
        times = [m.issued_at, m.departed_at, m.arrived_at, m.received_at, m.closed_at]
        for reached, at in enumerate(times):
            assert (at is not None) == (stage >= reached), f"{m.number} {m.status}: time stamp {reached}"
        present = [at for at in times if at is not None]
        assert present == sorted(present), f"{m.number}: time stamps out of order"
        if m.status == CANCELLED:
            assert m.cancelled_at is not None and m.cancelled_at >= m.issued_at and m.cancellation_reason.strip()
        else:
            assert m.cancelled_at is None
        if m.is_overdue:
            assert m.overdue_at is not None and m.overdue_at > m.expected_arrival_at
            assert all(at is None or m.overdue_at <= at for at in (m.arrived_at, m.cancelled_at))
        else:
            assert m.overdue_at is None

    @staticmethod
    def check_receipt(m: Manifest, density: Decimal) -> str:
        """The Trackdéchets rules on a received (or closed) manifest; returns its outcome."""
        received, accepted, refused = m.received_quantity, m.accepted_quantity, m.refused_quantity
        assert received > 0 and accepted >= 0 and refused >= 0 and accepted + refused == received
        if m.quantity_unit == "t":
            assert m.net_t == m.gross_t - m.tare_t == received and m.received_m3 is None
        else:
            assert m.quantity_unit == "m3" and m.received_m3 == received
            assert (m.gross_t, m.tare_t, m.net_t) == (None, None, None)
        assert m.accepted_m3 == to_m3(accepted, m.quantity_unit, density)
        outcome = m.status if m.status != CLOSED else (ACCEPTED if refused == 0 else REFUSED if accepted == 0
                                                       else PARTIAL)
        if outcome == ACCEPTED:
            assert refused == 0 and m.refusal_reason == ""
        elif outcome == REFUSED:
            assert accepted == 0 and refused == received and m.refusal_reason.strip()
        else:
            assert 0 < refused < received and m.refusal_reason.strip()
        return outcome

    @staticmethod
    def check_redirect(child: Manifest, parent: Manifest, density: Decimal) -> None:
        assert parent.status in (PARTIAL, REFUSED, CLOSED) and parent.refused_quantity > 0
        unit, refused = parent.quantity_unit, parent.refused_quantity
        assert (child.estimated_m3, child.estimated_t) == (
            max(to_m3(refused, unit, density), CENT), max(to_t(refused, unit, density), CENT)), (
            f"{child.number}: the redirect does not carry its parent's refused quantity")
        assert (child.project_id, child.category_id, child.vehicle_id) == (
            parent.project_id, parent.category_id, parent.vehicle_id)
        assert child.site_id != parent.site_id

    @invariant()
    def the_audit_chain_verifies(self):
        rows = AuditEntry.objects.count()
        if rows == self.verified_rows:
            return  # nothing appended since the last walk, and the table is append-only (triggers)
        checked, broken = audit_verify()
        assert broken is None, broken
        assert checked == rows
        self.verified_rows = rows


LIFECYCLE_SETTINGS = settings(max_examples=40, stateful_step_count=25, deadline=None, report_multiple_bugs=False,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_random_action_sequences_never_reach_an_invalid_state_or_lose_a_quantity(world):
    machine = type("WorldManifestLifecycle", (ManifestLifecycle,), {"world": world})
    run_state_machine_as_test(machine, settings=LIFECYCLE_SETTINGS)

