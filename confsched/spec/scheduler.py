"""The ``scheduler`` section: one pydantic model per schedule family, keyed by ``name``.

Family names and knob names are those of ``transformers.get_scheduler`` and its
``get_*_schedule*`` functions. Rules that need the whole run (warmup longer than the run, decay
lengths that do not fit, ``lr_end`` above the LR) are checked where the family's schedule is built,
in :mod:`confsched.families`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from confsched.errors import SpecError
from confsched.schedules import RampShape
from confsched.spec.base import NonNegativeFloat, PositiveFloat, Ratio, StrictModel
from confsched.spec.duration import Duration, parse_duration

__all__ = [
    "ConstantSpec",
    "ConstantWithWarmupSpec",
    "CosineSpec",
    "CosineWarmupWithMinLRSpec",
    "CosineWithMinLRSpec",
    "CosineWithRestartsSpec",
    "GreedySpec",
    "InverseSqrtSpec",
    "LinearSpec",
    "PolynomialSpec",
    "ReduceLROnPlateauSpec",
    "SchedulerBase",
    "WarmupStableDecaySpec",
]

BelowOne = Annotated[float, Field(gt=0, lt=1)]
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
