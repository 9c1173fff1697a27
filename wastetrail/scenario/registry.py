"""The registry half of the demo: projects, receiving sites, trucks with terminals, drivers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from wastetrail.accounts.models import Organisation, Role
from wastetrail.core.districts import DISTRICT_NAMES
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.validators import id_check_character
from wastetrail.registry import services as registry
from wastetrail.registry.models import (
    PlateColour,
    ProjectStatus,
    ProjectType,
    SiteKind,
)
from wastetrail.registry.validators import PLATE_LETTERS, vin_check_character
from wastetrail.scenario import places
from wastetrail.scenario.geometry import random_point_in_district, square_around

if TYPE_CHECKING:
    from wastetrail.scenario.build import ScenarioBuilder

PROJECTS = 40
TRUCKS = 150
# (kind, count, side in metres, capacity m³, categories accepted)
SITE_PLAN = [
    (SiteKind.DISPOSAL, 4, 600, 1_500_000, ["excavated_soil", "slurry", "construction_waste", "demolition_waste"]),
    (SiteKind.RECYCLING, 4, 250, 300_000, ["construction_waste", "demolition_waste", "decoration_waste"]),
    (SiteKind.TRANSFER, 2, 150, 50_000, ["construction_waste", "demolition_waste", "decoration_waste"]),
    (SiteKind.BACKFILL, 2, 400, 800_000, ["excavated_soil"]),
]
# Which categories each project type mostly produces, with a typical total in m³.
PRODUCTION = {
    ProjectType.NEW_BUILD: (["excavated_soil", "slurry", "construction_waste"], 60_000),
    ProjectType.RENOVATION: (["construction_waste", "decoration_waste"], 4_000),
    ProjectType.DEMOLITION: (["demolition_waste", "construction_waste"], 20_000),
    ProjectType.PIPELINE: (["excavated_soil", "slurry"], 12_000),
}
# World manufacturer identifiers of Chinese truck makers (Sinotruk, Shaanxi, FAW, Dongfeng).
TRUCK_WMIS = ["LZZ", "LZG", "LFW", "LGA"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _vin(builder: ScenarioBuilder) -> str:
    rng = builder.rng
    body = (rng.choice(TRUCK_WMIS) + "".join(rng.choice(VIN_CHARS) for _ in range(5)) + "0"
            + rng.choice("MNPR") + rng.choice("ABCDE") + f"{rng.randint(0, 999_999):06d}")
    return body[:8] + vin_check_character(body) + body[9:]


def _plate(builder: ScenarioBuilder, used: set[str]) -> str:
    while True:
        plate = "粤J" + "".join(builder.rng.choice("0123456789" + PLATE_LETTERS[:8]) for _ in range(5))
        if plate[2:].isalpha():
            continue
        if plate not in used:
            used.add(plate)
            return plate


def _id_number(builder: ScenarioBuilder, district: int) -> str:
    birth = dt.date(1965, 1, 1) + dt.timedelta(days=builder.rng.randint(0, 365 * 35))
    first17 = f"{district}{birth:%Y%m%d}{builder.rng.randint(0, 999):03d}"
    return first17 + id_check_character(first17)


def build_sites(builder: ScenarioBuilder, operators: list[Organisation]) -> list:
    sites = []
    districts = list(DISTRICT_NAMES)
    n = 0
    for kind, count, side, capacity, codes in SITE_PLAN:
        for _ in range(count):
            district = districts[n % len(districts)]
            operator = operators[n % len(operators)]
            n += 1
            lon, lat = random_point_in_district(builder.rng, district, margin_m=side * 2)
            town = builder.rng.choice(places.TOWNS[district])
            label = {SiteKind.DISPOSAL: "建筑垃圾消纳场", SiteKind.RECYCLING: "建筑废弃物综合利用厂",
                     SiteKind.TRANSFER: "建筑垃圾转运调配场", SiteKind.BACKFILL: "回填场"}[kind]
            sites.append(registry.site_create(
                actor=builder.admin, name=f"{DISTRICT_NAMES[district][0]}{town}{label}", kind=kind,
                operator=operator, boundary=square_around(lon, lat, side, builder.rng),
                capacity_m3=Decimal(capacity),
                used_capacity_m3=Decimal(int(capacity * builder.rng.uniform(0.05, 0.7))),
                accepted_categories=codes, address=builder.address(district),
                opens_at=dt.time(6, 0) if kind != SiteKind.TRANSFER else None,
                closes_at=dt.time(22, 0) if kind != SiteKind.TRANSFER else None,
                has_weighbridge=kind != SiteKind.BACKFILL,
                weighbridge_name="1号地磅" if kind != SiteKind.BACKFILL else "",
                licence_number=f"江城管消纳〔2025〕{n:03d}号",
            ))
    return sites


def build_projects(builder: ScenarioBuilder, units: list[Organisation], owners: list[Organisation]) -> list:
    projects = []
    districts = list(DISTRICT_NAMES)
    types = list(PRODUCTION)
    statuses = [ProjectStatus.UNDER_CONSTRUCTION] * 3 + [ProjectStatus.PLANNED, ProjectStatus.COMPLETED]
    for i in range(PROJECTS):
        # Every district has projects; most construction happens in the three urban districts.
        district = districts[i] if i < len(districts) else builder.rng.choice(districts[:3] * 3 + districts[3:])
        project_type = builder.rng.choice(types)
        codes, typical = PRODUCTION[project_type]
        lon, lat = random_point_in_district(builder.rng, district, margin_m=300)
        town = builder.rng.choice(places.TOWNS[district])
        start = dt.date(2026, 1, 1) + dt.timedelta(days=builder.rng.randint(-300, 300))
        estimates = []
        for code in codes:
            share = builder.rng.uniform(0.2, 1.0)
            estimates.append({"category": code, "quantity_m3": Decimal(int(typical * share))})
        projects.append(registry.project_create(
            actor=builder.admin,
            name=f"{town}{builder.rng.choice(places.RESIDENTIAL_AREAS)}{builder.rng.choice(places.PROJECT_KINDS)}项目",
            code=f"440{district % 1000:03d}2025{i + 1:04d}", project_type=project_type,
            construction_unit=units[i % len(units)], owner=owners[i % len(owners)],
            lon=lon, lat=lat, planned_start=start,
            planned_end=start + dt.timedelta(days=builder.rng.randint(120, 900)),
            address=builder.address(district), status=builder.rng.choice(statuses), estimates=estimates,
        ))
    return projects


def build_fleet(builder: ScenarioBuilder, companies: list[Organisation]) -> tuple[list, list]:
    vehicles, drivers = [], []
    plates: set[str] = set()
    for i in range(TRUCKS):
        company = companies[i % len(companies)]
        sealed = builder.rng.random() > 0.06  # a few unsealed trucks for approvals to refuse later
        vehicle = registry.vehicle_create(
            actor=builder.admin, plate=_plate(builder, plates), vin=_vin(builder), company=company,
            plate_colour=PlateColour.YELLOW, capacity_m3=Decimal(builder.rng.choice([12, 15, 18, 20])),
            capacity_t=Decimal(builder.rng.choice([25, 31, 35])), sealed_body_certified=sealed,
            sealed_body_certificate_no=f"密闭-{2025}-{i + 1:04d}" if sealed else "",
        )
        vehicles.append(vehicle)
        if builder.rng.random() > 0.03:  # a few trucks still wait for their terminal
            registry.terminal_create(
                actor=builder.admin, company=company, phone=f"0139{i + 1:08d}",
                terminal_id=f"JM{i + 1:05d}", manufacturer_id="70111", terminal_model="ZT-808G",
                vehicle=vehicle,
            )
        # The first truck's driver can log in, so the demo shows the driver's view.
        account = None
        if i == 0:
            account = builder.user(builder.admin, username="driver1", organisation=company, role=Role.DRIVER)
        drivers.append(registry.driver_create(
            actor=builder.admin, company=company, user=account,
            name=account.display_name if account else builder.person_name(),
            id_number=_id_number(builder, company.district or 440703), phone=builder.phone(),
            licence_number=f"4407{builder.rng.randint(10**8, 10**9 - 1)}", licence_class="A2",
        ))
    return vehicles, drivers


def build_registry(builder: ScenarioBuilder, parties: dict[str, list[Organisation]]) -> None:
    if not WasteCategory.objects.exists():
        raise RuntimeError("the rulebook has no waste categories; run `wastetrail migrate` first")
    sites = build_sites(builder, parties["site_operators"])
    projects = build_projects(builder, parties["construction_units"], parties["developers"])
    vehicles, drivers = build_fleet(builder, parties["transport_companies"])
    builder.scenario.counts.update({
        "receiving_sites": len(sites), "projects": len(projects), "vehicles": len(vehicles),
        "drivers": len(drivers),
    })
