"""Comparing two specs the way a reviewer reads a schedule change: which fields changed, how the
step counts moved, and where the two LR curves differ most.

>>> difference = diff_specs(old, new)                    # doctest: +SKIP
>>> print(difference.render("HEAD:conf/run.yaml", "conf/run.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from confsched.curve import lr_curve
from confsched.plot import Curve, plot_overlay
from confsched.spec.root import Spec

__all__ = ["Change", "LRDifference", "SpecDiff", "diff_specs"]

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
class SpecDiff:
    """Everything :func:`diff_specs` found, with the two specs it compared."""

    old: Spec
    new: Spec
    changes: tuple[Change, ...]
    largest: LRDifference | None
    """``None`` when the specs share no group name (nothing to compare step by step)."""

    @property
    def common_steps(self) -> int:
        """Steps both runs train: the range the LR difference is measured over."""
        return min(self.old.total_steps, self.new.total_steps)

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
        return plot_overlay(curves, path, title, gap=gap)


def diff_specs(old: Spec, new: Spec) -> SpecDiff:
    """Compare two validated specs field by field and step by step."""
    before = dict(_flatten(old.to_config()))
    after = dict(_flatten(new.to_config()))
    changes = tuple(
        Change(path, before.get(path, ABSENT), after.get(path, ABSENT))
        for path in [*before, *(p for p in after if p not in before)]
        if before.get(path, ABSENT) != after.get(path, ABSENT)
    )
    return SpecDiff(old, new, changes, _largest(old, new))


def _largest(old: Spec, new: Spec) -> LRDifference | None:
    groups = [name for name in old.group_names if name in new.group_names]
    if not groups:
        return None
    steps = min(old.total_steps, new.total_steps)
    a = lr_curve(old, steps)[:, [old.group_names.index(g) for g in groups]]
    b = lr_curve(new, steps)[:, [new.group_names.index(g) for g in groups]]
    gap = np.abs(a - b)
    step, column = np.unravel_index(int(np.argmax(gap)), gap.shape)
    return LRDifference(
        float(gap[step, column]), int(step), groups[column], float(a[step, column]), float(b[step, column])
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
