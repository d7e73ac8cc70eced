"""The family registry: one row per schedule family, the single table everything else reads.

A row holds the family's spec model, the function that turns a validated spec plus the run's
step figures into a schedule (checking the rules that need the whole run), and a one-line summary.
The pydantic union of ``scheduler``, the builder, ``conf/scheduler/<name>.yaml``, the CLI listing,
the JSON Schema and the parametrised tests are all driven by :data:`FAMILIES`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from confsched.adaptive import GreedyPolicy, MetricPolicy, PlateauPolicy
from confsched.errors import SpecError
from confsched.schedules import (
    Constant,
    CosineCycles,
    CosineDecay,
    CosineHardRestarts,
    CosineWarmupWithMinLR,
    ExponentialDecay,
    Interpolation,
    InverseSqrt,
    LinearToZero,
    MultiStep,
    Piecewise,
    PolynomialDecay,
    Ramp,
    RampShape,
    Schedule,
    WithMomentum,
    segment,
    sequence,
)
from confsched.spec import scheduler as s
from confsched.spec.duration import Duration, parse_duration
from confsched.spec.optimizer import OptimizerBase
from confsched.steps import Timeline

__all__ = ["FAMILIES", "Family", "MomentumKey", "ScheduleContext", "momentum_key"]

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
    warmup_shape: RampShape = "linear"
    """``scheduler.warmup_shape``."""
    warmup_start: float = 0.0
    """``scheduler.warmup_start``."""
    momentum_key: MomentumKey | None = None
    """What a momentum schedule would set on this optimizer (see :func:`momentum_key`)."""
    group_lr: float | None = None
    """Base LR of the LR group the schedule is made for (``None``: the default group, ``lr``).
    Only families with ``per_group=True`` read it (an absolute floor shared by every group)."""

    @property
    def base_lr(self) -> float:
        """Base LR of the group the schedule is made for: ``group_lr``, or ``optimizer.lr``."""
        return self.lr if self.group_lr is None else self.group_lr

    @property
    def total_steps(self) -> int:
        return self.plan.total_steps

    @property
    def curve_steps(self) -> int:
        """Steps left after the warmup: the length of the family's own curve."""
        return self.total_steps - self.warmup_steps

    def steps(self, field: str, duration: Duration) -> int:
        """``duration`` in steps; an error naming ``field`` if it is longer than the run."""
        n = self.plan.steps(duration)
        if n > self.total_steps:
            raise SpecError(
                field, f"{self.plan.describe(duration)} exceeds the run ({self.total_steps} {self.plan.unit})"
            )
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
        unit = self.plan.unit
        if self.warmup_steps == 0:
            return f"the run ({self.total_steps} {unit})"
        return (
            f"the {self.curve_steps} {unit} left after the {self.warmup_steps}-{unit.rstrip('s')} warmup "
            "(the curve starts when the warmup ends)"
        )

    def after_warmup(self, decay: Schedule) -> Schedule:
        """The warmup (:class:`Ramp` of ``warmup_shape`` from ``warmup_start`` over ``warmup_steps``;
        transformers' linear warmup from 0 by default), then ``decay`` on local time."""
        if self.warmup_steps == 0:
            return decay
        ramp = Ramp(self.warmup_steps, self.warmup_shape, self.warmup_start)
        return sequence([(self.warmup_steps, ramp)], decay)


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
    group shares one schedule object."""


def _linear(spec: s.LinearSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(LinearToZero(ctx.curve_steps))


def _cosine(spec: s.CosineSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineDecay(ctx.curve_steps, spec.num_cycles))


def _cosine_with_restarts(spec: s.CosineWithRestartsSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(CosineHardRestarts(ctx.curve_steps, spec.num_cycles))


def _polynomial(spec: s.PolynomialSpec, ctx: ScheduleContext) -> Schedule:
    if not spec.lr_end < ctx.lr:
        raise SpecError("lr_end", f"{spec.lr_end:g} must be below optimizer.lr ({ctx.lr:g})")
    if ctx.warmup_steps >= ctx.total_steps:
        raise SpecError(
            "warmup",
            f"{ctx.warmup_steps} steps leaves no steps to decay over in a {ctx.total_steps}-step "
            "run; polynomial needs warmup shorter than the run",
        )
    return ctx.after_warmup(PolynomialDecay(ctx.curve_steps, spec.power, ctx.lr, spec.lr_end))


def _constant(spec: s.ConstantSpec, ctx: ScheduleContext) -> Schedule:
    return ctx.after_warmup(Constant(1.0))


def _inverse_sqrt(spec: s.InverseSqrtSpec, ctx: ScheduleContext) -> Schedule:
    if spec.timescale is None:
        timescale = ctx.warmup_steps or ctx.plan.steps(parse_duration(10_000))
    else:
        timescale = ctx.plan.steps(parse_duration(spec.timescale))  # steps (samples on a sample axis)
    return ctx.after_warmup(InverseSqrt(timescale))


def _min_lr_rate(
    spec: s.CosineWithMinLRSpec | s.CosineWarmupWithMinLRSpec | s.CosineCyclesSpec, ctx: ScheduleContext
) -> float:
    """The floor as a fraction of the base LR: ``min_lr_rate``, or ``min_lr`` over ``optimizer.lr``
    (every group floors at the same fraction, as in transformers), or 0 when neither is set."""
    if spec.min_lr_rate is not None:
        return spec.min_lr_rate
    if spec.min_lr is None:
        return 0.0
    if spec.min_lr > ctx.lr:
        raise SpecError("min_lr", f"{spec.min_lr:g} must not exceed optimizer.lr ({ctx.lr:g})")
    return spec.min_lr / ctx.lr


def _cosine_with_min_lr(spec: s.CosineWithMinLRSpec, ctx: ScheduleContext) -> Schedule:
    floor = _min_lr_rate(spec, ctx)
    return ctx.after_warmup(CosineDecay(ctx.curve_steps, spec.num_cycles, floor))


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
    shape: RampShape
    start: float
    end: float
    num_cycles: float = 0.5


def _in_sequence(phases: list[_Phase]) -> Schedule:
    """Phases back to back, then the last one's end held: how WSD and ``phases`` are assembled."""
    segments = [(p.steps, segment(p.steps, p.shape, p.start, p.end, p.num_cycles)) for p in phases]
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
    r = spec.min_lr_ratio
    return _in_sequence(
        [
            _Phase(w, spec.warmup_type, r, 1.0),
            _Phase(stable, "constant", 1.0, 1.0),
            _Phase(d, spec.decay_type, 1.0, r, spec.num_cycles),
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
        resolved.append(_Phase(rest if n is None else n, phase.shape, start, end, phase.num_cycles))
        level = end
    return ctx.after_warmup(_in_sequence(resolved))


def _check_phase(path: str, phase: s.PhaseSpec, start: float, end: float) -> None:
    if phase.shape == "constant" and end != start:
        raise SpecError(
            f"{path}.end",
            f"{end:g}, but a constant phase holds its start ({start:g}); drop end, or pick a shape "
            "that moves the LR (linear, cosine, 1-sqrt, exponential)",
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
    if spec.gamma is not None:
        _finite_growth(spec.gamma, ctx.curve_steps)
        return ctx.after_warmup(ExponentialDecay(spec.gamma, until=_growth_end(spec.gamma, ctx)))
    assert spec.final_lr_ratio is not None  # one of the two is set (checked by the model)
    if ctx.curve_steps == 0:
        raise SpecError(
            "final_lr_ratio",
            f"the {ctx.warmup_steps}-step warmup leaves no steps to decay over; give gamma instead "
            "or shorten the warmup",
        )
    until = _growth_end(spec.final_lr_ratio, ctx)
    return ctx.after_warmup(ExponentialDecay(spec.final_lr_ratio, ctx.curve_steps, until=until))


def _cosine_cycles(spec: s.CosineCyclesSpec, ctx: ScheduleContext) -> Schedule:
    if spec.cycle_length is None:
        length = ctx.curve_steps
        if length == 0:
            raise SpecError("cycle_length", "null (the rest of the run), but the warmup takes the whole run")
    else:
        length = ctx.steps("cycle_length", spec.cycle_length)
        if length == 0:
            raise SpecError("cycle_length", f"{spec.cycle_length} = 0 steps; a cycle needs at least one")
    floor = _min_lr_rate(spec, ctx)
    if spec.cycle_decay > 1 and (spec.cycle_limit - 1) * math.log10(spec.cycle_decay) > 300:
        raise SpecError(
            "cycle_decay",
            f"{spec.cycle_decay:g} over {spec.cycle_limit} cycles raises the peak above 1e300; "
            "lower cycle_decay or cycle_limit",
        )
    return ctx.after_warmup(
        CosineCycles(length, spec.cycle_mul, spec.cycle_decay, spec.cycle_limit, floor, spec.k_decay)
    )


_ANNEAL: dict[str, Interpolation] = {"cos": "cosine", "linear": "linear"}


def _one_cycle(spec: s.OneCycleSpec, ctx: ScheduleContext) -> Schedule:
    _refuse_warmup(spec, ctx, "one_cycle warms up itself, over pct_start of the run")
    total, pct = ctx.total_steps, spec.pct_start
    peak = 1.0 if spec.max_lr is None else spec.max_lr / ctx.lr
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
    if ctx.momentum_key is None:
        raise SpecError(
            "cycle_momentum",
            "true, but the optimizer has neither momentum nor betas to cycle; set cycle_momentum: false",
        )
    return WithMomentum(lr, Piecewise(positions, momenta, shape))


def _refuse_warmup(spec: s.SchedulerBase, ctx: ScheduleContext, why: str, *, steps: bool = True) -> None:
    """Refuse warmup knobs the family has no use for (``warmup`` itself unless ``steps=False``)."""
    if steps and ctx.warmup_steps:
        raise SpecError("warmup", f"{ctx.plan.describe(spec.warmup)}: {why}; set warmup: 0")
    for knob in ("warmup_shape", "warmup_start"):
        value = getattr(spec, knob)
        if value != s.SchedulerBase.model_fields[knob].default:
            raise SpecError(knob, f"{value!r}: {why}; remove {knob}")


def _policy_knobs(policy: type[Any], spec: s.SchedulerBase) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(policy)}


def _metric_driven(spec: s.SchedulerBase, ctx: ScheduleContext) -> None:
    _refuse_warmup(spec, ctx, f"{spec.name} changes the LR from a metric and has no warmup")


def _reduce_lr_on_plateau(spec: s.ReduceLROnPlateauSpec, ctx: ScheduleContext) -> MetricPolicy:
    _metric_driven(spec, ctx)
    return PlateauPolicy(**_policy_knobs(PlateauPolicy, spec))


def _greedy(spec: s.GreedySpec, ctx: ScheduleContext) -> MetricPolicy:
    _metric_driven(spec, ctx)
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
            "cosine_cycles",
            s.CosineCyclesSpec,
            _cosine_cycles,
            "cosine cycles with warm restarts, growth and decay (timm's cosine)",
        ),
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
        Family("piecewise", s.PiecewiseSpec, _piecewise, "through knots [at, lr_ratio], linear or cosine"),
        Family("phases", s.PhasesSpec, _phases, "phases with their own lengths and shapes (e.g. WSD)"),
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
