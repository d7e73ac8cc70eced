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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from confsched.curve import lr_curve
from confsched.errors import SpecError
from confsched.outputs import replacing
from confsched.spec.root import Spec
from confsched.table import TIME_COLUMNS, read_csv, scheduled_quantities, write_csv
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

_MAX_EPOCH_LINES = 60
# Margins (inches) around the axes, for the labels of a 10 x 5.5 in figure at matplotlib's default
# font sizes: left of the y tick labels (the y label), right, below (x tick labels and label), and
# above (the title; with the epoch axis, its tick labels and label too).
_LEFT_INCHES, _RIGHT_INCHES, _BOTTOM_INCHES, _TITLE_INCHES, _TOP_AXIS_INCHES = 0.42, 0.15, 0.55, 0.4, 0.72
_TWIN_INCHES = 0.75
"""Room for the tick labels and label of a right-hand axis (the global batch of a ramp)."""


@dataclass(frozen=True)
class Curve:
    """One line of an overlay: a label, the LR at steps 0, 1, ..., and an optional line style."""

    label: str
    lrs: FloatArray
    style: str = "-"
    color: str | None = None
    """A matplotlib colour; ``None`` takes the next one of the cycle."""


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


def schedule_title(spec: Spec, curve: FloatArray | None = None) -> str:
    """``cosine · adamw · 1950 steps (50 epochs × 39) · warmup 100 steps``: the figure's title.

    A schedule without a warmup that still rises to its peak (one_cycle over ``pct_start``) says
    ``rises to its peak over N steps``, not ``no warmup``; ``curve`` is ``lr_curve(spec)`` if known.
    """
    plan = spec.plan
    if plan.counts_samples:
        tokens = plan.total_samples * (plan.tokens_per_sample or 0)
        size = f"{_si(tokens)} tokens" if tokens else f"{_si(plan.total_samples)} samples"
        length = f"{spec.total_steps} steps ({size}{', batch ramp' if plan.ramps else ''})"
    elif plan.max_steps is not None:
        length = f"{_count(spec.total_steps, 'step')} (max_steps)"
    else:
        epochs = _count(plan.epochs or 0, "epoch")
        length = f"{_count(spec.total_steps, 'step')} ({epochs} × {spec.steps_per_epoch})"
    warmup = f"warmup {spec.warmup_steps} steps" if spec.warmup_steps else "no warmup"
    if not spec.warmup_steps and spec.family.driven_by == "step":
        lr = (lr_curve(spec) if curve is None else curve)[:, 0]
        peak = int(lr.argmax()) if len(lr) else 0
        if peak > 0 and lr[0] < lr[peak]:
            warmup = f"rises to its peak over {peak} steps"
    return f"{spec.scheduler.name} · {spec.optimizer.name} · {length} · {warmup}"


