"""The residents' half of the demo: residential areas, decoration-waste stacking points, the work
-order routing table and three months of 12345 work orders.

Areas are made up (plausible names, not real compounds) and sit inside their district. Most have
a property manager, who runs their points; some are old neighbourhoods without one, whose points
the street office runs. Points are filled, some full, a few closed.

Work orders are played forward in time through the services: each order gets a plan (received,
classified, dispatched, signed for, handled, answered, rated or closed, with returns, extensions
and reopenings), every step of every plan is run in time order with ``now`` at that moment, and
the worker's deadline marks run each morning in between. Steps planned after the demo's "now"
are not run, so recent orders are still open and slow units' orders are overdue, and the
deadlines, events and monthly statistics agree with each other.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from wastetrail.accounts.models import Membership, Organisation
from wastetrail.accounts.policy import Actor, actor_for
from wastetrail.complaints import services as complaints
from wastetrail.complaints.models import (
    RoutingRule,
    Satisfaction,
    WorkOrder,
    WorkOrderCategory,
    WorkOrderSource,
    WorkOrderStatus,
)
from wastetrail.complaints.routing import active_rules, matching_rules
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.core.errors import DomainError
from wastetrail.scenario.geometry import METRES_PER_DEGREE_LAT, random_point_in_district
from wastetrail.stacking import services as stacking
from wastetrail.stacking.models import ContainerType, PointStatus, StackingPoint

if TYPE_CHECKING:
    from wastetrail.scenario.build import ScenarioBuilder

# Made-up compounds in the style of each district's real estate (not real addresses). The last
# of each list is an old neighbourhood without property management (the street office runs it).
AREAS: dict[int, list[str]] = {
    440703: ["碧桂园·江湾府", "万达华府", "骏景湾", "东湖花园", "白沙坊社区"],
    440704: ["外海·滨江豪庭", "金瓯御景", "江南春晓", "礼乐新村"],
    440705: ["碧桂园·会城壹号", "葵城华府", "圭峰山庄", "会城老街坊"],
    440781: ["台城·侨乡名苑", "石花山庄", "北郊新城", "台城西门里"],
    440783: ["潭江半岛", "长沙·金海湾", "三埠新都汇", "长沙旧街坊"],
    440784: ["鹤山·翠林雅苑", "沙坪河畔花园", "玉桥名都", "沙坪老城区"],
    440785: ["恩城·锦江豪庭", "鳌峰华庭", "恩州花园", "恩城南门社区"],
}
POINT_NAMES = ["东门", "西门", "南门", "北门", "地下车库出口", "会所旁"]
WORK_ORDERS = 300
HISTORY_DAYS = 92
# Most orders come from the urban districts.
DISTRICT_WEIGHTS = {440703: 6, 440704: 3, 440705: 4, 440781: 2, 440783: 2, 440784: 1.5, 440785: 1.5}
# (category code, weight, what the complainant says)
COMPLAINTS = [
    ("illegal_dumping", 22, "路边空地有人偷倒建筑垃圾，堆了好几车，请尽快处理。"),
    ("truck_spillage", 16, "渣土车没有盖好，一路撒漏泥土，路面很脏。"),
    ("stacking_point_full", 14, "小区装修垃圾堆放点已经堆满，几天没人清运。"),
    ("stacking_point_dirty", 10, "装修垃圾堆放点周围很乱，垃圾堆到点外面了。"),
    ("site_out_of_hours", 10, "工地晚上十一点以后还在施工运土，噪音很大。"),
    ("site_dust", 12, "工地出口车辆带泥上路，扬尘严重。"),
    ("decoration_waste_question", 8, "请问装修垃圾应该放到哪里？需要收费吗？"),
    ("help_request", 4, "家里装修剩下一些废料，请问怎么联系清运？"),
    ("suggestion", 3, "建议在老旧小区多设几个装修垃圾堆放点。"),
    ("other", 1, "附近一直有货车夜间卸货，不知道是不是建筑垃圾。"),
]
STACKING_CATEGORIES = {"stacking_point_full", "stacking_point_dirty"}
HANDLING = {
    "illegal_dumping": ("执法人员到场核查，已责令清理并立案调查。", "经核查，现场建筑垃圾已清理完毕，我局将加强巡查。"),
    "truck_spillage": ("已通过车辆轨迹锁定车辆，约谈运输企业。", "已查实涉事车辆并依法处理，路面已冲洗。"),
    "stacking_point_full": ("已联系运输企业清运，堆放点已清空。", "堆放点已清运，今后将按时清运。"),
    "stacking_point_dirty": ("已安排保洁清理堆放点周边。", "堆放点周边已清理，已提醒业主规范投放。"),
    "site_out_of_hours": ("夜间巡查发现工地超时作业，已责令停止。", "已责令工地停止夜间作业，并纳入重点监管。"),
    "site_dust": ("已督促工地落实冲洗和围挡措施。", "工地已整改，出口车辆冲洗设施已正常使用。"),
    "decoration_waste_question": ("已电话答复投放点位置。", "装修垃圾请装袋后投放到小区指定堆放点，清运不另收费。"),
    "help_request": ("已联系属地街道安排清运。", "已安排清运，请按约定时间将废料放到指定位置。"),
    "suggestion": ("已转相关科室研究。", "感谢建议，我们将在老旧小区增设堆放点。"),
    "other": ("已到现场核查。", "经核查，该货车卸的是建材，不属于建筑垃圾，已加强巡查。"),
}


# --- residential areas and stacking points ------------------------------------------------------------
def member_actor(organisation: Organisation, cache: dict[int, Actor]) -> Actor:
    """Someone who works for ``organisation`` (its first login); ``cache``: by organisation, for one build."""
    if organisation.pk not in cache:
        membership = (Membership.objects.filter(organisation=organisation).select_related("user")
                      .order_by("pk").first())
        cache[organisation.pk] = actor_for(membership.user)
    return cache[organisation.pk]


def _near(builder: ScenarioBuilder, lon: float, lat: float, metres: float) -> tuple[Decimal, Decimal]:
    step = metres / METRES_PER_DEGREE_LAT
    return (Decimal(f"{lon + builder.rng.uniform(-step, step):.6f}"),
            Decimal(f"{lat + builder.rng.uniform(-step, step):.6f}"))


def build_points(builder: ScenarioBuilder, parties: dict[str, list[Organisation]], now: dt.datetime) -> list:
    by_district = {office.district: office for office in parties["street_offices"]}
    managers = {manager.district: manager for manager in parties["property_managers"][:len(DISTRICT_NAMES)]}
    carriers = parties["transport_companies"][1:-1]  # the first is suspended later, the last has no approval
    points: list[StackingPoint] = []
    actors: dict[int, Actor] = {}
    for district, names in AREAS.items():
        office = by_district[district]
        for n, name in enumerate(names):
            unmanaged = n == len(names) - 1
            lon, lat = random_point_in_district(builder.rng, district, margin_m=600)
            area = stacking.area_create(
                actor=member_actor(office, actors), name=name, street_office=office, lon=Decimal(f"{lon:.6f}"),
                lat=Decimal(f"{lat:.6f}"), address=builder.address(district),
                property_manager=None if unmanaged else managers[district],
                households=builder.rng.randint(300, 3000))
            manager = member_actor(office if unmanaged else managers[district], actors)
            for k in range(builder.rng.choice([2, 2, 3])):
                point_lon, point_lat = _near(builder, lon, lat, 150)
                point = stacking.point_create(
                    actor=manager, area=area, name=f"{name}{POINT_NAMES[k]}装修垃圾堆放点", lon=point_lon,
                    lat=point_lat, address=f"{area.address}{POINT_NAMES[k]}",
                    container_type=builder.rng.choice(ContainerType.values),
                    capacity_m3=Decimal(builder.rng.choice([4, 6, 8, 12, 20])),
                    opens_at=dt.time(7, 0), closes_at=dt.time(builder.rng.choice([19, 20, 21]), 0),
                    contact_phone=builder.phone(), notes="装修垃圾请装袋投放，禁止混入生活垃圾。")
                points.append(point)
                _fill(builder, point, manager, carriers, now)
    return points


def _fill(builder: ScenarioBuilder, point: StackingPoint, manager: Actor, carriers: list[Organisation],
          now: dt.datetime) -> None:
    """Today's state: most points part full, some full (half of those with a truck asked for),
    a few closed; residents' reports on some."""
    roll = builder.rng.random()
    reported = now - dt.timedelta(hours=builder.rng.uniform(1, 20))
    if roll < 0.22:
        stacking.fill_report_create(actor=manager, point=point, fill_percent=100, full=True, note="已满，待清运",
                                    now=reported)
        if builder.rng.random() < 0.5:
            # Asked for within the hour after the point was reported full, on the demo's clock.
            asked = reported + dt.timedelta(minutes=builder.rng.randint(5, 60))
            stacking.collection_request_create(actor=manager, point=point, carrier=builder.rng.choice(carriers),
                                               note="堆放点已满，请安排清运", now=asked,
                                               today=timezone.localdate(now))
        return
    stacking.fill_report_create(actor=manager, point=point, fill_percent=builder.rng.randint(5, 90),
                                is_dirty=builder.rng.random() < 0.1, now=reported)
    if builder.rng.random() < 0.25:
        stacking.fill_report_create(actor=None, point=point, fill_percent=builder.rng.choice([50, 80, 100]),
                                    note="居民反映", client_key=f"demo-resident-{point.pk}", now=reported)
    if roll > 0.92:
        stacking.point_set_status(actor=manager, point=point, status=PointStatus.CLOSED,
                                  reason="场地改造，暂停使用，请投放到小区其他堆放点")


