"""The family registry: one row per schedule family, the single table everything else reads.

A row holds the family's spec model, the function that turns a validated spec plus the run's
step figures into a schedule (checking the rules that need the whole run), and a one-line summary.
The pydantic union of ``scheduler``, the builder, ``conf/scheduler/<name>.yaml``, the CLI listing,
the JSON Schema and the parametrised tests are all driven by :data:`FAMILIES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from confsched.adaptive import GreedyPolicy, MetricPolicy, PlateauPolicy
from confsched.errors import SpecError
from confsched.schedules import (
    Constant,
    CosineDecay,
    CosineHardRestarts,
    CosineWarmupWithMinLR,
    Decay,
    InverseSqrt,
    Join,
    LinearToZero,
    PolynomialDecay,
    Ramp,
    Schedule,
)
from confsched.spec import scheduler as s
from confsched.spec.duration import Duration
from confsched.steps import StepPlan

__all__ = ["FAMILIES", "Family", "ScheduleContext"]


@dataclass(frozen=True)
class ScheduleContext:
    """What a family needs besides its own knobs: the run's steps and the optimizer's LR."""

    plan: StepPlan
    warmup_steps: int
    lr: float
    """``optimizer.lr``: transformers' ``optimizer.defaults["lr"]``, the reference of absolute LRs."""

    @property
    def total_steps(self) -> int:
        return self.plan.total_steps

    def steps(self, field: str, duration: Duration) -> int:
        """``duration`` in steps; an error naming ``field`` if it is longer than the run."""
        n = self.plan.steps(duration)
        if n > self.total_steps:
            raise SpecError(
                field, f"{self.plan.describe(duration)} exceeds the run ({self.total_steps} steps)"
            )
        return n

    def after_warmup(self, decay: Schedule) -> Schedule:
        """transformers' linear warmup from 0 over ``warmup_steps``, then ``decay`` on local time."""
        if self.warmup_steps == 0:
            return decay
        return Join((Ramp(self.warmup_steps), decay), (self.warmup_steps,))


Made = Schedule | MetricPolicy


@dataclass(frozen=True)
class Family:
    """A row of the registry."""

    name: str
    model: type[s.SchedulerBase]
    make: Callable[[Any, ScheduleContext], Made]
    summary: str
    driven_by: Literal["step", "metric"] = "step"


def _decay_steps(ctx: ScheduleContext) -> int:
    return ctx.total_steps - ctx.warmup_steps