def _count(n: int, noun: str) -> str:
    """``1 step``, ``1950 steps``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


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
    spec: Spec,
    path: str | Path,
    curve: FloatArray | None = None,
    *,
    x: XAxis = "steps",
    log_y: bool | None = None,
) -> Path:
    """Draw every group's LR over the run and save it to ``path`` (a PNG); below it, a panel per
    other quantity the spec schedules (weight decay, momentum or beta1), with every group.

    ``curve`` is ``lr_curve(spec)`` when the caller has it already. ``x`` is what the x axis counts:
    optimizer steps, or the samples or tokens consumed before each step (the axis a run counted in
    samples is planned on). When the global batch ramps up, it is drawn too, on a right-hand axis.
    ``log_y``: a logarithmic LR axis; ``None`` chooses it when the curve spans more than
    :data:`LOG_DECADES` decades (:func:`wants_log_y`). The :func:`phase_marks` are drawn as labelled
    vertical lines, the epoch boundaries (steps axis) as green lines.
    """
    path = Path(path)
    curve = lr_curve(spec) if curve is None else curve
    panels = scheduled_quantities(spec, len(curve))
    fig, ax, *below = _axes(1 + len(panels))
    xs = x_values(spec, np.arange(len(curve) + 1), x)
    columns = _pixel_columns(fig)
    for i, names in _shared_lines(curve, spec.group_names):
        label = f"{_names(names, len(spec.group_names))} (base lr {spec.group_base_lrs[names[0]]:.3g})"
        ax.plot(*_stairs(curve[:, i], xs, columns), label=label, linewidth=2, drawstyle="steps-post")
    for panel, (_, label, values) in zip(below, panels, strict=True):
        _draw_quantity(panel, spec, label, values, xs, columns)
    if x == "steps" and not spec.plan.counts_samples:
        _mark_epochs(ax, spec)
    if spec.family.driven_by == "step" and len(curve):
        _draw_marks(ax, below, phase_marks(spec, curve), xs)
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
    ax.set_title(schedule_title(spec, curve))
    log = wants_log_y(curve) if log_y is None else log_y
    _finish(
        fig,
        ax,
        path,
        xmax=int(xs[-1]),
        ymax=float(curve.max(initial=0.0)),
        x=x,
        below=below,
        log_y=log,
        ylow=_smallest_positive(curve) if log else 0.0,
    )
    return path


LOG_DECADES = 3.0
"""``plot`` draws the LR axis logarithmic by itself when the largest LR is more than
``10 ** LOG_DECADES`` times the smallest positive one (a linear axis would show the tail as 0)."""


def _smallest_positive(curve: FloatArray) -> float:
    positive = curve[curve > 0]
    return float(positive.min()) if positive.size else 0.0


_LOG_QUANTILE = 0.05
_LOG_SAMPLE = 1_000_000


def wants_log_y(curve: FloatArray) -> bool:
    """Whether the LR spans more than :data:`LOG_DECADES` decades over most of the run:
    ``max(lr) > 10 ** LOG_DECADES * q`` where ``q`` is the 5% quantile of the positive LRs (every
    group, every step). A curve that is small only briefly (a warmup from 0, the last steps of a
    decay to 0) stays on a linear axis, where it reads best; one that spends a tenth of the run
    three decades down (multistep, exponential) gets a log axis."""
    values = curve.ravel()
    values = values[:: max(1, values.size // _LOG_SAMPLE)]  # a 10M-step curve: every 10th value
    positive = values[values > 0]
    if positive.size == 0:
        return False
    low = float(np.quantile(positive, _LOG_QUANTILE, method="lower"))
    return bool(positive.max() > low * 10**LOG_DECADES)


@dataclass(frozen=True)
class Mark:
    """A labelled step of the schedule: ``kind`` is ``warmup``, ``peak``, ``decay``, ``restart`` or
    ``milestone``; ``text`` is the label drawn beside the line."""

    step: int
    kind: str
    text: str


_MAX_MARKS = 40
"""Marks drawn at most (a StepLR cut every epoch of a long run); the first ones carry labels."""
_LABELLED = 6
_JUMP_RATIO = 0.05
"""A jump changes the LR by more than this fraction of its level..."""
_JUMP_CONTRAST = 10.0
"""... and by more than this many times the change of the step before and of the step after: a
smooth schedule's steps change about as much as their neighbours (a cosine's last steps to 0 too)."""


_BLOCK = 1 << 20
"""Steps examined at a time by :func:`_changes`: a 10M-step curve needs a few
blocks' worth of temporaries, not a few copies of the curve."""
_MAX_TURNS = 1000


