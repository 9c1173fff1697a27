"""The top bar of every page, per actor (the memberships are already loaded for most views)."""

from __future__ import annotations

from wastetrail.accounts.home import nav_links
from wastetrail.accounts.policy import actor_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": []}
    return {"nav_links": nav_links(actor_for(user), request.path)}
