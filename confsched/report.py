"""The report of a sweep: ``confsched report MULTIRUN_DIR`` (and the end of ``confsched plot -m``).

It reads only the sweep directory: each job's ``confsched_job.json`` (written by ``confsched plot``
or, in a training application, by :class:`confsched.integrations.sweep.JobRecorder`), or for a job
that left none its ``.hydra/overrides.yaml``. So it works for every launcher, including jobs that ran
on other machines. It writes, into the sweep directory:

- ``sweep_report.csv`` and ``sweep_report.md``: one row per job, sorted by job number: its status
  (a failed job with its one-line reason), the value of each swept knob, the spec's summary
  (family, optimizer, base LR, total and warmup steps, peak and final LR of the first group), the
  metrics the job returned, and all of its overrides;
- ``sweep_report.png``: the LR curves of all jobs (every group; the first thick, the others thin
  in the same colour) coloured by the first swept knob
  (and dashed by the second), and for a training sweep, below, the first metric against each
  swept knob.

A swept knob is an override key whose value differs between the jobs (``scheduler``,
``optimizer.lr``); values that all read as numbers are drawn on a numeric axis (logarithmic when
they span more than a factor of 20).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml

from confsched.curve import lr_curve
from confsched.errors import ConfigError, ConfschedError
from confsched.integrations.sweep import JOB_FILE, error_line, read_result
from confsched.spec.root import validate

__all__ = ["REPORT_CSV", "REPORT_MD", "REPORT_PNG", "JobRow", "Sweep", "read_sweep", "write_report"]

REPORT_CSV = "sweep_report.csv"
REPORT_MD = "sweep_report.md"
REPORT_PNG = "sweep_report.png"

_COLUMNS = 1200
"""Points kept per curve (the figure's width in pixels): the envelope, as in a job's own figure."""
_STYLES: tuple[Literal["-", "--", ":", "-."], ...] = ("-", "--", ":", "-.")
_MAX_METRIC_PANELS = 4
_LAYERED = 8
"""Up to this many curves, earlier ones are drawn wider (one hidden under another still shows)."""


@dataclass(frozen=True)
class JobRow:
    """What the report knows about one job."""

    number: int | None
    directory: Path
    overrides: tuple[str, ...]
    status: str
    """``completed``, ``failed``, or ``no result`` (the job left no ``confsched_job.json``)."""
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)
    """The spec's figures (``family``, ``optimizer``, ``lr``, ``total_steps`` ...), as text."""
    curve: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None
    """The first group's LR curve: ``(steps, lrs)`` (its envelope, for a long run)."""
    others: tuple[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.float64]], ...] = ()
    """The other groups' LR curves: ``(group, steps, lrs)`` each (envelopes too)."""

    def knob(self, key: str) -> str | None:
        """The value this job's overrides give ``key`` (``None``: not overridden)."""
        return dict(_pairs(self.overrides)).get(key)


@dataclass(frozen=True)
class Sweep:
    """The jobs of a sweep directory and the knobs that vary between them."""

    directory: Path
    jobs: tuple[JobRow, ...]
    knobs: tuple[str, ...]
    metrics: tuple[str, ...]

    @property
    def failed(self) -> tuple[JobRow, ...]:
        return tuple(job for job in self.jobs if job.status != "completed")


