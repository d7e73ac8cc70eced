"""Optimizer-step arithmetic: how many times a real training loop calls ``optimizer.step()``.

For a dataset of :math:`N` samples, per-device batch size :math:`B`, :math:`W` data-parallel ranks,
gradient accumulation over :math:`A` batches and :math:`E` epochs:

.. math::

    N_r &= \\lceil N / W \\rceil
        && \\text{samples per rank (DistributedSampler pads to equal shards; } N_r = N \\text{ if } W = 1)

    n_b &= \\lfloor N_r / B \\rfloor \\text{ if drop\\_last else } \\lceil N_r / B \\rceil
        && \\text{batches per epoch on each rank}

    n_b' &= \\min(n_b, \\ell) \\text{ or } \\lfloor n_b \\ell \\rfloor
        && \\text{Lightning's limit\\_train\\_batches } \\ell \\text{ (an int, or a fraction), when set}

    S &= \\lceil n_b' / A \\rceil
        && \\text{optimizer steps per epoch (a partial accumulation still steps)}

    T &= E \\cdot S, \\text{ or } \\texttt{max\\_steps} \\text{ when set}
        && \\text{total optimizer steps}

This is what ``DataLoader(dataset, batch_size=B, drop_last=..., sampler=DistributedSampler(...))``
yields, with the loop stepping every ``A`` batches and once more at the end of an epoch when the
last accumulation is partial. ``tests/test_steps.py`` builds that loop and counts.

**Runs counted in samples.** A run whose length is a sample or token budget
(``training.max_samples``, ``max_tokens``), or whose global batch ramps up, is counted the way
Megatron-LM, NeMo and OLMo count it: every optimizer step takes one global batch
:math:`G = B W A` (or the ramp's batch, see :mod:`confsched.time.batches`) from a stream of
samples that runs across epochs, and the run ends at the first step by which the budget
:math:`N_{\\text{run}}` has been consumed: :math:`T = \\lceil N_{\\text{run}} / G \\rceil` for a
constant batch (the last step may overshoot the budget by less than a batch; Megatron's
``train_samples // global_batch_size`` drops that step instead). Its schedule is built on the
**sample axis** and evaluated at the samples consumed before each step.

Durations (``100``, ``"6%"``, ``"2ep"``, ``"1.5M sp"``, ``"2B tok"``) become steps, or samples on
the sample axis, here and nowhere else, exactly (no float rounding), with :math:`L` tokens per
sample:

=============  =====================================  ========================================
written        in steps                                in samples (the sample axis)
=============  =====================================  ========================================
n steps        :math:`n`                               :math:`n G` (Megatron's iterations -> samples)
fraction f     :math:`\\lceil f T \\rceil`              :math:`\\lceil f N_{\\text{run}} \\rceil`
e epochs       :math:`\\lceil e S \\rceil`              :math:`\\lceil e N \\rceil`
n samples      :math:`\\lceil n / G \\rceil`            :math:`n`
t tokens       :math:`\\lceil \\lceil t / L \\rceil / G \\rceil`  :math:`\\lceil t / L \\rceil`
=============  =====================================  ========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from confsched.errors import SpecError
from confsched.spec.duration import Duration
from confsched.time.batches import BatchSchedule, ramp_stages
from confsched.time.units import MAX_COUNT, count_text

if TYPE_CHECKING:
    from confsched.spec.run import BatchRampSpec

__all__ = ["SampleTimeline", "StepPlan", "Timeline", "plan_steps"]

IntArray = npt.NDArray[np.int64]


class Timeline(Protocol):
    """The time axis a family's schedule is built on: steps (a :class:`StepPlan`) or samples
    (a :class:`SampleTimeline`). A family calls its ticks "steps" either way."""

    unit: ClassVar[str]

    @property
    def total_steps(self) -> int:
        """The run's length in ticks of this axis."""
        ...

    def steps(self, duration: Duration) -> int:
        """``duration`` in ticks of this axis."""
        ...

    def describe(self, duration: Duration) -> str:
        """``duration`` and its ticks, for a message."""
        ...