def _changes(lr: FloatArray, span: float) -> tuple[IntArray, IntArray]:
    """``(jumps, rises)`` of ``lr``, in one pass a block at a time.

    - ``jumps``: the steps ``k`` where ``lr[k]`` jumps from ``lr[k - 1]``: by more than
      :data:`_JUMP_RATIO` of the level and :data:`_JUMP_CONTRAST` times the change of the step before
      and of the step after;
    - ``rises``: the first step of each rise after a fall (a warm restart with its own warmup, a
      cycle) that climbs more than a tenth of the curve's range before the next rise; none if the
      curve turns up more than :data:`_MAX_TURNS` times (noise). Steps without change between the
      fall and the rise are skipped over.
    """
    n = len(lr)
    jumps: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    turns: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    count = 0
    for start in range(0, n - 1, _BLOCK):
        low = max(start - 1, 0)  # one change before the block and one after: its neighbours
        piece = lr[low : start + _BLOCK + 2]
        change = np.diff(piece)  # change[i] = lr[low + i + 1] - lr[low + i]
        size = np.abs(change)
        neighbours = np.zeros_like(size)
        np.maximum(size[:-2], size[2:], out=neighbours[1:-1])
        neighbours[0] = size[1] if len(size) > 1 else 0.0
        neighbours[-1] = max(neighbours[-1], size[-2]) if len(size) > 1 else 0.0
        level = np.maximum(piece[:-1], piece[1:])
        found = np.flatnonzero((size > _JUMP_RATIO * level) & (size > _JUMP_CONTRAST * neighbours)) + low + 1
        jumps.append(found[(found > start) & (found <= start + _BLOCK)].astype(np.int64))
        rising = change[1:] > 0
        after_fall = np.flatnonzero(rising & (change[:-1] < 0)) + low + 1
        after_flat = np.flatnonzero(rising & (change[:-1] == 0)) + low + 1
        if len(after_flat) > _MAX_TURNS:
            return np.concatenate(jumps), np.zeros(0, dtype=np.int64)
        fell = [k for k in after_flat.tolist() if _fell_before(lr, k)]
        found = np.union1d(after_fall, np.asarray(fell, dtype=np.int64))
        found = found[(found >= start) & (found < start + _BLOCK)]  # index k: lr[k + 1] > lr[k]
        count += len(found)
        if count > _MAX_TURNS:
            return np.concatenate(jumps), np.zeros(0, dtype=np.int64)
        turns.append(found.astype(np.int64))
    starts = np.concatenate(turns)
    if len(starts) == 0:
        return np.concatenate(jumps), starts
    climbs = np.maximum.reduceat(lr, starts) - lr[starts]  # up to the next rise (or the end)
    kept = starts[climbs > 0.1 * span]
    # the trough starts the cycle; a jump straight up starts it one step later (the higher step)
    up = lr[kept + 1] - lr[kept]
    fall = np.abs(lr[kept] - lr[np.maximum(kept - 1, 0)])
    return np.concatenate(jumps), (kept + (up > _JUMP_CONTRAST * fall)).astype(np.int64)


def _fell_before(lr: FloatArray, k: int) -> bool:
    """Whether the last change of ``lr`` before step ``k`` that is not 0 is a fall (looked for in
    windows growing 16-fold, so a short plateau costs a short look)."""
    window = 256
    while True:
        before = lr[max(k - window, 0) : k][::-1]  # lr[k - 1], lr[k - 2], ...
        differs = before != lr[k]
        if differs.any():
            return bool(before[int(differs.argmax())] > lr[k])
        if window >= k:
            return False
        window *= 16


