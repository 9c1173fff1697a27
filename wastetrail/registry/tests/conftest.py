"""Registry fixtures: the five waste categories, and builders that go through the services
(so every object in a test is one the services would accept)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wastetrail.accounts import services as account_services
from wastetrail.core.rulebook.models import WasteCategory
from wastetrail.core.validators import id_check_character
from wastetrail.registry import services
from wastetrail.registry.validators import vin_check_character

# Jiangmen's five categories (the rulebook's data migration loads the same codes).
CATEGORIES = [
    ("excavated_soil", "工程渣土", "Excavated soil", Decimal("1.80")),
    ("slurry", "工程泥浆", "Slurry", Decimal("1.30")),
    ("construction_waste", "工程垃圾", "Construction waste", Decimal("1.50")),
    ("demolition_waste", "拆除垃圾", "Demolition waste", Decimal("1.60")),
    ("decoration_waste", "装修垃圾", "Decoration waste", Decimal("1.20")),
]

# Points inside districts (WGS-84).
PENGJIANG = (Decimal("113.0781"), Decimal("22.5790"))
XINHUI = (Decimal("113.0200"), Decimal("22.5000"))
GUANGZHOU = (Decimal("113.2644"), Decimal("23.1291"))


@pytest.fixture
def categories(db) -> dict[str, WasteCategory]:
    """The five categories, whether or not the rulebook's migration loaded them; the densities
    are pinned so that conversions in these tests do not depend on the rulebook's defaults."""
    found = {}
    for order, (code, zh, en, density) in enumerate(CATEGORIES, 1):
        category, _ = WasteCategory.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "density_t_per_m3": density, "sort_order": order},
        )
        if category.density_t_per_m3 != density or not category.is_active:
            category.density_t_per_m3, category.is_active = density, True
            category.save(update_fields=["density_t_per_m3", "is_active"])
        found[code] = category
    return found


def square(lon: float, lat: float, half_side_deg: float = 0.002) -> dict:
    """A GeoJSON square around a point (about 400 m a side at the default size)."""
    d = half_side_deg
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}


def make_vin(serial: int) -> str:
    """A VIN with a correct check character (LGA = a Chinese manufacturer prefix)."""
    body = f"LGAX3B{serial % 1000:03d}0P{serial % 1000000:06d}"
    return body[:8] + vin_check_character(body) + body[9:]


@pytest.fixture
def make_project(cast, categories):
    serial = iter(range(1, 10_000))

    def make(*, actor=None, construction_unit=None, at=PENGJIANG, **overrides):
        n = next(serial)
        fields = {
            "name": f"滨江新城{n}号地块", "code": f"440703202600{n:04d}", "project_type": "new_build",
            "construction_unit": construction_unit or cast.org("construction"),
            "lon": at[0], "lat": at[1], "planned_start": dt.date(2026, 3, 1),
            "planned_end": dt.date(2027, 6, 30), "address": "江门市蓬江区滨江大道",
        } | overrides
        return services.project_create(actor=actor or cast.actor("reg_admin"), **fields)

    return make


@pytest.fixture
def make_site(cast, categories):
    serial = iter(range(1, 10_000))

    def make(*, actor=None, at=(113.0781, 22.5790), **overrides):
        n = next(serial)
        fields = {
            "name": f"绿源消纳场{n}", "kind": "disposal", "operator": cast.org("site_operator"),
            "boundary": square(*at), "capacity_m3": Decimal("500000"),
            "accepted_categories": ["excavated_soil", "construction_waste"],
        } | overrides
        return services.site_create(actor=actor or cast.actor("reg_admin"), **fields)

    return make


@pytest.fixture
def make_vehicle(cast):
    serial = iter(range(1, 10_000))

    def make(*, actor=None, company=None, **overrides):
        n = next(serial)
        fields = {
            "plate": f"粤J{n:05d}", "vin": make_vin(n), "company": company or cast.org("transport"),
            "capacity_m3": Decimal("20"), "capacity_t": Decimal("31"),
            "sealed_body_certified": True, "sealed_body_certificate_no": f"JM-FB-{n:04d}",
        } | overrides
        return services.vehicle_create(actor=actor or cast.actor("reg_admin"), **fields)

    return make


def id_number(serial: int) -> str:
    """A resident ID number with a correct check character (deterministic)."""
    first17 = f"44070319850101{serial % 1000:03d}"
    return first17 + id_check_character(first17)


@pytest.fixture
def make_driver(cast):
    serial = iter(range(1, 10_000))

    def make(*, actor=None, company=None, **overrides):
        n = next(serial)
        fields = {
            "name": f"司机{n}", "id_number": id_number(n), "phone": f"1392222{n:04d}",
            "company": company or cast.org("transport"), "licence_number": id_number(n),
            "licence_class": "A2",
        } | overrides
        return services.driver_create(actor=actor or cast.actor("reg_admin"), **fields)

    return make


@pytest.fixture
def token_for(cast):
    def make(username: str) -> dict:
        _, secret = account_services.api_token_create(actor=cast.actor(username), name="test client")
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    return make