# --- the routing table --------------------------------------------------------------------------------
def build_routing(parties: dict[str, list[Organisation]]) -> int:
    """Each district's bureau answers its orders; stacking-point orders go to the street office.
    (Configuration rows: the routing table has no service of its own.)"""
    offices = {office.district: office for office in parties["street_offices"]}
    stacking_categories = list(WorkOrderCategory.objects.filter(code__in=STACKING_CATEGORIES))
    rules = []
    for bureau in parties["district_regulators"]:
        rules.append(RoutingRule(district=bureau.district, unit=bureau))
        rules += [RoutingRule(district=bureau.district, category=category, unit=offices[bureau.district])
                  for category in stacking_categories]
    RoutingRule.objects.bulk_create(rules)
    return len(rules)


# --- work orders --------------------------------------------------------------------------------------
@dataclass
class Plan:
    """One order's life: steps (offset from receipt, step name, arguments), run in time order."""

    index: int
    district: int
    received_at: dt.datetime
    receive: dict[str, Any]
    steps: list[tuple[dt.timedelta, str, dict[str, Any]]] = field(default_factory=list)
    order: WorkOrder | None = None
    extension: Any = None
    failed: bool = False

    def add(self, after: dt.timedelta, step: str, **arguments: Any) -> dt.timedelta:
        offset = (self.steps[-1][0] if self.steps else dt.timedelta()) + after
        self.steps.append((offset, step, arguments))
        return offset


