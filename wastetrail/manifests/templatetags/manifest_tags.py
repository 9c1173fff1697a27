"""Small display helpers for manifest pages."""

from __future__ import annotations

from typing import Any

from django import template

from wastetrail.manifests.models import Manifest
from wastetrail.manifests.revision_views import revision_panel_context

register = template.Library()


@register.simple_tag
def position(lon_e6: int | None, lat_e6: int | None) -> str:
    """WGS-84 micro-degrees as "lon, lat" in degrees (six decimals), or an em dash."""
    if lon_e6 is None or lat_e6 is None:
        return "—"
    return f"{lon_e6 / 1_000_000:.6f}, {lat_e6 / 1_000_000:.6f}"


@register.inclusion_tag("manifests/_revisions.html", takes_context=True)
def revision_panel(context: template.Context, manifest: Manifest) -> dict[str, Any]:
    """The manifest page's revision requests: their own module decides what the actor sees, so
    that the manifest views do not depend on it."""
    actor = context["actor"]
    return {"manifest": manifest, "actor": actor, "csrf_token": context.get("csrf_token"),
            "request": context.get("request")} | revision_panel_context(actor, manifest)
