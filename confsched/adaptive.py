"""Metric-driven schedules as pure Python state machines (no torch).

``reduce_lr_on_plateau`` and ``greedy`` are not functions of the step: each metric update moves a
small state (best metric so far, counters) and may change the group LRs. A policy is a frozen
dataclass of knobs; :meth:`~MetricPolicy.start` gives a fresh :class:`MetricState` and
:meth:`~MetricPolicy.update` advances it by one metric, exactly as ``torch``'s
``ReduceLROnPlateau`` and ``transformers``' ``GreedyLR`` do (same comparisons, same order of
floating point operations). The torch adapter and :func:`confsched.lr_curve` share these.

A metric-driven family may also carry a step-driven factor (a warmup before the plateau, or the
other members of a ``chain``): :class:`WithFactor`. The LR of group :math:`g` is then its policy LR
times the factor at the step count, which ``scheduler.step()`` advances (torch's
``ReduceLROnPlateau`` and a ``LambdaLR`` stepping the same optimizer: their factors multiply).

Improvement test, with threshold :math:`\\theta` and best metric :math:`b`:
``min``/``rel``: :math:`x < b (1 - \\theta)`; ``min``/``abs``: :math:`x < b - \\theta`;
``max``/``rel``: :math:`x > b (1 + \\theta)`; ``max``/``abs``: :math:`x > b + \\theta`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from confsched.schedules import Schedule

__all__ = ["GreedyPolicy", "MetricPolicy", "MetricState", "PlateauPolicy", "WithFactor", "step_factor"]


@dataclass
class MetricState:
    """The mutable state of a metric-driven schedule; ``lrs`` are the current group LRs."""

    lrs: list[float]
    initial_lrs: list[float]
    best: float
    updates: int = 0
    num_bad: int = 0
    num_good: int = 0
    cooldown_counter: int = 0
    increase_counter: int = 0
    reset_start: int = 0
    window: list[float] = field(default_factory=list)
    window_sum: float = 0.0
    min_lrs: list[float] = field(default_factory=list)
    """Per-column floors (plateau's ``min_lr`` list); empty: the policy's one ``min_lr``."""

    def to_dict(self) -> dict[str, Any]:
        """A plain-data copy for ``state_dict()``."""
        return asdict(self)


class MetricPolicy(Protocol):
    """What the torch adapter and ``lr_curve`` need from a metric-driven family."""

    def start(self, base_lrs: list[float], groups: Sequence[str] | None = None) -> MetricState:
        """A fresh state for columns (param groups) at ``base_lrs``; ``groups`` names each
        column's LR group (for per-group knobs)."""
        ...

    def update(self, state: MetricState, metric: float) -> None: ...


@dataclass(frozen=True)
class WithFactor:
    """A metric policy whose LRs are multiplied by a step-driven ``factor`` (see the module
    docstring); it updates exactly as ``policy`` does."""

    policy: MetricPolicy
    factor: Schedule

    def start(self, base_lrs: list[float], groups: Sequence[str] | None = None) -> MetricState:
        return self.policy.start(base_lrs, groups)

    def update(self, state: MetricState, metric: float) -> None:
        self.policy.update(state, metric)


def step_factor(policy: object) -> Schedule | None:
    """The step-driven factor of a metric policy (:class:`WithFactor`), else ``None``."""
    return policy.factor if isinstance(policy, WithFactor) else None


def _is_better(mode: str, threshold_mode: str, threshold: float, current: float, best: float) -> bool:
    if mode == "min" and threshold_mode == "rel":
        return current < best * (1.0 - threshold)
    if mode == "min":
        return current < best - threshold
    if threshold_mode == "rel":
        return current > best * (threshold + 1.0)
    return current > best + threshold


def _worst(mode: str) -> float:
    return math.inf if mode == "min" else -math.inf


@dataclass(frozen=True)
class PlateauPolicy:
    """``reduce_lr_on_plateau``: after more than ``patience`` updates without improvement,
    :math:`\\eta_g \\leftarrow \\max(\\eta_g f, \\eta_{min})` (skipped when the change is below ``eps``),
    then wait ``cooldown`` updates. ``min_lrs`` gives some LR groups their own floor (torch's
    ``min_lr`` list); the others floor at ``min_lr``."""

    mode: Literal["min", "max"]
    factor: float
    patience: int
    threshold: float
    threshold_mode: Literal["rel", "abs"]
    cooldown: int
    min_lr: float
    eps: float
    min_lrs: tuple[tuple[str, float], ...] = ()

    def start(self, base_lrs: list[float], groups: Sequence[str] | None = None) -> MetricState:
        floors = dict(self.min_lrs)
        min_lrs = [floors.get(g, self.min_lr) for g in groups] if floors and groups is not None else []
        return MetricState(
            lrs=list(base_lrs), initial_lrs=list(base_lrs), best=_worst(self.mode), min_lrs=min_lrs
        )

    def update(self, state: MetricState, metric: float) -> None:
        current = float(metric)
        state.updates += 1
        if _is_better(self.mode, self.threshold_mode, self.threshold, current, state.best):
            state.best = current
            state.num_bad = 0
        else:
            state.num_bad += 1
        if state.cooldown_counter > 0:
            state.cooldown_counter -= 1
            state.num_bad = 0
        if state.num_bad > self.patience:
            if state.min_lrs and len(state.min_lrs) != len(state.lrs):
                raise RuntimeError(  # torch's ReduceLROnPlateau with a min_lr list does the same
                    f"The number of param groups in the optimizer ({len(state.lrs)}) differs from "
                    f"the number of min_lr floors ({len(state.min_lrs)}): a group added while training "
                    "has no floor of its own; give min_lr as one number"
                )
            for i, old in enumerate(state.lrs):
                new = max(old * self.factor, state.min_lrs[i] if state.min_lrs else self.min_lr)
                if old - new > self.eps:
                    state.lrs[i] = new
            state.cooldown_counter = self.cooldown
            state.num_bad = 0


@dataclass(frozen=True)
class GreedyPolicy:
    """``greedy`` (GreedyLR): after more than ``patience`` improving updates
    :math:`\\eta_g \\leftarrow \\min(\\eta_g / f, \\eta_{max})`, after more than ``patience``
    non-improving ones :math:`\\eta_g \\leftarrow \\max(\\eta_g f, \\eta_{min})`; ``reset_start``
    reductions with every group at the floor restore the initial state."""

    mode: Literal["min", "max"]
    factor: float
    patience: int
    threshold: float
    threshold_mode: Literal["rel", "abs"]
    cooldown: int
    increase_cooldown: int
    min_lr: float
    max_lr: float
    eps: float
    smooth: bool
    window_size: int
    reset_start: int

    def start(self, base_lrs: list[float], groups: Sequence[str] | None = None) -> MetricState:
        return MetricState(
            lrs=list(base_lrs),
            initial_lrs=list(base_lrs),
            best=_worst(self.mode),
            reset_start=self.reset_start,
        )

    def _smoothed(self, state: MetricState, value: float) -> float:
        state.window.append(value)
        state.window_sum += value
        if len(state.window) > self.window_size:
            state.window_sum -= state.window.pop(0)
        return state.window_sum / len(state.window)

    def update(self, state: MetricState, metric: float) -> None:
        current = float(metric)
        if self.smooth:
            current = self._smoothed(state, current)
        state.updates += 1
        if state.cooldown_counter > 0:
            state.cooldown_counter -= 1
            state.num_bad = state.num_good = 0
            return
        if state.increase_counter > 0:
            state.increase_counter -= 1
            state.num_bad = state.num_good = 0
            return
        if _is_better(self.mode, self.threshold_mode, self.threshold, current, state.best):
            state.best = current
            state.num_bad = 0
            state.num_good += 1
        else:
            state.num_bad += 1
            state.num_good = 0
        if state.num_good > self.patience:
            self._increase(state)
            state.increase_counter = self.increase_cooldown
            state.num_good = 0
        elif state.num_bad > self.patience:
            self._reduce(state)
            state.cooldown_counter = self.cooldown
            state.num_bad = 0

    def _increase(self, state: MetricState) -> None:
        for i, old in enumerate(state.lrs):
            new = min(old / self.factor, self.max_lr)
            if new - old > self.eps:
                state.lrs[i] = new
        state.reset_start = self.reset_start

    def _reduce(self, state: MetricState) -> None:
        all_at_min = True
        for i, old in enumerate(state.lrs):
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                state.lrs[i] = new
            if state.lrs[i] > self.min_lr:
                all_at_min = False
        if all_at_min:
            state.reset_start -= 1
            if state.reset_start <= 0:
                self._reset(state)

    def _reset(self, state: MetricState) -> None:
        state.lrs = list(state.initial_lrs)
        state.best = _worst(self.mode)
        state.num_bad = state.num_good = 0
        state.cooldown_counter = state.increase_counter = 0
        state.reset_start = self.reset_start
        state.window = []
        state.window_sum = 0.0
