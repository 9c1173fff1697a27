"""Small display helpers for manifest pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def position(lon_e6: int | None, lat_e6: int | None) -> str:
    """WGS-84 micro-degrees as "lon, lat" in degrees (six decimals), or an em dash."""
    if lon_e6 is None or lat_e6 is None:
        return "—"
    return f"{lon_e6 / 1_000_000:.6f}, {lat_e6 / 1_000_000:.6f}"
