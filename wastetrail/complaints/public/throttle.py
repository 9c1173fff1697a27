"""Throttles shared by the public pages and the public API, so that no door is softer than another.

Each request is counted *before* the work it asks for, with one atomic increment whose result
decides (``admit``): parallel requests cannot all pass a check made before any of them counted.
Tracking lookups count every attempt against the client and the tracking number and give a
correct one its count back, so only wrong codes use up the allowance, and a burst of parallel
guesses still cannot exceed it.
"""

from __future__ import annotations

from django.conf import settings

from wastetrail.complaints import selectors, services
from wastetrail.complaints.models import WorkOrder
from wastetrail.core.errors import DomainError, NotFound
from wastetrail.core.images import PHOTO_MAX_BYTES
from wastetrail.core.ratelimit import Limit, keyed_hash


def limits() -> dict[str, Limit]:
    """Read per call, so that deployments and tests can change the settings."""
    per_hour = settings.PUBLIC_TRACK_FAILURES_PER_HOUR
    return {
        # Wrong tracking codes: per client and per tracking number, so that neither many numbers
        # from one client nor one number from many clients can walk the million codes.
        "track_client": Limit("track_failure_client", per_hour, 3600),
        "track_number": Limit("track_failure_number", per_hour, 3600),
        # Every POST of a report (valid or not: decoding photos costs), above the service's quota of
        # stored reports per client (PUBLIC_REPORTS_PER_HOUR/DAY).
        "report_post": Limit("report_post", settings.PUBLIC_REPORT_POSTS_PER_HOUR, 3600),
        "fill_report": Limit("fill_report", settings.PUBLIC_FILL_REPORTS_PER_HOUR, 3600),
    }


def admit(limit: Limit, key: str) -> bool:
    """Count this request; whether it is still within the limit."""
    return limit.hit(key) <= limit.limit


def max_report_bytes() -> int:
    """The largest report accepted: every photo at its limit plus room for the text."""
    default = services.PHOTO_LIMIT * PHOTO_MAX_BYTES + 1024 * 1024
    return int(getattr(settings, "PUBLIC_REPORT_MAX_BYTES", default))


class TrackingLocked(DomainError):
    def __init__(self, limit: Limit) -> None:
        super().__init__("tracking locked", code="rate_limited")
        self.limit = limit


def track(*, client: str, number: str, code: str) -> WorkOrder:
    """The order behind number + code. Raises TrackingLocked when the client or the number has
    used up its wrong codes (the code is then not even compared), NotFound for a wrong pair."""
    number = (number or "").strip().upper()
    table = limits()
    counted = ((table["track_client"], client), (table["track_number"], keyed_hash("number", number)))
    over = [limit for limit, key in counted if limit.hit(key) > limit.limit]
    if over:
        raise TrackingLocked(over[0])
    try:
        order = selectors.workorder_track(number=number, code=code)
    except NotFound:
        raise
    for limit, key in counted:  # a right code costs nothing
        limit.refund(key)
    return order
