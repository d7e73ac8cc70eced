"""Comparing two specs the way a reviewer reads a schedule change: which fields changed, how the
step counts moved, where the two LR curves part and where they differ most, and, when the second
continues the first (a ``continuation`` section), the LR jump at the resume point.

>>> difference = diff_specs(old, new)                    # doctest: +SKIP
>>> print(difference.render("HEAD:conf/run.yaml", "conf/run.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from confsched.continuation import Jump, lr_at, planned_point, resume_jump
from confsched.curve import lr_curve
from confsched.plot import Curve, plot_overlay
from confsched.spec.duration import parse_duration
from confsched.spec.root import Spec

__all__ = ["Change", "LRDifference", "Parting", "SpecDiff", "diff_specs"]

ABSENT = "(absent)"


@dataclass(frozen=True)
class Change:
    """One field that differs: its dotted path and the value on each side (``ABSENT`` if missing)."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class LRDifference:
    """The largest absolute LR difference between the two curves, over the steps both runs train."""

    value: float
    step: int
    group: str
    old: float
    new: float


@dataclass(frozen=True)
class Parting:
    """The first step of the first run at which the second run's LR differs (in some group)."""

    step: int
    samples: int
    group: str
    old: float
    new: float


@dataclass(frozen=True)
class SpecDiff:
    """Everything :func:`diff_specs` found, with the two specs it compared."""

    old: Spec
    new: Spec
    changes: tuple[Change, ...]
    largest: LRDifference | None
    """``None`` when the specs share no group name (nothing to compare step by step)."""
    parting: Parting | None = None
    """Where the schedules part, over the first run; ``None`` if they never do (or share no group).
    Runs counted in samples are compared at equal samples consumed, so another batch does not part
    them."""
    resume: Jump | None = None
    """The LRs at the resume point when ``new`` continues ``old`` (``new.continuation``)."""

    @property
    def common_steps(self) -> int:
        """Steps of the first run that both runs train: the range the LRs are compared over (at
        equal samples consumed when both runs count samples, else at equal steps)."""
        return len(_common_steps(self.old, self.new))

    def render(self, old_label: str, new_label: str) -> str:
        """The text report: changed fields, step counts, the largest LR difference."""
        lines = [f"--- {old_label}", f"+++ {new_label}"]
        if self.changes:
            lines.append("changed fields:")
            lines += [f"  {c.path}: {_text(c.old)} -> {_text(c.new)}" for c in self.changes]
        else:
            lines.append("no field changed")
        old, new = self.old, self.new
        lines.append(f"total steps: {old.total_steps} -> {new.total_steps}")
        if old.plan != new.plan:
            lines += [f"  old: {old.plan.explain()}", f"  new: {new.plan.explain()}"]
        lines.append(f"warmup steps: {old.warmup_steps} -> {new.warmup_steps}")
        lines.append(self._parting_line())
        if self.resume is not None:
            lines.append(f"continuation: {self.resume.describe()}")
        largest = self.largest
        if largest is None:
            lines.append("largest LR difference: the specs share no parameter group")
        elif largest.value == 0:
            lines.append(f"largest LR difference: none, the curves are equal over {self.common_steps} steps")
        else:
            lines.append(
                f"largest LR difference: {largest.value:.6g} at step {largest.step}, "
                f"group {largest.group} ({largest.old:.6g} -> {largest.new:.6g}; "
                f"over the {self.common_steps} steps both runs train)"
            )
        return "\n".join(lines)

    @property
    def identical(self) -> bool:
        """Whether the two schedules are the same: the same groups, the same number of steps, and
        bit-equal LRs at every step of every group (the fields may still differ, e.g. a comment-like
        knob that changes nothing, or ``lr`` with ``absolute`` LRs)."""
        return (
            self.parting is None
            and self.largest is not None
            and self.old.group_names == self.new.group_names
            and self.old.total_steps == self.new.total_steps
        )

    def _parting_line(self) -> str:
        part = self.parting
        if part is None and self.identical:
            return (
                f"the schedules are identical: every group's LR is equal at each of the "
                f"{self.common_steps} steps"
            )
        if part is None:
            return f"the schedules do not part over the {self.common_steps} steps both runs train"
        at = f"step {part.step}" + (f" ({part.samples} samples)" if self.old.plan.counts_samples else "")
        return f"the schedules part at {at}: group {part.group} {part.old:.6g} -> {part.new:.6g}"

    def plot(self, path: str | Path, old_label: str, new_label: str) -> Path:
        """Overlay both curves (a colour per group; old solid, new dashed), mark the largest gap."""
        names = list(dict.fromkeys([*self.old.group_names, *self.new.group_names]))
        colors = {name: f"C{i % 10}" for i, name in enumerate(names)}
        curves = [
            Curve(f"{label}: {name}", values[:, i], style, colors[name])
            for label, spec, style in ((old_label, self.old, "-"), (new_label, self.new, "--"))
            for values in [lr_curve(spec)]
            for i, name in enumerate(spec.group_names)
        ]
        gap = None
        if self.largest is not None and self.largest.value > 0:
            big = self.largest
            gap = (big.step, big.old, big.new, f"largest |ΔLR| {big.value:.3g} at step {big.step}")
        title = f"{old_label} (solid) vs {new_label} (dashed)"
        if self.identical:
            title += ": identical schedules"
        parting = None
        if self.parting is not None:
            parting = (self.parting.step, f"the schedules part: step {self.parting.step}")
        return plot_overlay(curves, path, title, gap=gap, parting=parting)


