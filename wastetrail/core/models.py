"""Core models: the audit trail, the rulebook and the public doors' rate-limit counters. Each lives in its own sub-package."""

from wastetrail.core.audit.models import AuditEntry  # noqa: F401
from wastetrail.core.ratelimit import RateLimitCounter  # noqa: F401
from wastetrail.core.rulebook.models import (  # noqa: F401
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    Violation,
    WasteCategory,
)
