"""The schedules a spec derives besides ``scheduler`` itself, made with the same registry and
:class:`~confsched.families.ScheduleContext` machinery:

- each LR group's own schedule (``group_schedulers.<group>``): its own family, knobs and warmup, and
  an optional frozen start (LR 0 until a step, then the schedule over the rest of the run);
- the weight decay (``weight_decay_scheduler``): a multiplier of each group's ``weight_decay``;
- the momentum or beta1 (``momentum_scheduler``): a multiplier of the optimizer's momentum or
  ``betas[0]``, the same for every group.

A family gives a multiplier whatever it schedules; its absolute knobs (``lr_end``, ``min_lr``,
``max_lr``) are read relative to the quantity's base value, as an LR family reads them relative to
``optimizer.lr``. Nothing here imports torch: the torch adapter writes the values these schedules
give (see :class:`confsched.ScheduledLR`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from confsched.adaptive import MetricPolicy
from confsched.errors import ConfschedError, SpecError, did_you_mean
from confsched.families import FAMILIES, MomentumKey, ScheduleContext, warmup_of
from confsched.schedules import Constant, Scaled, Schedule, WithMomentum, sequence
from confsched.spec import scheduler as s
from confsched.spec.bounds import LIMIT
from confsched.spec.duration import Duration
from confsched.spec.optimizer import OptimizerBase
from confsched.steps import Timeline

__all__ = [
    "QUANTITY_KEYS",
    "RestOfRun",
    "absolute",
    "check_names",
    "check_peak",
    "frozen_then",
    "make_schedule",
    "momentum_base",
    "multiplier_peak",
    "quantity_schedule",
    "rest_of",
]

Made = Schedule | MetricPolicy

QUANTITY_KEYS = ("weight_decay_scheduler", "momentum_scheduler")
"""The spec sections that schedule a quantity other than the LR."""


def make_schedule(
    spec: s.SchedulerBase,
    timeline: Timeline,
    lr: float,
    *,
    momentum_key: MomentumKey | None = None,
    group_lr: float | None = None,
    group_name: str = "default",
    group_names: tuple[str, ...] = ("default",),
    group_base_lrs: tuple[float, ...] = (),
) -> tuple[Made, ScheduleContext]:
    """The family of ``spec`` made for a run on ``timeline`` (steps, or samples for a run counted in
    samples), its warmup resolved and checked, with its context. Errors carry paths inside ``spec``
    (``warmup``, ``decay``); put the section in front."""
    try:
        warmup_steps = warmup_of(spec, timeline)
    except SpecError as error:  # a token count without tokens_per_sample
        raise SpecError(error.path or "warmup", error.message) from None
    if warmup_steps > timeline.total_steps:
        raise SpecError(
            "warmup",
            f"{timeline.describe(spec.warmup)} exceeds the run ({timeline.total_steps} {timeline.unit})",
        )
    context = ScheduleContext(
        plan=timeline,
        warmup_steps=warmup_steps,
        lr=lr,
        warmup_shape=spec.warmup_shape,
        warmup_start=spec.warmup_start,
        momentum_key=momentum_key,
        group_lr=group_lr,
        group_name=group_name,
        group_names=group_names,
        group_base_lrs=group_base_lrs,
    )
    made = FAMILIES[spec.name].build(spec, context)
    if callable(made):
        check_peak(spec, context)
    return made, context


@dataclass(frozen=True)
class RestOfRun:
    """What a frozen start leaves of a run: its last ``total - start`` ticks, durations measured as
    on the whole run (a fraction is a fraction of the run, an epoch an epoch)."""

    unit: ClassVar[str] = "steps"

    timeline: Timeline
    start: int

    @property
    def total_steps(self) -> int:
        """The ticks left after the frozen start."""
        return self.timeline.total_steps - self.start

    def steps(self, duration: Duration) -> int:
        """``duration`` in ticks, as on the whole run."""
        return self.timeline.steps(duration)

    def describe(self, duration: Duration) -> str:
        """``duration`` and its ticks, for a message."""
        return self.timeline.describe(duration)


@dataclass(frozen=True)
class _RestOfSamples(RestOfRun):
    unit: ClassVar[str] = "samples"


def rest_of(timeline: Timeline, start: int) -> Timeline:
    """``timeline`` without its first ``start`` ticks."""
    return (_RestOfSamples if timeline.unit == "samples" else RestOfRun)(timeline, start)


def frozen_then(
    spec: s.SchedulerBase,
    timeline: Timeline,
    start: int,
    lr: float,
    group_lr: float,
    *,
    momentum_key: MomentumKey | None = None,
) -> Schedule:
    r"""A group's own LR multiplier: 0 for the first :math:`S` = ``start`` ticks (steps, or samples
    on a run counted in samples), then ``spec``'s family on its own time, warmup first:

    .. math::

        m_g(k) = \begin{cases} 0 & k < S \\ f(k - S) & k \ge S \end{cases}

    where :math:`f` is the family made for the :math:`T - S` ticks left of the run
    (:func:`rest_of`: its durations keep their meaning on the whole run). Errors carry paths
    inside ``spec``.
    """
    if start >= timeline.total_steps:
        raise SpecError(
            "frozen_until",
            f"{start} {timeline.unit} leaves none of the run ({timeline.total_steps} {timeline.unit}) "
            "to train",
        )
    rest = rest_of(timeline, start)
    made, _ = make_schedule(spec, rest, lr, momentum_key=momentum_key, group_lr=group_lr)
    _step_driven(spec, made, "a group's own schedule")
    if isinstance(made, WithMomentum):
        raise SpecError(
            "cycle_momentum",
            "true: a group's own schedule sets only its LR; the momentum follows the main scheduler "
            "or momentum_scheduler. Set cycle_momentum: false",
        )
    if start == 0:
        return made  # type: ignore[return-value]
    return sequence([(start, Constant(0.0))], made)  # type: ignore[arg-type]


def _step_driven(spec: s.SchedulerBase, made: Made, what: str) -> None:
    if not callable(made):
        raise SpecError(
            "name",
            f"{spec.name} changes the LR from a metric; {what} needs a step-driven family "
            f"(one of: {', '.join(n for n, f in FAMILIES.items() if f.driven_by == 'step')})",
        )


def momentum_base(optimizer: OptimizerBase, key: MomentumKey | None) -> float | None:
    """The optimizer's momentum, or beta1 of its ``betas``; ``None`` when it has neither."""
    if key is None:
        return None
    value = getattr(optimizer, key)
    return float(value[0] if key == "betas" else value)


