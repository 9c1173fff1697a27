"""The load generator: cheap ack scanning, the window of unacknowledged reports, resending after a
timeout and after a lost connection, unique device times, and its child-process mode."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import defaultdict

from wastetrail.telemetry import jt808
from wastetrail.telemetry.jt808 import RESULT_OK
from wastetrail.telemetry.simulator.loadgen import LoadOptions, load_async, run_load, scan_replies
from wastetrail.telemetry.simulator.terminal import TerminalIdentity
from wastetrail.telemetry.tests.test_simulator_support import Platform

START = 1_790_000_000


def identities(count: int, *, auth_code: str | None = "AUTH-42") -> list[TerminalIdentity]:
    return [TerminalIdentity(phone=f"1390001{n:04d}", protocol="2019" if n % 2 else "2013", terminal_id=f"L{n:05d}",
                             model="ZT-808G", plate=f"粤J{n:05d}", auth_code=auth_code) for n in range(count)]


def header(msg_id: int, serial: int, *, version: int | None = 1) -> jt808.Header:
    raw = jt808.encode_frame(msg_id, b"", phone_raw=jt808.phone_to_raw("13900000001", version), serial=serial,
                             version=version)
    return jt808.parse_frame(jt808.unescape(raw[1:-1])).header


def test_acks_are_read_from_frames_split_across_reads_escaped_and_surrounded_by_junk():
    # Serial 0x7E7D needs escaping in the reply; a 2013 header and a 2019 header.
    first = jt808.general_reply(header(0x0200, 0x7E7D), RESULT_OK, 1)
    second = jt808.general_reply(header(0x0200, 5, version=None), 4, 2)
    register = jt808.register_reply(header(0x0100, 9), 0, "CODE-1", 3)
    stream = b"\x00junk" + first + second + register
    buffer = bytearray()
    replies = []
    for i in range(0, len(stream), 7):  # seven bytes per read
        buffer += stream[i:i + 7]
        replies += scan_replies(buffer)
    assert replies == [(0x8001, 0x7E7D, 0, b"\x02\x00"), (0x8001, 5, 4, b"\x02\x00"), (0x8100, 9, 0, b"CODE-1")]
    assert buffer == bytearray()


def test_an_incomplete_frame_waits_in_the_buffer():
    frame = jt808.general_reply(header(0x0200, 1), RESULT_OK, 1)
    buffer = bytearray(frame[:-3])
    assert scan_replies(buffer) == [] and bytes(buffer) == frame[:-3]
    buffer += frame[-3:]
    assert len(scan_replies(buffer)) == 1


def run(coroutine, timeout: float = 60.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def test_at_most_the_window_is_unacknowledged_and_a_lost_connection_resends_it():
    window, reports = 4, 30

    async def scenario():
        # The first connection answers nothing: exactly a window's worth goes out (and again on
        # timeout); the platform then drops it, and the next connection answers everything.
        platform = await Platform(withhold=lambda received: received.connection == 1).start()
        options = LoadOptions(port=platform.port, reports=reports, window=window, ack_timeout_s=0.3,
                              start_time=START, reconnect_min_s=0.05)
        load = asyncio.create_task(load_async(options, identities(1)))
        while len({m.serial for m in platform.of(0x0200)}) < window or platform.connections < 1:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.8)  # past the ack timeout: the same window is resent, nothing new
        first = {m.serial for m in platform.of(0x0200) if m.connection == 1}
        resent_before_drop = len(platform.of(0x0200))
        platform.drop_connections()
        result = await load
        await platform.stop()
        return platform, result, first, resent_before_drop

    platform, result, first, resent_before_drop = run(scenario())
    assert len(first) == window
    assert resent_before_drop > window  # the window went again after the timeout
    assert result.complete and result.acked == reports and result.connects >= 2
    assert result.resent >= window and result.sent == reports
    phone = identities(1)[0].phone
    assert result.acked_device_times(phone) == [dt.datetime.fromtimestamp(START + i, tz=dt.UTC)
                                                for i in range(reports)]
    # Every report has its own device time; each was received at least once.
    received = defaultdict(int)
    for message in platform.of(0x0200):
        received[message.locations[0].time_utc] += 1
    assert len(received) == reports


def test_a_terminal_without_auth_code_registers_and_the_code_is_reported():
    async def scenario():
        platform = await Platform(auth_code="FRESH").start()
        options = LoadOptions(port=platform.port, reports=5, window=2, start_time=START)
        result = await load_async(options, identities(2, auth_code=None))
        await platform.stop()
        return platform, result

    platform, result = run(scenario())
    assert result.complete and len(platform.registrations) == 2
    assert set(result.auth_codes.values()) == {"FRESH"}
    assert sorted(r.layout for r in platform.registrations) == ["2013", "2019"]  # each terminal's own edition


def test_the_load_runs_in_a_child_process_and_reports_every_acknowledged_report():
    loop = asyncio.new_event_loop()
    platform = Platform()
    started = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(platform.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        options = LoadOptions(port=platform.port, reports=20, window=8, start_time=START, deadline_s=60)
        result = run_load(options, identities(4), processes=2)
    finally:
        asyncio.run_coroutine_threadsafe(platform.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    assert result.terminals == 4 and result.complete and result.acked == 80
    assert sorted(result.acked_reports) == sorted(i.phone for i in identities(4))
    assert len(platform.of(0x0200)) >= 80
