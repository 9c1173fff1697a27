"""A simulated truck as what a terminal reports from (`terminal.Source`)."""

from __future__ import annotations

import math

from wastetrail.telemetry.simulator.motion import DumpEvent, DumpRecord, Truck, TruckState


def report_interval(state: TruckState, config) -> int:
    """Seconds to the next periodic report: the configured interval with ACC on, the sleep interval
    with ACC off, at most the alarm interval while an alarm (or a muck-truck abnormal state) lasts."""
    interval = config.interval if state.acc else config.idle_interval
    if state.alarm or state.cover_outside or state.lift_outside:
        interval = min(interval, config.alarm_interval)
    return max(1, int(interval))


class TruckSource:
    def __init__(self, truck: Truck) -> None:
        self.truck = truck

    def first_report(self, moment: float) -> float:
        return moment

    def advance_to(self, moment: float) -> TruckState:
        return self.truck.advance_to(moment)

    def next_report(self, last: float, state: TruckState, config) -> float:
        """The next periodic report, or sooner when a sensor switches (JT/T 808: a status change is
        reported at once); never two reports in one second (storage keys positions by the second)."""
        periodic = last + report_interval(state, config)
        change = self.truck.next_change_after(last)
        return float(max(last + 1, math.ceil(min(periodic, change))))

    def take_dump_record(self) -> DumpRecord | None:
        return self.truck.dump_records.pop(0) if self.truck.dump_records else None

    def take_events(self) -> list[DumpEvent]:
        events, self.truck.events = self.truck.events, []
        return events
