"""Issue 3's benchmark: whole manifest lifecycles per second through the services, with 100,000
manifests already stored.

A lifecycle is issue → depart → arrive → receive (accepted, weighed) → close, five service calls
and five transactions, with every issuing check, row lock, signature and audit row. The baseline,
measured in the same run on the same database, makes the same five transactions with the same
row writes (the manifest insert and its four updates, three signatures, the site's capacity and
five audit-sized rows) as bare ORM statements: no reads, no checks, no locks, no hash chain. The
ratio is therefore the share of a lifecycle's time that is the writes themselves.

The world is seeded once per database through the services (the cast, projects with filed plans,
three kinds of approvals, sealed trucks with terminals, drivers, open sites), then the history
is bulk-inserted: closed manifests spread over the past ``HISTORY_DAYS`` days, with their
signatures and their days' number counters, so new numbers (today's) never collide.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import statistics
import threading
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from wastetrail.accounts.policy import Actor
from wastetrail.bench.harness import Figure, rate_per_second, record
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.validators import id_check_character
from wastetrail.manifests import services as manifests
from wastetrail.manifests.models import (
    DisposalMethod,
    Manifest,
    ManifestNumberCounter,
    ManifestSignature,
    ManifestStatus,
    QuantityUnit,
    SignatureStep,
    manifest_number,
)
from wastetrail.permits import services as permits
from wastetrail.permits.models import Approval, ApprovalKind
from wastetrail.plans import services as plans
from wastetrail.registry import services as registry
from wastetrail.registry.models import Driver, Project, ProjectStatus, ReceivingSite, Vehicle
from wastetrail.registry.validators import vin_check_character
from wastetrail.testing import Cast, build_cast

HISTORY = 100_000
HISTORY_DAYS = 250  # 400 loads a day: a busy city's day, spread over eight months
PROJECTS = 4
SITES = 3
VEHICLES = 40
DRIVERS = 20
BATCH = 100  # lifecycles per timed run
INSERT_BATCH = 2_000
LOAD_M3 = Decimal("18")
# The plan's daily transport window; the timed loads are issued for the next PLANNED_AT, so
# that the benchmark runs at any hour (issuing ahead of the departure is ordinary).
WINDOW = (dt.time(6, 0), dt.time(23, 0))
PLANNED_AT = dt.time(10, 0)
GROSS_T, TARE_T = Decimal("49.50"), Decimal("17.10")  # net 32.4 t = 18 m³ of soil at 1.8 t/m³


@dataclass
class World:
    cast: Cast
    soil: WasteCategory
    projects: list[Project]
    sites: list[ReceivingSite]
    fleet: list[tuple[Vehicle, Driver]]
    emissions: dict[int, Approval]  # by project
    disposals: dict[int, Approval]  # by site
    transport: Approval
    plans: dict[int, int]  # project -> filed plan id
    emitter: Actor
    carrier: Actor
    receiver: Actor


# --- seeding through the services -----------------------------------------------------------
def _vin(serial: int) -> str:
    body = f"LGAX3B{serial % 1000:03d}0P{serial % 1000000:06d}"
    return body[:8] + vin_check_character(body) + body[9:]


def _id_number(serial: int) -> str:
    first17 = f"44070319850101{serial % 1000:03d}"
    return first17 + id_check_character(first17)


def _square(lon: float, lat: float, d: float = 0.002) -> dict:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}


def _approve(cast: Cast, approval: Approval, today: dt.date, **scope) -> Approval:
    reviewer = cast.actor("reg_officer")
    approval = permits.approval_start_review(actor=reviewer, approval=approval)
    # Valid since before the oldest historic manifest, so the history refers to approvals in force.
    return permits.approval_approve(actor=reviewer, approval=approval,
                                    valid_from=today - dt.timedelta(days=HISTORY_DAYS + 30),
                                    valid_to=today + dt.timedelta(days=180), **scope)


def seed_world() -> World:
    cast = build_cast()
    admin = cast.actor("reg_admin")
    transport_org, operator = cast.org("transport"), cast.org("site_operator")
    soil = WasteCategory.objects.get(code="excavated_soil")
    today = timezone.localdate()

    sites = [registry.site_create(
        actor=admin, name=f"绿源消纳场{n}", kind="disposal", operator=operator,
        boundary=_square(113.0781 + n * 0.01, 22.5790), capacity_m3=Decimal("10000000"),
        accepted_categories=["excavated_soil", "construction_waste"],
    ) for n in range(1, SITES + 1)]
    fleet = []
    for n in range(1, VEHICLES + 1):
        vehicle = registry.vehicle_create(
            actor=admin, plate=f"粤J{n:05d}", vin=_vin(n), company=transport_org, capacity_m3=Decimal("20"),
            capacity_t=Decimal("31"), sealed_body_certified=True, sealed_body_certificate_no=f"JM-FB-{n:04d}",
        )
        registry.terminal_create(actor=admin, company=transport_org, phone=f"1450000{n:04d}",
                                 terminal_id=f"P{n:06d}", vehicle=vehicle)
        fleet.append(vehicle)
    drivers = [registry.driver_create(
        actor=admin, company=transport_org, name=f"司机{n}", id_number=_id_number(n), phone=f"1392222{n:04d}",
        licence_number=_id_number(n), licence_class="A2",
    ) for n in range(1, DRIVERS + 1)]
    projects = [registry.project_create(
        actor=admin, name=f"滨江新城{n}号地块", code=f"440703202600{n:04d}", project_type="new_build",
        construction_unit=cast.org("construction"), lon=Decimal("113.0781"), lat=Decimal("22.5790"),
        planned_start=today - dt.timedelta(days=HISTORY_DAYS + 60), planned_end=today + dt.timedelta(days=365),
        address="江门市蓬江区滨江大道", status=ProjectStatus.UNDER_CONSTRUCTION,
    ) for n in range(1, PROJECTS + 1)]

    disposals = {}
    for site in sites:
        applied = permits.approval_apply(actor=cast.actor("site_operator"), kind=ApprovalKind.DISPOSAL,
                                         holder=operator, site=site)
        disposals[site.pk] = _approve(cast, applied, today, categories=[soil])
    applied = permits.approval_apply(actor=cast.actor("transport_admin"), kind=ApprovalKind.TRANSPORT,
                                     holder=transport_org)
    transport = _approve(cast, applied, today, categories=[soil], vehicles=fleet)
    emissions, filed = {}, {}
    builder = cast.actor("construction_admin")
    for project in projects:
        applied = permits.approval_apply(actor=builder, kind=ApprovalKind.EMISSION,
                                         holder=cast.org("construction"), project=project)
        emissions[project.pk] = _approve(cast, applied, today, categories=[soil], sites=sites)
        streams = [{
            "category": "excavated_soil", "quantity_m3": Decimal("2000000"), "carrier": transport_org,
            "site": site, "daily_start": WINDOW[0], "daily_end": WINDOW[1],
            "valid_from": today - dt.timedelta(days=HISTORY_DAYS + 30), "valid_to": today + dt.timedelta(days=90),
            "transport_mode": "sealed_truck", "route": "滨江大道—江门大道—龙湾路",
        } for site in sites]
        draft = plans.plan_draft_create(
            actor=builder, project=project, contact_name="吴施工", contact_phone="13807500001",
            reduction_measures="土方就地平衡，分类堆放，回填利用。",
            pollution_control_measures="围挡、喷淋、车辆冲洗。",
            reuse_rate_target=Decimal("60"), other_matters="",
            quantities=[{"category": "excavated_soil", "quantity_m3": Decimal("8000000")}], streams=streams)
        filed[project.pk] = plans.plan_file(actor=builder, plan=draft).pk

    return World(
        cast=cast, soil=soil, projects=projects, sites=sites,
        fleet=[(vehicle, drivers[n % DRIVERS]) for n, vehicle in enumerate(fleet)],
        emissions=emissions, disposals=disposals, transport=transport, plans=filed,
        emitter=cast.actor("construction_staff"), carrier=cast.actor("transport_admin"),
        receiver=cast.actor("site_operator"),
    )


# --- the history, bulk-inserted -------------------------------------------------------------
def seed_history(world: World, count: int = HISTORY, days: int = HISTORY_DAYS) -> None:
    """``count`` closed manifests over the past ``days`` days (never today, whose numbers the
    timed lifecycles take), each with its three signatures; the sites' used capacity and the
    days' number counters match them."""
    rng = random.Random(3)
    today = timezone.localdate()
    per_day = -(-count // days)
    emitter_user, carrier_user, receiver_user = (world.emitter.user, world.carrier.user, world.receiver.user)
    construction, transport, operator = (world.cast.org("construction"), world.cast.org("transport"),
                                         world.cast.org("site_operator"))
    accepted_m3 = {site.pk: Decimal("0") for site in world.sites}
    counters = []
    made = 0
    first_id = (Manifest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    with transaction.atomic():
        for back in range(days, 0, -1):
            day = today - dt.timedelta(days=back)
            n_today = min(per_day, count - made)
            if n_today <= 0:
                break
            midnight = timezone.make_aware(dt.datetime.combine(day, dt.time(0, 0)))
            rows = []
            for serial in range(1, n_today + 1):
                project = world.projects[rng.randrange(PROJECTS)]
                site = world.sites[rng.randrange(SITES)]
                vehicle, driver = world.fleet[rng.randrange(VEHICLES)]
                issued = midnight + dt.timedelta(seconds=rng.randrange(0, 20 * 3600))
                departed = issued + dt.timedelta(minutes=rng.randrange(5, 30))
                arrived = departed + dt.timedelta(minutes=rng.randrange(30, 120))
                received = arrived + dt.timedelta(minutes=rng.randrange(3, 15))
                net = Decimal(rng.randrange(2800, 3600)) / 100
                volume = (net / world.soil.density_t_per_m3).quantize(Decimal("0.01"))
                accepted_m3[site.pk] += volume
                rows.append(Manifest(
                    number=manifest_number(day, serial), status=ManifestStatus.CLOSED,
                    plan_id=world.plans[project.pk], emitter=construction, project=project,
                    emitter_address=project.address, category=world.soil, estimated_m3=LOAD_M3,
                    estimated_t=LOAD_M3 * world.soil.density_t_per_m3, carrier=transport, vehicle=vehicle,
                    driver=driver, route="滨江大道—江门大道—龙湾路", planned_departure_at=issued,
                    expected_arrival_at=issued + manifests.DEFAULT_TRIP_DURATION, receiver=operator, site=site,
                    disposal_method=DisposalMethod.DISPOSAL, emission_approval=world.emissions[project.pk],
                    transport_approval=world.transport, disposal_approval=world.disposals[site.pk],
                    issued_at=issued, issued_by=emitter_user, departed_at=departed, arrived_at=arrived,
                    received_at=received, closed_at=received + dt.timedelta(minutes=2),
                    gross_t=net + Decimal("17.10"), tare_t=Decimal("17.10"), net_t=net,
                    quantity_unit=QuantityUnit.TONNE, received_quantity=net, accepted_quantity=net,
                    refused_quantity=Decimal("0"), accepted_m3=volume,
                ))
            Manifest.objects.bulk_create(rows, batch_size=INSERT_BATCH)
            counters.append(ManifestNumberCounter(day=day, last=n_today))
            made += n_today
        ManifestNumberCounter.objects.bulk_create(counters)
        # Each party's signature at its step's time, written by the database from the rows
        # themselves (300,000 model instances would be most of the seeding time).
        with connection.cursor() as cursor:
            for step, user, signed_at in ((SignatureStep.EMITTER, emitter_user, "issued_at"),
                                          (SignatureStep.TRANSPORTER, carrier_user, "departed_at"),
                                          (SignatureStep.RECEIVER, receiver_user, "received_at")):
                organisation = {"issued_at": "emitter_id", "departed_at": "carrier_id",
                                "received_at": "receiver_id"}[signed_at]
                cursor.execute(
                    f"INSERT INTO {ManifestSignature._meta.db_table} "
                    "(manifest_id, step, signed_by_id, organisation_id, signed_at) "
                    f"SELECT id, %s, %s, {organisation}, {signed_at} FROM {Manifest._meta.db_table} "
                    "WHERE id >= %s ORDER BY id", [str(step), user.pk, first_id])
        for pk, used in accepted_m3.items():
            ReceivingSite.objects.filter(pk=pk).update(used_capacity_m3=used)
    # What autovacuum would have done by now in production: fresh planner statistics.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- what is timed --------------------------------------------------------------------------
class Lifecycles:
    """Runs lifecycles round-robin over the fleet, projects and sites (a truck is free again
    once its manifest is closed, so the one-open-manifest rule never bites). Worker ``worker``
    of ``workers`` drives only its share of the trucks, so that workers never wait for each
    other's truck; projects, sites, the day's number counter and the audit chain are shared."""

    def __init__(self, world: World, worker: int = 0, workers: int = 1) -> None:
        self.world = world
        self.serial = worker
        self.fleet = world.fleet[worker::workers]
        now = timezone.localtime()
        day = now.date() if now.time() < PLANNED_AT else now.date() + dt.timedelta(days=1)
        self.departure = timezone.make_aware(dt.datetime.combine(day, PLANNED_AT))

    def one(self) -> Manifest:
        w, i = self.world, self.serial
        self.serial += 1
        vehicle, driver = self.fleet[i % len(self.fleet)]
        manifest = manifests.manifest_issue(
            actor=w.emitter, project=w.projects[i % PROJECTS], category=w.soil, vehicle=vehicle, driver=driver,
            site=w.sites[i % SITES], estimated_m3=LOAD_M3, planned_departure_at=self.departure,
        )
        manifest = manifests.manifest_depart(actor=w.carrier, manifest=manifest)
        manifest = manifests.manifest_arrive(actor=w.receiver, manifest=manifest)
        manifest = manifests.manifest_receive(actor=w.receiver, manifest=manifest, outcome=ManifestStatus.ACCEPTED,
                                              gross_t=GROSS_T, tare_t=TARE_T)
        return manifests.manifest_close(actor=w.receiver, manifest=manifest)

    def batch(self) -> int:
        for _ in range(BATCH):
            self.one()
        return BATCH


class BareWrites:
    """The baseline: the same transactions and row writes as a lifecycle, as bare statements."""

    def __init__(self, world: World, worker: int = 0, workers: int = 1) -> None:
        self.world = world
        self.serial = 0
        self.fleet = world.fleet[worker::workers]
        with connection.cursor() as cursor:
            key = "BIGSERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY"
            cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_lifecycle_audit (id {key}, action TEXT, data TEXT)")

    @staticmethod
    def _audit(action: str, manifest_id: int) -> None:
        # About the size of a lifecycle step's audit row.
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_lifecycle_audit (action, data) VALUES (%s, %s)",
                           [action, f'{{"manifest": {manifest_id}, "status": "{action}", "signature": '
                                    f'{{"step": "x", "signed_by": 1, "organisation": 1}}}}'])

    def one(self) -> None:
        w, i = self.world, self.serial
        self.serial += 1
        vehicle, driver = self.fleet[i % len(self.fleet)]
        project, site = w.projects[i % PROJECTS], w.sites[i % SITES]
        user_e, user_c, user_r = w.emitter.user, w.carrier.user, w.receiver.user
        construction, transport, operator = w.cast.org("construction"), w.cast.org("transport"), w.cast.org(
            "site_operator")
        now = timezone.now()
        with transaction.atomic():
            m = Manifest.objects.create(  # numbers unique per process: workers write at once
                number=f"BL{os.getpid():07d}{i:08d}", status=ManifestStatus.ISSUED, plan_id=w.plans[project.pk],
                emitter=construction, project=project, emitter_address=project.address, category=w.soil,
                estimated_m3=LOAD_M3, estimated_t=Decimal("32.40"), carrier=transport, vehicle=vehicle,
                driver=driver, route="滨江大道—江门大道—龙湾路", planned_departure_at=now,
                expected_arrival_at=now + manifests.DEFAULT_TRIP_DURATION, receiver=operator, site=site,
                disposal_method=DisposalMethod.DISPOSAL, emission_approval=w.emissions[project.pk],
                transport_approval=w.transport, disposal_approval=w.disposals[site.pk], issued_at=now,
                issued_by=user_e,
            )
            ManifestSignature.objects.create(manifest=m, step=SignatureStep.EMITTER, signed_by=user_e,
                                             organisation=construction, signed_at=now)
            self._audit("issue", m.pk)
        with transaction.atomic():
            Manifest.objects.filter(pk=m.pk).update(status=ManifestStatus.DEPARTED, departed_at=now, updated_at=now)
            ManifestSignature.objects.create(manifest=m, step=SignatureStep.TRANSPORTER, signed_by=user_c,
                                             organisation=transport, signed_at=now)
            self._audit("depart", m.pk)
        with transaction.atomic():
            Manifest.objects.filter(pk=m.pk).update(status=ManifestStatus.ARRIVED, arrived_at=now, updated_at=now)
            self._audit("arrive", m.pk)
        with transaction.atomic():
            net = GROSS_T - TARE_T
            Manifest.objects.filter(pk=m.pk).update(
                status=ManifestStatus.ACCEPTED, received_at=now, gross_t=GROSS_T, tare_t=TARE_T, net_t=net,
                quantity_unit=QuantityUnit.TONNE, received_quantity=net, accepted_quantity=net,
                refused_quantity=Decimal("0"), accepted_m3=LOAD_M3, updated_at=now)
            ReceivingSite.objects.filter(pk=site.pk).update(used_capacity_m3=F("used_capacity_m3") + LOAD_M3)
            ManifestSignature.objects.create(manifest=m, step=SignatureStep.RECEIVER, signed_by=user_r,
                                             organisation=operator, signed_at=now)
            self._audit("receive", m.pk)
        with transaction.atomic():
            Manifest.objects.filter(pk=m.pk).update(status=ManifestStatus.CLOSED, closed_at=now, updated_at=now)
            self._audit("close", m.pk)

    def batch(self) -> int:
        for _ in range(BATCH):
            self.one()
        return BATCH


# --- the machine's throughput: one worker process per core ------------------------------
def _worker(world: World, worker: int, workers: int, rounds: list[str], start: Any, done: Any) -> None:
    """A forked worker: its own connection, its share of the trucks; at each round, once every
    worker is ready, one batch of lifecycles or of bare writes."""
    try:
        connections.close_all()  # never the parent's connection: a fresh one is opened
        lifecycles, bare = Lifecycles(world, worker, workers), BareWrites(world, worker, workers)
        for _ in range(5):  # warm up, as in one process
            lifecycles.one()
            bare.one()
        for kind in rounds:
            start.wait()
            (lifecycles if kind == "lifecycles" else bare).batch()
            done.put((worker, None))
    except BaseException:  # reported to the parent, which stops the benchmark
        done.put((worker, traceback.format_exc()))
        start.abort()
    finally:
        connections.close_all()


def machine_rates(world: World, workers: int, repeats: int = 5) -> tuple[float, float]:
    """Lifecycles/s and bare writes/s of ``workers`` processes at once: the medians of
    ``repeats`` rounds, each timed from the common start until the last worker has finished
    its batch."""
    rounds = ["bare"] * repeats + ["lifecycles"] * repeats
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(workers + 1), context.Queue()
    connections.close_all()  # the children must not share the parent's connection
    processes = [context.Process(target=_worker, args=(world, n, workers, rounds, start, done))
                 for n in range(workers)]
    for process in processes:
        process.start()
    rates: dict[str, list[float]] = {"bare": [], "lifecycles": []}
    try:
        for kind in rounds:
            try:
                start.wait(timeout=600)
            except threading.BrokenBarrierError:
                worker, failure = done.get(timeout=60)
                raise RuntimeError(f"benchmark worker {worker} failed:\n{failure}") from None
            started = time.perf_counter()
            for _ in range(workers):
                worker, failure = done.get(timeout=600)
                if failure:
                    raise RuntimeError(f"benchmark worker {worker} failed:\n{failure}")
            rates[kind].append(workers * BATCH / (time.perf_counter() - started))
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return statistics.median(rates["lifecycles"]), statistics.median(rates["bare"])


def manifest_lifecycles(out_dir: Path) -> list[Figure]:
    """Two figures per database: the machine's throughput with one worker process per core
    (``manifest_lifecycles_per_s_<db>``, as a city's server runs several workers) and one
    process alone (``..._1proc``), each against bare writes measured the same way."""
    started = time.perf_counter()
    world = seed_world()
    seed_history(world)
    seeded = time.perf_counter() - started
    stored = Manifest.objects.count()
    lifecycles, bare = Lifecycles(world), BareWrites(world)
    for _ in range(5):  # warm up: first queries, translations, connection
        lifecycles.one()
        bare.one()
    baseline_1 = rate_per_second(bare.batch)
    value_1 = rate_per_second(lifecycles.batch)
    workers = os.cpu_count() or 1
    value, baseline = machine_rates(world, workers)
    vendor = "postgres" if connection.vendor == "postgresql" else connection.vendor
    print(f"manifests ({vendor}): seeded {stored:,} manifests in {seeded:.0f} s; {workers} worker processes")
    return [record(f"manifest_lifecycles_per_s_{vendor}", value, "lifecycles/s", baseline, out_dir),
            record(f"manifest_lifecycles_per_s_{vendor}_1proc", value_1, "lifecycles/s", baseline_1, out_dir)]
