"""Drawing and writing LR curves: ``lr_schedule.png`` and ``lr_schedule.csv`` for one spec, and
overlays of several curves (a sweep, a diff).

The figures are meant to be read without a manual: one line per parameter group, the end of warmup
and the epoch boundaries marked, axes labelled, and the family, optimizer and step arithmetic in the
title. matplotlib runs on its Agg backend (no display), imported only when a figure is drawn.

A figure never holds more points than it has pixels to show them: a curve longer than twice the
figure's width in pixels is drawn from its :func:`envelope` (each pixel column's minimum and
maximum): drawing costs the same however long the run (only computing its values grows), and a
one-step spike still shows. The CSV keeps every step.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from confsched.curve import lr_curve, momentum_curve, weight_decay_curve
from confsched.errors import SpecError
from confsched.spec.root import Spec
from confsched.time.units import MAX_COUNT

__all__ = [
    "TIME_COLUMNS",
    "Curve",
    "XAxis",
    "envelope",
    "plot_overlay",
    "plot_schedule",
    "read_csv",
    "schedule_title",
    "scheduled_quantities",
    "write_csv",
    "x_values",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
XAxis = Literal["steps", "samples", "tokens"]
"""What the x axis of a figure counts: optimizer steps, samples consumed, tokens consumed."""

TIME_COLUMNS = ("samples", "tokens", "batch_size")
"""Columns a run counted in samples adds after ``step`` in the CSV: samples and tokens consumed
before the step, and its global batch. Group columns follow (the first is always ``default``)."""

_MAX_EPOCH_LINES = 60
# Margins (inches) around the axes, for the labels of a 10 x 5.5 in figure at matplotlib's default
# font sizes: left of the y tick labels (the y label), right, below (x tick labels and label), and
# above (the title; with the epoch axis, its tick labels and label too).
_LEFT_INCHES, _RIGHT_INCHES, _BOTTOM_INCHES, _TITLE_INCHES, _TOP_AXIS_INCHES = 0.42, 0.15, 0.55, 0.4, 0.72
_TWIN_INCHES = 0.75
"""Room for the tick labels and label of a right-hand axis (the global batch of a ramp)."""
_CSV_BLOCK = 65_536
"""Rows formatted per write: a 10M-step CSV never holds more than this many rows as text."""


@dataclass(frozen=True)
class Curve:
    """One line of an overlay: a label, the LR at steps 0, 1, ..., and an optional line style."""

    label: str
    lrs: FloatArray
    style: str = "-"
    color: str | None = None
    """A matplotlib colour; ``None`` takes the next one of the cycle."""


def scheduled_quantities(spec: Spec, steps: int | None = None) -> list[tuple[str, str, FloatArray]]:
    """``(key, label, values)`` of each quantity besides the LR that the spec schedules, shaped like
    :func:`~confsched.lr_curve`: the weight decay of each group's decayed parameters, and the
    momentum or beta1 (``key`` is ``weight_decay`` or ``momentum``)."""
    found = []
    decay = weight_decay_curve(spec, steps)
    if decay is not None:
        found.append(("weight_decay", "weight decay", decay))
    momentum = momentum_curve(spec, steps)
    if momentum is not None:
        found.append(("momentum", "beta1" if spec.momentum_key == "betas" else "momentum", momentum))
    return found


def write_csv(spec: Spec, path: str | Path, curve: FloatArray | None = None) -> Path:
    """Write ``step,<group names...>`` and one row per optimizer step (step 0 first); a spec that
    schedules the weight decay or the momentum adds the columns ``weight_decay/<group>`` and
    ``momentum/<group>`` (beta1, for optimizers with betas) after the LRs.

    A run counted in samples (see :mod:`confsched.steps`) also has the :data:`TIME_COLUMNS` after
    ``step``: ``samples`` and ``tokens`` consumed before the step (``tokens`` with
    ``data.tokens_per_sample``) and its global ``batch_size``, all integers.

    Values are written with ``repr`` (the shortest text that reads back to the same float), so
    ``float(cell)`` equals ``lr_curve(spec)`` (and ``weight_decay_curve``, ``momentum_curve``)
    exactly. ``curve`` is ``lr_curve(spec)`` when the caller has it already. Rows are formatted a
    block at a time, column by column; ``repr`` of a float (about 1 µs) is most of the cost, so a
    CSV takes about 1 s per million values.
    """
    path = Path(path)
    curve = lr_curve(spec) if curve is None else curve
    times = _time_columns(spec)
    header = ["step", *times, *spec.group_names]
    extra = scheduled_quantities(spec, len(curve))
    for key, _, _ in extra:
        header += [f"{key}/{name}" for name in spec.group_names]
    table = np.hstack([curve, *(values for _, _, values in extra)]) if extra else curve
    with path.open("w", newline="") as file:
        csv.writer(file, lineterminator="\n").writerow(header)
        for start in range(0, len(table), _CSV_BLOCK):
            stop = start + min(_CSV_BLOCK, len(table) - start)
            steps = np.arange(start, stop, dtype=np.int64)
            counts = [map(str, column(steps).tolist()) for column in times.values()]
            columns = [map(repr, column) for column in table[start:stop].T.tolist()]
            file.write(
                "\n".join(map(",".join, zip(map(str, range(start, stop)), *counts, *columns, strict=True)))
            )
            file.write("\n")
    return path


def _time_columns(spec: Spec) -> dict[str, Any]:
    """The :data:`TIME_COLUMNS` of a run counted in samples: name -> function of the steps."""
    plan = spec.plan
    if not plan.counts_samples:
        return {}
    columns: dict[str, Any] = {"samples": plan.consumed_samples}
    if plan.tokens_per_sample is not None:
        columns["tokens"] = lambda steps: x_values(spec, steps, "tokens")
    columns["batch_size"] = plan.global_batch
    return columns


def x_values(spec: Spec, steps: npt.ArrayLike, x: XAxis = "steps") -> IntArray:
    """Where ``steps`` lie on an x axis of steps, samples consumed or tokens consumed."""
    k = np.asarray(steps, dtype=np.int64)
    if x == "steps":
        return k
    plan = spec.plan
    if plan.total_samples * (plan.tokens_per_sample or 1) > MAX_COUNT:
        raise SpecError("training", f"the run's {x} exceed 2**53: too many to place on an x axis exactly")
    samples = plan.consumed_samples(k)
    if x == "samples":
        return samples
    if plan.tokens_per_sample is None:
        raise SpecError("data.tokens_per_sample", "is not set: the x axis cannot count tokens (use samples)")
    out: IntArray = samples * plan.tokens_per_sample
    return out


def read_csv(path: str | Path) -> tuple[list[str], FloatArray]:
    """Read a file written by :func:`write_csv`: the column names after ``step`` (the group names,
    then any ``weight_decay/...`` and ``momentum/...``) and a ``(steps, columns)`` array (the
    :data:`TIME_COLUMNS` of a run counted in samples are skipped)."""
    with Path(path).open(newline="") as file:
        header = next(csv.reader([file.readline()]))[1:]
        times = next(i for i, name in enumerate([*header, ""]) if name not in TIME_COLUMNS)
        names = header[times:]
        values = np.loadtxt(file, delimiter=",", dtype=np.float64, ndmin=2)  # reads floats exactly
    return names, values[:, 1 + times :].reshape(len(values), len(names))


def schedule_title(spec: Spec) -> str:
    """``cosine · adamw · 1950 steps (50 epochs × 39) · warmup 100``: the figure's title."""
    plan = spec.plan
    if plan.counts_samples:
        tokens = plan.total_samples * (plan.tokens_per_sample or 0)
        size = f"{_si(tokens)} tokens" if tokens else f"{_si(plan.total_samples)} samples"
        length = f"{spec.total_steps} steps ({size}{', batch ramp' if plan.ramps else ''})"
    elif plan.max_steps is not None:
        length = f"{spec.total_steps} steps (max_steps)"
    else:
        length = f"{spec.total_steps} steps ({plan.epochs} epochs × {spec.steps_per_epoch})"
    warmup = f"warmup {spec.warmup_steps} steps" if spec.warmup_steps else "no warmup"
    return f"{spec.scheduler.name} · {spec.optimizer.name} · {length} · {warmup}"


