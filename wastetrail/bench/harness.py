"""Measure a figure and its baseline the same way, in the same process, and record both."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    ratio: float


def rate_per_second(work: Callable[[], int], *, repeats: int = 5) -> float:
    """Median of `repeats` runs of work(), each returning how many operations it did."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates)


def record(name: str, value: float, unit: str, baseline: float, out_dir: Path) -> Figure:
    figure = Figure(name=name, value=round(value, 1), unit=unit, baseline=round(baseline, 1),
                    ratio=round(value / baseline, 3) if baseline else 0.0)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(asdict(figure), ensure_ascii=False) + "\n")
    return figure
