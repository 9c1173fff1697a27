"""A month-by-month chart of the statistics, drawn as SVG on the server.

One small picture does not earn a charting library (and the pages must work offline and without
JavaScript): bars for the orders dispatched each month, lines for the on-time rate and the share
of satisfied ratings (0-100 %). The numbers are in the table below the chart; the chart only
shows the trend.
"""

from __future__ import annotations

from dataclasses import dataclass

from wastetrail.complaints.selectors import StatCell

WIDTH, HEIGHT, PAD = 720, 200, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    bars: list[Bar]
    on_time: str  # SVG polyline points
    satisfied: str
    baseline: float
    top: float


def _line(cells: list[StatCell], rates: list[float | None], slot: float) -> str:
    """Points of the months that have a rate; a month without one is skipped, not drawn as 0."""
    inner = HEIGHT - 2 * PAD
    return " ".join(f"{PAD + slot * (i + 0.5):.1f},{HEIGHT - PAD - inner * rate:.1f}"
                    for i, rate in enumerate(rates) if rate is not None)


def month_chart(cells: list[StatCell]) -> MonthChart | None:
    if not cells or not any(cell.dispatched or cell.answered for cell in cells):
        return None
    slot = (WIDTH - 2 * PAD) / len(cells)
    inner = HEIGHT - 2 * PAD
    most = max(cell.dispatched for cell in cells) or 1
    bars = []
    for i, cell in enumerate(cells):
        height = inner * cell.dispatched / most
        bars.append(Bar(x=PAD + slot * i + slot * 0.15, y=HEIGHT - PAD - height, width=slot * 0.7, height=height,
                        label=f"{cell.month:%Y-%m}" if cell.month else "", value=cell.dispatched))
    return MonthChart(width=WIDTH, height=HEIGHT, bars=bars,
                      on_time=_line(cells, [cell.on_time_rate for cell in cells], slot),
                      satisfied=_line(cells, [cell.satisfaction_rate for cell in cells], slot),
                      baseline=HEIGHT - PAD, top=PAD)
