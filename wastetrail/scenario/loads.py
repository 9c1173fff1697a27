"""The demo's truck loads: three weeks of electronic manifests up to now, in every state.

Built like the rest of the scenario, through the services (``wastetrail.manifests.services``)
with their ``now=`` parameters, so every load passed every issuing check at the moment it was
issued: the filed plan's stream and its daily window, the three approvals, the site's capacity,
one open manifest per truck.

Two passes. First plan each truck's trips (arithmetic on the seeded random generator): a truck
makes a trip every few days, and the last trip of many trucks is placed so that, at the moment
of building, it is in a chosen state (issued, on the road, at the gate, overdue, weighed but not
yet closed, refused and redirected). A truck's trips never overlap, so it never has two loads
open. Then play every step of every trip in time order, with the overdue job every half hour,
and stop at now: steps planned for later have simply not happened yet.

The same seed and the same ``now`` give the same loads. The times follow ``now`` (the demo is
always current), and which trucks can be on the road right now depends on the time of day,
because plans allow some loads only at night.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count
from django.utils import timezone

from wastetrail.accounts.models import Organisation
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.manifests import services as manifests
from wastetrail.manifests.models import VEHICLE_BUSY_STATUSES, Manifest, ManifestStatus
from wastetrail.permits.models import ApprovalKind
from wastetrail.permits.selectors import valid_approval
from wastetrail.plans.models import PlanStatus, PlanStream
from wastetrail.registry.models import Driver, Project, ReceivingSite, SiteStatus, Vehicle, VehicleStatus
from wastetrail.scenario.paperwork import admin_of

if TYPE_CHECKING:
    from wastetrail.scenario.build import ScenarioBuilder

HISTORY_DAYS = 21
TRIP_CHANCE = 0.13  # per truck and day: a few hundred loads over the weeks
OVERDUE_JOB_EVERY = dt.timedelta(minutes=30)
# Departures are planned at least this long before the window closes, so that a refused load can
# still be redirected inside the window (the redirect is a new departure).
WINDOW_MARGIN_MIN = 270
CANCEL_CHANCE, PARTIAL_CHANCE, REFUSE_CHANCE, LATE_CHANCE = 0.04, 0.07, 0.05, 0.06
ROAD_FACTOR, SPEED_KMH, HANDLING_MIN = 1.35, 28, 15

# The last trip of a number of trucks ends in each of these states at the moment of building.
TAIL_QUOTAS = {
    "issued": 20, "departed": 14, "arrived": 8, "overdue_issued": 6, "overdue_departed": 6,
    "accepted": 8, "partially_refused": 6, "partially_refused_redirected": 6, "refused_redirected": 8,
}

REFUSAL_REASONS = [
    "混入生活垃圾，不符合本场受纳要求",
    "含水率过高，呈泥浆状，应送泥浆受纳点",
    "夹杂大块混凝土和钢筋，无法摊铺回填",
    "混有装修垃圾（石膏板、木料、塑料），本场不受纳",
    "疑似受污染土壤，须送有资质单位检测处置",
    "实际装载与联单申报类别不符",
]
PARTIAL_REASONS = [
    "部分混入生活垃圾，分拣后拒收该部分",
    "约三成为装修垃圾，本场不受纳",
    "车厢后部为泥浆，拒收泥浆部分",
    "夹带废旧轮胎及塑料，拒收分拣出的部分",
    "部分为大块混凝土，超出本场破碎能力",
]
CANCEL_REASONS = [
    "车辆故障，改派他车",
    "工地临时停工",
    "暴雨黄色预警，暂停外运",
    "消纳场临时限流，改日外运",
    "联单信息填写有误，作废重开",
]
CENT = Decimal("0.01")


def _q(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


@dataclass
class Lane:
    """A way a load may go, in order on every day of the demo: a filed plan's stream whose
    emission and disposal approvals are in force. ``fallbacks``: where a refused load may go."""

    stream: PlanStream
    minutes: int  # the expected duration of the trip (the manifest's expected arrival)
    fallbacks: list[Lane] = field(default_factory=list)

    @property
    def project(self) -> Project:
        return self.stream.plan.project

    @property
    def category(self) -> WasteCategory:
        return self.stream.category

    @property
    def site(self) -> ReceivingSite:
        return self.stream.site

    def covers(self, at: dt.datetime) -> bool:
        local = timezone.localtime(at)
        return self.stream.covers(local.date(), local.time())


@dataclass
class Truck:
    vehicle: Vehicle
    driver: Driver
    tare_t: float
    lanes: list[Lane]


@dataclass
class Trip:
    """One load, as offsets in minutes from its planned departure. ``last_step``: the last step
    that will ever happen (a trip placed to stay issued, on the road, unredirected…)."""

    truck: Truck
    lane: Lane
    planned: dt.datetime
    lead: int  # issued this long before the planned departure
    delay: int  # actual departure after the planned one
    travel: int
    wait: int  # at the gate before weighing
    close_after: int
    load_m3: Decimal
    weighing: dict[str, Decimal]
    received: Decimal
    outcome: str = ManifestStatus.ACCEPTED
    refused: Decimal | None = None
    reason: str = ""
    cancel_after: int | None = None
    cancel_reason: str = ""
    last_step: str = "close"
    redirect: Trip | None = None
    redirect_after: int = 0
    manifest: Manifest | None = None

    @property
    def issued_at(self) -> dt.datetime:
        return self.planned - dt.timedelta(minutes=self.lead)

    @property
    def expected_at(self) -> dt.datetime:
        return self.planned + dt.timedelta(minutes=self.lane.minutes)

    @property
    def departed_at(self) -> dt.datetime:
        return self.planned + dt.timedelta(minutes=self.delay)

    @property
    def arrived_at(self) -> dt.datetime:
        return self.departed_at + dt.timedelta(minutes=self.travel)

    @property
    def received_at(self) -> dt.datetime:
        return self.arrived_at + dt.timedelta(minutes=self.wait)

    @property
    def closed_at(self) -> dt.datetime:
        closed = self.received_at + dt.timedelta(minutes=self.close_after)
        if self.redirect is not None:  # the site closes a refusal once the load has a new destination
            closed = max(closed, self.redirect.planned + dt.timedelta(minutes=15))
        return closed

    def place(self, planned: dt.datetime) -> Trip:
        self.planned = planned
        if self.redirect is not None:
            self.redirect.planned = self.received_at + dt.timedelta(minutes=self.redirect_after)
        return self

    def busy_until(self) -> dt.datetime:
        """When the truck is free again (its load received, cancelled, or redirected and received)."""
        if self.cancel_after is not None:
            return self.issued_at + dt.timedelta(minutes=self.cancel_after)
        if self.redirect is not None:
            return self.redirect.busy_until()
        return self.received_at


STEPS = ("issue", "cancel", "depart", "arrive", "receive", "redirect", "close")


class LoadPlanner:
    def __init__(self, builder: ScenarioBuilder, now: dt.datetime) -> None:
        self.rng: random.Random = builder.rng
        self.now = now.replace(second=0, microsecond=0)
        self.today = timezone.localdate(self.now)
        self.first_day = self.today - dt.timedelta(days=HISTORY_DAYS)

    # --- what may go where --------------------------------------------------------------------
    def _in_order(self, stream: PlanStream, on: dt.date) -> bool:
        project, site, category = stream.plan.project, stream.site, stream.category
        return bool(
            stream.covers(on) and site.status == SiteStatus.OPEN and category in site.accepted_categories.all()
            and valid_approval(ApprovalKind.EMISSION, project.construction_unit_id, on, category=category,
                               project=project, site=site)
            and valid_approval(ApprovalKind.DISPOSAL, site.operator_id, on, category=category, site=site)
        )

    def lanes_by_carrier(self) -> dict[int, list[Lane]]:
        streams = (PlanStream.objects.filter(plan__status=PlanStatus.FILED)
                   .select_related("plan__project", "category", "site", "carrier")
                   .prefetch_related("site__accepted_categories")
                   .order_by("plan__project_id", "category__sort_order", "pk"))
        groups: dict[tuple[int, int, int], list[Lane]] = {}
        for stream in streams:
            if not (self._in_order(stream, self.first_day) and self._in_order(stream, self.today)):
                continue
            project, site = stream.plan.project, stream.site
            km = _distance_km(project.lon, project.lat, site.centroid_lon, site.centroid_lat) * ROAD_FACTOR
            minutes = max(30, 5 * round((HANDLING_MIN + km / SPEED_KMH * 60) / 5))
            groups.setdefault((project.pk, stream.category_id, stream.carrier_id), []).append(Lane(stream, minutes))
        by_carrier: dict[int, list[Lane]] = {}
        for (_project, _category, carrier_id), lanes in groups.items():
            primary, *fallbacks = lanes  # the nearest site first (the plan's order)
            primary.fallbacks = fallbacks
            by_carrier.setdefault(carrier_id, []).append(primary)
        return by_carrier

    def trucks(self, lanes: dict[int, list[Lane]]) -> list[Truck]:
        """Trucks covered by their company's transport approval on every day, each with its driver."""
        trucks = []
        for carrier_id in sorted(lanes):
            vehicles = Vehicle.objects.filter(company_id=carrier_id).order_by("pk")
            drivers = Driver.objects.filter(company_id=carrier_id).order_by("pk")
            for vehicle, driver in zip(vehicles, drivers, strict=False):
                tare = round(self.rng.uniform(13.5, 16.5), 2)
                in_order = vehicle.status == VehicleStatus.ACTIVE and driver.is_active and all(
                    valid_approval(ApprovalKind.TRANSPORT, carrier_id, on, vehicle=vehicle)
                    for on in (self.first_day, self.today))
                if in_order:
                    trucks.append(Truck(vehicle, driver, tare, self.rng.sample(lanes[carrier_id],
                                                                               len(lanes[carrier_id]))))
        return trucks

    # --- one trip -------------------------------------------------------------------------------
    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute))

    def _departure_in_window(self, lane: Lane, day: dt.date) -> dt.datetime:
        start = lane.stream.daily_start.hour * 60 + lane.stream.daily_start.minute
        end = lane.stream.daily_end.hour * 60 + lane.stream.daily_end.minute
        length = (end - start) % 1440 or 1440
        return self._at(day, self.rng.randint(start + 10, start + max(30, length - WINDOW_MARGIN_MIN)))

    def _weighing(self, truck: Truck, site: ReceivingSite, m3: float, density: float,
                  spread: float) -> tuple[dict[str, Decimal], Decimal]:
        """A weighbridge's gross and tare, or the measured volume without one; and what was received."""
        if site.has_weighbridge:
            tare = _q(truck.tare_t + self.rng.uniform(-0.06, 0.06))
            gross = tare + _q(m3 * density * self.rng.uniform(1 - spread, 1 + spread))
            return {"gross_t": gross, "tare_t": tare}, gross - tare
        volume = _q(m3 * self.rng.uniform(1 - spread, 1 + spread))
        return {"volume_m3": volume}, volume

    def trip(self, truck: Truck, lane: Lane, planned: dt.datetime, *, outcome: str | None = None,
             may_cancel: bool = True, late: bool | None = None) -> Trip:
        rng, vehicle = self.rng, truck.vehicle
        density = float(lane.category.density_t_per_m3)
        by_volume = float(vehicle.capacity_m3 or 15) * rng.uniform(0.8, 1.0)
        by_weight = float(vehicle.capacity_t or 30) / density * rng.uniform(0.85, 1.0)
        load_m3 = math.floor(min(by_volume, by_weight) * 2) / 2
        weighing, received = self._weighing(truck, lane.site, load_m3, density, 0.06)
        late = rng.random() < LATE_CHANCE if late is None else late
        trip = Trip(
            truck=truck, lane=lane, planned=planned, lead=rng.randint(20, 90), delay=rng.randint(0, 12),
            travel=round(lane.minutes * (rng.uniform(1.1, 1.6) if late else rng.uniform(0.55, 0.9))),
            wait=rng.randint(5, 25), close_after=rng.randint(30, 1200), load_m3=Decimal(str(load_m3)),
            weighing=weighing, received=received,
        )
        draw = rng.random()
        if outcome is None:
            if may_cancel and draw < CANCEL_CHANCE:
                trip.cancel_after = rng.randint(5, trip.lead - 10)
                trip.cancel_reason = rng.choice(CANCEL_REASONS)
                return trip
            draw = (draw - CANCEL_CHANCE) / (1 - CANCEL_CHANCE)
            outcome = (ManifestStatus.PARTIALLY_REFUSED if draw < PARTIAL_CHANCE
                       else ManifestStatus.REFUSED if draw < PARTIAL_CHANCE + REFUSE_CHANCE
                       else ManifestStatus.ACCEPTED)
        if outcome != ManifestStatus.ACCEPTED:
            self.refuse(trip, outcome)
        return trip

    def refuse(self, trip: Trip, outcome: str, *, redirect: bool = True) -> bool:
        """Refuse all or part of the load and (``redirect``) send it to the plan's other site. Where
        no other site can take it inside the window, the site accepts the load after all (False)."""
        rng = self.rng
        density = float(trip.lane.category.density_t_per_m3)
        trip.redirect_after = rng.randint(15, 40)
        redirect_at = trip.received_at + dt.timedelta(minutes=trip.redirect_after)
        fallback = next((lane for lane in trip.lane.fallbacks if lane.covers(redirect_at)), None)
        if outcome == ManifestStatus.PARTIALLY_REFUSED:
            refused = _q(float(trip.received) * rng.uniform(0.1, 0.4))
            reason = rng.choice(PARTIAL_REASONS)
        else:
            refused, reason = trip.received, rng.choice(REFUSAL_REASONS)
        if (redirect and fallback is None) or not (0 < refused <= trip.received):
            return False
        trip.outcome, trip.refused, trip.reason = outcome, refused, reason
        if not redirect:
            return True
        in_t = "gross_t" in trip.weighing
        refused_m3 = float(refused) / density if in_t else float(refused)
        weighing, received = self._weighing(trip.truck, fallback.site, refused_m3, density, 0.02)
        trip.redirect = Trip(
            truck=trip.truck, lane=fallback, planned=redirect_at, lead=0, delay=rng.randint(3, 12),
            travel=round(fallback.minutes * rng.uniform(0.55, 0.9)), wait=rng.randint(5, 25),
            close_after=rng.randint(30, 1200), load_m3=_q(refused_m3), weighing=weighing, received=received,
        )
        return True

    # --- every truck's trips ------------------------------------------------------------------
    def _next_covered(self, lane: Lane, after: dt.datetime) -> dt.datetime | None:
        at = after
        for _ in range(24 * 6):
            if lane.covers(at):
                return at
            at += dt.timedelta(minutes=10)
        return None

    def tail(self, state: str, truck: Truck, lane: Lane) -> Trip | None:
        """A last trip placed so that, at ``now``, it is in ``state``; None where the lane's window
        does not allow it (a night-only stream in the afternoon)."""
        rng, now, minutes = self.rng, self.now, lane.minutes
        trip = self.trip(truck, lane, now, outcome=ManifestStatus.ACCEPTED, may_cancel=False, late=False)
        ago = dt.timedelta
        if state == "issued":
            planned = self._next_covered(lane, now + ago(minutes=rng.randint(20, 90)))
            if planned is None:
                return None
            trip.lead = _minutes(planned - now) + rng.randint(5, 45)
            trip.last_step = "issue"
        elif state == "departed":
            planned = now - ago(minutes=trip.delay + rng.randint(5, max(6, minutes // 2)))
            trip.last_step = "depart"
        elif state == "arrived":
            planned = now - ago(minutes=rng.randint(2, 20) + trip.travel + trip.delay)
            trip.last_step = "arrive"
        elif state in ("overdue_issued", "overdue_departed"):
            planned = now - ago(minutes=minutes + rng.randint(20, 300))
            trip.last_step = "issue" if state == "overdue_issued" else "depart"
        else:
            redirected = state.endswith("_redirected")
            back = trip.wait + trip.travel + trip.delay + rng.randint(60, 240 if redirected else 300)
            planned = now - ago(minutes=back)
            trip.last_step = "redirect" if redirected else "receive"
        if not lane.covers(trip.place(planned).planned):
            return None
        if state.startswith(("partially_refused", "refused")):
            outcome = ManifestStatus.REFUSED if state.startswith("refused") else ManifestStatus.PARTIALLY_REFUSED
            if not self.refuse(trip, outcome, redirect=trip.last_step == "redirect"):
                return None
            if trip.redirect is not None and trip.redirect.planned > now:
                return None
        return trip

    def history(self, truck: Truck, until: dt.datetime) -> list[Trip]:
        """The truck's trips from the first day, each issued after the previous one is over, and
        over before ``until`` (when its last trip is issued); at most up to now."""
        trips, free_at = [], self._at(self.first_day, 0)
        day = self.first_day
        while day <= self.today:
            if self.rng.random() < TRIP_CHANCE:
                lane = self.rng.choice(truck.lanes)
                trip = self.trip(truck, lane, self._departure_in_window(lane, day))
                ends = trip.busy_until() + dt.timedelta(minutes=20)
                if trip.issued_at >= free_at and trip.issued_at <= self.now and ends <= until:
                    trips.append(trip)
                    free_at = ends
            day += dt.timedelta(days=1)
        return trips

    def plan(self, trucks: list[Truck]) -> list[Trip]:
        """Every trip: first the last trips that end in each state (a truck with a driver who logs
        in first, so the driver's page has a load), then each truck's history before them."""
        quotas = dict(TAIL_QUOTAS)
        candidates = sorted(trucks, key=lambda t: t.driver.user_id is None)
        tails: dict[int, Trip] = {}
        while any(quotas.values()):
            for state in quotas:
                if not quotas[state]:
                    continue
                found = next((trip for truck in candidates if truck.vehicle.pk not in tails
                              for lane in truck.lanes if (trip := self.tail(state, truck, lane))), None)
                if found is None:
                    quotas[state] = 0
                    continue
                tails[found.truck.vehicle.pk] = found
                quotas[state] -= 1
        trips = []
        for truck in trucks:
            last = tails.get(truck.vehicle.pk)
            trips += self.history(truck, last.issued_at if last else dt.datetime.max.replace(tzinfo=dt.UTC))
            if last:
                trips.append(last)
        return trips


class LoadPlayer:
    """Plays the planned trips' steps through the services, each as its party."""

    def __init__(self) -> None:
        self._actors: dict[int, Actor] = {}

    def _admin(self, organisation_id: int) -> Actor:
        if organisation_id not in self._actors:
            self._actors[organisation_id] = admin_of(Organisation.objects.get(pk=organisation_id))
        return self._actors[organisation_id]

    def events(self, trip: Trip, parent: Trip | None = None) -> list[tuple[dt.datetime, Callable[[], None]]]:
        """The trip's steps with their times, up to its last step."""
        steps = STEPS[: STEPS.index(trip.last_step) + 1]
        if trip.cancel_after is not None:
            return [(trip.issued_at, lambda: self.issue(trip)),
                    (trip.busy_until(), lambda: self.cancel(trip))]
        events = [(trip.issued_at, (lambda: self.redirect(parent, trip)) if parent else (lambda: self.issue(trip)))]
        if "depart" in steps:
            events.append((trip.departed_at, lambda: self.depart(trip)))
        if "arrive" in steps:
            events.append((trip.arrived_at, lambda: self.arrive(trip)))
        if "receive" in steps:
            events.append((trip.received_at, lambda: self.receive(trip)))
        if trip.redirect is not None and "redirect" in steps:
            events += self.events(trip.redirect, parent=trip)
        if "close" in steps:
            events.append((trip.closed_at, lambda: self.close(trip)))
        return events

    def issue(self, trip: Trip) -> None:
        lane = trip.lane
        trip.manifest = manifests.manifest_issue(
            actor=self._admin(lane.project.construction_unit_id), project=lane.project, category=lane.category,
            vehicle=trip.truck.vehicle, driver=trip.truck.driver, site=lane.site, estimated_m3=trip.load_m3,
            planned_departure_at=trip.planned, expected_arrival_at=trip.expected_at, now=trip.issued_at,
        )

    def redirect(self, parent: Trip, trip: Trip) -> None:
        trip.manifest = manifests.manifest_redirect(
            actor=self._admin(parent.manifest.emitter_id), manifest=parent.manifest, site=trip.lane.site,
            expected_arrival_at=trip.expected_at, now=trip.planned,
        )

    def cancel(self, trip: Trip) -> None:
        manifests.manifest_cancel(actor=self._admin(trip.manifest.emitter_id), manifest=trip.manifest,
                                  reason=trip.cancel_reason, now=trip.busy_until())

    def depart(self, trip: Trip) -> None:
        driver = trip.truck.driver
        # The driver who has a login signs on his phone; otherwise the company's dispatcher does.
        actor = actor_for(driver.user) if driver.user_id else self._admin(trip.manifest.carrier_id)
        manifests.manifest_depart(actor=actor, manifest=trip.manifest, now=trip.departed_at)

    def arrive(self, trip: Trip) -> None:
        manifests.manifest_arrive(actor=self._admin(trip.manifest.receiver_id), manifest=trip.manifest,
                                  now=trip.arrived_at)

    def receive(self, trip: Trip) -> None:
        manifests.manifest_receive(
            actor=self._admin(trip.manifest.receiver_id), manifest=trip.manifest, outcome=trip.outcome,
            refused_quantity=trip.refused if trip.outcome == ManifestStatus.PARTIALLY_REFUSED else None,
            reason=trip.reason, now=trip.received_at, **trip.weighing,
        )

    def close(self, trip: Trip) -> None:
        manifests.manifest_close(actor=self._admin(trip.manifest.receiver_id), manifest=trip.manifest,
                                 now=trip.closed_at)


def build_loads(builder: ScenarioBuilder, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Plan and play the loads of the last weeks up to ``now`` (default: the real now)."""
    planner = LoadPlanner(builder, now or timezone.now())
    trucks = planner.trucks(planner.lanes_by_carrier())
    player = LoadPlayer()
    events: list[tuple[dt.datetime, Callable[[], None]]] = []
    for trip in planner.plan(trucks):
        events += player.events(trip)
    tick = planner._at(planner.first_day, 0)
    while tick < planner.now:
        events.append((tick, lambda at=tick: manifests.manifests_mark_overdue(now=at)))
        tick += OVERDUE_JOB_EVERY
    events.append((planner.now, lambda: manifests.manifests_mark_overdue(now=planner.now)))
    # Stable sort: steps at the same minute keep their planned order (issue before depart).
    for at, step in sorted(events, key=lambda event: event[0]):
        if at <= planner.now:
            step()
    return {"manifests": Manifest.objects.count()}


def manifest_status_counts() -> dict[str, int]:
    """How many manifests are in each status (in the lifecycle's order), and how many open ones
    are overdue."""
    counts = dict(Manifest.objects.order_by().values_list("status").annotate(n=Count("pk")))
    by_status = {status: counts.get(status, 0) for status in ManifestStatus.values}
    by_status["overdue"] = Manifest.objects.filter(status__in=VEHICLE_BUSY_STATUSES, is_overdue=True).count()
    return by_status
