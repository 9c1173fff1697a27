"""`wastetrail gateway` as an operating-system process: SIGTERM stops it gracefully, and a SIGKILL in the
middle of a stream of reports loses none that was acknowledged.

The gateway process needs a database it can open itself: the test database on PostgreSQL; on SQLite
(whose test database lives in this process's memory) a migrated temporary file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from wastetrail.telemetry.gateway.testing import ConnectionClosed, TerminalClient
from wastetrail.telemetry.jt808 import location_bytes
from wastetrail.telemetry.tests.test_gateway_support import (  # noqa: F401 - fixtures
    location,
    rulebook_after_module,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)

FLEET = """
from wastetrail.accounts.models import Organisation, OrganisationKind
from wastetrail.registry.models import Terminal, Vehicle
company, _ = Organisation.objects.get_or_create(
    uscc="91440704MA5PROC01X", defaults={"name": "进程测试运输公司", "kind": OrganisationKind.TRANSPORT_COMPANY})
vehicle = Vehicle.objects.create(plate="粤J77001", vin="LPROC000000077001", company=company, capacity_m3=18)
Terminal.objects.create(company=company, phone="13977770001", terminal_id="P000001", vehicle=vehicle,
                        auth_code="PROCCODE")
print(json.dumps({"vehicle": vehicle.pk}))
"""
STORED = """
from wastetrail.telemetry.models import Position, TerminalStatus
times = sorted(int(t.timestamp()) for t in Position.objects.values_list("device_time", flat=True))
status = TerminalStatus.objects.filter(terminal__phone="13977770001").values_list("online", flat=True).first()
print(json.dumps({"times": times, "online": status}))
"""


@pytest.fixture
def database_url(tmp_path) -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        return f"postgresql://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    url = f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    subprocess.run([sys.executable, "-m", "wastetrail.cli", "migrate", "-v0"], env=environment(url), check=True,
                   timeout=120)
    return url


def environment(url: str) -> dict:
    return os.environ | {"DATABASE_URL": url, "DEBUG": "1", "LOG_LEVEL": "WARNING", "TELEMETRY_HANDOFF": "inproc",
                         "DJANGO_SETTINGS_MODULE": "wastetrail.settings"}


def django_snippet(url: str, code: str) -> dict:
    script = "import json, django\ndjango.setup()\n" + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], env=environment(url), check=True, timeout=120,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


async def start_gateway(url: str) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wastetrail.cli", "gateway", "--port", "0", env=environment(url),
        stdout=asyncio.subprocess.PIPE)
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    port = re.search(r":(\d+) \(hand-off", line)
    assert port, f"unexpected first line from the gateway: {line!r}"
    return process, int(port.group(1))


def test_sigterm_acknowledges_what_is_stored_and_exits_cleanly(database_url):
    django_snippet(database_url, FLEET)
    reports = [location(seconds) for seconds in range(120, 0, -1)]

    async def scenario():
        process, port = await start_gateway(database_url)
        client = await TerminalClient.connect("127.0.0.1", port, phone="13977770001")
        assert (await client.authenticate("PROCCODE")).result == 0
        sent = {}
        for loc in reports:
            sent[await client.send_location(loc)] = int(loc.time_utc.timestamp())
        process.send_signal(signal.SIGTERM)
        acked = set()
        try:
            while True:
                _h, reply = await client.receive(30)
                if reply.reply_id == 0x0200:
                    acked.add(sent[reply.reply_serial])
        except ConnectionClosed:
            pass
        assert await asyncio.wait_for(process.wait(), 30) == 0
        return acked

    acked = run(scenario())
    stored = django_snippet(database_url, STORED)
    assert acked <= set(stored["times"])
    assert stored["online"] is False  # the stop recorded the disconnect


def test_a_sigkill_loses_no_acknowledged_report(database_url):
    django_snippet(database_url, FLEET)
    reports = [location(seconds) for seconds in range(2000, 0, -1)]

    async def scenario():
        process, port = await start_gateway(database_url)
        client = await TerminalClient.connect("127.0.0.1", port, phone="13977770001")
        assert (await client.authenticate("PROCCODE")).result == 0
        sent: dict[int, int] = {}
        acked: set[int] = set()

        async def send():
            for loc in reports:
                frame, serial = client.frame(0x0200, location_bytes(loc))
                sent[serial] = int(loc.time_utc.timestamp())  # known before its ack can arrive
                await client.send_raw(frame)
                await asyncio.sleep(0)

        async def read():
            try:
                while True:
                    _h, reply = await client.receive(30)
                    if reply.reply_id == 0x0200 and reply.result == 0:
                        acked.add(sent[reply.reply_serial])
                        if len(acked) == 300:
                            process.kill()  # in the middle of the stream
            except (ConnectionClosed, ConnectionError):
                pass

        sender = asyncio.create_task(send())
        await read()
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL
        return acked

    acked = run(scenario())
    stored = set(django_snippet(database_url, STORED)["times"])
    assert len(acked) >= 300
    assert acked <= stored, f"{len(acked - stored)} acknowledged reports were not stored"
