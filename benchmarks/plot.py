"""``confsched plot`` on the worked example, as a whole process, vs the tutorial's way.

The candidate is the console script: start, compose, validate, curve, ``lr_schedule.png`` and
``lr_schedule.csv``. The baseline is ``benchmarks/tutorial.py``: import torch and transformers, step
AdamW and ``get_scheduler("cosine")`` 1950 times recording ``get_last_lr()``, save a matplotlib PNG.
Goals: <= 0.3x the wall time and <= 0.5x the peak RSS. Each command runs once unmeasured first
(matplotlib builds its font cache on a fresh machine, files come into the page cache).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.common import Row, Run, compare_runs, confsched_command, measure

TUTORIAL = Path(__file__).with_name("tutorial.py")


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="confsched-bench-plot-") as scratch:
        runs = iter(range(1_000))

        def ours() -> Run:
            return measure([*confsched_command(), "plot", f"hydra.run.dir=cs{next(runs)}"], cwd=scratch)

        def theirs() -> Run:
            return measure([sys.executable, str(TUTORIAL), "tutorial.png"], cwd=scratch)

        c, b = compare_runs(ours, theirs, repeats=5)
    time_ratio, rss_ratio = c.seconds / b.seconds, c.peak_mib / b.peak_mib
    return [
        Row(
            "confsched plot (worked example), wall",
            f"{c.seconds:.2f} s",
            f"{b.seconds:.2f} s (torch + transformers script)",
            time_ratio,
            "<= 0.3x",
            time_ratio <= 0.3,
        ),
        Row(
            "confsched plot (worked example), peak RSS",
            f"{c.peak_mib:.0f} MiB",
            f"{b.peak_mib:.0f} MiB",
            rss_ratio,
            "<= 0.5x",
            rss_ratio <= 0.5,
        ),
    ]
