"""`wastetrail run` keeps its processes together: when one ends, the others are stopped."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.core.management import CommandError, call_command

from wastetrail.core.management.commands.run import platform_processes
from wastetrail.core.processes import ProcessGroup, ProcessSpec

SLEEPER = ProcessSpec("sleeper", ["shell", "-c", "import time; time.sleep(120)"])


def test_when_one_process_ends_the_others_are_stopped():
    group = ProcessGroup([SLEEPER, ProcessSpec("quick", ["shell", "-c", "raise SystemExit(3)"])], log=lambda _: None)
    group.start()
    status = group.wait()
    assert status == 3
    assert group.children["sleeper"].poll() is not None  # stopped, not left running


def test_a_stop_signal_stops_every_process():
    group = ProcessGroup([SLEEPER], log=lambda _: None)
    group.start()
    # The signal arrives while wait() watches the children, as Ctrl-C would.
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    assert group.wait() == 0
    assert time.monotonic() - started < 60
    assert group.children["sleeper"].poll() is not None


def test_the_simulator_joins_only_when_asked_and_connects_to_the_gateway_port():
    names = [spec.name for spec in platform_processes(web_port=8001, gateway_port=7900, simulate=0,
                                                       simulate_speed=5)]
    assert names == ["web", "gateway", "worker"]
    specs = platform_processes(web_port=8001, gateway_port=7900, simulate=12, simulate_speed=5, host="0.0.0.0")
    simulator = specs[-1]
    assert simulator.name == "simulator"
    assert simulator.argv[simulator.argv.index("--port") + 1] == "7900"
    assert simulator.argv[simulator.argv.index("--host") + 1] == "127.0.0.1"
    assert simulator.argv[simulator.argv.index("--terminals") + 1] == "12"


@pytest.mark.parametrize("arguments, message", [
    (["--simulate", "-1"], "--simulate"),
    (["--simulate-speed", "0"], "--simulate-speed"),
])
def test_run_refuses_bad_arguments_before_starting_anything(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("run", *arguments)
