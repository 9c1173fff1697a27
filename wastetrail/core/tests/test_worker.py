"""The worker runs the time-driven jobs: deadlines are marked, a failing job does not stop the
others, and a running worker stops promptly on SIGTERM."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from wastetrail.accounts.policy import actor_for
from wastetrail.complaints import services
from wastetrail.complaints.models import EventKind, WorkOrder, WorkOrderCategory, WorkOrderSource
from wastetrail.core import worker

PENGJIANG_POINT = (113.0815, 22.5790)


def _dispatched(cast, *, at: dt.datetime) -> WorkOrder:
    officer = actor_for(cast.user("reg_officer"))
    order, _code = services.workorder_receive(
        actor=None, source=WorkOrderSource.PUBLIC, description="路边有人倾倒建筑垃圾", lon=PENGJIANG_POINT[0],
        lat=PENGJIANG_POINT[1], anonymous=True, now=at)
    services.workorder_classify(actor=officer, order=order, order_type="consultation",
                                category=WorkOrderCategory.objects.get(code="decoration_waste_question"), now=at)
    return services.workorder_dispatch(actor=officer, order=order, unit=cast.org("district_regulator"), now=at)


@pytest.mark.django_db
def test_once_warns_an_order_due_soon_and_marks_a_late_one_overdue(cast):
    late = _dispatched(cast, at=timezone.now() - dt.timedelta(days=30))
    soon = _dispatched(cast, at=timezone.now())
    # Due today: inside the warning period, not yet late.
    WorkOrder.objects.filter(pk=soon.pk).update(due_date=timezone.localdate())
    later = _dispatched(cast, at=timezone.now())
    WorkOrder.objects.filter(pk=later.pk).update(due_date=timezone.localdate() + dt.timedelta(days=30))

    call_command("worker", "--once")

    late.refresh_from_db(), soon.refresh_from_db(), later.refresh_from_db()
    assert late.overdue_at is not None and late.events.filter(kind=EventKind.OVERDUE).count() == 1
    assert soon.warned_at is not None and soon.overdue_at is None
    assert later.warned_at is None and later.overdue_at is None
    # Again: nothing is marked twice.
    call_command("worker", "--once")
    assert late.events.filter(kind=EventKind.OVERDUE).count() == 1
    assert soon.events.filter(kind=EventKind.WARNED).count() == 1


def _broken(now):
    raise RuntimeError("the database went away")


@pytest.mark.django_db
def test_a_failing_job_is_logged_and_the_others_still_run(cast, caplog):
    late = _dispatched(cast, at=timezone.now() - dt.timedelta(days=30))
    jobs = [worker.Job("broken", 60, _broken), worker.Job("deadlines", 60, worker.workorder_deadlines)]
    with caplog.at_level(logging.INFO, logger="wastetrail.worker"):
        results = worker.run_once(jobs)
    assert results == {"broken": False, "deadlines": True}
    late.refresh_from_db()
    assert late.overdue_at is not None
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert "broken failed" in failure.getMessage() and failure.exc_info


def test_run_forever_keeps_running_jobs_after_one_fails():
    runs = []

    def counting(now):
        runs.append(now)
        return "counted"

    stop = threading.Event()
    jobs = [worker.Job("broken", 0.05, _broken), worker.Job("counting", 0.05, counting)]
    thread = threading.Thread(target=worker.run_forever, args=(stop, jobs))
    with pytest.MonkeyPatch.context() as patch:  # no database here
        patch.setattr(worker, "close_old_connections", lambda: None)
        thread.start()
        time.sleep(0.5)
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(runs) >= 3


def test_sigterm_stops_a_running_worker_within_seconds(tmp_path):
    env = {**os.environ, "DEBUG": "1", "WASTETRAIL_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "wastetrail.cli"]
    subprocess.run([*command, "migrate", "-v", "0"], env=env, check=True, timeout=300)
    process = subprocess.Popen([*command, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        # Wait until it has done a round of work, so the signal arrives to a running loop.
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "positions_prune" in line or not line:
                break
        assert any("workorder_deadlines" in line for line in lines), "".join(lines)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = process.communicate(timeout=10)
        assert time.monotonic() - started < 5
        assert process.returncode == 0, output
        assert "worker: stopped" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class _FlagWithoutWait:
    """What a signal handler may safely set: a flag, no lock, no wait()."""

    def __init__(self) -> None:
        self.requested = False

    def is_set(self) -> bool:
        return self.requested


def test_run_forever_sleeps_without_waiting_on_the_stop_object(monkeypatch):
    # The loop only reads the flag between short sleeps: waiting on an Event that a signal
    # handler sets can deadlock on the Event's own lock (the old loop called stop.wait()).
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(worker, "SLEEP_SLICE_SECONDS", 0.02)
    stop, runs, finished = _FlagWithoutWait(), [], []
    jobs = [worker.Job("hourly", 3600, lambda now: runs.append(now) or "ran")]

    def loop() -> None:
        worker.run_forever(stop, jobs)
        finished.append(True)  # returned, not died of an exception

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()
    stop.requested = True
    thread.join(timeout=5)
    assert not thread.is_alive() and finished == [True] and len(runs) == 1


def test_the_worker_command_hands_the_loop_a_plain_flag_its_signal_handler_sets(monkeypatch):
    seen = {}

    def fake_run_forever(stop):
        handler = signal.getsignal(signal.SIGTERM)
        handler(signal.SIGTERM, None)
        seen["stop"], seen["set"] = stop, stop.is_set()

    monkeypatch.setattr(worker, "run_forever", fake_run_forever)
    call_command("worker")
    assert isinstance(seen["stop"], worker.StopFlag) and seen["set"] is True


def _raising_once(calls: list, fail_on: int):
    def close() -> None:
        calls.append(1)
        if len(calls) == fail_on:
            raise RuntimeError("the database is unreachable")
    return close


@pytest.mark.parametrize("fail_on", [1, 2], ids=["before the job", "after the job"])
def test_a_connection_cleanup_error_is_logged_not_raised(monkeypatch, caplog, fail_on):
    calls: list = []
    monkeypatch.setattr(worker, "close_old_connections", _raising_once(calls, fail_on))
    with caplog.at_level(logging.INFO, logger="wastetrail.worker"):
        ok = worker.run_job(worker.Job("counting", 60, lambda now: "counted"))
    # Before the job: the job's turn fails (retried next turn); after it: the job did its work.
    assert ok is (fail_on == 2)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
