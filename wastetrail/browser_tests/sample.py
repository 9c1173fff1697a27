"""A small, fixed set of projects and receiving sites spread over Jiangmen, made through the
registry services: enough for the map to show every colour of its legend.

The places are picked by hand (WGS-84), inside the named districts and clear of the district
labels, so the screenshot in the README reads well.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from wastetrail.registry import services
from wastetrail.registry.models import Project, ReceivingSite
from wastetrail.testing import Cast

METRES_PER_DEGREE = 111_320.0

# (name, district, project type, status, longitude, latitude)
PROJECTS = [
    ("滨江新城启动区安置房", 440703, "new_build", "under_construction", "113.0900", "22.6100"),
    ("江门大道北延线市政配套", 440703, "pipeline", "under_construction", "113.0300", "22.7000"),
    ("白沙旧城改造一期", 440703, "demolition", "under_construction", "113.0700", "22.5900"),
    ("高新区厂房扩建", 440704, "renovation", "planned", "113.1650", "22.5900"),
    ("礼乐片区排水管网改造", 440704, "pipeline", "under_construction", "113.0900", "22.5050"),
    ("银湖湾花园住宅", 440705, "new_build", "under_construction", "113.1100", "22.4500"),
    ("崖门镇道路改造", 440705, "renovation", "suspended", "113.1000", "22.2500"),
    ("台城中心小学新校区", 440781, "new_build", "planned", "112.7900", "22.2500"),
    ("广海湾工业园场地平整", 440781, "new_build", "under_construction", "112.7800", "21.9500"),
    ("三埠旧厂房拆除", 440783, "demolition", "completed", "112.6900", "22.3700"),
    ("沙坪河堤整治", 440784, "pipeline", "under_construction", "112.9600", "22.7700"),
    ("恩城商业综合体", 440785, "new_build", "planned", "112.3100", "22.1800"),
]

# (name, district, kind, side in metres, longitude, latitude of the centre)
SITES = [
    ("杜阮建筑废弃物消纳场", 440703, "disposal", 900, 112.990, 22.680),
    ("江海再生资源利用厂", 440704, "recycling", 500, 113.135, 22.512),
    ("睦洲中转站", 440705, "transfer", 500, 113.120, 22.330),
    ("四九镇回填工程", 440781, "backfill", 800, 112.680, 22.180),
    ("共和镇消纳场", 440784, "disposal", 900, 112.780, 22.620),
    ("水口再生骨料厂", 440783, "recycling", 600, 112.560, 22.560),
]


@dataclass
class SampleRegistry:
    projects: list[Project]
    sites: list[ReceivingSite]


def square(lon: float, lat: float, side_m: float) -> dict:
    """A GeoJSON square of about side_m × side_m metres centred on the point."""
    half_lat = side_m / 2 / METRES_PER_DEGREE
    half_lon = side_m / 2 / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    ring = [(lon - half_lon, lat - half_lat), (lon + half_lon, lat - half_lat),
            (lon + half_lon, lat + half_lat), (lon - half_lon, lat + half_lat)]
    ring = [[round(x, 6), round(y, 6)] for x, y in ring]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _in_district(district: int, registered: Project | ReceivingSite) -> Project | ReceivingSite:
    # The services derive the district from the place; a place picked wrong must not go unseen.
    if registered.district != district:
        raise AssertionError(f"{registered.name} lies in {registered.district}, not in {district}")
    return registered


def build_sample_registry(cast: Cast) -> SampleRegistry:
    """Registered by the city regulator's administrator, for the cast's construction unit and
    site operator."""
    actor = cast.actor("reg_admin")
    projects = [
        _in_district(district, services.project_create(
            actor=actor, name=name, code=f"{district}2026{number:04d}", project_type=project_type,
            status=status, construction_unit=cast.org("construction"), lon=lon, lat=lat,
            planned_start=dt.date(2026, 3, 1), planned_end=dt.date(2027, 12, 31),
        ))
        for number, (name, district, project_type, status, lon, lat) in enumerate(PROJECTS, 1)
    ]
    sites = [
        _in_district(district, services.site_create(
            actor=actor, name=name, kind=kind, operator=cast.org("site_operator"),
            boundary=square(lon, lat, side_m), capacity_m3=Decimal("800000"),
        ))
        for name, district, kind, side_m, lon, lat in SITES
    ]
    return SampleRegistry(projects=projects, sites=sites)
