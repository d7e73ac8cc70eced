"""An 8-job sweep, ``confsched plot -m ...``, with the joblib launcher vs Hydra's basic launcher.

Both run the same command as a whole process (pre-check of every job, 8 jobs writing a PNG and a
CSV each, the overlay and summary at the end); the joblib run adds ``hydra/launcher=joblib``.
Goal: <= 0.6x the wall time on 2 cores.
"""

from __future__ import annotations

import os
import tempfile

from benchmarks.common import Row, Run, compare_runs, confsched_command, measure

SWEEP = ("-m", "scheduler=linear,cosine,polynomial,warmup_stable_decay", "optimizer.lr=1e-3,3e-4")
JOBS = 8


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="confsched-bench-sweep-") as scratch:
        runs = iter(range(1_000))

        def sweep(*launcher: str) -> Run:
            argv = [*confsched_command(), "plot", *SWEEP, *launcher, f"hydra.sweep.dir=s{next(runs)}"]
            return measure(argv, cwd=scratch)

        c, b = compare_runs(lambda: sweep("hydra/launcher=joblib"), sweep, repeats=5)
    ratio = c.seconds / b.seconds
    return [
        Row(
            f"sweep of {JOBS} plots, joblib vs basic launcher",
            f"{c.seconds:.2f} s (joblib)",
            f"{b.seconds:.2f} s (basic)",
            ratio,
            "<= 0.6x",
            ratio <= 0.6,
            f"{os.cpu_count()} CPUs",
        )
    ]
