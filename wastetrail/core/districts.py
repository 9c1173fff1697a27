"""Jiangmen's seven county-level districts, read from the GeoJSON shipped in the package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep

DISTRICTS_GEOJSON = Path(__file__).resolve().parent.parent / "data" / "geo" / "jiangmen_districts_wgs84.geojson"

# adcode -> (Chinese name, English name); the GeoJSON carries the Chinese names too.
DISTRICT_NAMES: dict[int, tuple[str, str]] = {
    440703: ("蓬江区", "Pengjiang District"),
    440704: ("江海区", "Jianghai District"),
    440705: ("新会区", "Xinhui District"),
    440781: ("台山市", "Taishan"),
    440783: ("开平市", "Kaiping"),
    440784: ("鹤山市", "Heshan"),
    440785: ("恩平市", "Enping"),
}
DISTRICT_CHOICES = [(code, names[0]) for code, names in DISTRICT_NAMES.items()]


@dataclass(frozen=True)
class District:
    adcode: int
    name: str
    geometry: BaseGeometry
    prepared: PreparedGeometry


@cache
def districts() -> tuple[District, ...]:
    with DISTRICTS_GEOJSON.open(encoding="utf-8") as handle:
        collection = json.load(handle)
    found = []
    for feature in collection["features"]:
        geometry = shape(feature["geometry"])
        found.append(District(
            adcode=int(feature["properties"]["adcode"]),
            name=feature["properties"]["name"],
            geometry=geometry,
            prepared=prep(geometry),
        ))
    return tuple(found)


def district_at(*, lon: float, lat: float) -> int | None:
    """The adcode of the district containing a WGS-84 point, or None outside Jiangmen."""
    point = Point(lon, lat)
    for district in districts():
        if district.prepared.covers(point):
            return district.adcode
    return None


def district_name(adcode: int | None) -> str:
    if adcode is None:
        return ""
    return DISTRICT_NAMES.get(adcode, (str(adcode), str(adcode)))[0]


@cache
def districts_geojson_text() -> str:
    return DISTRICTS_GEOJSON.read_text(encoding="utf-8")
