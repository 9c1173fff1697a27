"""The simulated clock: time compression without device times in the future.

With ``speed`` F the simulated clock runs F times faster than the real one. Device times must
stay consistent with the motion (a truck that drives 60 km/h in simulated time must not seem
to drive 600 km/h), so reports carry simulated times. To keep them out of the future, the
simulated clock starts ``(F - 1) × horizon`` in the past: it catches up with the real clock
after ``horizon`` real seconds (the run's duration, when given) and from then on runs at real
speed. A clock slower than real time (F < 1) simply starts now.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

DEFAULT_HORIZON_S = 3600.0


class SimClock:
    def __init__(self, *, speed: float, horizon_s: float | None = None, start: float | None = None,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0 or not math.isfinite(speed):
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        self.speed = float(speed)
        self._monotonic = monotonic
        self._real0 = monotonic()
        self.wall0 = wall()
        horizon = DEFAULT_HORIZON_S if horizon_s is None else horizon_s
        self.start = float(start) if start is not None else self.wall0 - max(self.speed - 1.0, 0.0) * horizon
        if self.start > self.wall0 + 1:
            raise ValueError("the simulated clock cannot start in the future")

    def elapsed(self) -> float:
        """Real seconds since the clock was made."""
        return self._monotonic() - self._real0

    def sim_at(self, elapsed: float) -> float:
        fast = self.start + elapsed * self.speed
        return fast if self.speed <= 1 else min(fast, self.wall0 + elapsed)

    def now(self) -> float:
        """Simulated epoch seconds (UTC)."""
        return self.sim_at(self.elapsed())

    def elapsed_for(self, moment: float) -> float:
        """Real seconds since the start at which the simulated clock reaches `moment`."""
        fast = (moment - self.start) / self.speed
        return fast if self.speed <= 1 else max(fast, moment - self.wall0)

    def delay_until(self, moment: float) -> float:
        """Real seconds to wait from now until the simulated clock reaches `moment` (0 if past)."""
        return max(0.0, self.elapsed_for(moment) - self.elapsed())
