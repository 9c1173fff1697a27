"""Core models: the audit trail, the rulebook (each in its own sub-package) and the rate-limit
counters of the public doors (ratelimit.py)."""

from wastetrail.core.audit.models import AuditEntry  # noqa: F401
from wastetrail.core.ratelimit import RateLimitCounter  # noqa: F401
from wastetrail.core.rulebook.models import (  # noqa: F401
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    Violation,
    WasteCategory,
)
