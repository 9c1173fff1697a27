"""The top bar of every page, per actor."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from wastetrail.accounts.home import nav_links
from wastetrail.accounts.policy import actor_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": []}
    # Lazy: a template without the top bar (a fragment, a public page) costs no membership query.
    return {"nav_links": SimpleLazyObject(lambda: nav_links(actor_for(user), request.path))}