@dataclass(frozen=True)
class StepPlan:
    """The step counts of one run, derived from the ``data`` and ``training`` sections."""

    unit: ClassVar[str] = "steps"

    dataset_size: int
    batch_size: int
    drop_last: bool
    world_size: int
    grad_accum_steps: int
    epochs: int | None
    max_steps: int | None
    samples_per_rank: int
    batches_per_epoch: int
    steps_per_epoch: int
    total_steps: int
    tokens_per_sample: int | None = None
    max_samples: int | None = None
    max_tokens: int | None = None
    batches: BatchSchedule | None = None
    """The run counted in samples: its batch by consumed samples and its budget (``None``: the run
    counts optimizer steps)."""
    cooldown: tuple[int, int] | None = None
    """``(start, length)`` on the plan's axis of a cooldown branched at a checkpoint
    (``continuation.cooldown``): the run ends when the cooldown does."""
    limit_train_batches: int | float | None = None
    """Lightning's ``limit_train_batches``: at most this many batches per epoch (an int), or this
    fraction of them (a float, ``int(n_b * fraction)`` as Lightning computes it)."""
    batches_dropped: int = 0
    """Batches per epoch the limit leaves out (``batches_per_epoch`` counts those that run)."""

    # ---- the run's samples -------------------------------------------------------------------

    @property
    def global_batch_size(self) -> int:
        """Samples per full optimizer step over all ranks: batch_size x world_size x grad_accum_steps
        (a ramp's final batch)."""
        return self.batch_size * self.world_size * self.grad_accum_steps

    @property
    def counts_samples(self) -> bool:
        """Whether the schedule follows the samples consumed (the sample axis) instead of steps."""
        return self.batches is not None

    @property
    def ramps(self) -> bool:
        """Whether the global batch changes during the run (a ``batch_rampup``)."""
        return self.batches is not None and self.batches.ramps

    @property
    def timeline(self) -> Timeline:
        """The axis the family's schedule is built on: this plan, or its :class:`SampleTimeline`."""
        return self if self.batches is None else SampleTimeline(self)

    @property
    def total_samples(self) -> int:
        """The run's samples: its budget on the sample axis, else what its steps consume."""
        if self.batches is not None:
            return self.batches.budget
        epochs, rest = divmod(self.total_steps, self.steps_per_epoch)
        return epochs * self._epoch_samples + rest * self.global_batch_size

    @property
    def _epoch_samples(self) -> int:
        """Samples the loop reads in one epoch on all ranks (sampler padding included)."""
        full = self.drop_last or self.batches_dropped > 0  # a limited epoch reads whole batches only
        per_rank = self.batches_per_epoch * self.batch_size if full else self.samples_per_rank
        return per_rank * self.world_size

    def consumed_samples(self, steps: npt.ArrayLike) -> IntArray:
        """Samples consumed before each step (int64): what its LR is a function of on the sample
        axis. On the step axis: full global batches, and each epoch's last step reads the rest."""
        if self.batches is not None:
            return self.batches.consumed(steps)
        k = np.asarray(steps, dtype=np.int64)
        epochs, rest = np.divmod(k, self.steps_per_epoch)
        out: IntArray = epochs * self._epoch_samples + rest * self.global_batch_size
        return out

    def global_batch(self, steps: npt.ArrayLike) -> IntArray:
        """The global batch (samples over all ranks) of each step: read it in the training loop."""
        if self.batches is not None:
            return self.batches.batch_size(steps)
        k = np.asarray(steps, dtype=np.int64)
        last = np.remainder(k, self.steps_per_epoch) == self.steps_per_epoch - 1
        tail = self._epoch_samples - (self.steps_per_epoch - 1) * self.global_batch_size
        out: IntArray = np.where(last, tail, self.global_batch_size)
        return out

    def micro_batches(self, steps: npt.ArrayLike) -> IntArray:
        """Batches each rank accumulates in each step: the gradient accumulation a ramp varies
        (Megatron's ``get_num_microbatches()``)."""
        per_batch = self.batch_size * self.world_size
        out: IntArray = -(-self.global_batch(steps) // per_batch)
        return out

    # ---- durations ---------------------------------------------------------------------------

    def steps(self, duration: Duration) -> int:
        """Return ``duration`` in whole optimizer steps (the table of the module docstring)."""
        unit, amount = duration.unit, duration.amount
        if self.batches is not None:
            return self.batches.steps_to(self.samples(duration))
        if unit == "steps":
            return int(amount)
        if unit == "fraction":
            return math.ceil(amount * self.total_steps)
        if unit == "epochs":
            return math.ceil(amount * self.steps_per_epoch)
        return math.ceil(self.samples(duration) / Fraction(self.global_batch_size))

    def samples(self, duration: Duration) -> int:
        """Return ``duration`` in samples (the right column of the module docstring's table)."""
        unit, amount = duration.unit, duration.amount
        if unit == "samples":
            return int(amount)
        if unit == "tokens":
            return math.ceil(amount / self._tokens_per_sample(duration))
        if unit == "epochs":
            return math.ceil(amount * self.dataset_size)
        if unit == "fraction":
            return math.ceil(amount * self.total_samples)
        return int(amount) * self.global_batch_size

    def _tokens_per_sample(self, duration: Duration) -> int:
        if self.tokens_per_sample is None:
            raise SpecError(
                "", f"{duration} is in tokens; set data.tokens_per_sample to count tokens in samples"
            )
        return self.tokens_per_sample

    def describe(self, duration: Duration) -> str:
        """``duration`` and its steps for a message: ``5000 steps``, ``60ep = 2340 steps``."""
        steps = self.steps(duration)
        if self.batches is not None:
            return f"{self.describe_samples(duration)} (step {steps})"
        if duration.unit == "steps":
            return f"{steps} steps"
        if duration.unit in ("samples", "tokens"):
            per_step = f"ceil({self.samples(duration)} / {self.global_batch_size})"
            return f"{self.describe_samples(duration)} = {per_step} = {steps} steps"
        return f"{duration} = {steps} steps"

    def describe_samples(self, duration: Duration) -> str:
        """``duration``, the arithmetic that makes it samples, and the samples: ``375M tok =
        ceil(375000000 / 2048) = 183106 samples``."""
        samples = self.samples(duration)
        unit, amount = duration.unit, duration.amount
        if unit == "samples":
            how = ""
        elif unit == "tokens":
            how = f"ceil({amount} / {self.tokens_per_sample}) = "
        elif unit == "epochs":
            how = f"ceil({_decimal(amount)} x {self.dataset_size}) = "
        elif unit == "fraction":
            how = f"ceil({_decimal(amount)} x {self.total_samples}) = "
        else:
            how = f"{amount} x {self.global_batch_size} = "
        return f"{duration} = {how}{samples} samples"

    def position(self, duration: Duration) -> int:
        """Where ``duration`` lies on the plan's axis, read as a point of the run (a checkpoint):
        its step on the step axis; on the sample axis the samples consumed by then (for step
        :math:`k`, :math:`c(k)`, not :math:`k G`)."""
        if self.batches is not None and duration.unit == "steps":
            return int(self.batches.consumed(min(int(duration.amount), self.total_steps + 1)))
        return self.timeline.steps(duration)

    def branched(self, start: int, length: int) -> StepPlan:
        """This plan for a run that cools down from ``start`` over ``length`` (axis ticks), then ends."""
        end = start + length
        if end > MAX_COUNT:
            raise SpecError(
                "continuation.cooldown.length",
                f"the cooldown ends {count_text(end)} {self.unit if self.batches is None else 'samples'} "
                "into the run, more than confsched counts (2**53)",
            )
        if self.batches is None:
            return replace(self, total_steps=end, cooldown=(start, length))
        batches = replace(self.batches, budget=end)
        return replace(self, batches=batches, total_steps=batches.total_steps, cooldown=(start, length))

    # ---- the arithmetic in words -------------------------------------------------------------

    def explain(self) -> str:
        """The arithmetic behind :attr:`total_steps`, with this run's numbers, on one line."""
        if self.cooldown is not None:
            start, length = self.cooldown
            if self.batches is None:
                return (
                    f"cooldown branched at step {start} for {length} steps: total = {start} + {length} = "
                    f"{self.total_steps}"
                )
            return (
                f"cooldown branched at {start} samples for {length} samples: the run ends after "
                f"{start + length} samples, total = {self.total_steps} steps ({self._explain_batch()})"
            )
        if self.batches is not None:
            return self._explain_samples(self.batches)
        rounding = "floor" if self.drop_last else "ceil"
        parts = []
        if self.world_size > 1:
            parts.append(
                f"samples per rank = ceil({self.dataset_size} / {self.world_size}) = {self.samples_per_rank}"
            )
        parts.append(
            f"batches per epoch = {rounding}({self.samples_per_rank} / {self.batch_size}) = "
            f"{self.batches_per_epoch + self.batches_dropped}"
        )
        limit, batches = self.limit_train_batches, self.batches_per_epoch + self.batches_dropped
        if isinstance(limit, int):
            parts.append(f"limit_train_batches: min({batches}, {limit}) = {self.batches_per_epoch}")
        elif limit is not None:
            parts.append(f"limit_train_batches: int({batches} x {limit:g}) = {self.batches_per_epoch}")
        parts.append(
            f"steps per epoch = ceil({self.batches_per_epoch} / {self.grad_accum_steps}) = "
            f"{self.steps_per_epoch}"
        )
        if self.max_steps is not None:
            parts.append(f"total = max_steps = {self.total_steps}")
        else:
            parts.append(f"total = {self.epochs} epochs x {self.steps_per_epoch} = {self.total_steps}")
        return "; ".join(parts)

    def _explain_samples(self, batches: BatchSchedule) -> str:
        budget = batches.budget
        if self.max_tokens is not None:
            length = (
                f"samples = ceil({self.max_tokens} tokens / {self.tokens_per_sample} per sample) = {budget}"
            )
        elif self.max_samples is not None:
            length = f"samples = max_samples = {budget}"
        else:
            length = f"samples = {self.epochs} epochs x {self.dataset_size} = {budget}"
        batch = self._explain_batch()
        if not batches.ramps:
            total = f"total = ceil({budget} / {self.global_batch_size}) = {self.total_steps} steps"
            return f"{length}; {batch}; {total}"
        first = batches.stages[0][1]
        starts = batches.stage_starts()
        ramp_step, ramp_samples, _ = starts[-1]
        ramp = (
            f"ramped from {first} in {len(batches.stages) - 1} increases until {batches.stages[-1][0]} "
            f"samples (the last at step {ramp_step}, {ramp_samples} samples consumed)"
        )
        if budget > ramp_samples:
            total = (
                f"total = {ramp_step} + ceil(({budget} - {ramp_samples}) / {self.global_batch_size}) = "
                f"{self.total_steps} steps"
            )
        else:
            total = f"total = {self.total_steps} steps (the budget is consumed during the ramp)"
        return f"{length}; {batch}, {ramp}; {total}"

    def _explain_batch(self) -> str:
        return (
            f"global batch = {self.batch_size} x {self.world_size} x {self.grad_accum_steps} = "
            f"{self.global_batch_size}"
        )


@dataclass(frozen=True)
class SampleTimeline:
    """A run counted in samples, as a family sees it: its ticks ("steps") are samples consumed."""

    unit: ClassVar[str] = "samples"

    plan: StepPlan

    @property
    def total_steps(self) -> int:
        """The run's budget in samples."""
        return self.plan.total_samples

    def steps(self, duration: Duration) -> int:
        """``duration`` in samples."""
        return self.plan.samples(duration)

    def describe(self, duration: Duration) -> str:
        """``duration`` and its samples, for a message."""
        return self.plan.describe_samples(duration)


def _decimal(amount: Fraction) -> str:
    return str(amount.numerator) if amount.denominator == 1 else f"{float(amount):g}"


def plan_steps(
    *,
    dataset_size: int,
    batch_size: int,
    drop_last: bool,
    world_size: int,
    grad_accum_steps: int,
    epochs: int | None,
    max_steps: int | None,
    tokens_per_sample: int | None = None,
    max_samples: int | None = None,
    max_tokens: int | None = None,
    batch_rampup: BatchRampSpec | None = None,
    limit_train_batches: int | float | None = None,
) -> StepPlan:
    """Compute :class:`StepPlan` with the formulas of this module's docstring.

    Raises :class:`~confsched.errors.SpecError` when the loop would never step the optimizer, when
    nothing says how long to train, or when a budget in tokens has no ``tokens_per_sample``.
    """
    samples_per_rank = -(-dataset_size // world_size)
    batches = samples_per_rank // batch_size if drop_last else -(-samples_per_rank // batch_size)
    limited = _limited(batches, limit_train_batches)
    steps_per_epoch = -(-limited // grad_accum_steps)
    counts_samples = max_samples is not None or max_tokens is not None or batch_rampup is not None
    if steps_per_epoch == 0 and not counts_samples:
        raise SpecError(
            "data.batch_size",
            f"{batch_size} is larger than the {samples_per_rank} samples each rank sees and "
            "drop_last drops that partial batch: 0 optimizer steps per epoch "
            "(lower batch_size or set drop_last: false)",
        )
    plan = StepPlan(
        dataset_size=dataset_size,
        batch_size=batch_size,
        drop_last=drop_last,
        world_size=world_size,
        grad_accum_steps=grad_accum_steps,
        epochs=epochs,
        max_steps=max_steps,
        samples_per_rank=samples_per_rank,
        batches_per_epoch=limited,
        steps_per_epoch=max(steps_per_epoch, 1),
        total_steps=0,
        tokens_per_sample=tokens_per_sample,
        max_samples=max_samples,
        max_tokens=max_tokens,
        limit_train_batches=limit_train_batches,
        batches_dropped=batches - limited,
    )
    if counts_samples:
        schedule = _batch_schedule(plan, batch_rampup)
        return replace(plan, batches=schedule, total_steps=schedule.total_steps)
    if max_steps is not None:
        total = max_steps
    elif epochs is not None:
        total = epochs * steps_per_epoch
    else:
        raise SpecError("training", "set epochs or max_steps to say how long the run is")
    return replace(plan, total_steps=total)


def _limited(batches: int, limit: int | float | None) -> int:
    """Batches per epoch under Lightning's ``limit_train_batches`` (``_parse_num_batches``)."""
    if limit is None:
        return batches
    if isinstance(limit, int):
        return min(batches, limit)
    limited = int(batches * limit)
    if limited == 0 and batches > 0:
        raise SpecError(
            "training.limit_train_batches",
            f"{limit:g} of {batches} batches per epoch is 0 batches (Lightning: int({batches} x {limit:g})); "
            f"use at least {1 / batches:.3g}",
        )
    return limited


def _batch_schedule(plan: StepPlan, ramp: BatchRampSpec | None) -> BatchSchedule:
    """The batch by consumed samples and the sample budget of a run counted in samples."""
    global_batch = plan.global_batch_size
    if global_batch > MAX_COUNT:
        raise SpecError(
            "training.grad_accum_steps",
            f"a global batch of {count_text(global_batch)} samples is more than confsched counts (2**53)",
        )
    if plan.max_tokens is not None:
        if plan.tokens_per_sample is None:
            raise SpecError(
                "training.max_tokens",
                f"{plan.max_tokens} tokens, but data.tokens_per_sample is not set: say how many "
                "tokens a sample holds (the sequence length)",
            )
        budget = -(-plan.max_tokens // plan.tokens_per_sample)
    elif plan.max_samples is not None:
        budget = plan.max_samples
    else:
        assert plan.epochs is not None  # TrainingSpec requires a length
        budget = plan.epochs * plan.dataset_size
        if budget > MAX_COUNT:
            raise SpecError(
                "training.epochs",
                f"{plan.epochs} epochs of {plan.dataset_size} samples are more than confsched counts (2**53)",
            )
    stages = ((0, global_batch),) if ramp is None else _ramp_stages(plan, ramp)
    return BatchSchedule(stages, budget)


def _ramp_stages(plan: StepPlan, ramp: BatchRampSpec) -> tuple[tuple[int, int], ...]:
    """The ramp's ``(threshold samples, global batch)`` stages, checked against the run."""
    final = plan.global_batch_size
    base = "training.batch_rampup"
    if ramp.stages is None:
        assert ramp.start is not None
        assert ramp.increment is not None
        assert ramp.length is not None
        if ramp.start > final:
            raise SpecError(
                f"{base}.start",
                f"{ramp.start} is above the global batch {final} (data.batch_size x world_size x "
                "grad_accum_steps) the ramp grows to",
            )
        if (final - ramp.start) % ramp.increment:
            raise SpecError(
                f"{base}.increment",
                f"{ramp.increment} does not divide {final} - {ramp.start} = {final - ramp.start}: the ramp "
                f"must reach the global batch {final} in whole increments (as Megatron asserts)",
            )
        length = _position(plan, f"{base}.length", ramp.length)
        stages = ramp_stages(ramp.start, ramp.increment, final, length)
    else:
        stages = tuple(
            (_position(plan, f"{base}.stages[{i}][0]", at), batch)
            for i, (at, batch) in enumerate(ramp.stages)
        )
        for i in range(1, len(stages)):
            if stages[i][0] <= stages[i - 1][0]:
                raise SpecError(
                    f"{base}.stages[{i}][0]",
                    f"{ramp.stages[i][0]} = {stages[i][0]} samples does not come after the stage before "
                    f"({stages[i - 1][0]} samples)",
                )
        if stages[-1][1] != final:
            raise SpecError(
                f"{base}.stages[{len(stages) - 1}][1]",
                f"{stages[-1][1]}: the last stage's batch is the run's global batch, data.batch_size x "
                f"world_size x grad_accum_steps = {final}",
            )
    per_step = plan.batch_size * plan.world_size
    for i, (_, batch) in enumerate(stages):
        if batch % per_step:
            where = f"{base}.start" if ramp.stages is None else f"{base}.stages[{i}][1]"
            raise SpecError(
                where,
                f"a global batch of {batch} samples is not a whole number of micro-batches: "
                f"data.batch_size x world_size = {per_step} must divide every batch of the ramp",
            )
    return stages


def _position(plan: StepPlan, path: str, duration: Duration) -> int:
    try:
        return plan.samples(duration)
    except SpecError as error:
        raise SpecError(path, error.message) from None
