"""The worker: the platform's time-driven jobs, each run on its own interval (`wastetrail worker`).

Every job calls the same service its by-hand command calls (`wastetrail manifests overdue`,
`wastetrail approvals expire`, `wastetrail positions prune`) and is safe to run again: nothing
is marked twice. So the intervals only decide how soon a change is noticed, and a worker that
was stopped catches up on its first round. A job that raises is logged and retried on its next
turn; it never stops the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.db import connections
from django.utils import timezone

logger = logging.getLogger("wastetrail.worker")


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[dt.datetime], str]  # does the work as of the given moment; returns what it did


def workorder_deadlines(now: dt.datetime) -> str:
    from wastetrail.complaints.services import workorders_mark_deadlines

    warned, overdue = workorders_mark_deadlines(now=now)
    return (f"warned {len(warned)} work order(s) due soon, marked {len(overdue)} overdue"
            + "".join(f"; {order.number} overdue" for order in overdue[:20]))


def manifests_overdue(now: dt.datetime) -> str:
    from wastetrail.manifests.services import manifests_mark_overdue

    flagged = manifests_mark_overdue(now=now)
    return f"flagged {len(flagged)} manifest(s) overdue" + "".join(f"; {m.number}" for m in flagged[:20])


def approvals_expire(now: dt.datetime) -> str:
    from wastetrail.permits.services import approvals_expire as expire

    run = expire(today=timezone.localdate(now))
    return (f"expired {len(run.expired)} approval(s); {len(run.warnings)} end by {run.warn_until.isoformat()}"
            + "".join(f"; expired {a.number}" for a in run.expired[:20]))


def positions_prune(now: dt.datetime) -> str:
    from wastetrail.telemetry.store import positions_prune as prune

    result = prune(today=timezone.localdate(now))
    if result.first_kept is None:
        return "retention is 0 days: nothing pruned"
    return (f"kept {result.retention_days} days from {result.first_kept.isoformat()}: removed {result.rows} "
            f"position(s) and {len(result.partitions)} partition(s)")


# Deadlines and arrivals are watched every few minutes; approvals expire by the day (hourly
# catches midnight soon enough); the position store is pruned daily.
JOBS: tuple[Job, ...] = (
    Job("workorder_deadlines", 5 * 60, workorder_deadlines),
    Job("manifests_overdue", 5 * 60, manifests_overdue),
    Job("approvals_expire", 60 * 60, approvals_expire),
    Job("positions_prune", 24 * 60 * 60, positions_prune),
)


def close_old_connections() -> None:
    """Django's request-end cleanup for a process without requests: close connections past
    CONN_MAX_AGE or broken, so a long-lived worker reconnects after the database dropped it.
    A connection inside a transaction (a caller's, or a test's) is left alone."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _release_connections(job: Job) -> None:
    """The cleanup after a job; a failure here (the database unreachable) is logged, never
    raised: the next job's turn tries again."""
    try:
        close_old_connections()
    except Exception:
        logger.exception("worker: closing connections after %s failed", job.name)


def run_job(job: Job, now: dt.datetime | None = None) -> bool:
    """Run one job and log what it did, or its traceback. True when it succeeded. Nothing
    raised here leaves the worker's loop: one bad moment of the database stops no job for good."""
    started = time.monotonic()
    try:
        # A long-lived process must not reuse a connection the database dropped while it slept.
        close_old_connections()
        summary = job.run(now or timezone.now())
    except Exception:
        logger.exception("worker: %s failed", job.name)
        return False
    finally:
        _release_connections(job)
    logger.info("worker: %s: %s (%.2f s)", job.name, summary, time.monotonic() - started)
    return True


def run_once(jobs: Sequence[Job] = JOBS, now: dt.datetime | None = None) -> dict[str, bool]:
    """Every job once, in order (cron and tests); each job's success by name."""
    return {job.name: run_job(job, now) for job in jobs}


# How long the idle loop sleeps between looks at the stop flag: the longest a stop waits
# (after the job in hand).
SLEEP_SLICE_SECONDS = 0.5


class StopFlag:
    """A stop request a signal handler may set. Only a plain attribute is written: a handler
    that called threading.Event.set() could deadlock on the Event's lock while the interrupted
    main thread holds it inside Event.wait()."""

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        self.requested = True

    def is_set(self) -> bool:
        return self.requested


class StopCondition(Protocol):
    def is_set(self) -> bool: ...


def run_forever(stop: StopCondition, jobs: Sequence[Job] = JOBS) -> None:
    """Run each job now and then every ``interval_seconds`` until ``stop.is_set()`` (a StopFlag,
    or a threading.Event from another thread). A job that runs long delays the others but never
    makes one run twice in a row to catch up. Between jobs it sleeps in short slices, only
    reading the flag."""
    due = {job.name: time.monotonic() for job in jobs}
    logger.info("worker: started with %s", ", ".join(f"{job.name} every {job.interval_seconds:g} s" for job in jobs))
    while not stop.is_set():
        for job in jobs:
            if stop.is_set():
                break
            if time.monotonic() >= due[job.name]:
                run_job(job)
                due[job.name] = time.monotonic() + job.interval_seconds
        while not stop.is_set() and time.monotonic() < min(due.values()):
            time.sleep(max(0.0, min(SLEEP_SLICE_SECONDS, min(due.values()) - time.monotonic())))
    logger.info("worker: stopped")