def envelope(values: FloatArray, columns: int) -> tuple[IntArray, FloatArray]:
    """The steps and values to draw ``values`` (one per step) across ``columns`` pixel columns.

    Up to ``2 * columns`` values come back whole. A longer curve is cut into at most ``columns``
    buckets of consecutive steps (the last one shorter), and each bucket keeps its minimum and its
    maximum at the steps where they occur, in step order; the first and last steps are kept too.
    Drawn as steps, each column then spans exactly the range of its bucket, so a one-step spike or
    a warm restart stays visible, and at most ``2 * columns + 2`` points are drawn.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n <= 2 * columns:
        return np.arange(n, dtype=np.int64), values
    size = -(-n // columns)  # steps per bucket
    full = n // size
    picks = [_extremes(values[: full * size].reshape(full, size), size)]
    if full * size < n:  # the shorter last bucket
        picks.append(full * size + _extremes(values[full * size :].reshape(1, -1), n - full * size))
    steps = np.concatenate([[0], *picks, [n - 1]])
    steps = steps[np.concatenate([[True], steps[1:] != steps[:-1]])]  # a flat bucket gives one point
    return steps, values[steps]


def _extremes(buckets: FloatArray, size: int) -> IntArray:
    """For each row: the steps (from the first row's start) of its minimum and maximum, in order."""
    starts = np.arange(len(buckets), dtype=np.int64) * size
    low, high = buckets.argmin(axis=1), buckets.argmax(axis=1)
    return (starts[:, None] + np.sort(np.stack([low, high], axis=1), axis=1)).ravel()


def plot_schedule(
    spec: Spec, path: str | Path, curve: FloatArray | None = None, *, x: XAxis = "steps"
) -> Path:
    """Draw every group's LR over the run and save it to ``path`` (a PNG); below it, a panel per
    other quantity the spec schedules (weight decay, momentum or beta1), with every group.

    ``curve`` is ``lr_curve(spec)`` when the caller has it already. ``x`` is what the x axis counts:
    optimizer steps, or the samples or tokens consumed before each step (the axis a run counted in
    samples is planned on). When the global batch ramps up, it is drawn too, on a right-hand axis.
    """
    path = Path(path)
    curve = lr_curve(spec) if curve is None else curve
    panels = scheduled_quantities(spec, len(curve))
    fig, ax, *below = _axes(1 + len(panels))
    xs = x_values(spec, np.arange(len(curve) + 1), x)
    columns = _pixel_columns(fig)
    for i, name in enumerate(spec.group_names):
        label = f"{name} (base lr {spec.group_base_lrs[name]:.3g})"
        steps, values = envelope(curve[:, i], columns)
        ax.plot(xs[steps], values, label=label, linewidth=2, drawstyle="steps-post")
    for panel, (_, label, values) in zip(below, panels, strict=True):
        _draw_quantity(panel, spec, label, values, xs, columns)
    if x == "steps" and not spec.plan.counts_samples:
        _mark_epochs(ax, spec)
    if spec.warmup_steps:
        at = xs[min(spec.warmup_steps, len(curve))]
        ax.axvline(at, color="tab:red", linestyle="--", linewidth=1.2)
        ax.annotate(
            f" warmup ends: step {spec.warmup_steps}",
            xy=(at, 0.98),
            xycoords=("data", "axes fraction"),
            va="top",
            color="tab:red",
        )
    if spec.plan.ramps:
        _draw_batch_size(ax, spec, xs, columns)
    if spec.family.driven_by == "metric":
        ax.text(
            0.5,
            0.5,
            f"{spec.scheduler.name} changes the LR from a metric (scheduler.step(metric)):\n"
            "there is no curve before training. The lines hold each group's base LR.",
            transform=ax.transAxes,
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "facecolor": "lightyellow", "edgecolor": "gray"},
        )
    ax.set_title(schedule_title(spec))
    _finish(fig, ax, path, xmax=int(xs[-1]), ymax=float(curve.max(initial=0.0)), x=x, below=below)
    return path


