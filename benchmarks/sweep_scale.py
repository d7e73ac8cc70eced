"""Sweeps that scale: the pre-check, ``show -m`` and ``plot -m``, each against one ``confsched show``.

All run as whole processes, interleaved with the baseline (one ``confsched show`` of the worked
example, about 0.6 s on 2 cores), medians of 3 after a warm-up run.

- **pre-check of 300 jobs** (goal <= 4x): ``show -m`` over ``training.epochs`` (10 values) x
  ``scheduler.warmup`` (0 or 40 steps) x ``optimizer.lr`` (15 values). 40 warmup steps exceed the
  1-epoch run (39 steps), so job 285 is the first invalid one: the command composes and validates
  286 jobs, then ends with its ``error:`` line (exit 2) before any job runs.
- **show -m over 100 jobs** (goal <= 10x): ``confsched show -m "scheduler.warmup=range(0,100)"``,
  the pre-check and 100 jobs each printing its spec and step arithmetic.
- **plot -m over 20 jobs** (goal <= 5x): 4 families x 5 warmups, 20 PNGs and CSVs and the report.
- **peak memory of the pre-check, 10 vs 10,000 jobs** (goal: flat, <= 1.1x): the same construction
  as the first row with 5 x 2 x 1 and 10 x 2 x 500 values (the first invalid job is the 10th, and
  the 9,501st). ``CONFSCHED_BENCH_JOBS=1000`` measures 1,000 instead (the landed code of issue 16
  took 0.1 s a job).
"""

from __future__ import annotations

import os
import tempfile

from benchmarks.common import Row, Run, compare_runs, confsched_command, measure

SHOW = (*confsched_command(), "show")


def invalid_at_the_end(epochs: int, lrs: int) -> tuple[str, ...]:
    """``show -m`` over ``epochs x 2 x lrs`` jobs whose first invalid job is ``(2 epochs - 1) lrs``."""
    return (
        *SHOW,
        "-m",
        "training.epochs=" + ",".join(str(e) for e in range(epochs, 0, -1)),
        "scheduler.warmup=0,40",
        "optimizer.lr=" + ",".join(f"{(i + 1) * 1e-5:.5g}" for i in range(lrs)),
    )


def run() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="confsched-bench-scale-") as scratch:
        sweeps = iter(range(1_000))

        def show() -> Run:
            return measure(SHOW, cwd=scratch)

        def precheck() -> Run:
            return measure(invalid_at_the_end(10, 15), cwd=scratch, exit_code=2)

        def show_m() -> Run:
            return measure([*SHOW, "-m", "scheduler.warmup=range(0,100)"], cwd=scratch)

        def plot_m() -> Run:
            families = "scheduler=linear,cosine,polynomial,warmup_stable_decay"
            argv = [*confsched_command(), "plot", "-m", families, "scheduler.warmup=0,25,50,75,100"]
            return measure([*argv, f"hydra.sweep.dir=s{next(sweeps)}"], cwd=scratch)

        for name, candidate, goal in (
            ("pre-check of 300 jobs (show -m ending on job 285's error)", precheck, 4.0),
            ("show -m over 100 jobs", show_m, 10.0),
            ("plot -m over 20 jobs (PNG + CSV each, the report)", plot_m, 5.0),
        ):
            c, b = compare_runs(candidate, show, repeats=3)
            ratio = c.seconds / b.seconds
            rows.append(
                Row(
                    name,
                    f"{c.seconds:.2f} s",
                    f"{b.seconds:.2f} s (one show)",
                    ratio,
                    f"<= {goal:g}x",
                    ratio <= goal,
                )
            )

        small = measure(invalid_at_the_end(5, 1), cwd=scratch, exit_code=2)
        jobs = int(os.environ.get("CONFSCHED_BENCH_JOBS", "10000"))
        large = measure(invalid_at_the_end(10, jobs // 20), cwd=scratch, exit_code=2)
    ratio = large.peak_mib / small.peak_mib
    rows.append(
        Row(
            f"pre-check peak RSS, {jobs:,} vs 10 jobs",
            f"{large.peak_mib:.0f} MiB ({large.seconds:.1f} s)",
            f"{small.peak_mib:.0f} MiB ({small.seconds:.1f} s)",
            ratio,
            "<= 1.1x",
            ratio <= 1.1,
        )
    )
    return rows
