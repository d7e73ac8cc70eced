"""A 10,000,000-step schedule plots in under 2x the time of a 1,000,000-step one.

The figure is drawn from a min/max envelope per pixel column (``confsched.plot.envelope``), so
only computing the values grows with the run: the row compares ``plot_schedule`` (curve, envelope,
PNG) of both runs in this process. The second row times the whole ``confsched plot`` process of both,
which also writes the exact CSV: one row per step, ``repr`` of every value, so that part is
linear in the steps (about 1 µs per value) and it dominates a 10M-step run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import confsched
from benchmarks.common import Row, Run, compare, compare_runs, confsched_command, measure
from confsched.plot import plot_schedule, write_csv

SMALL, LARGE = 1_000_000, 10_000_000
OVERRIDES = ("scheduler=cosine_with_restarts", "scheduler.num_cycles=4", "scheduler.warmup=2%")


def _overrides(steps: int) -> list[str]:
    return [*OVERRIDES, f"training.max_steps={steps}"]


def run() -> list[Row]:
    small, large = (confsched.compose(_overrides(n)) for n in (SMALL, LARGE))
    with tempfile.TemporaryDirectory(prefix="confsched-bench-plot10m-") as scratch:
        png = Path(scratch) / "lr.png"
        plot_schedule(small, png)  # matplotlib's import and first draw are no part of either
        c, b, ratio = compare(lambda: plot_schedule(large, png), lambda: plot_schedule(small, png))
        csv_large, csv_small, _ = compare(
            lambda: write_csv(large, Path(scratch) / "l.csv"),
            lambda: write_csv(small, Path(scratch) / "s.csv"),
            repeats=3,
        )

        def process(steps: int) -> Callable[[], Run]:
            return lambda: measure(
                [*confsched_command(), "plot", *_overrides(steps), f"hydra.run.dir=p{steps}"], cwd=scratch
            )

        pc, pb = compare_runs(process(LARGE), process(SMALL), repeats=5)
    whole = pc.seconds / pb.seconds
    return [
        Row(
            "plot_schedule 10M vs 1M steps (figure)",
            f"{c:.2f} s",
            f"{b:.2f} s",
            ratio,
            "< 2x",
            ratio < 2,
            "min/max envelope: <= 2402 points per line",
        ),
        Row(
            "confsched plot 10M vs 1M steps (PNG + table, --format auto)",
            f"{pc.seconds:.1f} s, {pc.peak_mib:.0f} MiB",
            f"{pb.seconds:.1f} s, {pb.peak_mib:.0f} MiB",
            whole,
            "< 2x",
            whole < 2,
            f"NPZ vs CSV; the CSV alone: {csv_large:.1f} s (10M rows) vs {csv_small:.1f} s (1M rows)",
        ),
    ]