def _draw_quantity(ax: Any, spec: Spec, label: str, values: FloatArray, xs: IntArray, columns: int) -> None:
    """A panel under the LR: one line per group whose values differ from the lines drawn before
    (groups with equal values share a line and a legend entry)."""
    drawn: dict[bytes, list[str]] = {}
    for i, name in enumerate(spec.group_names):
        drawn.setdefault(values[:, i].tobytes(), []).append(name)
    for key, names in drawn.items():
        steps, column = envelope(np.frombuffer(key, dtype=np.float64), columns)
        if len(names) == len(spec.group_names) > 1:
            shown = f"every group ({len(names)})"
        else:
            shown = (
                ", ".join(names) if len(names) <= 3 else f"{names[0]}, ..., {names[-1]} ({len(names)} groups)"
            )
        ax.plot(xs[steps], column, label=shown, linewidth=1.8, drawstyle="steps-post")
    ax.set_ylabel(label)
    top = float(values.max(initial=0.0))
    ax.set_ylim(0, top * 1.25 or 1.0)
    ax.yaxis.set_major_formatter(_three_digits())
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)


def _draw_batch_size(ax: Any, spec: Spec, xs: IntArray, columns: int) -> None:
    """The global batch of each step, grey, on a right-hand axis (and in the legend)."""
    batch = spec.plan.global_batch(np.arange(len(xs) - 1)).astype(np.float64)
    steps, values = envelope(batch, columns)
    right = ax.twinx()
    style = {"color": "0.45", "linestyle": ":", "linewidth": 1.6, "drawstyle": "steps-post"}
    right.plot(xs[steps], values, **style)
    right.set_ylim(0, float(batch.max(initial=1.0)) * 1.2)
    right.set_ylabel("global batch (samples)")
    ax.plot([], [], label="global batch (right axis)", **style)


