"""The family registry: one row per schedule family, the single table everything else reads.

A row holds the family's spec model, the function that turns a validated spec plus the run's
step figures into a schedule (checking the rules that need the whole run), and a one-line summary.
The pydantic union of ``scheduler``, the builder, ``conf/scheduler/<name>.yaml``, the CLI listing,
the JSON Schema and the parametrised tests are all driven by :data:`FAMILIES`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field

from confsched.adaptive import GreedyPolicy, MetricPolicy, PlateauPolicy, WithFactor, step_factor
from confsched.errors import ConfschedError, SpecError
from confsched.schedules import (
    Clamp,
    Constant,
    CosineCycles,
    CosineDecay,
    CosineHardRestarts,
    CosineWarmupWithMinLR,
    Cyclic,
    Decay,
    ExponentialDecay,
    Interpolation,
    InverseSqrt,
    Join,
    LinearToZero,
    MultiStep,
    Noam,
    Noisy,
    PhaseShape,
    Piecewise,
    PolynomialDecay,
    Product,
    Ramp,
    RsqrtHold,
    Scaled,
    Schedule,
    Shift,
    SwaAnneal,
    TanhCycles,
    WarmupShape,
    WithMomentum,
    momentum_schedule,
    segment,
    sequence,
    with_lr,
)
from confsched.spec import scheduler as s
from confsched.spec.duration import Duration, parse_duration
from confsched.spec.optimizer import OptimizerBase
from confsched.steps import Timeline

__all__ = ["COMBINATORS", "FAMILIES", "Family", "MomentumKey", "ScheduleContext", "momentum_key", "warmup_of"]

MomentumKey = Literal["betas", "momentum"]


def momentum_key(optimizer: OptimizerBase) -> MomentumKey | None:
    """Which optimizer knob a momentum schedule sets: ``betas`` (beta1) if it has betas, else
    ``momentum`` if it has momentum, else ``None`` (torch's ``OneCycleLR`` rule)."""
    fields = type(optimizer).model_fields
    return "betas" if "betas" in fields else "momentum" if "momentum" in fields else None


@dataclass(frozen=True)
class ScheduleContext:
    """What a family needs besides its own knobs: the run's steps, the warmup and the optimizer.

    On a run counted in samples, ``plan`` is its sample axis (:class:`~confsched.steps.SampleTimeline`):
    every "step" here (``total_steps``, ``warmup_steps``, :meth:`steps`) is then a sample, and the
    family's schedule is a function of the samples consumed.
    """

    plan: Timeline
    warmup_steps: int
    lr: float
    """``optimizer.lr``: transformers' ``optimizer.defaults["lr"]``, the reference of absolute LRs."""
    warmup_shape: WarmupShape = "linear"
    """``scheduler.warmup_shape``."""
    warmup_start: float = 0.0
    """``scheduler.warmup_start``."""
    momentum_key: MomentumKey | None = None
    """What a momentum schedule would set on this optimizer (see :func:`momentum_key`)."""
    group_lr: float | None = None
    """Base LR of the LR group the schedule is made for (``None``: the default group, ``lr``).
    Only families made per group read it (an absolute floor shared by every group)."""
    group_name: str = "default"
    """Name of that LR group (for messages, and per-group lists such as plateau's ``min_lr``)."""
    group_names: tuple[str, ...] = ("default",)
    """Every LR group of the spec, in optimizer order."""
    group_base_lrs: tuple[float, ...] = ()
    """Their base LRs (bounds: a multiplier times the largest must stay finite)."""
    hold_steps: int = 0
    """``scheduler.hold`` in steps: the curve starts after warmup + hold (set by :meth:`Family.build`)."""
    warmup_prefix: bool = True
    """``scheduler.warmup_prefix``: False lays the warmup over the curve instead of delaying it."""
    span: int | None = None
    """Steps this schedule covers when it is a member of ``chain`` or ``sequential`` (its part of
    the run); ``None``: the whole run."""
    start_level: float = 1.0
    """Where the schedule starts, for one that takes over from the LR of another (SWALR in a
    ``sequential``): the multiplier the member before it ended at."""

    @property
    def base_lr(self) -> float:
        """Base LR of the group the schedule is made for: ``group_lr``, or ``optimizer.lr``."""
        return self.lr if self.group_lr is None else self.group_lr

    @property
    def total_steps(self) -> int:
        """Steps the schedule covers: the run's total, or its part of it as a member."""
        return self.plan.total_steps if self.span is None else self.span

    @property
    def curve_steps(self) -> int:
        """Steps left after the warmup and the hold: the length of the family's own curve (with an
        overlaid warmup, ``warmup_prefix=False``, the whole run)."""
        if not self.warmup_prefix:
            return self.total_steps
        return self.total_steps - self.warmup_steps - self.hold_steps

    @property
    def run_described(self) -> str:
        if self.span is None:
            return f"the run ({self.total_steps} {self.plan.unit})"
        return f"its part of the run ({self.total_steps} {self.plan.unit})"

    def steps(self, field: str, duration: Duration) -> int:
        """``duration`` in steps; an error naming ``field`` if it is longer than the run."""
        n = self.plan.steps(duration)
        if n > self.total_steps:
            raise SpecError(field, f"{self.plan.describe(duration)} exceeds {self.run_described}")
        return n

    def position(self, field: str, duration: Duration) -> int:
        """``duration`` in steps as a point of the family's curve, which starts after the warmup;
        an error naming ``field`` if it falls after the end of the run."""
        n = self.steps(field, duration)
        if n > self.curve_steps:
            raise SpecError(
                field, f"{duration} = {n} {self.plan.unit} is past the end of {self.curve_described}"
            )
        return n

    @property
    def curve_described(self) -> str:
        """The family's curve in words, for errors: the run, or what the warmup leaves of it."""
        if self.curve_steps == self.total_steps:
            return self.run_described
        unit = self.plan.unit
        parts = [f"{self.warmup_steps}-{unit.rstrip('s')} warmup"] if self.warmup_steps else []
        parts += [f"{self.hold_steps}-{unit.rstrip('s')} hold"] if self.hold_steps else []
        ends = "the warmup ends" if not self.hold_steps else "they end" if len(parts) > 1 else "the hold ends"
        after = " and the ".join(parts)
        return f"the {self.curve_steps} {unit} left after the {after} (the curve starts when {ends})"

    def ramp(self) -> Ramp:
        """The warmup: a :class:`Ramp` of ``warmup_shape`` from ``warmup_start`` over ``warmup_steps``."""
        if self.warmup_shape == "log" and self.warmup_steps == 1:
            raise SpecError(
                "warmup",
                "1 step with warmup_shape log: log(step) / log(warmup) needs a warmup of at least 2 "
                "steps (DeepSpeed raises a shorter warmup_num_steps to 2)",
            )
        return Ramp(self.warmup_steps, self.warmup_shape, self.warmup_start)

    def after_warmup(self, decay: Schedule) -> Schedule:
        """The warmup (transformers' linear warmup from 0 by default), the hold at 1, then ``decay``
        on local time; with ``warmup_prefix=False`` the warmup covers the first steps of ``decay``,
        which keeps the global step."""
        w, h = self.warmup_steps, self.hold_steps
        if not self.warmup_prefix:
            # NeMo's warmup ends with its step W at (W + 1) / (W + 1) = 1: laid over a curve, it
            # covers that step too
            span = w + 1 if w and self.warmup_shape == "nemo" else w
            return decay if w == 0 else sequence([(span, self.ramp())], Shift(decay, span))
        phases: list[tuple[int, Schedule]] = [(w, self.ramp())] if w else []
        if h:
            phases.append((h, Constant(1.0)))
        return sequence(phases, decay) if phases else decay

    def member(self, spec: s.SchedulerBase, span: int) -> ScheduleContext:
        """The context of a member of ``chain`` / ``sequential`` covering ``span`` steps."""
        warmup = warmup_of(spec, self.plan)
        if warmup > span:
            raise SpecError(
                "warmup",
                f"{self.plan.describe(spec.warmup)} exceeds its part of the run ({span} steps)",
            )
        return dataclasses.replace(
            self,
            warmup_steps=warmup,
            warmup_shape=spec.warmup_shape,
            warmup_start=spec.warmup_start,
            hold_steps=0,
            warmup_prefix=True,
            span=span,
            start_level=1.0,
        )


def warmup_of(spec: s.SchedulerBase, timeline: Timeline) -> int:
    """``spec.warmup`` in steps (samples on a sample axis); a fraction of the run rounds up, or down
    with ``warmup_rounding: floor`` (NeMo's ``int(warmup_ratio * max_steps)``, on the exact decimal)."""
    if spec.warmup_rounding == "floor" and spec.warmup.unit == "fraction":
        return math.floor(spec.warmup.amount * timeline.total_steps)
    return timeline.steps(spec.warmup)


Made = Schedule | MetricPolicy


@dataclass(frozen=True)
class Family:
    """A row of the registry."""

    name: str
    model: type[s.SchedulerBase]
    make: Callable[[Any, ScheduleContext], Made]
    summary: str
    driven_by: Literal["step", "metric"] = "step"
    per_group: bool = False
    """The multiplier depends on the group's base LR (:attr:`ScheduleContext.base_lr`; e.g. an
    absolute floor every group shares), so the family is made once per LR group; otherwise every
    group shares one schedule object (unless the spec asks for absolute LRs, see
    :meth:`is_per_group`)."""

    def is_per_group(self, spec: s.SchedulerBase) -> bool:
        """Whether ``spec`` is made once per LR group: the family always is (``per_group``), or the
        spec sets an LR every group shares (``floor_groups: same``, ``floor_lr``, ``after_run_lr``,
        ``swa_lr``...)."""
        return self.per_group or spec.absolute_lrs

    def driven_by_for(self, spec: s.SchedulerBase) -> Literal["step", "metric"]:
        """``driven_by`` of this spec: a ``chain`` with a metric-driven member is metric-driven."""
        members = getattr(spec, "schedulers", [])
        if any(FAMILIES[member.name].driven_by == "metric" for member in members):
            return "metric"
        return self.driven_by

    def build(self, spec: s.SchedulerBase, ctx: ScheduleContext) -> Made:
        """The family's schedule with the knobs every family has applied: ``hold`` and
        ``warmup_prefix`` (through :meth:`ScheduleContext.after_warmup`), then ``floor_lr`` (a
        clamp after the warmup), ``after_run_lr`` and ``noise``."""
        hold = ctx.steps("hold", spec.hold)
        if ctx.warmup_steps + hold > ctx.total_steps:
            raise SpecError(
                "hold",
                f"warmup {ctx.warmup_steps} + hold {hold} = {ctx.warmup_steps + hold} steps exceed "
                f"{ctx.run_described}",
            )
        ctx = dataclasses.replace(ctx, hold_steps=hold, warmup_prefix=spec.warmup_prefix)
        made = self.make(spec, ctx)
        if not callable(made):
            return made
        schedule: Schedule = made
        if spec.floor_lr is not None:
            floor = _of_base("floor_lr", spec.floor_lr, ctx)
            schedule = with_lr(schedule, lambda lr: Clamp(lr, floor, ctx.warmup_steps))
        if spec.after_run_lr is not None:
            after = _of_base("after_run_lr", spec.after_run_lr, ctx)
            end = ctx.total_steps + 1
            schedule = with_lr(schedule, lambda lr: Join((lr, Constant(after)), (end,)))
        if spec.noise is not None:
            schedule = with_lr(schedule, lambda lr: _noisy(lr, spec.noise, ctx))
        return schedule


def _noisy(schedule: Schedule, knobs: s.NoiseSpec | None, ctx: ScheduleContext) -> Schedule:
    assert knobs is not None
    start = ctx.steps("noise.start", knobs.start)
    end = None if knobs.end is None else ctx.steps("noise.end", knobs.end)
    if end is not None and end <= start:
        raise SpecError("noise.end", f"{knobs.end} = {end} steps must come after noise.start ({start} steps)")
    return Noisy(schedule, start, end, knobs.type, knobs.pct, knobs.seed, knobs.std)


def _linear(spec: s.LinearSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(LinearToZero(ctx.curve_steps))


def _cosine(spec: s.CosineSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineDecay(ctx.curve_steps, spec.num_cycles))


def _cosine_with_restarts(spec: s.CosineWithRestartsSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineHardRestarts(ctx.curve_steps, spec.num_cycles))


def _polynomial(spec: s.PolynomialSpec, ctx: ScheduleContext) -> Schedule:
    reference = _reference_lr(spec, ctx)
    if spec.floor_groups == "scaled" and not spec.lr_end < reference:
        raise SpecError("lr_end", f"{spec.lr_end:g} must be below optimizer.lr ({ctx.lr:g})")
    _of_base("lr_end", spec.lr_end, ctx, reference)
    if ctx.curve_steps == 0:
        raise SpecError(
            "warmup",
            f"{ctx.warmup_steps + ctx.hold_steps} steps leaves no steps to decay over in a "
            f"{ctx.total_steps}-step run; polynomial needs warmup shorter than the run",
        )
    return ctx.after_warmup(
        PolynomialDecay(ctx.curve_steps, spec.power, reference, spec.lr_end, spec.k_decay, spec.cycle)
    )


def _reference_lr(spec: s.SchedulerBase, ctx: ScheduleContext) -> float:
    """The LR an absolute floor is a fraction of: ``optimizer.lr`` (transformers'), or the group's
    own base LR with ``floor_groups: same``."""
    return ctx.base_lr if getattr(spec, "floor_groups", "scaled") == "same" else ctx.lr


def _constant(spec: s.ConstantSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(Constant(1.0))


def _inverse_sqrt(spec: s.InverseSqrtSpec, ctx: ScheduleContext) -> Schedule:
    if spec.timescale is None:
        timescale = ctx.warmup_steps or ctx.plan.steps(parse_duration(10_000))
    else:
        timescale = ctx.plan.steps(parse_duration(spec.timescale))  # steps (samples on a sample axis)
    return ctx.after_warmup(InverseSqrt(timescale, spec.decay_rate))


def _min_lr_rate(spec: s.SchedulerBase, ctx: ScheduleContext, knob: str = "min_lr") -> float:
    """The floor as a fraction of the base LR: ``min_lr_rate``, or ``min_lr`` over ``optimizer.lr``
    (every group floors at the same fraction, as in transformers), or over the group's own base LR
    with ``floor_groups: same`` (every group floors at ``min_lr``), or 0 when neither is set."""
    rate = getattr(spec, "min_lr_rate", None)
    if rate is not None:
        return float(rate)
    value = getattr(spec, knob)
    if value is None:
        return 0.0
    reference = _reference_lr(spec, ctx)
    if value > reference and getattr(spec, "floor_groups", "scaled") == "scaled":
        raise SpecError(knob, f"{value:g} must not exceed optimizer.lr ({ctx.lr:g})")
    # shared by every group (torch's eta_min), it may lie above a group's base LR: the LR then rises
    return _of_base(knob, value, ctx, reference)


def _cosine_with_min_lr(spec: s.CosineWithMinLRSpec, ctx: ScheduleContext) -> Schedule:
    floor = _min_lr_rate(spec, ctx)
    return ctx.after_warmup(CosineDecay(ctx.curve_steps, spec.num_cycles, floor, spec.exponent))


def _cosine_warmup_with_min_lr(spec: s.CosineWarmupWithMinLRSpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(
        spec,
        ctx,
        "cosine_warmup_with_min_lr has transformers' own warmup (warmup_lr_rate sets its start)",
        steps=False,
    )
    floor = _min_lr_rate(spec, ctx)
    return CosineWarmupWithMinLR(
        ctx.warmup_steps, ctx.total_steps, spec.num_cycles, floor, spec.warmup_lr_rate
    )


@dataclass(frozen=True)
class _Phase:
    """A resolved phase: ``steps`` long, from multiplier ``start`` to ``end``."""

    steps: int
    shape: PhaseShape
    start: float
    end: float
    num_cycles: float = 0.5
    power: float = 1.0


def _in_sequence(phases: list[_Phase]) -> Schedule:
    """Phases back to back, then the last one's end held: how WSD and ``phases`` are assembled."""
    segments = [(p.steps, segment(p.steps, p.shape, p.start, p.end, p.num_cycles, p.power)) for p in phases]
    return sequence(segments, Constant(phases[-1].end))


def _warmup_stable_decay(spec: s.WarmupStableDecaySpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(
        spec,
        ctx,
        "warmup_stable_decay shapes its warmup with warmup_type and starts it at min_lr_ratio",
        steps=False,
    )
    w = ctx.warmup_steps
    d = ctx.steps("decay", spec.decay)
    if spec.stable is None:
        if w + d > ctx.total_steps:
            raise SpecError(
                "decay",
                f"warmup {w} + decay {d} = {w + d} {ctx.plan.unit} exceed the run "
                f"({ctx.total_steps} {ctx.plan.unit})",
            )
        stable = ctx.total_steps - w - d
    else:
        stable = ctx.steps("stable", spec.stable)
        if w + stable + d > ctx.total_steps:
            raise SpecError(
                "stable",
                f"warmup {w} + stable {stable} + decay {d} = {w + stable + d} {ctx.plan.unit} exceed "
                f"the run ({ctx.total_steps} {ctx.plan.unit})",
            )
    r = spec.min_lr_ratio if spec.min_lr is None else _min_lr_rate(spec, ctx)
    if spec.decay_type == "exponential" and r == 0:
        raise SpecError(
            "decay_type",
            "exponential decays geometrically to the floor, which must be above 0 (set min_lr_ratio)",
        )
    return _in_sequence(
        [
            _Phase(w, spec.warmup_type, r, 1.0),
            _Phase(stable, "constant", 1.0, 1.0),
            _Phase(d, spec.decay_type, 1.0, r, spec.num_cycles, spec.decay_power),
        ]
    )


def _phases(spec: s.PhasesSpec, ctx: ScheduleContext) -> Schedule:
    lengths = [
        None if phase.duration is None else ctx.steps(f"phases[{i}].duration", phase.duration)
        for i, phase in enumerate(spec.phases)
    ]
    elapsed = 0
    for i, n in enumerate(lengths):
        elapsed += n or 0
        if elapsed > ctx.curve_steps:
            raise SpecError(
                f"phases[{i}].duration",
                f"{spec.phases[i].duration} = {n} steps brings the phases to {elapsed} steps, past the "
                f"end of {ctx.curve_described}",
            )
    rest = ctx.curve_steps - elapsed
    resolved, level = [], 1.0
    for i, (phase, n) in enumerate(zip(spec.phases, lengths, strict=True)):
        start = level if phase.start is None else phase.start
        end = start if phase.end is None else phase.end
        _check_phase(f"phases[{i}]", phase, start, end)
        length = rest if n is None else n
        resolved.append(_Phase(length, phase.shape, start, end, phase.num_cycles, phase.power))
        level = end
    return ctx.after_warmup(_in_sequence(resolved))


def _check_phase(path: str, phase: s.PhaseSpec, start: float, end: float) -> None:
    if phase.shape == "constant" and end != start:
        raise SpecError(
            f"{path}.end",
            f"{end:g}, but a constant phase holds its start ({start:g}); drop end, or pick a shape "
            "that moves the LR (linear, cosine, 1-sqrt, exponential, polynomial)",
        )
    if phase.shape == "exponential" and min(start, end) == 0:
        raise SpecError(
            f"{path}.shape",
            f"exponential from {start:g} to {end:g}: a geometric phase cannot reach or leave 0; "
            "use another shape or a level above 0",
        )
    if phase.num_cycles != 0.5 and not (phase.shape == "cosine" and end < start):
        raise SpecError(
            f"{path}.num_cycles",
            f"{phase.num_cycles:g}: only a falling cosine phase has cycles "
            f"(this one is {phase.shape} from {start:g} to {end:g})",
        )
    if phase.power != 1 and phase.shape != "polynomial":
        raise SpecError(f"{path}.power", f"{phase.power:g}, but the phase is {phase.shape}, not polynomial")


def _piecewise(spec: s.PiecewiseSpec, ctx: ScheduleContext) -> Schedule:
    positions = [ctx.position(f"knots[{i}][0]", at) for i, (at, _) in enumerate(spec.knots)]
    for i in range(1, len(positions)):
        if positions[i] < positions[i - 1]:
            raise SpecError(
                f"knots[{i}][0]",
                f"{spec.knots[i][0]} = {positions[i]} steps comes before the knot before it "
                f"({positions[i - 1]} steps); positions must not decrease",
            )
    values = tuple(value for _, value in spec.knots)
    return ctx.after_warmup(Piecewise(tuple(map(float, positions)), values, spec.interpolation))


def _finite_growth(gamma: float, times: int) -> None:
    """A ``gamma`` above 1 applied ``times`` in the run must leave the LR a finite float."""
    if gamma > 1 and times * math.log10(gamma) > 300:
        raise SpecError(
            "gamma",
            f"{gamma:g} applied {times} times in the run multiplies the LR by {gamma:g}^{times} > 1e300",
        )


def _growth_end(rate: float, ctx: ScheduleContext) -> int | None:
    """A growing schedule (rate > 1) holds its last value after the run; a decaying one goes on."""
    return ctx.curve_steps if rate > 1 else None


def _step(spec: s.StepSpec, ctx: ScheduleContext) -> Schedule:
    size = ctx.steps("step_size", spec.step_size)
    if size == 0:
        raise SpecError("step_size", f"{spec.step_size} = 0 steps; the LR must be cut at most once a step")
    _finite_growth(spec.gamma, ctx.curve_steps // size)
    until = _growth_end(spec.gamma, ctx)
    return ctx.after_warmup(ExponentialDecay(spec.gamma, size, staircase=True, until=until))


def _multistep(spec: s.MultiStepSpec, ctx: ScheduleContext) -> Schedule:
    milestones = sorted(ctx.position(f"milestones[{i}]", m) for i, m in enumerate(spec.milestones))
    _finite_growth(spec.gamma, len(milestones))
    return ctx.after_warmup(MultiStep(tuple(milestones), spec.gamma))


def _exponential(spec: s.ExponentialSpec, ctx: ScheduleContext) -> Schedule:
    bound = spec.end_lr_ratio
    if spec.gamma is not None:
        period = ctx.steps("period", spec.period)
        if period == 0:
            raise SpecError("period", f"{spec.period} = 0 steps; gamma applies over at least one step")
        _finite_growth(spec.gamma, -(-ctx.curve_steps // period))
        rate = ExponentialDecay(spec.gamma, period, spec.staircase, _growth_end(spec.gamma, ctx), bound)
        return ctx.after_warmup(rate)
    assert spec.final_lr_ratio is not None  # one of the two is set (checked by the model)
    if ctx.curve_steps == 0:
        raise SpecError(
            "final_lr_ratio",
            f"the {ctx.warmup_steps}-step warmup leaves no steps to decay over; give gamma instead "
            "or shorten the warmup",
        )
    until = _growth_end(spec.final_lr_ratio, ctx)
    return ctx.after_warmup(ExponentialDecay(spec.final_lr_ratio, ctx.curve_steps, until=until, bound=bound))


def _cycle_length(spec: s.CosineCyclesSpec | s.TanhSpec, ctx: ScheduleContext) -> tuple[int, int]:
    """The first cycle's length and the per-cycle warmup, in steps."""
    if spec.cycle_length is None:
        length = ctx.curve_steps
        if length == 0:
            raise SpecError("cycle_length", "null (the rest of the run), but the warmup takes the whole run")
    else:
        length = ctx.steps("cycle_length", spec.cycle_length)
        if length == 0:
            raise SpecError("cycle_length", f"{spec.cycle_length} = 0 steps; a cycle needs at least one")
    warmup = ctx.steps("cycle_warmup", spec.cycle_warmup)
    if warmup >= length:
        raise SpecError(
            "cycle_warmup",
            f"{ctx.plan.describe(spec.cycle_warmup)} is not shorter than the first cycle ({length} steps)",
        )
    if spec.cycle_decay > 1 and (spec.cycle_limit - 1) * math.log10(spec.cycle_decay) > 300:
        raise SpecError(
            "cycle_decay",
            f"{spec.cycle_decay:g} over {spec.cycle_limit} cycles raises the peak above 1e300; "
            "lower cycle_decay or cycle_limit",
        )
    return length, warmup


def _cosine_cycles(spec: s.CosineCyclesSpec, ctx: ScheduleContext) -> Schedule:
    length, warmup = _cycle_length(spec, ctx)
    floor = _min_lr_rate(spec, ctx)
    return ctx.after_warmup(
        CosineCycles(
            length,
            cycle_mul=spec.cycle_mul,
            cycle_decay=spec.cycle_decay,
            cycle_limit=spec.cycle_limit,
            floor=floor,
            warmup=warmup,
            k_decay=spec.k_decay,
        )
    )


def _tanh(spec: s.TanhSpec, ctx: ScheduleContext) -> Schedule:
    length, warmup = _cycle_length(spec, ctx)
    floor = _min_lr_rate(spec, ctx)
    curve = TanhCycles(
        length,
        cycle_mul=spec.cycle_mul,
        cycle_decay=spec.cycle_decay,
        cycle_limit=spec.cycle_limit,
        floor=floor,
        warmup=warmup,
        lb=spec.lb,
        ub=spec.ub,
    )
    w = ctx.warmup_steps
    if ctx.warmup_prefix or w == 0:
        return ctx.after_warmup(curve)
    # timm's TanhLRScheduler warms up to the curve's own value at the end of the warmup
    level = float(curve(np.int64(w)))
    if ctx.warmup_shape != "linear":
        raise SpecError(
            "warmup_shape",
            f"{ctx.warmup_shape!r}: tanh with warmup_prefix: false warms up linearly to the curve "
            "(timm's); use linear",
        )
    return sequence([(w, segment(w, "linear", ctx.warmup_start, level))], Shift(curve, w))


_ANNEAL: dict[str, Interpolation] = {"cos": "cosine", "linear": "linear"}


def _one_cycle(spec: s.OneCycleSpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(spec, ctx, "one_cycle warms up itself, over pct_start of the run")
    total, pct = ctx.total_steps, spec.pct_start
    peak = 1.0 if spec.max_lr is None else spec.max_lr / ctx.lr
    _finite_peak("max_lr", peak, ctx)
    initial = peak / spec.div_factor
    final = initial / spec.final_div_factor
    rise_end = float(pct * total) - 1
    if rise_end <= 0:
        raise SpecError(
            "pct_start",
            f"{pct:g} of {total} steps is {pct * total:g} steps; the rise needs more than one step",
        )
    low, high = spec.base_momentum, spec.max_momentum
    positions: tuple[float, ...]
    lrs: tuple[float, ...]
    momenta: tuple[float, ...]
    if spec.three_phase:
        fall_end = float(2 * pct * total) - 2
        if not fall_end < total - 1:
            raise SpecError(
                "pct_start",
                f"{pct:g}: with three_phase the rise and the fall back take {2 * pct * total:g} of "
                f"the {total} steps and leave none for the final anneal; use pct_start below 0.5",
            )
        positions = (0.0, rise_end, fall_end, total - 1.0)
        lrs, momenta = (initial, peak, initial, final), (high, low, high, high)
    else:
        positions = (0.0, rise_end, total - 1.0)
        lrs, momenta = (initial, peak, final), (high, low, high)
    shape = _ANNEAL[spec.anneal_strategy]
    lr = Piecewise(positions, lrs, shape)
    if not spec.cycle_momentum:
        return lr
    _need_momentum(ctx)
    return WithMomentum(lr, Piecewise(positions, momenta, shape))


def _need_momentum(ctx: ScheduleContext) -> None:
    if ctx.momentum_key is None:
        raise SpecError(
            "cycle_momentum",
            "true, but the optimizer has neither momentum nor betas to cycle; set cycle_momentum: false",
        )


def _cyclic(spec: s.CyclicSpec, ctx: ScheduleContext) -> Schedule:
    up = ctx.steps("step_size_up", spec.step_size_up)
    down = up if spec.step_size_down is None else ctx.steps("step_size_down", spec.step_size_down)
    if up == 0:
        raise SpecError("step_size_up", f"{spec.step_size_up} = 0 steps; the LR needs a step to rise")
    if down == 0:
        raise SpecError("step_size_down", f"{spec.step_size_down} = 0 steps; the LR needs a step to fall")
    low = 1.0 if spec.base_lr is None else _of_base("base_lr", spec.base_lr, ctx, ctx.lr)
    high = _of_base("max_lr", spec.max_lr, ctx, ctx.lr)
    lr = ctx.after_warmup(Cyclic(up, down, low, high, spec.mode, spec.gamma))
    if not spec.cycle_momentum:
        return lr
    _need_momentum(ctx)
    momentum = Cyclic(up, down, spec.base_momentum, spec.max_momentum, spec.mode, spec.gamma, inverted=True)
    if ctx.warmup_steps:  # the momentum waits at its start while the LR warms up
        return WithMomentum(lr, sequence([(ctx.warmup_steps, Constant(spec.max_momentum))], momentum))
    return WithMomentum(lr, momentum)


def _of_base(field: str, value: float, ctx: ScheduleContext, reference: float | None = None) -> float:
    """An absolute LR ``value`` as a multiplier of ``reference`` (default: the group's base LR),
    refused unless the multiplier and the LR it gives every group stay finite (below 1e300)."""
    reference = ctx.base_lr if reference is None else reference
    if not reference > 0:
        raise SpecError(
            field,
            f"{value:g} is an absolute LR, but the base LR of group {ctx.group_name} is {reference:g}: "
            "the LR of that group is its base LR times a multiplier",
        )
    multiplier = value / reference
    if not multiplier <= 1e300:
        raise SpecError(
            field, f"{value:g} is {multiplier:g} x the base LR of group {ctx.group_name}, above 1e300"
        )
    _finite_peak(field, multiplier, ctx)
    return multiplier


def _finite_peak(field: str, multiplier: float, ctx: ScheduleContext) -> None:
    """An LR ``multiplier`` times every group's base LR must stay a finite float (below 1e300)."""
    largest = max(ctx.lr, ctx.base_lr, *ctx.group_base_lrs)
    if not multiplier * largest <= 1e300:
        raise SpecError(field, f"makes an LR of {multiplier:g} x {largest:g} (a group's LR), above 1e300")


def _swalr(spec: s.SwalrSpec, ctx: ScheduleContext) -> Schedule:
    anneal = ctx.steps("anneal", spec.anneal)
    target = _of_base("swa_lr", spec.swa_lr, ctx)
    return ctx.after_warmup(SwaAnneal(anneal, target, ctx.start_level, spec.anneal_strategy))


def _noam(spec: s.NoamSpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(spec, ctx, "noam's warmup is part of its formula", steps=False)
    return Noam(spec.d_model, ctx.warmup_steps)


def _t5_inverse_sqrt(spec: s.T5InverseSqrtSpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(spec, ctx, "t5_inverse_sqrt holds 1/sqrt(constant_steps) first instead of a warmup")
    hold = ctx.steps("constant_steps", spec.constant_steps)
    if hold == 0:
        raise SpecError("constant_steps", f"{spec.constant_steps} = 0 steps; 1/sqrt(0) is no LR")
    scale = _of_base("constant_steps", 1.0, ctx)
    _finite_peak("constant_steps", scale / math.sqrt(hold), ctx)
    return RsqrtHold(hold, scale)


def _sgdr(spec: s.SgdrSpec, ctx: ScheduleContext) -> Schedule:
    cycles: list[tuple[int, Schedule]] = []
    elapsed = 0
    for i, cycle in enumerate(spec.cycles):
        path = f"cycles[{i}]"
        n = ctx.steps(f"{path}.duration", cycle.duration)
        w = ctx.steps(f"{path}.warmup", cycle.warmup)
        if n == 0 or w >= n:
            raise SpecError(
                f"{path}.warmup" if n else f"{path}.duration",
                f"{ctx.plan.describe(cycle.warmup)} is not shorter than the cycle ({n} steps)"
                if n
                else f"{cycle.duration} = 0 steps; a cycle needs at least one",
            )
        elapsed += n
        if elapsed > ctx.curve_steps:
            raise SpecError(
                f"{path}.duration",
                f"{cycle.duration} = {n} steps brings the cycles to {elapsed} steps, past the end of "
                f"{ctx.curve_described}",
            )
        _finite_peak(f"{path}.peak", max(cycle.peak, cycle.start, cycle.end), ctx)
        rise = segment(w, "linear", cycle.start, cycle.peak)
        if cycle.peak == 0:
            fall: Schedule = Constant(0.0)
        else:
            fall = Scaled(Decay(n - w, "cosine", cycle.end / cycle.peak, 0.5, cycle.exponent), cycle.peak)
        cycles.append((n, sequence([(w, rise)], fall) if w else fall))
    last = spec.cycles[-1]
    # after the last cycle, its end is held (optax: the last schedule goes on, its cosine clamped)
    return ctx.after_warmup(sequence(cycles, Constant(last.end if last.peak else 0.0)))


def _refuse_warmup(spec: s.SchedulerBase, ctx: ScheduleContext, why: str, *, steps: bool = True) -> None:
    """Refuse warmup knobs the family has no use for (``warmup`` itself unless ``steps=False``)."""
    if steps and ctx.warmup_steps:
        raise SpecError("warmup", f"{ctx.plan.describe(spec.warmup)}: {why}; set warmup: 0")
    for knob in ("warmup_shape", "warmup_start", "warmup_prefix", "hold"):
        value = getattr(spec, knob)
        if value != s.SchedulerBase.model_fields[knob].get_default():
            shown = value.written if hasattr(value, "written") else value
            raise SpecError(knob, f"{shown!r}: {why}; remove {knob}")


def _policy_knobs(policy: type[Any], spec: s.SchedulerBase) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(policy) if hasattr(spec, f.name)}


_STEP_ONLY = ("hold", "floor_lr", "after_run_lr", "noise", "warmup_prefix")


def _metric_driven(spec: s.SchedulerBase, ctx: ScheduleContext, *, warmup: bool = False) -> None:
    for knob in _STEP_ONLY:
        value = getattr(spec, knob)
        if value != s.SchedulerBase.model_fields[knob].get_default():
            shown = "a mapping" if knob == "noise" else repr(getattr(value, "written", value))
            raise SpecError(
                knob, f"{shown}: {spec.name} changes the LR from a metric, not by step; remove {knob}"
            )
    if not warmup:
        _refuse_warmup(spec, ctx, f"{spec.name} changes the LR from a metric and has no warmup")


def _reduce_lr_on_plateau(spec: s.ReduceLROnPlateauSpec, ctx: ScheduleContext) -> MetricPolicy:
    _metric_driven(spec, ctx, warmup=True)
    knobs = _policy_knobs(PlateauPolicy, spec)
    if isinstance(spec.min_lr, list):
        if len(spec.min_lr) != len(ctx.group_names):
            raise SpecError(
                "min_lr",
                f"{len(spec.min_lr)} floors for {len(ctx.group_names)} LR groups "
                f"({', '.join(ctx.group_names)}): give one number, or one per group",
            )
        knobs["min_lr"] = 0.0
        knobs["min_lrs"] = tuple(zip(ctx.group_names, spec.min_lr, strict=True))
    policy = PlateauPolicy(**knobs)
    if ctx.warmup_steps == 0:
        return policy
    return WithFactor(policy, ctx.after_warmup(Constant(1.0)))


def _greedy(spec: s.GreedySpec, ctx: ScheduleContext) -> MetricPolicy:
    _metric_driven(spec, ctx)
    if spec.min_lr >= spec.max_lr:
        raise SpecError("min_lr", f"{spec.min_lr:g} must be below max_lr ({spec.max_lr:g})")
    return GreedyPolicy(**_policy_knobs(GreedyPolicy, spec))


def _members(spec: s.ChainSpec | s.SequentialSpec, ctx: ScheduleContext, spans: list[int]) -> list[Made]:
    """Each member built on its own span (errors name ``schedulers[i]``); a SWALR member starts
    where the member before it ended."""
    made: list[Made] = []
    for i, (member, span) in enumerate(zip(spec.schedulers, spans, strict=True)):
        path = f"schedulers[{i}]"
        family = FAMILIES[member.name]
        try:
            sub = ctx.member(member, span)
            if made and isinstance(spec, s.SequentialSpec) and callable(made[-1]):
                level = float(made[-1](np.int64(spans[i - 1])))
                sub = dataclasses.replace(sub, start_level=level)
            made.append(family.build(member, sub))
        except ConfschedError as error:
            raise error.within(path) from None
    return made


def _chain(spec: s.ChainSpec, ctx: ScheduleContext) -> Made:
    made = _members(spec, ctx, [ctx.curve_steps] * len(spec.schedulers))
    policies = [m for m in made if not callable(m)]
    if len(policies) > 1:
        raise SpecError("schedulers", "two metric-driven members: a chain may have one (one plateau state)")
    factors: list[Schedule] = [m for m in made if callable(m)]
    momenta = [m for m in map(momentum_schedule, factors) if m is not None]
    if len(momenta) > 1:
        raise SpecError("schedulers", "two members set the momentum: a chain may have one that cycles it")
    product: Schedule = Product(tuple(factors)) if len(factors) > 1 else factors[0]
    if momenta:
        product = WithMomentum(product, momenta[0])
    schedule = ctx.after_warmup(product)
    if policies:
        policy = policies[0]
        inner = step_factor(policy)
        base = policy.policy if isinstance(policy, WithFactor) else policy
        return WithFactor(base, schedule if inner is None else Product((inner, schedule)))
    return schedule


def _sequential(spec: s.SequentialSpec, ctx: ScheduleContext) -> Schedule:
    bounds = [ctx.position(f"milestones[{i}]", m) for i, m in enumerate(spec.milestones)]
    for i in range(1, len(bounds)):
        if bounds[i] < bounds[i - 1]:
            raise SpecError(
                f"milestones[{i}]",
                f"{spec.milestones[i]} = {bounds[i]} steps comes before the milestone before it "
                f"({bounds[i - 1]} steps); milestones must not decrease",
            )
    edges = [0, *bounds, ctx.curve_steps]
    spans = [b - a for a, b in itertools.pairwise(edges)]
    made = _members(spec, ctx, spans)
    for i, m in enumerate(made):
        if not callable(m):
            raise SpecError(
                f"schedulers[{i}]",
                f"{spec.schedulers[i].name} is metric-driven; sequential joins step-driven families "
                "(put it in a chain)",
            )
        if momentum_schedule(m) is not None:
            raise SpecError(
                f"schedulers[{i}]",
                f"{spec.schedulers[i].name} cycles momentum, which sequential does not join; "
                "set cycle_momentum: false",
            )
    return ctx.after_warmup(Join(tuple(made), tuple(bounds)))  # type: ignore[arg-type]


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
            "cosine_cycles",
            s.CosineCyclesSpec,
            _cosine_cycles,
            "cosine cycles with warm restarts, growth and decay (timm's cosine)",
        ),
        Family("tanh", s.TanhSpec, _tanh, "tanh decay with cycles (timm's TanhLRScheduler)"),
        Family("step", s.StepSpec, _step, "cut the LR by gamma every step_size (torch's StepLR)"),
        Family(
            "multistep",
            s.MultiStepSpec,
            _multistep,
            "cut the LR by gamma at each milestone (torch's MultiStepLR)",
        ),
        Family(
            "exponential",
            s.ExponentialSpec,
            _exponential,
            "multiply the LR by gamma every step, or decay geometrically to final_lr_ratio",
        ),
        Family(
            "one_cycle",
            s.OneCycleSpec,
            _one_cycle,
            "the 1cycle policy, optionally cycling momentum (torch's OneCycleLR)",
        ),
        Family(
            "cyclic",
            s.CyclicSpec,
            _cyclic,
            "triangular LR cycles, optionally cycling momentum (torch's CyclicLR)",
        ),
        Family("swalr", s.SwalrSpec, _swalr, "anneal to a fixed SWA LR, then hold it (torch's SWALR)"),
        Family("noam", s.NoamSpec, _noam, "warmup, then 1/sqrt, scaled by d_model^-0.5 (NeMo's Noam)"),
        Family(
            "t5_inverse_sqrt",
            s.T5InverseSqrtSpec,
            _t5_inverse_sqrt,
            "1/sqrt(max(step, constant_steps)) as an absolute LR (NeMo's T5)",
        ),
        Family("sgdr", s.SgdrSpec, _sgdr, "cycles of warmup + cosine, each its own (optax's sgdr)"),
        Family("piecewise", s.PiecewiseSpec, _piecewise, "through knots [at, lr_ratio], linear or cosine"),
        Family("phases", s.PhasesSpec, _phases, "phases with their own lengths and shapes (e.g. WSD)"),
        Family("chain", s.ChainSpec, _chain, "the product of several families (torch's ChainedScheduler)"),
        Family(
            "sequential",
            s.SequentialSpec,
            _sequential,
            "families one after another at milestones (torch's SequentialLR)",
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
"""Family name -> row. transformers' families are named as ``transformers.SchedulerType``; the
others after their reference (torch's StepLR -> ``step``, OneCycleLR -> ``one_cycle``)."""

COMBINATORS = ("chain", "sequential")
"""Families made of other families; their members are any family but these."""


def _member_union() -> Any:
    models = tuple(family.model for name, family in FAMILIES.items() if name not in COMBINATORS)
    return Annotated[Union[models], Field(discriminator="name")]  # noqa: UP007


for _model in (s.ChainSpec, s.SequentialSpec):
    # the field's annotation too, not just the validator: error paths and docs read it
    _model.model_fields["schedulers"].annotation = list[_member_union()]  # type: ignore[assignment,misc]
    _model.model_rebuild(force=True, _types_namespace={"Member": _member_union()})
