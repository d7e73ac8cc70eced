"""Interleaved timing: candidate and baseline alternate, medians of the repetitions are compared."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Row", "compare", "print_table"]


@dataclass(frozen=True)
class Row:
    """One line of the report: a figure, its value and the goal it is held to."""

    name: str
    candidate: str
    baseline: str
    ratio: float
    goal: str
    met: bool
    note: str = ""


def _time(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    candidate: Callable[[], object], baseline: Callable[[], object], *, repeats: int = 5
) -> tuple[float, float, float]:
    """Median seconds of ``candidate`` and ``baseline`` over interleaved runs, and their ratio."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(repeats):
        # alternate the order so drift (thermal, other load) hits both sides alike
        if i % 2:
            ours.append(_time(candidate))
            theirs.append(_time(baseline))
        else:
            theirs.append(_time(baseline))
            ours.append(_time(candidate))
    c, b = statistics.median(ours), statistics.median(theirs)
    return c, b, c / b


def print_table(rows: list[Row]) -> None:
    """Print the rows as an aligned text table."""
    header = ("figure", "confsched", "baseline", "ratio", "goal", "met", "note")
    lines = [header] + [
        (r.name, r.candidate, r.baseline, f"{r.ratio:.3g}", r.goal, "yes" if r.met else "NO", r.note)
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