_SI_TICKS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"))


def _si(value: float) -> str:
    """``300B``, ``1.5M``: tick labels in the suffixes durations are written with."""
    for scale, suffix in _SI_TICKS:
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"


def plot_overlay(
    curves: Sequence[Curve],
    path: str | Path,
    title: str,
    *,
    gap: tuple[int, float, float, str] | None = None,
    layered: bool = False,
) -> Path:
    """Draw several curves on one axis (a sweep's runs, the two sides of a diff) into ``path``.

    ``gap`` is an optional ``(step, lr_a, lr_b, text)`` to mark, e.g. the largest difference.
    ``layered`` draws earlier curves wider, so a curve exactly covered by a later one still shows.
    """
    path = Path(path)
    fig, ax = _axes()
    length = max((len(c.lrs) for c in curves), default=1)
    columns = _pixel_columns(fig)
    for i, curve in enumerate(curves):
        width = 1.5 + 2.5 * (len(curves) - 1 - i) / max(len(curves) - 1, 1) if layered else 1.8
        ax.plot(
            *envelope(curve.lrs, columns),
            curve.style,
            color=curve.color,
            label=curve.label,
            linewidth=width,
            drawstyle="steps-post",
        )
    if gap is not None:
        step, lr_a, lr_b, text = gap
        ax.plot([step, step], [lr_a, lr_b], "-o", color="black", linewidth=1.2, markersize=5)
        ax.annotate(
            text,
            xy=(step, (lr_a + lr_b) / 2),
            xytext=(10, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
        )
    ax.set_title(title)
    ymax = max((float(c.lrs.max(initial=0.0)) for c in curves), default=0.0)
    _finish(fig, ax, path, xmax=length, ymax=ymax)
    return path


_PANEL_INCHES = 2.4
"""Height of each panel under the LR (weight decay, momentum)."""


def _axes(panels: int = 1) -> tuple[Any, ...]:
    """A figure and its axes: the LR on top, ``panels - 1`` shorter panels below sharing its x axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5.5 + _PANEL_INCHES * (panels - 1)), dpi=120)
    FigureCanvasAgg(fig)
    if panels == 1:
        return fig, fig.add_subplot()
    grid = fig.add_gridspec(panels, 1, height_ratios=[5.5 - 1.0, *([_PANEL_INCHES] * (panels - 1))])
    top = fig.add_subplot(grid[0])
    return fig, top, *(fig.add_subplot(grid[i], sharex=top) for i in range(1, panels))


def _place_axes(fig: Any, ax: Any, below: Sequence[Any] = ()) -> None:
    """Leave room around the axes for the labels, without a layout engine's extra draw.

    Only the y tick labels vary in width (``0.001`` or ``0.00012``): they are measured as text. The
    rest has a fixed size in a figure of fixed size. Panels ``below`` the axes share its left edge.
    """
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    labels = []
    for each in (ax, *below):
        low, high = each.get_ylim()
        formatter = each.yaxis.get_major_formatter()
        labels += [formatter(value, i) for i, value in enumerate(each.get_yticks()) if low <= value <= high]
    renderer = fig.canvas.get_renderer()
    font = FontProperties(size=rcParams["ytick.labelsize"])
    pixels = max(
        (renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in labels), default=0
    )
    width, height = fig.get_size_inches()
    top = _TOP_AXIS_INCHES if ax.child_axes else _TITLE_INCHES  # the epoch axis sits on top
    twin = len(fig.axes) > 1 + len(below)  # a right-hand axis (the ramped batch)
    right = _RIGHT_INCHES + (_TWIN_INCHES if twin else 0.0)
    fig.subplots_adjust(
        left=(_LEFT_INCHES + pixels / fig.dpi) / width,
        right=1 - right / width,
        bottom=_BOTTOM_INCHES / height,
        top=1 - top / height,
        hspace=0.08,
    )


def _pixel_columns(fig: Any) -> int:
    """The figure's width in pixels: no curve needs more columns than that."""
    return int(fig.get_figwidth() * fig.dpi)


def _mark_epochs(ax: Any, spec: Spec) -> None:
    per_epoch = spec.steps_per_epoch
    boundaries = np.arange(per_epoch, spec.total_steps, per_epoch)
    if len(boundaries) == 0:
        return
    every = -(-len(boundaries) // _MAX_EPOCH_LINES)
    # one collection of lines, not an axvline (a Line2D artist) per boundary
    lines = boundaries[every - 1 :: every]
    ax.vlines(lines, 0, 1, transform=ax.get_xaxis_transform(), colors="0.85", linewidths=0.6, zorder=0)
    top = ax.secondary_xaxis("top", functions=(lambda s: s / per_epoch, lambda e: e * per_epoch))
    note = "epoch (grey lines: epoch boundaries)" if every == 1 else f"epoch (grey lines: every {every})"
    top.set_xlabel(note)


_X_LABELS = {"steps": "optimizer step", "samples": "samples consumed", "tokens": "tokens consumed"}


def _three_digits() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:.3g}")


def _finish(
    fig: Any, ax: Any, path: Path, *, xmax: int, ymax: float, x: XAxis = "steps", below: Sequence[Any] = ()
) -> None:
    from matplotlib.ticker import FuncFormatter

    bottom = below[-1] if below else ax
    bottom.set_xlabel(_X_LABELS[x])
    for upper in [ax, *below][:-1]:
        upper.tick_params(labelbottom=False)
    if x != "steps":
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _si(value)))
    ax.set_ylabel("learning rate")
    ax.set_xlim(0, max(xmax, 1))
    ax.set_ylim(0, ymax * 1.2 or 1.0)  # headroom: the legend sits above the highest LR
    ax.yaxis.set_major_formatter(_three_digits())
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    _place_axes(fig, ax, below)
    fig.savefig(path)