def phase_marks(spec: Spec, curve: FloatArray | None = None) -> list[Mark]:
    """Where the schedule changes phase, read off the first group's curve (every family alike):

    - ``warmup``: ``spec.warmup_steps``, when there is a warmup;
    - ``peak``: the first step at the maximum, for a schedule that rises to it without a warmup
      (one_cycle's pct_start);
    - ``decay``: the last step of a plateau at the maximum longer than 1% of the run, when the LR
      falls after it (WSD's stable -> decay, a hold, a constant phase);
    - ``restart``: a step where the LR jumps up (:func:`_jumps`: by more than 5% of its level and
      ten times the change of the steps around it);
    - ``milestone``: a step where it jumps down (step, multistep, sequential, phases).
    """
    curve = lr_curve(spec) if curve is None else curve
    lr = np.asarray(curve[:, 0] if curve.ndim == 2 else curve, dtype=np.float64)
    n = len(lr)
    marks: list[Mark] = []
    if n < 2:
        return marks
    warmup = spec.warmup_steps
    if 0 < warmup < n:
        marks.append(Mark(warmup, "warmup", f"warmup ends: step {warmup}"))
    first_top = int(lr.argmax())  # the first step at the maximum
    top, low = float(lr[first_top]), float(lr.min())
    span = top - low
    if span <= 0:
        return marks
    jumps, rises = _changes(lr, span)
    if not warmup and first_top > 0 and lr[0] < top:
        marks.append(Mark(first_top, "peak", f"peak: step {first_top}"))
    below = lr[first_top:] != top  # argmax of booleans stops at the first True
    plateau_end = first_top + int(below.argmax()) if below.any() else n
    if plateau_end - first_top > max(n // 100, 1) and plateau_end < n and plateau_end not in jumps:
        marks.append(Mark(plateau_end, "decay", f"decay starts: step {plateau_end}"))
    taken = {m.step for m in marks} | {warmup}
    for step in np.union1d(jumps, rises).tolist():
        if step in taken:
            continue
        if step in rises or lr[step] > lr[step - 1]:
            marks.append(Mark(step, "restart", f"restart: step {step}"))
        else:
            marks.append(Mark(step, "milestone", f"x{lr[step] / lr[step - 1]:.3g}: step {step}"))
    return sorted(marks, key=lambda m: m.step)


_MARK_COLORS = {
    "warmup": "tab:red",
    "peak": "tab:red",
    "decay": "tab:purple",
    "restart": "tab:brown",
    "milestone": "tab:brown",
}


def _draw_marks(ax: Any, below: Sequence[Any], marks: list[Mark], xs: IntArray) -> None:
    """A dashed vertical line per mark across every panel, and its label on the LR panel (the
    first :data:`_LABELLED`; the rest are counted in the last label)."""
    shown = marks[:_MAX_MARKS]
    for i, mark in enumerate(shown):
        at = xs[min(mark.step, len(xs) - 1)]
        color = _MARK_COLORS[mark.kind]
        for each in (ax, *below):
            each.axvline(at, color=color, linestyle="--", linewidth=1.1, alpha=0.9)
        if i < _LABELLED:
            more = len(marks) - _LABELLED
            text = mark.text + (f" (+{more} more)" if i == _LABELLED - 1 and more > 0 else "")
            right = at > 0.75 * xs[-1]  # near the right edge: the label goes left of its line
            ax.annotate(
                f"{text} " if right else f" {text}",
                xy=(at, 0.98 - 0.06 * (i % 4)),
                ha="right" if right else "left",
                xycoords=("data", "axes fraction"),
                va="top",
                fontsize=8.5,
                color=color,
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
            )


def _shared_lines(values: FloatArray, names: Sequence[str]) -> list[tuple[int, list[str]]]:
    """``(column, group names)`` per distinct column of ``values``: groups whose values are equal at
    every step share one line (drawn once, so no line hides another) and one legend entry."""
    lines: list[tuple[int, list[str]]] = []
    for i, name in enumerate(names):
        same = next((line for line in lines if np.array_equal(values[:, line[0]], values[:, i])), None)
        if same is None:
            lines.append((i, [name]))
        else:
            same[1].append(name)
    return lines


def _names(names: list[str], groups: int) -> str:
    """``head``, ``default, head``, ``every group (8)``, ``g0, ..., g6 (7 groups)``."""
    if len(names) == groups > 1:
        return f"every group ({groups})"
    return ", ".join(names) if len(names) <= 3 else f"{names[0]}, ..., {names[-1]} ({len(names)} groups)"


def _stairs(values: FloatArray, xs: IntArray, columns: int) -> tuple[IntArray, FloatArray]:
    """What to draw with ``drawstyle="steps-post"``: the :func:`envelope` of ``values``, and the
    last value once more at the end of its step, so that step ``k`` covers ``[x(k), x(k + 1))`` and
    the last step (the only one, in a one-step run) shows."""
    steps, drawn = envelope(values, columns)
    if len(values) == 0:
        return xs[:0], drawn
    return np.append(xs[steps], xs[len(values)]), np.append(drawn, drawn[-1])


def _draw_quantity(ax: Any, spec: Spec, label: str, values: FloatArray, xs: IntArray, columns: int) -> None:
    """A panel under the LR: one line per group whose values differ from the lines drawn before
    (groups with equal values share a line and a legend entry)."""
    for i, names in _shared_lines(values, spec.group_names):
        shown = _names(names, len(spec.group_names))
        ax.plot(*_stairs(values[:, i], xs, columns), label=shown, linewidth=1.8, drawstyle="steps-post")
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
    parting: tuple[int, str] | None = None,
    log_y: bool | None = None,
) -> Path:
    """Draw several curves on one axis (a sweep's runs, the two sides of a diff) into ``path``.

    ``gap`` is an optional ``(step, lr_a, lr_b, text)`` to mark, e.g. the largest difference.
    ``layered`` draws earlier curves wider, so a curve exactly covered by a later one still shows.
    ``parting`` is an optional ``(step, text)``: a dotted line where the curves start to differ.
    ``log_y`` as in :func:`plot_schedule` (``None``: by the span of all the curves).
    """
    path = Path(path)
    fig, ax = _axes()
    length = max((len(c.lrs) for c in curves), default=1)
    columns = _pixel_columns(fig)
    for i, curve in enumerate(curves):
        width = 1.5 + 2.5 * (len(curves) - 1 - i) / max(len(curves) - 1, 1) if layered else 1.8
        ax.plot(
            *_stairs(curve.lrs, np.arange(len(curve.lrs) + 1, dtype=np.int64), columns),
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
    if parting is not None:
        step, text = parting
        ax.axvline(step, color="black", linestyle=":", linewidth=1.2)
        ax.annotate(f" {text}", xy=(step, 0.02), xycoords=("data", "axes fraction"), va="bottom", fontsize=9)
    every = np.concatenate([c.lrs for c in curves]) if curves else np.zeros(0)
    ymax = float(every.max(initial=0.0))
    log = wants_log_y(every) if log_y is None else log_y
    _finish(fig, ax, path, xmax=length, ymax=ymax, log_y=log, ylow=_smallest_positive(every) if log else 0.0)
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
        (renderer.get_text_width_height_descent(t, font, ismath=t.startswith("$"))[0] for t in labels),
        default=0,
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


EPOCH_COLOR = "tab:green"
"""The epoch boundaries' colour: not the grey of the grid."""


def _mark_epochs(ax: Any, spec: Spec) -> None:
    per_epoch = spec.steps_per_epoch
    boundaries = np.arange(per_epoch, spec.total_steps, per_epoch)
    if len(boundaries) == 0:
        return
    every = -(-len(boundaries) // _MAX_EPOCH_LINES)
    # one collection of lines, not an axvline (a Line2D artist) per boundary
    lines = boundaries[every - 1 :: every]
    ax.vlines(
        lines,
        0,
        1,
        transform=ax.get_xaxis_transform(),
        colors=EPOCH_COLOR,
        linewidths=0.7,
        alpha=0.5,
        zorder=0,
    )
    top = ax.secondary_xaxis("top", functions=(lambda s: s / per_epoch, lambda e: e * per_epoch))
    note = "epoch (green lines: epoch boundaries)" if every == 1 else f"epoch (green lines: every {every})"
    top.set_xlabel(note)


_X_LABELS = {"steps": "optimizer step", "samples": "samples consumed", "tokens": "tokens consumed"}


def _three_digits() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:.3g}")


def _finish(
    fig: Any,
    ax: Any,
    path: Path,
    *,
    xmax: int,
    ymax: float,
    x: XAxis = "steps",
    below: Sequence[Any] = (),
    log_y: bool = False,
    ylow: float = 0.0,
) -> None:
    """Label the axes, set their limits (``ylow``: the smallest positive LR, for a log axis) and
    save the figure."""
    from matplotlib.ticker import FuncFormatter

    bottom = below[-1] if below else ax
    bottom.set_xlabel(_X_LABELS[x])
    for upper in [ax, *below][:-1]:
        upper.tick_params(labelbottom=False)
    if x != "steps" or xmax >= 100_000:  # 2.5M, not 0.25 and a "1e7" in the corner
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _si(value)))
    ax.set_ylabel("learning rate")
    ax.set_xlim(0, max(xmax, 1))
    if log_y:
        _log_axis(ax, ymax, ylow or ymax or 1.0)
    else:
        ax.set_ylim(0, ymax * 1.2 or 1.0)  # headroom: the legend sits above the highest LR
        ax.yaxis.set_major_formatter(_three_digits())
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    _place_axes(fig, ax, below)
    save(fig, path)


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG to ``path``, whole or not at all (:func:`confsched.outputs.replacing`)."""
    with replacing(path) as scratch:
        fig.savefig(scratch, format="png")


def _log_axis(ax: Any, ymax: float, low: float) -> None:
    """A logarithmic LR axis from the smallest positive LR drawn (zeros are not drawn) to the top."""
    from matplotlib.ticker import LogFormatterSciNotation

    ax.set_yscale("log")
    ax.set_ylim(low / 2, (ymax or 1.0) * 3)
    ax.yaxis.set_major_formatter(LogFormatterSciNotation())
    ax.set_ylabel("learning rate (log scale)")