def _pairs(overrides: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for override in overrides:
        key, eq, value = override.partition("=")
        if eq:
            pairs.append((key.lstrip("+"), value))
        elif key.startswith("~"):
            pairs.append((key[1:], "(deleted)"))
    return pairs


def _job_dirs(sweep_dir: Path) -> list[Path]:
    """Every directory below ``sweep_dir`` that holds a job: a result file or Hydra's ``.hydra/``."""
    found = {p.parent for p in sweep_dir.rglob(JOB_FILE)}
    found |= {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    found.discard(sweep_dir)
    return sorted(found)


def _row(directory: Path) -> JobRow:
    number = int(directory.name) if directory.name.isdigit() else None
    if not (directory / JOB_FILE).is_file():
        saved = directory / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(saved.read_text()) if saved.is_file() else []
        return JobRow(
            number,
            directory,
            tuple(map(str, overrides or [])),
            "no result",
            f"no {JOB_FILE}: the job has not finished, was killed, or its app records no results",
        )
    try:
        result = read_result(directory / JOB_FILE)
    except ValueError as exc:
        return JobRow(number, directory, (), "failed", str(exc))
    row = JobRow(
        result.job if result.job is not None else number,
        directory,
        result.overrides,
        result.status,
        result.error,
        result.metrics,
    )
    if result.spec is None:
        return row
    try:
        spec = validate(result.spec)
    except ConfschedError as exc:  # written by another confsched version
        return dataclasses.replace(row, error=error_line(exc))
    from confsched.plot import envelope

    curves = lr_curve(spec)
    curve = curves[:, 0]
    peak = int(curve.argmax())
    summary = {
        "family": spec.scheduler.name,
        "optimizer": spec.optimizer.name,
        "lr": f"{spec.group_base_lrs[spec.group_names[0]]:.6g}",
        "total_steps": str(spec.total_steps),
        "warmup_steps": str(spec.warmup_steps),
        "peak_lr": repr(float(curve[peak])),
        "peak_step": str(peak),
        "final_lr": repr(float(curve[-1])),
    }
    others = tuple(
        (name, *envelope(curves[:, i], _COLUMNS))
        for i, name in enumerate(spec.group_names)
        if i > 0 and not np.array_equal(curves[:, i], curve)  # a group equal to the first adds nothing
    )
    return dataclasses.replace(row, summary=summary, curve=envelope(curve, _COLUMNS), others=others)


def read_sweep(sweep_dir: str | Path) -> Sweep:
    """Read every job of ``sweep_dir``; a directory that holds no job is a ``ConfigError``."""
    directory = Path(sweep_dir)
    if not directory.is_dir():
        raise ConfigError("", f"no such sweep directory: {sweep_dir}")
    rows = [_row(d) for d in _job_dirs(directory)]
    if not rows:
        raise ConfigError(
            "",
            f"{sweep_dir}: no jobs here (a sweep directory holds a directory per job, "
            f"each with {JOB_FILE} or .hydra/overrides.yaml)",
        )
    rows.sort(key=lambda r: (r.number is None, r.number or 0, str(r.directory)))
    keys: dict[str, set[str | None]] = {}
    for row in rows:
        for key, _ in _pairs(row.overrides):
            keys.setdefault(key, set())
    for key, values in keys.items():
        values.update(row.knob(key) for row in rows)
    knobs = tuple(key for key, values in keys.items() if len(values) > 1)
    metrics = tuple(dict.fromkeys(name for row in rows for name in row.metrics))
    return Sweep(directory, tuple(rows), knobs, metrics)


# ---- the table ------------------------------------------------------------------------------

_SUMMARY = ("family", "optimizer", "lr", "total_steps", "warmup_steps", "peak_lr", "peak_step", "final_lr")


def table(sweep: Sweep) -> list[list[str]]:
    """The report's rows (a header first), every value as text."""
    header = ["job", "status", *sweep.knobs, *_SUMMARY, *sweep.metrics, "error", "overrides"]
    rows = [header]
    for job in sweep.jobs:
        rows.append(
            [
                "" if job.number is None else str(job.number),
                job.status,
                *(job.knob(k) or "" for k in sweep.knobs),
                *(job.summary.get(k, "") for k in _SUMMARY),
                *(repr(job.metrics[m]) if m in job.metrics else "" for m in sweep.metrics),
                job.error or "",
                " ".join(job.overrides),
            ]
        )
    return rows


def _short(cell: str) -> str:
    try:
        value = float(cell)
    except ValueError:
        return cell
    return cell if cell.isdigit() or not math.isfinite(value) else f"{value:.4g}"


def markdown(sweep: Sweep, *, leave_out: Sequence[str] = ()) -> str:
    """The table as Markdown, numbers to 4 significant digits, columns aligned for a terminal too.

    Columns empty in every row, and those named in ``leave_out``, are left out.
    """
    rows = table(sweep)
    keep = [i for i, name in enumerate(rows[0]) if name not in leave_out and any(row[i] for row in rows[1:])]
    rows = [[row[i] for i in keep] for row in rows]
    shown = [rows[0], *([_short(c) for c in row] for row in rows[1:])]
    shown = [[c.replace("|", "\\|") for c in row] for row in shown]
    widths = [max(len(row[i]) for row in shown) for i in range(len(shown[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in shown]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# ---- the figure -----------------------------------------------------------------------------


def _numbers(values: Sequence[str | None]) -> list[float] | None:
    """``values`` as floats, when every one of them reads as a finite number."""
    try:
        numbers = [float(v) for v in values if v is not None]
    except ValueError:
        return None
    return numbers if numbers and all(map(math.isfinite, numbers)) else None


def _log_scale(numbers: Sequence[float]) -> bool:
    return min(numbers) > 0 and max(numbers) / min(numbers) > 20


class _Palette:
    """A colour for each value of a knob: a colour map over numbers, tab10 over categories."""

    def __init__(self, sweep: Sweep, knob: str | None) -> None:
        from matplotlib import colormaps
        from matplotlib.colors import LogNorm, Normalize

        self.knob = knob
        values = list(dict.fromkeys(job.knob(knob) for job in sweep.jobs)) if knob else []
        numbers = _numbers(values)
        self.norm: Any = None
        self.colours: dict[str | None, Any]
        if numbers is not None and len(numbers) == len(values):
            low, high = min(numbers), max(numbers)
            scaled = LogNorm(low, high) if _log_scale(numbers) else Normalize(low, high)
            self.norm = scaled if low < high else Normalize(low - 1, high + 1)
            self.cmap = colormaps["viridis"]
            self.colours = {v: self.cmap(self.norm(float(v))) for v in values if v is not None}
        else:
            self.cmap = colormaps["tab10"]
            self.colours = {v: self.cmap(i % 10) for i, v in enumerate(values)}

    def of(self, job: JobRow) -> Any:
        return self.colours.get(job.knob(self.knob), "tab:blue") if self.knob else "tab:blue"

    def show(self, fig: Any, ax: Any) -> list[Any]:
        """A colour bar for numbers (drawn here); legend handles for categories (returned)."""
        from matplotlib.cm import ScalarMappable
        from matplotlib.lines import Line2D

        if self.knob is None:
            return []
        if self.norm is not None:
            fig.colorbar(ScalarMappable(self.norm, self.cmap), ax=ax, pad=0.01).set_label(self.knob)
            return []
        return [Line2D([], [], color=c, label=f"{self.knob}={v}") for v, c in self.colours.items()]


def write_report(sweep: Sweep) -> list[Path]:
    """Write ``sweep_report.csv``, ``.md`` and ``.png`` into the sweep directory; return their paths."""
    csv_path = sweep.directory / REPORT_CSV
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(table(sweep))
    _atomic_write(csv_path, text.getvalue())
    md_path = sweep.directory / REPORT_MD
    failed = f", {len(sweep.failed)} failed" if sweep.failed else ""
    heading = f"# Sweep {sweep.directory.name}: {len(sweep.jobs)} jobs{failed}\n\n"
    _atomic_write(md_path, heading + markdown(sweep) + "\n")
    png_path = sweep.directory / REPORT_PNG
    _figure(sweep, png_path)
    return [csv_path, md_path, png_path]


def _atomic_write(path: Path, text: str) -> None:
    """``path`` holds ``text``, whole or not at all (:func:`confsched.outputs.replacing`)."""
    from confsched.outputs import replacing

    with replacing(path) as scratch:
        scratch.write_text(text)


def _figure(sweep: Sweep, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    metric = sweep.metrics[0] if sweep.metrics else None
    panels = list(sweep.knobs[:_MAX_METRIC_PANELS]) if metric else []
    heights = [5.5, 3.6] if panels else [5.5]
    fig = Figure(figsize=(10, sum(heights)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(heights), max(len(panels), 1), height_ratios=heights)
    ax = fig.add_subplot(grid[0, :])
    palette = _Palette(sweep, sweep.knobs[0] if sweep.knobs else None)
    dashed = sweep.knobs[1] if len(sweep.knobs) > 1 else None
    styles: list[str | None] = list(dict.fromkeys(job.knob(dashed) for job in sweep.jobs)) if dashed else []
    if len(styles) > len(_STYLES):  # more values than line styles: the colour alone tells the jobs apart
        dashed, styles = None, []
    drawn = [job for job in sweep.jobs if job.curve is not None]
    length = 1
    for i, job in enumerate(drawn):
        assert job.curve is not None
        steps, lrs = job.curve
        style = _STYLES[styles.index(job.knob(dashed)) % len(_STYLES)] if dashed else "-"
        # a curve covered by a later one still shows (with few curves; many would be a thicket)
        width = 1.3 + 2.2 * (len(drawn) - 1 - i) / (len(drawn) - 1) if 1 < len(drawn) <= _LAYERED else 1.4
        ax.plot(steps, lrs, style, color=palette.of(job), linewidth=width, drawstyle="steps-post")
        for _, group_steps, group_lrs in job.others:  # every other group: thin, in the job's colour
            ax.plot(
                group_steps,
                group_lrs,
                style,
                color=palette.of(job),
                linewidth=0.9,
                alpha=0.6,
                drawstyle="steps-post",
            )
        length = max(length, int(steps[-1]) + 1)
    handles = palette.show(fig, ax)
    groups = list(dict.fromkeys(name for job in drawn for name, _, _ in job.others))
    if groups:
        shown = ", ".join(groups[:3]) + (f", ... ({len(groups)})" if len(groups) > 3 else "")
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                linewidth=0.9,
                alpha=0.6,
                label=f"thin: group{'s' if len(groups) > 1 else ''} {shown}",
            )
        )
    if dashed:
        handles += [
            Line2D([], [], color="0.3", linestyle=style, label=f"{dashed}={value}")
            for style, value in zip(_STYLES, styles, strict=False)
        ]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, ncols=2 if len(handles) > 8 else 1)
    ax.set_xlim(0, length)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate (thick: the first group)" if groups else "learning rate")
    ax.grid(True, alpha=0.3)
    failed = f"; {len(sweep.failed)} failed (see {REPORT_MD})" if sweep.failed else ""
    by = f", coloured by {palette.knob}" if palette.knob else ""
    ax.set_title(f"LR of {len(drawn)} of {len(sweep.jobs)} jobs{by}{failed}")
    for i, knob in enumerate(panels):
        assert metric is not None
        _metric_panel(fig.add_subplot(grid[1, i]), sweep, knob, metric, palette)
    from confsched.plot import save

    save(fig, path)


def _metric_panel(ax: Any, sweep: Sweep, knob: str, metric: str, palette: _Palette) -> None:
    """``metric`` against ``knob``, one dot per job that returned it, coloured as its LR curve."""
    jobs = [job for job in sweep.jobs if metric in job.metrics]
    values = [job.knob(knob) for job in jobs]
    numbers = _numbers(values)
    if numbers is not None and len(numbers) == len(values):
        xs = numbers
        if _log_scale(numbers):
            ax.set_xscale("log")
    else:
        categories = list(dict.fromkeys(job.knob(knob) for job in sweep.jobs))
        xs = [float(categories.index(v)) for v in values]
        ax.set_xticks(
            range(len(categories)), [str(c) for c in categories], rotation=25, ha="right", fontsize=8
        )
        ax.set_xlim(-0.5, len(categories) - 0.5)
    ys = [job.metrics[metric] for job in jobs]
    ax.scatter(xs, ys, c=[palette.of(job) for job in jobs], edgecolors="black", linewidths=0.5, zorder=3)
    ax.set_xlabel(knob)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)


def report(sweep_dir: str | Path) -> tuple[Sweep, list[Path]]:
    """Read ``sweep_dir`` and write its report files; return the sweep and the files."""
    sweep = read_sweep(sweep_dir)
    return sweep, write_report(sweep)
