"""Run several `wastetrail` processes side by side and stop them together (`wastetrail run`).

One machine runs the web process, the gateway and, for a demo, the fleet simulator. Each is its
own OS process (a crash or a blocking call in one does not stall the others, and each uses a
core); this module starts them, forwards SIGINT/SIGTERM, and when any of them exits stops the
rest, so a half-running platform never pretends to be up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

# How long a child gets to finish after SIGTERM (the gateway flushes and acknowledges) before SIGKILL.
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]  # arguments after `wastetrail`
    delay_seconds: float = 0.0  # wait this long after the previous one started (e.g. gateway before simulator)


def wastetrail_command(argv: Sequence[str]) -> list[str]:
    """The command line that runs `wastetrail <argv>` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "wastetrail.cli", *argv]


class ProcessGroup:
    def __init__(self, specs: Sequence[ProcessSpec], *, log=print) -> None:
        self.specs = list(specs)
        self.children: dict[str, subprocess.Popen] = {}
        self.log = log
        self._stopping = False

    def start(self) -> None:
        for spec in self.specs:
            if spec.delay_seconds:
                time.sleep(spec.delay_seconds)
            self.children[spec.name] = subprocess.Popen(wastetrail_command(spec.argv), env=os.environ.copy())
            self.log(f"run: started {spec.name} (pid {self.children[spec.name].pid}): wastetrail {' '.join(spec.argv)}")

    def wait(self) -> int:
        """Block until a child exits or a stop signal arrives; then stop every child. Returns the
        exit status of the first child that ended (0 after a requested stop)."""
        status = 0
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self._stopping:
                for name, child in self.children.items():
                    code = child.poll()
                    if code is not None:
                        self.log(f"run: {name} exited with status {code}; stopping the others")
                        status = code
                        self._stopping = True
                        break
                time.sleep(0.2)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def stop(self) -> None:
        alive = [child for child in self.children.values() if child.poll() is None]
        for child in alive:
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in alive:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _on_signal(self, signum, frame) -> None:
        self._stopping = True