def quantity_schedule(
    spec: s.SchedulerBase, timeline: Timeline, base: float, name: str, *, momentum_key: MomentumKey | None
) -> tuple[Schedule, float]:
    """The multiplier of a scheduled quantity (``name``, e.g. ``optimizer.weight_decay``, whose value
    is ``base``) and an upper bound of it over the run (:func:`multiplier_peak`).

    Errors carry paths inside ``spec``; messages that speak of ``optimizer.lr`` (the reference of
    the families' absolute knobs) name the quantity instead.
    """
    try:
        made, context = make_schedule(spec, timeline, base, momentum_key=momentum_key)
    except ConfschedError as error:
        raise type(error)(error.path, error.message.replace("optimizer.lr", name)) from None
    _step_driven(spec, made, f"a schedule of {name}")
    if isinstance(made, WithMomentum):
        raise SpecError(
            "cycle_momentum",
            "true: only the LR scheduler's one_cycle cycles the momentum; set cycle_momentum: false",
        )
    return made, multiplier_peak(spec, context)  # type: ignore[return-value]


def absolute(schedule: Schedule, base: float) -> Schedule:
    """``base x schedule(k)``: the values of a quantity scheduled by a multiplier."""
    return Scaled(schedule, base)


# ---- bounds: how high a family's multiplier can go --------------------------------------------


def _growth(rate: float, times: int) -> float:
    """``rate ** times`` for a rate above 1 (``inf`` when it overflows), else 1."""
    if not rate > 1:
        return 1.0
    try:
        return float(rate**times)
    except OverflowError:
        return math.inf


def _exponential_peak(spec: s.ExponentialSpec, ctx: ScheduleContext) -> float:
    if spec.gamma is None:
        return float(spec.final_lr_ratio or 1.0)
    growth = _growth(spec.gamma, ctx.curve_steps)
    return growth if spec.end_lr_ratio is None else min(growth, max(1.0, spec.end_lr_ratio))


