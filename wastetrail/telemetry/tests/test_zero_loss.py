"""Zero loss: terminals send reports while the gateway process is killed (SIGKILL) and restarted on the
same port, twice; they reconnect, authenticate again and resend what was not acknowledged. Afterwards
every report sent is stored exactly once, and every report acknowledged is among them.

The gateway runs as its own process (`wastetrail gateway`, in-process hand-off) on the suite's
database: on PostgreSQL the test database itself (this test is transactional, so the rows it makes
are committed and the gateway sees them); on SQLite a database file of its own, since the suite's
SQLite test database lives in this process's memory. The terminals are the load generator's
(simulator/loadgen.py) in a child process: each report has its own (vehicle, device time), and a
report is resent with the same frame until acknowledged.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from wastetrail.bench.telemetry_gateway import GatewayProcess, fleet_in
from wastetrail.telemetry.simulator.loadgen import LoadOptions, run_load
from wastetrail.telemetry.tests.test_gateway_support import rulebook_after_module  # noqa: F401 - a fixture

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
# Transactional on PostgreSQL only: on SQLite the test's database is a file of its own.
pytestmark = [pytest.mark.django_db(transaction=True)] if ON_POSTGRES else []

TERMINALS = 40
REPORTS = 600  # per terminal: 24,000 reports
KILL_AT = (0.2, 0.55)  # kill when this share of the reports is stored
WAIT_S = 60.0


class Database:
    """The database the gateway process uses, seen from here: its URL, and reads of the positions."""

    def __init__(self, tmp_path) -> None:
        if ON_POSTGRES:
            db = connection.settings_dict
            credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
            self.url = f"postgresql://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
            self.path = None
        else:
            self.path = tmp_path / "zero_loss.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def positions(self, vehicle_ids: list[int]) -> list[tuple[int, dt.datetime]]:
        """(vehicle, device time) of every stored position of these vehicles, duplicates included."""
        if self.path is None:
            from wastetrail.telemetry.models import Position

            return list(Position.objects.filter(vehicle_id__in=vehicle_ids).values_list("vehicle_id", "device_time"))
        with sqlite3.connect(self.path, timeout=30) as db:
            rows = db.execute(f"SELECT vehicle_id, device_time FROM telemetry_position WHERE vehicle_id IN "
                              f"({', '.join('?' * len(vehicle_ids))})", vehicle_ids).fetchall()
        return [(vehicle, dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)) for vehicle, moment in rows]

    def count(self, vehicle_ids: list[int]) -> int:
        if self.path is None:
            from wastetrail.telemetry.models import Position

            return Position.objects.filter(vehicle_id__in=vehicle_ids).count()
        with sqlite3.connect(self.path, timeout=30) as db:
            return db.execute(f"SELECT COUNT(*) FROM telemetry_position WHERE vehicle_id IN "
                              f"({', '.join('?' * len(vehicle_ids))})", vehicle_ids).fetchone()[0]


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_reports_sent_while_the_gateway_is_killed_twice_are_all_stored_exactly_once(tmp_path):
    database = Database(tmp_path)
    identities = fleet_in(database.url, TERMINALS, migrate=not ON_POSTGRES)
    vehicle_ids = [identity.vehicle_id for identity in identities]
    total = TERMINALS * REPORTS
    options = LoadOptions(reports=REPORTS, window=16, ack_timeout_s=2.0, deadline_s=120.0, reconnect_min_s=0.05,
                          reconnect_max_s=0.5, seed=4)
    gateway = GatewayProcess(database.url)
    port = gateway.start()
    results: list = []
    errors: list = []

    def load() -> None:
        try:
            results.append(run_load(LoadOptions(**{**options.__dict__, "port": port}), identities, processes=1))
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    client = threading.Thread(target=load, name="load-generator")
    client.start()
    kills = []
    try:
        for share in KILL_AT:
            wait_for(lambda share=share: database.count(vehicle_ids) >= total * share or not client.is_alive(),
                     f"{share:.0%} of the reports stored")
            stored_at_kill = database.count(vehicle_ids)
            gateway.kill()
            kills.append(stored_at_kill)
            assert stored_at_kill < total, "the reports were all stored before the kill: nothing was mid-stream"
            gateway = GatewayProcess(database.url, port=port)  # the same port: the terminals know no other
            gateway.start()
        client.join(options.deadline_s + 60)
        assert not client.is_alive(), "the load generator did not finish"
    finally:
        gateway.stop()
        log = gateway.log_text()
        gateway.close()
    assert not errors, errors
    result = results[0]

    assert result.complete, f"not every report was acknowledged: {result.line()}"
    # The kills happened mid-stream: connections were lost, terminals came back, reports were sent again.
    assert result.connects > TERMINALS + len(KILL_AT) and result.resent > 0, result.line()
    stored = database.positions(vehicle_ids)
    copies = Counter(stored)
    sent = {(identity.vehicle_id, moment) for identity in identities for moment in
            (dt.datetime.fromtimestamp(result.start_time + i, tz=dt.UTC) for i in range(REPORTS))}
    acknowledged = {(identity.vehicle_id, moment) for identity in identities
                    for moment in result.acked_device_times(identity.phone)}
    assert not [key for key, n in copies.items() if n > 1], "reports stored twice"
    assert not sent - copies.keys(), f"{len(sent - copies.keys())} reports sent but not stored"
    assert not copies.keys() - sent, "positions stored that were never sent"
    assert acknowledged <= copies.keys() and len(acknowledged) == total
    assert len(stored) == total, (len(stored), kills, result.line())
    assert "Traceback" not in log, log[-3000:]
