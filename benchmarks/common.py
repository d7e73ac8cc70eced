"""Interleaved timing: candidate and baseline alternate, medians of the repetitions are compared.

:func:`compare` times two callables in this process; :func:`compare_runs` runs two commands as
child processes and compares their wall time and peak RSS.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["Row", "Run", "compare", "compare_runs", "confsched_command", "measure", "print_table"]

T = TypeVar("T")

_PEAK = Path(__file__).with_name("peak.py")


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


@dataclass(frozen=True)
class Run:
    """A child process's wall time and peak resident memory (MiB)."""

    seconds: float
    peak_mib: float


def _time(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _interleaved(
    candidate: Callable[[], T], baseline: Callable[[], T], repeats: int
) -> tuple[list[T], list[T]]:
    ours: list[T] = []
    theirs: list[T] = []
    for i in range(repeats):
        # alternate the order so drift (thermal, other load) hits both sides alike
        if i % 2:
            ours.append(candidate())
            theirs.append(baseline())
        else:
            theirs.append(baseline())
            ours.append(candidate())
    return ours, theirs


def compare(
    candidate: Callable[[], object], baseline: Callable[[], object], *, repeats: int = 5
) -> tuple[float, float, float]:
    """Median seconds of ``candidate`` and ``baseline`` over interleaved runs, and their ratio."""
    ours, theirs = _interleaved(lambda: _time(candidate), lambda: _time(baseline), repeats)
    c, b = statistics.median(ours), statistics.median(theirs)
    return c, b, c / b


def measure(
    argv: Sequence[str], *, cwd: str | Path, env: dict[str, str] | None = None, exit_code: int = 0
) -> Run:
    """Run ``argv`` to completion in ``cwd``; its wall time and peak RSS (the process and its children).

    The command must exit with ``exit_code`` (2: a command measured up to the error it ends with).

    A small wrapper process starts the command and reads ``wait4``'s ``ru_maxrss``: Linux carries
    the peak RSS of the process that called ``exec`` over into the new program, so measured from
    this (large) process the figure would be this process's size.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        done = subprocess.run(
            [sys.executable, str(_PEAK), out.name, *argv],
            cwd=cwd,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != exit_code:
            raise RuntimeError(f"{' '.join(argv)}: exit code {done.returncode}\n{done.stderr[-2000:]}")
        result = json.load(out)
    return Run(result["seconds"], result["peak_kib"] / 1024)


def compare_runs(
    candidate: Callable[[], Run], baseline: Callable[[], Run], *, repeats: int = 5, warmup: bool = True
) -> tuple[Run, Run]:
    """Medians (wall time and peak RSS each) of interleaved runs of two commands.

    ``warmup`` runs each once first, unmeasured: the first run on a fresh machine builds caches
    (matplotlib's font list, ``__pycache__``) and reads every file from disk.
    """
    if warmup:
        candidate()
        baseline()
    ours, theirs = _interleaved(candidate, baseline, repeats)
    return _median_run(ours), _median_run(theirs)


def _median_run(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), statistics.median(r.peak_mib for r in runs))


def confsched_command() -> list[str]:
    """The ``confsched`` console script of this interpreter (``python -m confsched`` without it)."""
    script = Path(sys.executable).with_name("confsched")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "confsched"]


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
