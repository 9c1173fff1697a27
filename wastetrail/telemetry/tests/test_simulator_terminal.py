"""The simulated terminal against a real socket: registration, authentication, reports, acks,
retransmission on the JT/T 808 §6.1 schedule, reconnects and blind-area uploads.

The platform is a small asyncio server inside the test (test_simulator_support.Platform) that
answers with the codec. No sleeping for a fixed time: each test waits for the condition it
checks, with a generous overall timeout so that a noisy machine only makes it slower.
"""

from __future__ import annotations

import asyncio

import pytest

from wastetrail.telemetry.jt808 import BATCH_BLIND_AREA, MAX_BODY
from wastetrail.telemetry.simulator.clock import SimClock
from wastetrail.telemetry.simulator.terminal import (
    ClientConfig,
    FleetStats,
    Terminal,
    TerminalIdentity,
    retransmit_timeouts,
)
from wastetrail.telemetry.tests.test_simulator_support import Platform, ScriptedSource

SPEED = 20.0  # one simulated second every 50 ms


def run(coroutine, timeout: float = 60.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout)

    return asyncio.run(bounded())


def identity(*, protocol: str = "2019", auth_code: str | None = None) -> TerminalIdentity:
    return TerminalIdentity(phone="13900000001", protocol=protocol, terminal_id="JM00001", manufacturer_id="70111",
                            model="ZT-808G", plate="粤J12345", plate_colour=2, auth_code=auth_code)


def config(**changes) -> ClientConfig:
    values = {"interval": 1, "heartbeat_s": 30.0, "ack_timeout_s": 0.2, "retries": 2, "reconnect_min_s": 0.05,
              "reconnect_max_s": 0.2}
    values.update(changes)
    return ClientConfig(**values)


