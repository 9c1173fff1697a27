"""Core models: the audit trail and the rulebook. Each lives in its own sub-package."""

from wastetrail.core.audit.models import AuditEntry  # noqa: F401
from wastetrail.core.rulebook.models import (  # noqa: F401
    CalendarOverride,
    CalendarYearNotice,
    DeadlineRule,
    Violation,
    WasteCategory,
)