def _linear(spec: s.LinearSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(LinearToZero(_decay_steps(ctx)))


def _cosine(spec: s.CosineSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineDecay(_decay_steps(ctx), spec.num_cycles))


def _cosine_with_restarts(spec: s.CosineWithRestartsSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineHardRestarts(_decay_steps(ctx), spec.num_cycles))


def _polynomial(spec: s.PolynomialSpec, ctx: ScheduleContext) -> Schedule:
    if not spec.lr_end < ctx.lr:
        raise SpecError("lr_end", f"{spec.lr_end:g} must be below optimizer.lr ({ctx.lr:g})")
    if ctx.warmup_steps >= ctx.total_steps:
        raise SpecError(
            "warmup",
            f"{ctx.warmup_steps} steps leaves no steps to decay over in a {ctx.total_steps}-step "
            "run; polynomial needs warmup shorter than the run",
        )
    return ctx.after_warmup(PolynomialDecay(_decay_steps(ctx), spec.power, ctx.lr, spec.lr_end))


def _constant(spec: s.ConstantSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(Constant(1.0))


def _inverse_sqrt(spec: s.InverseSqrtSpec, ctx: ScheduleContext) -> Schedule:
    timescale = spec.timescale if spec.timescale is not None else (ctx.warmup_steps or 10_000)
    return ctx.after_warmup(InverseSqrt(timescale))


def _min_lr_rate(spec: s.CosineWithMinLRSpec | s.CosineWarmupWithMinLRSpec, ctx: ScheduleContext) -> float:
    if spec.min_lr_rate is not None:
        return spec.min_lr_rate
    assert spec.min_lr is not None  # one of the two is set (checked by the model)
    if spec.min_lr > ctx.lr:
        raise SpecError("min_lr", f"{spec.min_lr:g} must not exceed optimizer.lr ({ctx.lr:g})")
    return spec.min_lr / ctx.lr


def _cosine_with_min_lr(spec: s.CosineWithMinLRSpec, ctx: ScheduleContext) -> Schedule:
    floor = _min_lr_rate(spec, ctx)
    return ctx.after_warmup(CosineDecay(_decay_steps(ctx), spec.num_cycles, floor))


def _cosine_warmup_with_min_lr(spec: s.CosineWarmupWithMinLRSpec, ctx: ScheduleContext) -> Schedule:
    floor = _min_lr_rate(spec, ctx)
    return CosineWarmupWithMinLR(
        ctx.warmup_steps, ctx.total_steps, spec.num_cycles, floor, spec.warmup_lr_rate
    )


def _warmup_stable_decay(spec: s.WarmupStableDecaySpec, ctx: ScheduleContext) -> Schedule:
    w = ctx.warmup_steps
    d = ctx.steps("decay", spec.decay)
    if spec.stable is None:
        if w + d > ctx.total_steps:
            raise SpecError(
                "decay",
                f"warmup {w} + decay {d} = {w + d} steps exceed the run ({ctx.total_steps} steps)",
            )
        stable = ctx.total_steps - w - d
    else:
        stable = ctx.steps("stable", spec.stable)
        if w + stable + d > ctx.total_steps:
            raise SpecError(
                "stable",
                f"warmup {w} + stable {stable} + decay {d} = {w + stable + d} steps exceed the run "
                f"({ctx.total_steps} steps)",
            )
    r = spec.min_lr_ratio
    return Join(
        (
            Ramp(w, spec.warmup_type, start=r),
            Constant(1.0),
            Decay(d, spec.decay_type, floor=r, num_cycles=spec.num_cycles),
            Constant(r),
        ),
        (w, w + stable, w + stable + d),
    )


def _no_warmup(name: str, ctx: ScheduleContext) -> None:
    if ctx.warmup_steps:
        raise SpecError(
            "warmup",
            f"{ctx.warmup_steps} steps: {name} changes the LR from a metric and has no warmup; set warmup: 0",
        )


def _policy_knobs(policy: type[Any], spec: s.SchedulerBase) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(policy)}


def _reduce_lr_on_plateau(spec: s.ReduceLROnPlateauSpec, ctx: ScheduleContext) -> MetricPolicy:
    _no_warmup(spec.name, ctx)
    return PlateauPolicy(**_policy_knobs(PlateauPolicy, spec))


def _greedy(spec: s.GreedySpec, ctx: ScheduleContext) -> MetricPolicy:
    _no_warmup(spec.name, ctx)
    if spec.min_lr >= spec.max_lr:
        raise SpecError("min_lr", f"{spec.min_lr:g} must be below max_lr ({spec.max_lr:g})")
    return GreedyPolicy(**_policy_knobs(GreedyPolicy, spec))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("linear", s.LinearSpec, _linear, "warmup, then linear decay to 0"),
        Family("cosine", s.CosineSpec, _cosine, "warmup, then cosine decay to 0"),
        Family(
            "cosine_with_restarts",
            s.CosineWithRestartsSpec,
            _cosine_with_restarts,
            "warmup, then cosine decays with hard restarts",
        ),
        Family("polynomial", s.PolynomialSpec, _polynomial, "warmup, then polynomial decay to lr_end"),
        Family("constant", s.ConstantSpec, _constant, "constant LR (optional warmup)"),
        Family(
            "constant_with_warmup",
            s.ConstantWithWarmupSpec,
            _constant,
            "warmup, then constant LR",
        ),
        Family("inverse_sqrt", s.InverseSqrtSpec, _inverse_sqrt, "warmup, then 1/sqrt decay"),
        Family(
            "cosine_with_min_lr",
            s.CosineWithMinLRSpec,
            _cosine_with_min_lr,
            "warmup, then cosine decay to a floor",
        ),
        Family(
            "cosine_warmup_with_min_lr",
            s.CosineWarmupWithMinLRSpec,
            _cosine_warmup_with_min_lr,
            "cosine to a floor, one step ahead (transformers' variant)",
        ),
        Family(
            "warmup_stable_decay",
            s.WarmupStableDecaySpec,
            _warmup_stable_decay,
            "warmup, stable plateau, then decay (WSD)",
        ),
        Family(
            "reduce_lr_on_plateau",
            s.ReduceLROnPlateauSpec,
            _reduce_lr_on_plateau,
            "cut the LR when a metric stalls",
            driven_by="metric",
        ),
        Family(
            "greedy",
            s.GreedySpec,
            _greedy,
            "raise the LR while a metric improves, cut it when it stalls",
            driven_by="metric",
        ),
    )
}
"""Family name -> row. Names equal ``transformers.SchedulerType`` values."""
