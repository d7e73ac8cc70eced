"""The ``scheduler`` section: one pydantic model per schedule family, keyed by ``name``.

Family names and knob names are those of ``transformers.get_scheduler`` and its
``get_*_schedule*`` functions; the families from elsewhere keep their reference's knob names
(timm's ``cycle_*``, torch's ``gamma``, ``milestones``, ``pct_start``, ``div_factor``). Rules that
need the whole run (warmup longer than the run, decay lengths that do not fit, ``lr_end`` above the
LR) are checked where the family's schedule is built, in :mod:`confsched.families`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from confsched.errors import SpecError
from confsched.noise import NoiseKind
from confsched.schedules import CyclicMode, Interpolation, PhaseShape, WarmupShape
from confsched.spec.base import (
    NonNegativeFloat,
    NonNegativeInt,
    NotBool,
    PositiveFloat,
    PositiveInt,
    Ratio,
    StrictModel,
)
from confsched.spec.bounds import (
    LR,
    Count,
    CycleMul,
    Cycles,
    KDecay,
    Level,
    LevelOrZero,
    LROrZero,
    TanhBound,
    Timescale,
)
from confsched.spec.duration import Duration, parse_duration

__all__ = [
    "ChainSpec",
    "ConstantSpec",
    "ConstantWithWarmupSpec",
    "CosineCyclesSpec",
    "CosineSpec",
    "CosineWarmupWithMinLRSpec",
    "CosineWithMinLRSpec",
    "CosineWithRestartsSpec",
    "CyclicSpec",
    "ExponentialSpec",
    "GreedySpec",
    "InverseSqrtSpec",
    "LinearSpec",
    "MultiStepSpec",
    "NoamSpec",
    "NoiseSpec",
    "OneCycleSpec",
    "PhaseSpec",
    "PhasesSpec",
    "PiecewiseSpec",
    "PolynomialSpec",
    "ReduceLROnPlateauSpec",
    "SchedulerBase",
    "SequentialSpec",
    "SgdrCycleSpec",
    "SgdrSpec",
    "StepSpec",
    "SwalrSpec",
    "T5InverseSqrtSpec",
    "TanhSpec",
    "WarmupStableDecaySpec",
]

BelowOne = Annotated[float, Field(gt=0, lt=1), NotBool]
Momentum = Annotated[float, Field(ge=0, lt=1), NotBool]
WarmupDecayShape = Literal["linear", "cosine", "1-sqrt"]
CooldownShape = Literal["linear", "cosine", "1-sqrt", "exponential", "polynomial"]
FloorGroups = Literal["scaled", "same"]


def _one_of(model: StrictModel, first: str, second: str, *, required: bool) -> None:
    """Refuse two alternative knobs set together (and, when ``required``, neither set)."""
    given = [getattr(model, first) is not None, getattr(model, second) is not None]
    if all(given) or (required and not any(given)):
        amount = "exactly" if required else "at most"
        found = "both are set" if all(given) else "neither is set"
        raise SpecError(first, f"give {amount} one of {first} and {second} ({found})")


class NoiseSpec(StrictModel):
    """timm's LR noise: inside [start, end) each step's LR is multiplied by 1 + n, n drawn from a
    generator seeded with seed + step (so a step always gets the same noise, and resuming is exact)."""

    start: Duration
    """First noisy step (a duration; counted from step 0, the warmup included): timm's
    noise_range_t[0]."""
    end: Duration | None = None
    """First step without noise again (a duration); null: noise to the end (timm's single
    noise_range_t)."""
    type: NoiseKind = "normal"
    """normal (a normal of standard deviation std, redrawn until |n| < pct) or uniform (n uniform in
    [-pct, pct))."""
    pct: Annotated[float, Field(ge=0.01, lt=1), NotBool] = 0.67
    """Largest relative change of the LR (timm's noise_pct); below 1 so the LR stays positive, at
    least 0.01 so the normal draw, redrawn until |n| < pct, needs a bounded number of tries."""
    seed: Annotated[int, Field(ge=0, le=2**32 - 1), NotBool] = 42
    """Base seed (timm's noise_seed); step t draws with seed + t (mod 2^32)."""
    std: PositiveFloat = 1.0
    """Standard deviation of a normal draw (timm's noise_std), at most 100 x pct so that a draw
    is accepted with probability above 0.8% (a bounded number of redraws)."""

    @model_validator(mode="after")
    def _redraws_end(self) -> NoiseSpec:
        if self.std > 100 * self.pct:
            raise SpecError(
                "std",
                f"{self.std:g} is more than 100 x pct ({self.pct:g}): almost every normal draw would "
                f"be refused; use std <= {100 * self.pct:g}",
            )
        return self


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
    warmup_shape: WarmupShape = "linear"
    """Shape of the warmup from warmup_start to the base LR: linear (transformers'), cosine, 1-sqrt,
    exponential (geometric; needs warmup_start > 0), constant (holds warmup_start, then jumps),
    nemo (NeMo's (step + 1) / (warmup + 1)) or log (DeepSpeed's log(step) / log(warmup), at least
    2 steps)."""
    warmup_start: Ratio = 0.0
    """LR at the first warmup step as a fraction of the base LR (0 = transformers' warmup from 0)."""
    warmup_prefix: bool = True
    """True: the family's curve starts when the warmup ends (transformers'; timm's
    warmup_prefix=True). False: the curve runs from step 0 and the warmup is laid over its first
    steps (timm's default warmup_prefix=False)."""
    warmup_rounding: Literal["ceil", "floor"] = "ceil"
    """How a warmup given as a fraction of the run becomes whole steps: ceil (transformers'
    ceil(ratio * total)) or floor (NeMo's int(ratio * max_steps)); both on the exact decimal."""
    hold: Duration = Field(default=parse_duration(0))
    """Steps at the base LR between the warmup and the family's curve, which then starts after
    warmup + hold (NeMo's hold_steps, optax's transition_begin)."""
    floor_lr: LROrZero | None = None
    """A floor that clamps: after the warmup, no group's LR goes below this absolute LR (NeMo's
    max(lr, min_lr)); null: none. The families' own min_lr rescales the curve instead."""
    after_run_lr: LROrZero | None = None
    """LR of every group from step total + 1 on (NeMo drops to min_lr after max_steps); null: the
    family's own continuation past the end of the run."""
    noise: NoiseSpec | None = None
    """timm's LR noise (noise_range_t, noise_type, noise_pct, noise_seed); null: none."""

    @model_validator(mode="after")
    def _warmup_knobs(self) -> SchedulerBase:
        if self.warmup_shape == "exponential" and self.warmup_start == 0:
            raise SpecError(
                "warmup_start",
                "0 with warmup_shape exponential: a geometric warmup cannot start at 0; "
                "set warmup_start above 0 (e.g. 0.01)",
            )
        if self.warmup_shape == "nemo" and self.warmup_start != 0:
            raise SpecError(
                "warmup_start",
                f"{self.warmup_start:g} with warmup_shape nemo: NeMo's warmup starts at "
                "1 / (warmup + 1); remove warmup_start",
            )
        if not self.warmup_prefix and self.hold.amount:
            raise SpecError(
                "hold",
                f"{self.hold}: a hold delays the curve, but with warmup_prefix: false the curve runs "
                "from step 0 under the warmup; set hold: 0 or warmup_prefix: true",
            )
        return self

    @property
    def absolute_lrs(self) -> bool:
        """Whether the multiplier depends on the group's base LR (an absolute LR every group
        shares), so the family is made once per LR group."""
        return self.floor_lr is not None or self.after_run_lr is not None


class LinearSpec(SchedulerBase):
    """Linear warmup from 0, then linear decay to 0 at the end of the run."""

    name: Literal["linear"]


class CosineSpec(SchedulerBase):
    """Linear warmup, then a cosine from the base LR down to 0 (with the default half wave)."""

    name: Literal["cosine"]
    num_cycles: Cycles = 0.5
    """Number of cosine waves over the decay (0.5 = one descent from peak to 0)."""


class CosineWithRestartsSpec(SchedulerBase):
    """Linear warmup, then ``num_cycles`` cosine descents, each restarting at the peak (hard restarts)."""

    name: Literal["cosine_with_restarts"]
    num_cycles: Cycles = 1.0
    """Number of cosine descents (restarts + 1) over the decay."""


class PolynomialSpec(SchedulerBase):
    """Linear warmup, then polynomial decay from ``optimizer.lr`` to ``lr_end`` (power 1 = linear)."""

    name: Literal["polynomial"]
    power: PositiveFloat = 1.0
    """Exponent of the decay; 1 is linear, 2 quadratic (timm's poly: 0.5)."""
    lr_end: LROrZero = 1e-7
    """LR at the end of the run, for the default group (other groups end at the same fraction of
    their base LR, or at lr_end too with floor_groups: same); must be below ``optimizer.lr``."""
    floor_groups: FloorGroups = "scaled"
    """How the other groups end: scaled (at the default group's fraction of their base LR, as
    transformers) or same (every group at lr_end: timm's lr_min, NeMo's min_lr)."""
    k_decay: KDecay = 1.0
    """timm's k-decay: the decay runs on 1 - (t / L)^k instead of 1 - t / L."""
    cycle: bool = False
    """NeMo's cycle: after the run the decay starts over from the top (its length a multiple of
    the run) instead of holding lr_end."""

    @model_validator(mode="after")
    def _cycle_with_k(self) -> PolynomialSpec:
        if self.cycle and self.k_decay != 1:
            raise SpecError("k_decay", f"{self.k_decay:g} with cycle: NeMo's cycle has no k-decay; drop one")
        return self

    @property
    def absolute_lrs(self) -> bool:
        return super().absolute_lrs or self.floor_groups == "same"


class ConstantSpec(SchedulerBase):
    """The base LR throughout (after the warmup, if one is set)."""

    name: Literal["constant"]


class ConstantWithWarmupSpec(SchedulerBase):
    """Linear warmup from 0, then the base LR."""

    name: Literal["constant_with_warmup"]


class InverseSqrtSpec(SchedulerBase):
    """Linear warmup, then the LR falls as 1/sqrt of the steps since warmup began (plus a timescale)."""

    name: Literal["inverse_sqrt"]
    timescale: Timescale | None = None
    """Time scale tau of the decay in steps; default: the warmup steps, or 10000 without warmup."""
    decay_rate: PositiveFloat = 0.5
    """Exponent a of ((t + tau) / tau)^-a: 0.5 is the inverse square root; NeMo's NoamHoldAnnealing
    decay_rate (1.0 for Squeezeformer)."""


class _SharedFloor(SchedulerBase):
    floor_groups: FloorGroups = "scaled"
    """How groups other than the default floor when min_lr is given: scaled (at the default group's
    fraction of their base LR, as transformers) or same (every group at min_lr: torch's eta_min,
    timm's lr_min, NeMo's min_lr)."""

    @model_validator(mode="after")
    def _floor_groups_need_min_lr(self) -> _SharedFloor:
        if self.floor_groups == "same" and getattr(self, "min_lr", None) is None:
            raise SpecError(
                "floor_groups", "same, but min_lr is not set: the groups share an absolute min_lr"
            )
        return self

    @property
    def absolute_lrs(self) -> bool:
        return super().absolute_lrs or self.floor_groups == "same"


class _MinLR(SchedulerBase):
    num_cycles: Cycles = 0.5
    """Number of cosine waves over the decay (0.5 = one descent from peak to the floor)."""
    min_lr: LROrZero | None = None
    """Floor LR of the default group (give min_lr or min_lr_rate)."""
    min_lr_rate: Ratio | None = None
    """Floor as a fraction of each group's base LR (give min_lr or min_lr_rate)."""

    @model_validator(mode="after")
    def _one_floor(self) -> _MinLR:
        _one_of(self, "min_lr", "min_lr_rate", required=True)
        return self


class CosineWithMinLRSpec(_MinLR, _SharedFloor):
    """Linear warmup, then a cosine from the base LR down to a floor."""

    name: Literal["cosine_with_min_lr"]
    exponent: PositiveFloat = 1.0
    """optax's exponent: the cosine factor 1/2 (1 + cos) is raised to this power (1 = transformers')."""


class CosineWarmupWithMinLRSpec(_MinLR):
    """transformers' variant of cosine_with_min_lr evaluated one step ahead (warmup starts at 1/W)."""

    name: Literal["cosine_warmup_with_min_lr"]
    warmup_lr_rate: Ratio | None = None
    """Warmup start as a fraction of the base LR (default: start at 1/warmup)."""


class WarmupStableDecaySpec(_SharedFloor):
    """Warmup, a stable phase at the base LR, then a decay to ``min_lr_ratio`` (WSD)."""

    name: Literal["warmup_stable_decay"]
    decay: Duration
    """Length of the decay phase (a duration)."""
    stable: Duration | None = None
    """Length of the stable phase (a duration); default: the rest of the run."""
    warmup_type: WarmupDecayShape = "linear"
    """Shape of the warmup: linear, cosine or 1-sqrt."""
    decay_type: CooldownShape = "cosine"
    """Shape of the decay (the cooldown): linear, cosine, 1-sqrt (transformers'), exponential
    (geometric to the floor, which must then be above 0) or polynomial ((1 - p)^decay_power)."""
    min_lr_ratio: Ratio = 0.0
    """LR at the start of the warmup and at the end of the decay, as a fraction of the base LR."""
    min_lr: LROrZero | None = None
    """The same floor as an absolute LR of the default group (instead of min_lr_ratio); other
    groups at its fraction of their base LR, or at min_lr too with floor_groups: same."""
    num_cycles: Cycles = 0.5
    """Number of cosine waves in a cosine decay."""
    decay_power: PositiveFloat = 1.0
    """Power of a polynomial decay (2: quadratic; 1 is linear)."""

    @model_validator(mode="after")
    def _floor(self) -> WarmupStableDecaySpec:
        if self.min_lr is not None and self.min_lr_ratio != 0:
            raise SpecError("min_lr", "give at most one of min_lr and min_lr_ratio (both are set)")
        if self.decay_power != 1 and self.decay_type != "polynomial":
            raise SpecError(
                "decay_power", f"{self.decay_power:g}, but decay_type is {self.decay_type}, not polynomial"
            )
        return self


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
    min_lr: LROrZero | list[LROrZero] = 0.0
    """The LR of no group goes below this; or a list, one floor per LR group (default first, then
    optimizer.groups in order), as torch's min_lr list."""


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
    min_lr: LROrZero = 1e-3
    """Lower bound of every group's LR."""
    max_lr: LR = 1.0
    """Upper bound of every group's LR."""
    smooth: bool = False
    """Compare a streaming average of the metric instead of the raw value."""
    window_size: PositiveInt = 50
    """Window of the streaming average when ``smooth``."""
    reset_start: PositiveInt = 500
    """Reductions at the floor before the scheduler resets to its initial state."""


class _Cycles(_SharedFloor):
    cycle_length: Duration | None = None
    """Length of the first cycle (a duration); default: the rest of the run after warmup."""
    cycle_mul: CycleMul = 1.0
    """Each cycle is this many times longer than the one before (1 = equal cycles)."""
    cycle_decay: PositiveFloat = 1.0
    """Each cycle peaks this many times lower than the one before (1 = every restart at the base LR)."""
    cycle_limit: Count = 1
    """Number of cycles; after the last one the LR stays at the floor."""
    min_lr: LROrZero | None = None
    """Floor LR of the default group (other groups at the same fraction); give at most one of
    min_lr and min_lr_rate (neither = 0)."""
    min_lr_rate: Ratio | None = None
    """Floor as a fraction of each group's base LR."""
    cycle_warmup: Duration = Field(default=parse_duration(0))
    """Per-cycle warmup: each cycle first rises linearly from the floor to its peak over this many
    steps (a duration, shorter than the first cycle), then decays over the rest of it."""

    @model_validator(mode="after")
    def _one_floor(self) -> _Cycles:
        _one_of(self, "min_lr", "min_lr_rate", required=False)
        return self


class CosineCyclesSpec(_Cycles):
    """Cosine cycles with warm restarts (SGDR): each cycle ``cycle_mul`` times longer than the last,
    peaking ``cycle_decay`` times lower, down to a floor; timm's ``CosineLRScheduler``."""

    name: Literal["cosine_cycles"]
    k_decay: KDecay = 1.0
    """k-decay exponent: the cosine runs on (t / cycle)^k; k > 1 holds the LR high for longer."""


class TanhSpec(_Cycles):
    """Hyperbolic-tangent decay with the cycles of cosine_cycles: timm's ``TanhLRScheduler``
    (lb, ub: the tanh runs from lb to ub over each cycle)."""

    name: Literal["tanh"]
    lb: TanhBound = -7.0
    """Lower bound of the tanh argument at the start of a cycle (timm's lb)."""
    ub: TanhBound = 3.0
    """Upper bound at the end of a cycle (timm's ub); must be above lb."""

    @model_validator(mode="after")
    def _bounds(self) -> TanhSpec:
        if not self.lb < self.ub:
            raise SpecError("ub", f"{self.ub:g} must be above lb ({self.lb:g})")
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
    """Factor per period (give gamma or final_lr_ratio)."""
    final_lr_ratio: Level | None = None
    """LR at the end of the run as a fraction of the base LR (give gamma or final_lr_ratio)."""
    period: Duration = Field(default=parse_duration(1))
    """Steps over which gamma applies once (optax's transition_steps; at least one step)."""
    staircase: bool = False
    """Cut by gamma once per period instead of continuously (optax's staircase)."""
    end_lr_ratio: Level | None = None
    """Where the LR stops, as a fraction of the base LR: a floor when decaying, a ceiling when
    growing (optax's end_value over init_value); null: no bound."""

    @model_validator(mode="after")
    def _one_rate(self) -> ExponentialSpec:
        _one_of(self, "gamma", "final_lr_ratio", required=True)
        if self.final_lr_ratio is not None and (self.staircase or self.period.amount != 1):
            raise SpecError(
                "final_lr_ratio", "decays over the whole run: period and staircase go with gamma only"
            )
        return self


class OneCycleSpec(SchedulerBase):
    """The 1cycle policy (torch's OneCycleLR): up from the peak / ``div_factor`` to the peak over
    ``pct_start`` of the run, then down to the peak / (``div_factor`` x ``final_div_factor``);
    optionally cycling momentum (or Adam's beta1) the opposite way."""

    name: Literal["one_cycle"]
    max_lr: LR | None = None
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
    knots: list[tuple[Duration, LevelOrZero]] = Field(min_length=2)
    """Pairs [at, lr_ratio]: a duration from the start of the curve (after warmup) and the LR there
    as a fraction of the base LR. Positions must not decrease; a repeated one is a jump."""
    interpolation: Interpolation = "linear"
    """Between knots: linear or cosine (a half cosine from one knot to the next)."""


class PhaseSpec(StrictModel):
    """One phase of ``phases``: the LR goes from ``start`` to ``end`` (fractions of the base LR)."""

    duration: Duration | None
    """Length of the phase (a duration), or null for the rest of the run (one phase at most)."""
    shape: PhaseShape = "linear"
    """linear, cosine (half cosine), 1-sqrt, exponential (geometric; needs start and end > 0),
    polynomial (p^power rising, (1 - p)^power falling) or constant (holds start)."""
    start: LevelOrZero | None = None
    """LR at the start of the phase as a fraction of the base LR; default: where the phase before
    ended (1 for the first), so the curve is continuous."""
    end: LevelOrZero | None = None
    """LR at the end of the phase as a fraction of the base LR; default: start (hold)."""
    num_cycles: Cycles = 0.5
    """Cosine waves of a falling cosine phase (0.5 = one descent; 1 comes back up)."""
    power: PositiveFloat = 1.0
    """Power of a polynomial phase (2: quadratic)."""


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


class CyclicSpec(SchedulerBase):
    """torch's ``CyclicLR``: the LR cycles between the base LR and ``max_lr`` (triangular,
    triangular2 or exp_range), optionally cycling momentum (or Adam's beta1) the opposite way."""

    name: Literal["cyclic"]
    max_lr: LR
    """Top of the cycle for the default group (torch's max_lr); other groups peak at the same
    multiple of their base LR."""
    base_lr: LR | None = None
    """Bottom of the cycle for the default group (torch's base_lr), other groups at the same
    multiple of their base LR; null: the base LR itself (optimizer.lr)."""
    step_size_up: Duration = Field(default=parse_duration(2000))
    """Steps from the bottom to the top of a cycle (a duration, at least one step)."""
    step_size_down: Duration | None = None
    """Steps from the top back to the bottom (a duration); null: step_size_up."""
    mode: CyclicMode = "triangular"
    """triangular (every cycle the same), triangular2 (each cycle half as high as the last) or
    exp_range (the height times gamma^step)."""
    gamma: Annotated[float, Field(gt=0, le=1), NotBool] = 1.0
    """exp_range's factor per step (at most 1: above, the LR would grow without bound)."""
    cycle_momentum: bool = True
    """Cycle the optimizer's momentum (SGD, RMSprop) or beta1 (Adam family) between max_momentum
    at the bottom of the LR and base_momentum at its top; the optimizer must have one."""
    base_momentum: Momentum = 0.8
    """Momentum (or beta1) at the top of the LR cycle."""
    max_momentum: Momentum = 0.9
    """Momentum (or beta1) at the bottom of the LR cycle."""

    @model_validator(mode="after")
    def _gamma_for_exp_range(self) -> CyclicSpec:
        if self.base_lr is not None and not self.base_lr < self.max_lr:
            raise SpecError("max_lr", f"{self.max_lr:g} must be above base_lr ({self.base_lr:g})")
        if self.gamma != 1 and self.mode != "exp_range":
            raise SpecError(
                "gamma", f"{self.gamma:g}, but only mode exp_range uses gamma (mode is {self.mode})"
            )
        return self


class SwalrSpec(SchedulerBase):
    """torch's ``SWALR``: anneal from the LR it takes over at (the base LR, or where the scheduler
    before it in a sequential ended) to ``swa_lr`` over ``anneal``, then hold it."""

    name: Literal["swalr"]
    swa_lr: LROrZero
    """The SWA LR every group anneals to and holds (an absolute LR, torch's scalar swa_lr)."""
    anneal: Duration = Field(default=parse_duration(10))
    """Length of the anneal (torch's anneal_epochs, counted in steps here); 0 jumps at once."""
    anneal_strategy: Literal["cos", "linear"] = "cos"
    """Shape of the anneal: cos or linear."""

    @property
    def absolute_lrs(self) -> bool:
        return True


class NoamSpec(SchedulerBase):
    """NeMo's ``NoamAnnealing`` (the Transformer paper's schedule): the base LR times
    d_model^-0.5 min(step^-0.5, step warmup^-1.5), peaking at (d_model warmup)^-0.5 at the end of
    the warmup."""

    name: Literal["noam"]
    d_model: Count
    """Model width d_model: the LR scales with d_model^-0.5."""


class T5InverseSqrtSpec(SchedulerBase):
    """NeMo's ``T5InverseSquareRootAnnealing``: the LR is 1/sqrt(constant_steps) for the first
    constant_steps, then 1/sqrt(step), an absolute LR whatever the optimizer's lr."""

    name: Literal["t5_inverse_sqrt"]
    constant_steps: Duration = Field(default=parse_duration(10_000))
    """Steps at the constant LR 1/sqrt(constant_steps) (a duration, at least one step)."""

    @property
    def absolute_lrs(self) -> bool:
        return True


class SgdrCycleSpec(StrictModel):
    """One cycle of ``sgdr``: a linear warmup from ``start`` to ``peak``, then a cosine to ``end``
    (levels as fractions of the base LR); optax's ``warmup_cosine_decay_schedule``."""

    duration: Duration
    """Length of the cycle, its warmup included (optax's decay_steps)."""
    warmup: Duration = Field(default=parse_duration(0))
    """Steps of its linear warmup (a duration, shorter than the cycle)."""
    start: LevelOrZero = 0.0
    """LR at the start of the warmup (optax's init_value over the base LR)."""
    peak: LevelOrZero = 1.0
    """LR at the end of the warmup (optax's peak_value over the base LR)."""
    end: LevelOrZero = 0.0
    """LR at the end of the cycle (optax's end_value over the base LR)."""
    exponent: PositiveFloat = 1.0
    """optax's exponent of the cosine factor."""


class SgdrSpec(SchedulerBase):
    """optax's ``sgdr_schedule``: cycles back to back, each its own warmup and cosine; after the
    last, its end is held."""

    name: Literal["sgdr"]
    cycles: list[SgdrCycleSpec] = Field(min_length=1)
    """The cycles in order, counted from the end of the warmup (if any)."""


if TYPE_CHECKING:
    Member = SchedulerBase
else:
    Member = "Member"  # the union of the registry's other families, set by confsched.families


class ChainSpec(SchedulerBase):
    """The product of several families' multipliers (torch's ``ChainedScheduler``): each member
    multiplies the LR by its own factor. One member may be ``reduce_lr_on_plateau``."""

    name: Literal["chain"]
    schedulers: list[Member] = Field(min_length=2)
    """The members (any family except chain and sequential), each with its knobs; each runs over
    the steps after the chain's own warmup, with its own warmup if it has one."""

    @property
    def absolute_lrs(self) -> bool:
        return super().absolute_lrs or any(member.absolute_lrs for member in self.schedulers)


class SequentialSpec(SchedulerBase):
    """Families one after another (torch's ``SequentialLR``, optax's ``join_schedules``): member i
    runs from milestone i - 1 to milestone i on its own clock, as if its run were that long."""

    name: Literal["sequential"]
    schedulers: list[Member] = Field(min_length=2)
    """The members in order (any family except chain, sequential and the metric-driven ones)."""
    milestones: list[Duration] = Field(min_length=1)
    """Where each member after the first starts (durations from the start of the curve, after the
    warmup); one fewer than the members, not decreasing."""

    @model_validator(mode="after")
    def _one_milestone_between(self) -> SequentialSpec:
        if len(self.milestones) != len(self.schedulers) - 1:
            raise SpecError(
                "milestones",
                f"{len(self.milestones)} milestones for {len(self.schedulers)} schedulers: give one "
                "between each two",
            )
        return self

    @property
    def absolute_lrs(self) -> bool:
        return super().absolute_lrs or any(member.absolute_lrs for member in self.schedulers)