async def until(condition, what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def terminal_for(platform: Platform, source, *, ident: TerminalIdentity | None = None, acked: list | None = None,
                 **changes) -> Terminal:
    def record(who, kind, locations):
        if acked is not None:
            acked.extend((kind, location.time_utc) for location in locations)

    return Terminal(ident or identity(), source, clock=SimClock(speed=SPEED, horizon_s=60), host="127.0.0.1",
                    port=platform.port, config=config(**changes), stats=FleetStats(), on_acked=record)


async def drive(platform: Platform, terminal: Terminal, *, timeout: float = 40.0) -> None:
    """Run the terminal until its source ends and everything it produced is acknowledged."""
    try:
        await asyncio.wait_for(terminal.run(), timeout)
    finally:
        await platform.stop()


def test_retransmission_timeouts_grow_as_the_standard_says():
    # T(n+1) = T(n) × (n+1): 10 s, then 20, 60 and 240 s after the 1st, 2nd and 3rd retransmission.
    assert retransmit_timeouts(10, 3) == [10, 20, 60, 240]
    assert retransmit_timeouts(0.5, 0) == [0.5]


@pytest.mark.parametrize("protocol", ["2013", "2019"])
def test_a_terminal_without_auth_code_registers_keeps_the_code_authenticates_and_reports(protocol):
    async def scenario():
        platform = await Platform(auth_code="CODE-7").start()
        ident = identity(protocol=protocol)
        acked: list = []
        terminal = terminal_for(platform, ScriptedSource(5), ident=ident, acked=acked)
        await drive(platform, terminal)
        return platform, ident, acked, terminal.stats

    platform, ident, acked, stats = run(scenario())
    [registration] = platform.registrations
    assert registration.layout == protocol
    assert registration.plate == "粤J12345"  # GBK on the wire, decoded back by the codec
    assert (registration.province, registration.city, registration.plate_color) == (44, 700, 2)
    assert registration.model == "ZT-808G" and registration.terminal_id == "JM00001"
    assert ident.auth_code == "CODE-7"
    assert [a.auth_code for a in platform.authentications] == ["CODE-7"]
    assert [a.layout for a in platform.authentications] == [protocol]
    # Nothing but the registration may come before the authentication (JT/T 808 §7.2.2).
    assert [m.msg_id for m in platform.messages[:2]] == [0x0100, 0x0102]
    # Positions made before the handshake finished travel in a blind-area upload, the rest live.
    assert len(platform.positions()) == 5 and len(acked) == 5
    assert (stats.sent, stats.acked, stats.retransmitted) == (5, 5, 0)
    assert {m.phone for m in platform.messages} == {"13900000001"}


def test_a_terminal_with_an_auth_code_authenticates_without_registering():
    async def scenario():
        platform = await Platform(auth_code="KNOWN").start()
        await drive(platform, terminal_for(platform, ScriptedSource(2), ident=identity(auth_code="KNOWN")))
        return platform

    platform = run(scenario())
    assert platform.registrations == []
    assert [a.auth_code for a in platform.authentications] == ["KNOWN"]


def test_a_refused_auth_code_makes_the_terminal_register_again():
    async def scenario():
        platform = await Platform(auth_code="NEW").start()
        ident = identity(auth_code="STALE")
        await drive(platform, terminal_for(platform, ScriptedSource(2), ident=ident))
        return platform, ident

    platform, ident = run(scenario())
    assert [a.auth_code for a in platform.authentications] == ["STALE", "NEW"]
    assert len(platform.registrations) == 1 and ident.auth_code == "NEW"


def test_an_unacknowledged_report_is_retransmitted_with_the_same_serial_after_growing_timeouts():
    arrivals: list[float] = []

    def withhold_twice(received):
        # The report goes unanswered twice; its second retransmission is acknowledged.
        arrivals.append(asyncio.get_running_loop().time())
        return len(arrivals) <= 2

    async def scenario():
        platform = await Platform(withhold=withhold_twice).start()
        terminal = terminal_for(platform, ScriptedSource(1), ack_timeout_s=0.2, retries=3)
        await drive(platform, terminal)
        return platform, terminal.stats

    platform, stats = run(scenario())
    reports = platform.of(0x0200)
    assert len(reports) == 3
    assert len({r.serial for r in reports}) == 1  # a retransmission is the same message
    assert all(r.locations == reports[0].locations for r in reports)
    assert (stats.sent, stats.retransmitted, stats.acked) == (1, 2, 1)
    # Lower bounds only (a busy machine makes the gaps longer, never shorter): T1 = 0.2 s, T2 = 0.4 s.
    assert arrivals[1] - arrivals[0] >= 0.2 * 0.9
    assert arrivals[2] - arrivals[1] >= 0.4 * 0.9


def test_a_report_unanswered_after_n_retries_is_uploaded_as_blind_area_after_reconnecting():
    async def scenario():
        # The first connection never acknowledges a report; the next ones do.
        platform = await Platform(withhold=lambda received: received.connection == 1).start()
        acked: list = []
        terminal = terminal_for(platform, ScriptedSource(1), acked=acked, ack_timeout_s=0.1, retries=1)
        await drive(platform, terminal)
        return platform, acked, terminal.stats

    platform, acked, stats = run(scenario())
    first_connection = [m for m in platform.messages if m.connection == 1 and m.msg_id == 0x0200]
    assert len(first_connection) == 2  # the original and N = 1 retransmission
    uploads = platform.of(0x0704)
    assert len(uploads) == 1 and uploads[0].kind == BATCH_BLIND_AREA and uploads[0].connection > 1
    assert uploads[0].locations == first_connection[0].locations
    assert len(platform.authentications) >= 2  # re-authenticated on the new connection
    assert acked == [("batch", first_connection[0].locations[0].time_utc)]
    assert stats.gave_up == 1 and stats.acked == 1


def test_after_a_dropped_connection_the_terminal_reauthenticates_and_resends_what_was_never_acknowledged():
    async def scenario():
        # The platform takes reports 1-4 without answering, then the connection breaks.
        platform = await Platform(withhold=lambda received: received.connection == 1).start()
        acked: list = []
        source = ScriptedSource(8)
        terminal = terminal_for(platform, source, acked=acked, ack_timeout_s=5.0, retries=3)
        task = asyncio.create_task(terminal.run())
        await until(lambda: len(platform.of(0x0200)) >= 4, "four reports")
        unanswered = [m.locations[0] for m in platform.of(0x0200)]
        platform.drop_connections()
        await asyncio.wait_for(task, 40)
        await platform.stop()
        return platform, acked, unanswered, source, terminal.stats

    platform, acked, unanswered, source, stats = run(scenario())
    assert len(platform.authentications) == 2 and platform.connections == 2
    later = [location for m in platform.messages if m.connection == 2 and m.locations for location in m.locations]
    for location in unanswered:
        assert location in later  # resent on the new connection
    produced = [int(state.time) for state in source.states]
    assert sorted(int(time.timestamp()) for _, time in acked) == produced  # every position acknowledged once
    assert stats.acked == len(produced) and stats.retransmitted >= len(unanswered)


def test_positions_made_without_signal_arrive_once_each_in_blind_area_uploads_within_the_body_limit():
    lost = range(5, 65)  # sixty reports in a dead zone: more than one 0x0704 can carry

    async def scenario():
        platform = await Platform().start()
        acked: list = []
        source = ScriptedSource(70, lost=lost)
        terminal = terminal_for(platform, source, acked=acked)
        await drive(platform, terminal)
        return platform, acked, source, terminal.stats

    platform, acked, source, stats = run(scenario())
    produced = sorted(int(state.time) for state in source.states)
    in_dead_zone = {int(state.time) for index, state in enumerate(source.states) if index in lost}
    uploads = platform.of(0x0704)
    assert len(uploads) >= 2
    assert all(upload.kind == BATCH_BLIND_AREA and upload.body_length <= MAX_BODY for upload in uploads)
    uploaded = [int(location.time_utc.timestamp()) for upload in uploads for location in upload.locations]
    live = [int(m.locations[0].time_utc.timestamp()) for m in platform.of(0x0200)]
    # Every position arrives exactly once; all made in the dead zone (and any made while the link
    # was coming back) in blind-area uploads.
    assert sorted(uploaded + live) == produced
    assert in_dead_zone <= set(uploaded)
    assert platform.connections == 2  # the link went with the signal and came back with it
    assert stats.uploaded == len(uploaded) and stats.acked == 70 and stats.buffered == 0


def test_an_idle_terminal_sends_heartbeats():
    async def scenario():
        platform = await Platform().start()
        source = ScriptedSource(2, step=30)  # 30 simulated seconds = 1.5 s of silence
        terminal = terminal_for(platform, source, heartbeat_s=0.3)
        await drive(platform, terminal)
        return platform, terminal.stats

    platform, stats = run(scenario())
    assert len(platform.of(0x0002)) >= 1 and stats.heartbeats == len(platform.of(0x0002))