def diff_specs(old: Spec, new: Spec) -> SpecDiff:
    """Compare two validated specs field by field and step by step."""
    before = dict(_flatten(old.to_config()))
    after = dict(_flatten(new.to_config()))
    changes = tuple(
        Change(path, before.get(path, ABSENT), after.get(path, ABSENT))
        for path in [*before, *(p for p in after if p not in before)]
        if before.get(path, ABSENT) != after.get(path, ABSENT)
        and {before.get(path, ABSENT), after.get(path, ABSENT)} != {None, ABSENT}  # an unset section
    )
    resume = resume_jump(old, new, planned_point(old, new)) if new.continuation is not None else None
    largest, parting = _compare(old, new)
    return SpecDiff(old, new, changes, largest, parting, resume)


def _common_steps(old: Spec, new: Spec) -> npt.NDArray[np.int64]:
    """The steps of ``old`` both runs train: until ``new``'s budget when both count samples."""
    if old.plan.counts_samples and new.plan.counts_samples:
        end = old.plan.steps(parse_duration(f"{new.plan.total_samples} sp"))
        return np.arange(min(end, old.total_steps), dtype=np.int64)
    return np.arange(min(old.total_steps, new.total_steps), dtype=np.int64)


def _compare(old: Spec, new: Spec) -> tuple[LRDifference | None, Parting | None]:
    """The largest LR difference and the first step where the LRs differ, over the steps of ``old``
    that both runs train: at the same samples when both count samples, else at the same step."""
    groups = [name for name in old.group_names if name in new.group_names]
    if not groups:
        return None, None
    steps = _common_steps(old, new)
    samples = old.plan.consumed_samples(steps)
    a = lr_at(old, steps, samples)[:, [old.group_names.index(g) for g in groups]]
    b = lr_at(new, steps, samples)[:, [new.group_names.index(g) for g in groups]]
    if len(steps) == 0:
        return LRDifference(0.0, 0, groups[0], 0.0, 0.0), None
    gap = np.abs(a - b)
    step, column = np.unravel_index(int(np.argmax(gap)), gap.shape)
    largest = LRDifference(
        float(gap[step, column]), int(step), groups[column], float(a[step, column]), float(b[step, column])
    )
    differs = np.nonzero((a != b).any(axis=1))[0]
    if len(differs) == 0:
        return largest, None
    first = int(differs[0])
    col = int(np.argmax(a[first] != b[first]))
    return largest, Parting(
        first, int(samples[first]), groups[col], float(a[first, col]), float(b[first, col])
    )


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _text(value: Any) -> str:
    return value if value is ABSENT else repr(value)