def _hours(builder: ScenarioBuilder, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(hours=builder.rng.uniform(low, high))


class WorkOrderPlanner:
    def __init__(self, builder: ScenarioBuilder, parties: dict[str, list[Organisation]], points: list, now):
        self.builder, self.now = builder, now
        self.rng = builder.rng
        self.bureaus = {bureau.district: bureau for bureau in parties["district_regulators"]}
        self.offices = {office.district: office for office in parties["street_offices"]}
        self.actors: dict[int, Actor] = {}
        self.rules = active_rules()
        self.hotline = self.actor(parties["hotline"][0])
        self.categories = {category.code: category for category in WorkOrderCategory.objects.all()}
        self.points_by_district: dict[int, list] = {}
        for point in points:
            self.points_by_district.setdefault(point.district, []).append(point)
        # A slow unit answers late: some orders wait past their deadline.
        self.slow_units = {self.bureaus[440705].pk, self.offices[440781].pk}

    def plan(self, index: int, received_at: dt.datetime, stop_at: str | None = None) -> Plan:
        rng = self.rng
        district = rng.choices(list(DISTRICT_WEIGHTS), weights=list(DISTRICT_WEIGHTS.values()))[0]
        code, _weight, text = rng.choices(COMPLAINTS, weights=[c[1] for c in COMPLAINTS])[0]
        category = self.categories[code]
        point = None
        if code in STACKING_CATEGORIES:
            point = rng.choice(self.points_by_district[district])
            lon, lat = point.lon, point.lat
        else:
            lon, lat = random_point_in_district(rng, district, margin_m=200)
        source = rng.choices([WorkOrderSource.HOTLINE, WorkOrderSource.PUBLIC, WorkOrderSource.STAFF],
                             weights=[5, 4, 1])[0]
        if stop_at == "received":
            source = WorkOrderSource.PUBLIC
        elif stop_at == "classified":
            source = WorkOrderSource.HOTLINE
        anonymous = rng.random() < 0.15
        receive = dict(source=source, description=text, lon=Decimal(f"{lon:.6f}"), lat=Decimal(f"{lat:.6f}"),
                       address=point.address if point else self.builder.address(district), stacking_point=point,
                       anonymous=anonymous, complainant_name="" if anonymous else self.builder.person_name(),
                       complainant_phone="" if anonymous else self.builder.phone())
        classified_on_receipt = source == WorkOrderSource.HOTLINE or (
            source == WorkOrderSource.PUBLIC and stop_at != "received" and rng.random() < 0.5)
        if classified_on_receipt:
            receive |= dict(category=category, order_type=category.default_type)
        if source == WorkOrderSource.HOTLINE:
            receive["external_id"] = f"JM12345-{received_at:%Y%m%d}-{index:04d}"
        plan = Plan(index, district, received_at, receive)
        bureau, office = self.bureaus[district], self.offices[district]
        if stop_at == "received" or stop_at == "classified":
            return plan
        if not classified_on_receipt:
            plan.add(_hours(self.builder, 0.3, 5), "classify", category=category, order_type=category.default_type)
        # A stacking point run by a property manager: the dispatcher sends it to the manager.
        unit = point.manager if point is not None and point.manager_id != office.pk else None
        plan.add(_hours(self.builder, 0.3, 6), "dispatch", unit=unit)
        if stop_at == "returned" or rng.random() < 0.07:
            plan.add(_hours(self.builder, 1, 6), "return", reason="该事项不属于本单位职责，请改派。")
            if stop_at == "returned":
                return plan
            plan.add(_hours(self.builder, 1, 20), "dispatch", unit=office if unit is None and
                     code not in STACKING_CATEGORIES else bureau)
        if stop_at == "dispatched":
            return plan
        self._work(plan, code, stop_at, slow=(unit or bureau).pk in self.slow_units or rng.random() < 0.08)
        return plan

    def _work(self, plan: Plan, code: str, stop_at: str | None, *, slow: bool, round_: int = 0) -> None:
        """Sign for, maybe ask for more time, handle, answer, then the rating or the follow-up."""
        rng = self.rng
        plan.add(_hours(self.builder, 1, 20), "accept")
        if stop_at == "accepted":
            return
        if stop_at == "extension_requested" or rng.random() < 0.12:
            plan.add(_hours(self.builder, 12, 60), "request_extension", working_days=rng.choice([5, 10]),
                     reason="需协调多个部门联合处置，申请延期办理。")
            if stop_at == "extension_requested":
                return
            # Decided within a day or two: the recent requests are still pending.
            approve = rng.random() < 0.8
            plan.add(_hours(self.builder, 4, 40), "decide_extension", approve=approve,
                     note="" if approve else "事项不复杂，请按期办结。")
        quick = code == "decoration_waste_question"
        days = rng.uniform(0.1, 1.2) if quick else rng.uniform(1, 12)
        if slow:
            days = rng.uniform(3, 5) if quick else rng.uniform(20, 30)
        plan.add(dt.timedelta(days=days), "handle", note=HANDLING[code][0])
        if stop_at == "handled":
            return
        plan.add(_hours(self.builder, 1, 24), "answer", answer=HANDLING[code][1])
        if stop_at == "answered":
            return
        roll = rng.random()
        if roll < 0.7:
            satisfaction = rng.choices([Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED,
                                        Satisfaction.DISSATISFIED], weights=[60, 25, 15])[0]
            if round_ >= 1 and satisfaction == Satisfaction.DISSATISFIED:
                satisfaction = Satisfaction.BASICALLY_SATISFIED
            plan.add(_hours(self.builder, 6, 72), "rate", satisfaction=satisfaction,
                     comment="问题还没有解决。" if satisfaction == Satisfaction.DISSATISFIED else "")
            if satisfaction == Satisfaction.DISSATISFIED:
                self._work(plan, code, stop_at, slow=False, round_=round_ + 1)
        else:
            plan.add(dt.timedelta(days=rng.uniform(3, 5)), "close", note="回访电话三次无人接听，按规定办结。")

    # --- running the steps ---------------------------------------------------------------------------
    def actor(self, organisation: Organisation) -> Actor:
        return member_actor(organisation, self.actors)

    def run(self, plan: Plan, step: str, arguments: dict[str, Any], at: dt.datetime) -> None:
        if step == "receive":
            source = plan.receive["source"]
            actor = (self.hotline if source == WorkOrderSource.HOTLINE
                     else self.actor(self.bureaus[plan.district]) if source == WorkOrderSource.STAFF else None)
            plan.order, _code = complaints.workorder_receive(actor=actor, **plan.receive, received_at=at, now=at)
            return
        service, role = STEPS[step]
        order = plan.order
        actor = {"dispatcher": lambda: self.actor(self.bureaus[order.district]),
                 "handler": lambda: self.actor(order.unit), "supervisor": lambda: self.builder.admin,
                 "complainant": lambda: None}[role]()
        target = {"extension": plan.extension} if step == "decide_extension" else {"order": order}
        if step == "dispatch" and arguments["unit"] is None:
            # The unit the routing table names, as the dispatch page proposes it (read once).
            rules = matching_rules(district=order.district, order_type=order.order_type,
                                   category_id=order.category_id, rules=self.rules)
            arguments = {**arguments, "unit": rules[0].unit if rules else None}
        result = service(actor=actor, **target, **arguments, now=at)
        if isinstance(result, WorkOrder):
            plan.order = result
        else:
            plan.extension = result


# Each step: the service, and who takes it (the district bureau dispatches, the order's unit
# handles, the city's administrator decides extensions, the complainant rates).
STEPS = {
    "classify": (complaints.workorder_classify, "dispatcher"),
    "dispatch": (complaints.workorder_dispatch, "dispatcher"),
    "return": (complaints.workorder_return, "handler"),
    "accept": (complaints.workorder_accept, "handler"),
    "request_extension": (complaints.workorder_request_extension, "handler"),
    "decide_extension": (complaints.workorder_decide_extension, "supervisor"),
    "handle": (complaints.workorder_handle, "handler"),
    "answer": (complaints.workorder_answer, "handler"),
    "rate": (complaints.workorder_rate, "complainant"),
    "close": (complaints.workorder_close, "dispatcher"),
}


# Orders received in the last days and left at each open state (and two waiting for a decision
# on more time), so every state has some whatever the seed.
SHOWCASE = {"received": 3, "classified": 3, "returned": 3, "dispatched": 4, "accepted": 4,
            "extension_requested": 2, "handled": 4, "answered": 4}


def build_workorders(builder: ScenarioBuilder, parties: dict[str, list[Organisation]], points: list,
                     now: dt.datetime) -> dict[str, int]:
    planner = WorkOrderPlanner(builder, parties, points, now)
    plans = []
    start = now - dt.timedelta(days=HISTORY_DAYS)
    for index in range(WORK_ORDERS):
        received = start + dt.timedelta(seconds=builder.rng.uniform(0, HISTORY_DAYS * 86400))
        plans.append(planner.plan(index, _daytime(builder, received, now)))
    index = WORK_ORDERS
    for state, count in SHOWCASE.items():
        for _ in range(count):
            plan = planner.plan(index, now, stop_at=state)
            last = plan.steps[-1][0] if plan.steps else dt.timedelta()
            # Received so that its last step happened a little before now.
            plan.received_at = now - last - _hours(builder, 0.5, 6)
            plans.append(plan)
            index += 1

    # Every step of every plan, and the worker's morning deadline run, in time order.
    queue: list[tuple[dt.datetime, int, int, str, dict]] = []
    for plan in plans:
        queue.append((plan.received_at, plan.index, -1, "receive", {}))
        for position, (offset, step, arguments) in enumerate(plan.steps):
            queue.append((plan.received_at + offset, plan.index, position, step, arguments))
    day = timezone.localdate(start)
    while (morning := _local(day, 9)) < now:
        queue.append((morning, -1, 0, "deadlines", {}))
        day += dt.timedelta(days=1)
    queue.append((now, -1, 1, "deadlines", {}))
    heapq.heapify(queue)
    failures = 0
    by_index = {plan.index: plan for plan in plans}
    while queue:
        at, index, _position, step, arguments = heapq.heappop(queue)
        if at > now:
            break
        if step == "deadlines":
            complaints.workorders_mark_deadlines(now=at)
            continue
        plan = by_index[index]
        if plan.failed:
            continue
        try:
            planner.run(plan, step, arguments, at)
        except (DomainError, ValidationError):
            # A step the rules refuse then (a return after its window, say): the order stays
            # where it is, as it would for real.
            plan.failed = True
            failures += 1
    counts = {"work_orders": WorkOrder.objects.count(), "work_order_steps_refused": failures}
    return counts


def _local(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _daytime(builder: ScenarioBuilder, moment: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Most orders arrive between 8:00 and 21:00 local time."""
    local = timezone.localtime(moment)
    hour = builder.rng.uniform(8, 21)
    moment = timezone.make_aware(dt.datetime.combine(local.date(), dt.time(int(hour), int(hour % 1 * 60))))
    return min(moment, now - dt.timedelta(minutes=30))


def workorder_status_counts() -> dict[str, int]:
    counts = dict.fromkeys(WorkOrderStatus.values, 0)
    for status in WorkOrder.objects.values_list("status", flat=True):
        counts[status] += 1
    return counts


def build_public(builder: ScenarioBuilder, parties: dict[str, list[Organisation]], *,
                 now: dt.datetime) -> dict[str, int]:
    points = build_points(builder, parties, now)
    counts = {"residential_areas": sum(len(names) for names in AREAS.values()),
              "stacking_points": len(points), "routing_rules": build_routing(parties)}
    counts |= build_workorders(builder, parties, points, now)
    return counts

