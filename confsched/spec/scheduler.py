"""The ``scheduler`` section: one pydantic model per schedule family, keyed by ``name``.

Family names and knob names are those of ``transformers.get_scheduler`` and its
``get_*_schedule*`` functions; the families from elsewhere keep their reference's knob names
(timm's ``cycle_*``, torch's ``gamma``, ``milestones``, ``pct_start``, ``div_factor``). Rules that
need the whole run (warmup longer than the run, decay lengths that do not fit, ``lr_end`` above the
LR) are checked where the family's schedule is built, in :mod:`confsched.families`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from confsched.errors import SpecError
from confsched.schedules import Interpolation, RampShape
from confsched.spec.base import (
    NonNegativeFloat,
    NonNegativeInt,
    NotBool,
    PositiveFloat,
    PositiveInt,
    Ratio,
    StrictModel,
)
from confsched.spec.duration import Duration, parse_duration

__all__ = [
    "ConstantSpec",
    "ConstantWithWarmupSpec",
    "CosineCyclesSpec",
    "CosineSpec",
    "CosineWarmupWithMinLRSpec",
    "CosineWithMinLRSpec",
    "CosineWithRestartsSpec",
    "ExponentialSpec",
    "GreedySpec",
    "InverseSqrtSpec",
    "LinearSpec",
    "MultiStepSpec",
    "OneCycleSpec",
    "PhaseSpec",
    "PhasesSpec",
    "PiecewiseSpec",
    "PolynomialSpec",
    "ReduceLROnPlateauSpec",
    "SchedulerBase",
    "StepSpec",
    "WarmupStableDecaySpec",
]

BelowOne = Annotated[float, Field(gt=0, lt=1), NotBool]
Momentum = Annotated[float, Field(ge=0, lt=1), NotBool]
WarmupDecayShape = Literal["linear", "cosine", "1-sqrt"]


def _one_of(model: StrictModel, first: str, second: str, *, required: bool) -> None:
    """Refuse two alternative knobs set together (and, when ``required``, neither set)."""
    given = [getattr(model, first) is not None, getattr(model, second) is not None]
    if all(given) or (required and not any(given)):
        amount = "exactly" if required else "at most"
        found = "both are set" if all(given) else "neither is set"
        raise SpecError(first, f"give {amount} one of {first} and {second} ({found})")


class SchedulerBase(StrictModel):
    """Fields every family has.

    The warmup comes first; the family's own curve starts when it ends (its knots, milestones and
    phases count from there), while its durations written as fractions or epochs stay fractions or
    epochs of the whole run.
    """

    name: str
    """Schedule family (a key of the family registry: linear, cosine, ...)."""
    warmup: Duration = Field(default=parse_duration(0))
    """Warmup length: steps (100), a fraction of the run (0.06 or '6%') or epochs ('2ep')."""
    warmup_shape: RampShape = "linear"
    """Shape of the warmup from warmup_start to the base LR: linear (transformers'), cosine, 1-sqrt,
    exponential (geometric; needs warmup_start > 0) or constant (holds warmup_start, then jumps)."""
    warmup_start: Ratio = 0.0
    """LR at the first warmup step as a fraction of the base LR (0 = transformers' warmup from 0)."""

    @model_validator(mode="after")
    def _geometric_warmup_start(self) -> SchedulerBase:
        if self.warmup_shape == "exponential" and self.warmup_start == 0:
            raise SpecError(
                "warmup_start",
                "0 with warmup_shape exponential: a geometric warmup cannot start at 0; "
                "set warmup_start above 0 (e.g. 0.01)",
            )
        return self


class LinearSpec(SchedulerBase):
    """Linear warmup from 0, then linear decay to 0 at the end of the run."""

    name: Literal["linear"]


class CosineSpec(SchedulerBase):
    """Linear warmup, then a cosine from the base LR down to 0 (with the default half wave)."""

    name: Literal["cosine"]
    num_cycles: PositiveFloat = 0.5
    """Number of cosine waves over the decay (0.5 = one descent from peak to 0)."""


class CosineWithRestartsSpec(SchedulerBase):
    """Linear warmup, then ``num_cycles`` cosine descents, each restarting at the peak (hard restarts)."""

    name: Literal["cosine_with_restarts"]
    num_cycles: PositiveFloat = 1.0
    """Number of cosine descents (restarts + 1) over the decay."""


class PolynomialSpec(SchedulerBase):
    """Linear warmup, then polynomial decay from ``optimizer.lr`` to ``lr_end`` (power 1 = linear)."""

    name: Literal["polynomial"]
    power: PositiveFloat = 1.0
    """Exponent of the decay; 1 is linear, 2 quadratic."""
    lr_end: NonNegativeFloat = 1e-7
    """LR at the end of the run, for the default group (other groups end at the same fraction of
    their base LR); must be below ``optimizer.lr``."""


class ConstantSpec(SchedulerBase):
    """The base LR throughout (after the warmup, if one is set)."""

    name: Literal["constant"]


class ConstantWithWarmupSpec(SchedulerBase):
    """Linear warmup from 0, then the base LR."""

    name: Literal["constant_with_warmup"]


class InverseSqrtSpec(SchedulerBase):
    """Linear warmup, then the LR falls as 1/sqrt of the steps since warmup began (plus a timescale)."""

    name: Literal["inverse_sqrt"]
    timescale: PositiveInt | None = None
    """Time scale tau of the decay in steps; default: the warmup steps, or 10000 without warmup."""


class _MinLR(SchedulerBase):
    num_cycles: PositiveFloat = 0.5
    """Number of cosine waves over the decay (0.5 = one descent from peak to the floor)."""
    min_lr: NonNegativeFloat | None = None
    """Floor LR of the default group (give min_lr or min_lr_rate)."""
    min_lr_rate: Ratio | None = None
    """Floor as a fraction of each group's base LR (give min_lr or min_lr_rate)."""

    @model_validator(mode="after")
    def _one_floor(self) -> _MinLR:
        _one_of(self, "min_lr", "min_lr_rate", required=True)
        return self


class CosineWithMinLRSpec(_MinLR):
    """Linear warmup, then a cosine from the base LR down to a floor."""

    name: Literal["cosine_with_min_lr"]


class CosineWarmupWithMinLRSpec(_MinLR):
    """transformers' variant of cosine_with_min_lr evaluated one step ahead (warmup starts at 1/W)."""

    name: Literal["cosine_warmup_with_min_lr"]
    warmup_lr_rate: Ratio | None = None
    """Warmup start as a fraction of the base LR (default: start at 1/warmup)."""


class WarmupStableDecaySpec(SchedulerBase):
    """Warmup, a stable phase at the base LR, then a decay to ``min_lr_ratio`` (WSD)."""

    name: Literal["warmup_stable_decay"]
    decay: Duration
    """Length of the decay phase (a duration)."""
    stable: Duration | None = None
    """Length of the stable phase (a duration); default: the rest of the run."""
    warmup_type: WarmupDecayShape = "linear"
    """Shape of the warmup: linear, cosine or 1-sqrt."""
    decay_type: WarmupDecayShape = "cosine"
    """Shape of the decay: linear, cosine or 1-sqrt."""
    min_lr_ratio: Ratio = 0.0
    """LR at the start of the warmup and at the end of the decay, as a fraction of the base LR."""
    num_cycles: PositiveFloat = 0.5
    """Number of cosine waves in a cosine decay."""


class _MetricDriven(SchedulerBase):
    mode: Literal["min", "max"] = "min"
    """Whether the metric should go down (a loss) or up (an accuracy)."""
    threshold_mode: Literal["rel", "abs"] = "rel"
    """How ``threshold`` compares a metric with the best so far: relative or absolute."""
    patience: NonNegativeInt = 10
    """Metric updates without improvement tolerated before the LR changes."""
    cooldown: NonNegativeInt = 0
    """Metric updates to wait after a reduction before counting again."""
    eps: NonNegativeFloat = 1e-8
    """Changes of the LR smaller than this are ignored."""


class ReduceLROnPlateauSpec(_MetricDriven):
    """Multiply the LR by ``factor`` when the metric stops improving (``torch``'s ReduceLROnPlateau)."""

    name: Literal["reduce_lr_on_plateau"]
    factor: BelowOne = 0.1
    """Multiplier applied to the LR on a plateau."""
    threshold: NonNegativeFloat = 1e-4
    """Minimum change that counts as an improvement."""
    min_lr: NonNegativeFloat = 0.0
    """The LR of no group goes below this."""


class GreedySpec(_MetricDriven):
    """Raise the LR while the metric improves, lower it on plateaus (transformers' GreedyLR)."""

    name: Literal["greedy"]
    factor: BelowOne = 0.95
    """LR is divided by this on improvement and multiplied by it on a plateau."""
    threshold: NonNegativeFloat = 1e-6
    """Minimum change that counts as an improvement."""
    threshold_mode: Literal["rel", "abs"] = "abs"
    """How ``threshold`` compares a metric with the best so far: relative or absolute."""
    increase_cooldown: NonNegativeInt = 0
    """Metric updates to wait after an increase (GreedyLR's ``warmup`` argument)."""
    min_lr: NonNegativeFloat = 1e-3
    """Lower bound of every group's LR."""
    max_lr: PositiveFloat = 1.0
    """Upper bound of every group's LR."""
    smooth: bool = False
    """Compare a streaming average of the metric instead of the raw value."""
    window_size: PositiveInt = 50
    """Window of the streaming average when ``smooth``."""
    reset_start: PositiveInt = 500
    """Reductions at the floor before the scheduler resets to its initial state."""


class CosineCyclesSpec(SchedulerBase):
    """Cosine cycles with warm restarts (SGDR): each cycle ``cycle_mul`` times longer than the last,
    peaking ``cycle_decay`` times lower, down to a floor; timm's ``CosineLRScheduler``."""

    name: Literal["cosine_cycles"]
    cycle_length: Duration | None = None
    """Length of the first cycle (a duration); default: the rest of the run after warmup."""
    cycle_mul: Annotated[float, Field(ge=1), NotBool] = 1.0
    """Each cycle is this many times longer than the one before (1 = equal cycles)."""
    cycle_decay: PositiveFloat = 1.0
    """Each cycle peaks this many times lower than the one before (1 = every restart at the base LR)."""
    cycle_limit: PositiveInt = 1
    """Number of cycles; after the last one the LR stays at the floor."""
    min_lr: NonNegativeFloat | None = None
    """Floor LR of the default group (other groups at the same fraction); give at most one of
    min_lr and min_lr_rate (neither = 0)."""
    min_lr_rate: Ratio | None = None
    """Floor as a fraction of each group's base LR."""
    k_decay: PositiveFloat = 1.0
    """k-decay exponent: the cosine runs on (t / cycle)^k; k > 1 holds the LR high for longer."""

    @model_validator(mode="after")
    def _one_floor(self) -> CosineCyclesSpec:
        _one_of(self, "min_lr", "min_lr_rate", required=False)
        return self


class StepSpec(SchedulerBase):
    """Multiply the LR by ``gamma`` every ``step_size`` (torch's StepLR)."""

    name: Literal["step"]
    step_size: Duration
    """Time between two cuts (a duration, at least one step)."""
    gamma: PositiveFloat = 0.1
    """Factor applied at each cut."""


class MultiStepSpec(SchedulerBase):
    """Multiply the LR by ``gamma`` at each milestone (torch's MultiStepLR)."""

    name: Literal["multistep"]
    milestones: list[Duration] = Field(min_length=1)
    """When to cut, as durations from the start of the curve (after warmup); a repeated milestone
    cuts twice, the order does not matter."""
    gamma: PositiveFloat = 0.1
    """Factor applied at each milestone."""


class ExponentialSpec(SchedulerBase):
    """Multiply the LR by ``gamma`` every step (torch's ExponentialLR), or decay geometrically to
    ``final_lr_ratio`` at the end of the run."""

    name: Literal["exponential"]
    gamma: PositiveFloat | None = None
    """Factor per step (give gamma or final_lr_ratio)."""
    final_lr_ratio: PositiveFloat | None = None
    """LR at the end of the run as a fraction of the base LR (give gamma or final_lr_ratio)."""

    @model_validator(mode="after")
    def _one_rate(self) -> ExponentialSpec:
        _one_of(self, "gamma", "final_lr_ratio", required=True)
        return self


class OneCycleSpec(SchedulerBase):
    """The 1cycle policy (torch's OneCycleLR): up from the peak / ``div_factor`` to the peak over
    ``pct_start`` of the run, then down to the peak / (``div_factor`` x ``final_div_factor``);
    optionally cycling momentum (or Adam's beta1) the opposite way."""

    name: Literal["one_cycle"]
    max_lr: PositiveFloat | None = None
    """Peak LR of the default group; other groups peak at the same multiple of their base LR.
    Default: every group peaks at its own base LR (optimizer.lr, a group's lr or lr_scale)."""
    pct_start: BelowOne = 0.3
    """Fraction of the run spent rising (torch's float arithmetic, not rounded to whole steps)."""
    anneal_strategy: Literal["cos", "linear"] = "cos"
    """Shape of every phase: cos or linear."""
    div_factor: Annotated[float, Field(ge=1), NotBool] = 25.0
    """The cycle starts at the peak / div_factor (>= 1: the start is not above the peak)."""
    final_div_factor: Annotated[float, Field(ge=1), NotBool] = 1.0e4
    """The cycle ends at the start LR / final_div_factor (>= 1)."""
    three_phase: bool = False
    """Fall back to the start LR as fast as it rose, then anneal to the end LR (the paper's
    schedule) instead of falling straight to the end LR (fastai's)."""
    cycle_momentum: bool = True
    """Cycle the optimizer's momentum (SGD, RMSprop) or beta1 (Adam family) between max_momentum
    and base_momentum, inversely to the LR; the optimizer must have one."""
    base_momentum: Momentum = 0.85
    """Momentum (or beta1) at the LR peak."""
    max_momentum: Momentum = 0.95
    """Momentum (or beta1) at the start and the end of the cycle."""


class PiecewiseSpec(SchedulerBase):
    """The LR multiplier through knots [at, lr_ratio], interpolated linearly or with a half cosine,
    held before the first knot and after the last."""

    name: Literal["piecewise"]
    knots: list[tuple[Duration, NonNegativeFloat]] = Field(min_length=2)
    """Pairs [at, lr_ratio]: a duration from the start of the curve (after warmup) and the LR there
    as a fraction of the base LR. Positions must not decrease; a repeated one is a jump."""
    interpolation: Interpolation = "linear"
    """Between knots: linear or cosine (a half cosine from one knot to the next)."""


class PhaseSpec(StrictModel):
    """One phase of ``phases``: the LR goes from ``start`` to ``end`` (fractions of the base LR)."""

    duration: Duration | None
    """Length of the phase (a duration), or null for the rest of the run (one phase at most)."""
    shape: RampShape = "linear"
    """linear, cosine (half cosine), 1-sqrt, exponential (geometric; needs start and end > 0) or
    constant (holds start)."""
    start: NonNegativeFloat | None = None
    """LR at the start of the phase as a fraction of the base LR; default: where the phase before
    ended (1 for the first), so the curve is continuous."""
    end: NonNegativeFloat | None = None
    """LR at the end of the phase as a fraction of the base LR; default: start (hold)."""
    num_cycles: PositiveFloat = 0.5
    """Cosine waves of a falling cosine phase (0.5 = one descent; 1 comes back up)."""


class PhasesSpec(SchedulerBase):
    """A sequence of phases, each with its own length and shape (e.g. warmup, hold, cooldown); the
    LR holds the last phase's end after the last phase."""

    name: Literal["phases"]
    phases: list[PhaseSpec] = Field(min_length=1)
    """The phases in order, counted from the end of the warmup (if any)."""

    @model_validator(mode="after")
    def _one_rest(self) -> PhasesSpec:
        rest = [i for i, phase in enumerate(self.phases) if phase.duration is None]
        if len(rest) > 1:
            raise SpecError(
                f"phases[{rest[1]}].duration",
                f"null (the rest of the run) is allowed in one phase only; phases[{rest[0]}] already "
                "takes the rest",
            )
        return self