_PEAKS: dict[str, Callable[[Any, ScheduleContext], float]] = {
    "one_cycle": lambda sp, ctx: 1.0 if sp.max_lr is None else sp.max_lr / ctx.lr,
    "cyclic": lambda sp, ctx: max(sp.max_lr, sp.base_lr or 0.0) / ctx.lr,
    "sgdr": lambda sp, ctx: max(v for c in sp.cycles for v in (c.start, c.peak, c.end)),
    "tanh": lambda sp, ctx: _growth(sp.cycle_decay, sp.cycle_limit - 1),
    "swalr": lambda sp, ctx: sp.swa_lr / ctx.base_lr,
    "t5_inverse_sqrt": lambda sp, ctx: 1.0 / ctx.base_lr,
    "chain": lambda sp, ctx: _product(multiplier_peak(m, ctx) for m in sp.schedulers),
    "sequential": lambda sp, ctx: max(multiplier_peak(m, ctx) for m in sp.schedulers),
    "piecewise": lambda sp, ctx: max(value for _, value in sp.knots),
    "phases": lambda sp, ctx: max([1.0, *(v for p in sp.phases for v in (p.start, p.end) if v is not None)]),
    "cosine_cycles": lambda sp, ctx: _growth(sp.cycle_decay, sp.cycle_limit - 1),
    "exponential": _exponential_peak,
    "step": lambda sp, ctx: _growth(sp.gamma, ctx.curve_steps // max(1, ctx.plan.steps(sp.step_size))),
    "multistep": lambda sp, ctx: _growth(sp.gamma, len(sp.milestones)),
}
"""Family -> the largest multiplier its knobs allow; families not listed never exceed 1 (their
curves fall from 1, or rise to it during a warmup). ``tests/test_properties.py`` checks every
family's curves against :func:`multiplier_peak`, so a family that can exceed 1 without a row here
fails there."""


def multiplier_peak(spec: s.SchedulerBase, context: ScheduleContext) -> float:
    """An upper bound of the family's multiplier at every step, during the run and after it (the
    absolute LRs of the knobs every family has, and timm's noise, included)."""
    bound = _relative_peak(spec, context)
    absolute = _absolute_lrs(spec)
    if absolute:
        bound = max(bound, max(absolute) / context.base_lr)
    return bound * _noise(spec)


def _relative_peak(spec: s.SchedulerBase, context: ScheduleContext) -> float:
    peak = _PEAKS.get(spec.name)
    return max(1.0, peak(spec, context)) if peak is not None else 1.0


def _absolute_lrs(spec: s.SchedulerBase) -> list[float]:
    absolute = [v for v in (spec.floor_lr, spec.after_run_lr) if v is not None]
    if getattr(spec, "floor_groups", "scaled") == "same":
        absolute += [v for v in (getattr(spec, "min_lr", None), getattr(spec, "lr_end", None)) if v]
    return absolute


def _noise(spec: s.SchedulerBase) -> float:
    return 1 + spec.noise.pct if spec.noise is not None else 1.0


_PEAK_KNOBS = {
    "one_cycle": "max_lr",
    "cyclic": "max_lr",
    "piecewise": "knots",
    "phases": "phases",
    "sgdr": "cycles",
    "cosine_cycles": "cycle_decay",
    "tanh": "cycle_decay",
    "exponential": "gamma",
    "step": "gamma",
    "multistep": "gamma",
    "chain": "schedulers",
    "sequential": "schedulers",
}
"""Family -> the knob that sets its peak (where an LR above :data:`~confsched.spec.bounds.LIMIT`
is reported)."""


def check_peak(spec: s.SchedulerBase, context: ScheduleContext) -> None:
    r"""Refuse a schedule whose LR could leave the float range: the largest base LR :math:`\eta`
    times the family's relative peak :math:`p` (noise included) must stay at most
    :data:`~confsched.spec.bounds.LIMIT`; absolute LRs (floors, SWA) are bounded by their fields."""
    largest = max(context.lr, context.base_lr, *context.group_base_lrs)
    peak = _relative_peak(spec, context) * _noise(spec)
    if not largest * peak <= LIMIT:
        raise SpecError(
            _PEAK_KNOBS.get(spec.name, ""),
            f"{spec.name} can raise the LR to {largest:g} (the largest base LR) x {peak:g} (its peak "
            f"multiplier) = {largest * peak:g}, above the largest LR {LIMIT:g}",
        )


def _product(values: Iterable[float]) -> float:
    out = 1.0
    for value in values:
        out *= value
    return out


def check_names(groups: Mapping[str, object], names: tuple[str, ...]) -> None:
    """Every key of ``group_schedulers`` must name an LR group of the spec."""
    for name in groups:
        if name not in names:
            raise SpecError(
                name,
                f"no LR group is called {name!r}{did_you_mean(name, names)} (the groups: {', '.join(names)})",
            )
