"""`wastetrail demo --live` (what `make run` runs) on a fresh embedded database: the demo is built,
the web process, the gateway and the simulated fleet start, and within a minute of the simulator
starting the trucks' positions are stored and the live map's API shows them moving."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

SIMULATOR_STARTED = "run: started simulator"
# Building the demo (about 480 manifests through the services) takes a minute or two on a quiet machine.
BUILD_TIMEOUT_S = 600
MOVING_WITHIN_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _trucks_with_positions(database: Path) -> tuple[int, int]:
    """(vehicles with a live position, positions stored), read as the pages would read them."""
    with sqlite3.connect(database, timeout=10) as db:
        live = db.execute("SELECT COUNT(*) FROM telemetry_vehicle_live WHERE lat_e6 IS NOT NULL").fetchone()[0]
        stored = db.execute("SELECT COUNT(*) FROM telemetry_position").fetchone()[0]
    return live, stored


@pytest.mark.skipif(connection.vendor != "sqlite", reason="runs the embedded default (SQLite); once is enough")
def test_demo_live_has_trucks_moving_within_a_minute(tmp_path):
    web_port, gateway_port = _free_port(), _free_port()
    env = {**os.environ, "DEBUG": "1", "WASTETRAIL_VAR_DIR": str(tmp_path), "JT808_PORT": str(gateway_port),
           "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "wastetrail.cli", "migrate", "-v", "0"], env=env, check=True, timeout=300)
    demo = subprocess.Popen(
        [sys.executable, "-m", "wastetrail.cli", "demo", "--if-empty", "--live", "--port", str(web_port),
         "--trucks", "20"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        started = None
        deadline = time.monotonic() + BUILD_TIMEOUT_S
        output = []
        for line in demo.stdout:  # the demo's logins, then the processes it starts
            output.append(line)
            if SIMULATOR_STARTED in line:
                started = time.monotonic()
                break
            assert time.monotonic() < deadline, "".join(output[-20:])
        assert started is not None, "".join(output[-20:])

        database = tmp_path / "wastetrail.sqlite3"
        live = stored = 0
        while time.monotonic() - started < MOVING_WITHIN_S:
            live, stored = _trucks_with_positions(database)
            if live >= 10 and stored >= 2 * live:
                break
            time.sleep(2)
        assert live >= 10 and stored >= 2 * live, (
            f"after {MOVING_WITHIN_S} s: {live} trucks on the map, {stored} positions")

        # The web process serves the page that draws them (the API itself is tested in telemetry).
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        os.killpg(demo.pid, signal.SIGTERM)  # Ctrl-C for the whole group: web, gateway, simulator
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
