r"""The global batch as a function of the samples consumed, and the step -> samples map it makes.

A batch schedule is a list of stages :math:`(s_i, b_i)`, :math:`0 = s_0 < s_1 < \dots < s_n`: once
:math:`c \ge s_i` samples have been consumed, each optimizer step takes a global batch of
:math:`b_i` samples (the stage that applies is the last one whose threshold :math:`c` has reached).
This is Megatron-LM's ``StepBatchsizeNumMicroBatchesCalculator`` (``--step-batch-size-schedule
"0:256 250B:512 ..."``), checked before every step with the samples consumed so far. Step :math:`k`
(0 = the first) has consumed

.. math::

    c(0) = 0, \qquad c(k + 1) = c(k) + b(c(k)), \qquad b(c) = b_i \text{ for } s_i \le c < s_{i+1}

samples before it runs. Stage :math:`i` therefore begins at the first step whose :math:`c` reaches
:math:`s_i`: if stage :math:`i - 1` began at step :math:`K_{i-1}` with :math:`C_{i-1}` samples
consumed, then

.. math::

    K_i = K_{i-1} + \left\lceil \frac{s_i - C_{i-1}}{b_{i-1}} \right\rceil, \qquad
    C_i = C_{i-1} + (K_i - K_{i-1})\, b_{i-1}

(a stage whose threshold is passed inside one step of the one before begins right after it, with
:math:`C_i \ge s_i`), and :math:`c(k) = C_i + (k - K_i)\, b_i` for :math:`K_i \le k < K_{i+1}`:
one ``searchsorted`` and a multiply-add per step, all in integers.

Megatron's older ramp (``--rampup-batch-size start increment samples``, the one GPT-3 used) is the
special case :func:`ramp_stages`: with :math:`n = (B - b_0) / \delta` increments spread over
:math:`R` samples, Megatron computes ``start + int(c / (R / n)) * increment`` (and :math:`B` once
:math:`c > R`); stage :math:`j` begins once :math:`\lfloor c\, n / R \rfloor \ge j`, i.e. at
:math:`s_j = \lceil j R / n \rceil`. confsched computes that threshold exactly; Megatron's float
division agrees with it on every consumed count of the ramps the tests check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["BatchSchedule", "ramp_stages"]

IntArray = npt.NDArray[np.int64]

_INT64_HEADROOM = 2**62
"""Consumed counts are clipped below this (far past any run) so int64 arithmetic never wraps."""


def ramp_stages(start: int, increment: int, final: int, samples: int) -> tuple[tuple[int, int], ...]:
    r"""Megatron's ramp from ``start`` to ``final`` in steps of ``increment`` over ``samples``.

    The stages :math:`(\lceil j R / n \rceil,\ b_0 + j \delta)` for :math:`j = 0 \dots n`,
    :math:`n = (B - b_0) / \delta`. ``final - start`` must be a multiple of ``increment`` (as Megatron
    asserts); ``samples = 0`` or ``start == final`` give one stage, and increments that fall on the
    same sample count (a ramp shorter than its number of increments) merge into the last of them.
    """
    increments = (final - start) // increment
    if increments == 0 or samples == 0:
        return ((0, final),)
    stages: dict[int, int] = {}  # a ramp shorter than its increments passes several at one count
    for j in range(increments + 1):
        stages[-(-j * samples // increments)] = start + j * increment
    return tuple(stages.items())


@dataclass(frozen=True)
class BatchSchedule:
    """Stages ``((threshold_samples, global_batch), ...)`` (the first at 0) and the sample budget.

    ``budget`` is the run's length in samples: :attr:`total_steps` is the first step whose consumed
    count reaches it (the last step may take the run past the budget by less than one batch, and is
    still taken: the run trains at least ``budget`` samples). ``anchor`` is the ``(step, samples)``
    the step -> samples map starts from: ``(0, 0)`` for a run from scratch; a resumed run whose
    batch changed starts from its checkpoint (see :meth:`anchored`).
    """

    stages: tuple[tuple[int, int], ...]
    budget: int
    anchor: tuple[int, int] = (0, 0)
    _steps: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _consumed: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.stages or self.stages[0][0] != 0:
            raise ValueError("the first batch stage must begin at 0 samples")
        thresholds = [s for s, _ in self.stages]
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ValueError(f"batch stage thresholds must increase: {thresholds}")
        if any(b < 1 for _, b in self.stages):
            raise ValueError("every batch stage needs a batch of at least 1")
        step, consumed = self.anchor
        first = self._stage_of(consumed)
        steps, counts = [step], [consumed]
        for threshold, _ in self.stages[first + 1 :]:
            batch = self.stages[first + len(steps) - 1][1]
            taken = max(0, -(-(threshold - consumed) // batch))
            step, consumed = step + taken, consumed + taken * batch
            steps.append(step)
            counts.append(consumed)
        object.__setattr__(self, "_steps", tuple(steps))
        object.__setattr__(self, "_consumed", tuple(counts))

    @classmethod
    def constant(cls, batch: int, budget: int) -> BatchSchedule:
        """One stage: ``batch`` samples every step."""
        return cls(((0, batch),), budget)

    def _stage_of(self, consumed: int) -> int:
        """The index of the stage that applies after ``consumed`` samples."""
        return max(i for i, (threshold, _) in enumerate(self.stages) if threshold <= consumed)

    @property
    def _batches(self) -> tuple[int, ...]:
        first = self._stage_of(self.anchor[1])
        return tuple(b for _, b in self.stages[first:])

    @property
    def final_batch(self) -> int:
        """The global batch of the last stage (the batch once any ramp is over)."""
        return self.stages[-1][1]

    @property
    def ramps(self) -> bool:
        """Whether the batch changes during the run (more than one stage)."""
        return len(self.stages) > 1

    @property
    def total_steps(self) -> int:
        """Optimizer steps until at least :attr:`budget` samples are consumed."""
        return self.steps_to(self.budget)

    def stage_starts(self) -> list[tuple[int, int, int]]:
        """``(step, samples consumed, batch)`` at the start of each stage from the anchor on."""
        return list(zip(self._steps, self._consumed, self._batches, strict=True))

    def steps_to(self, samples: int) -> int:
        """The first step (from the anchor on) whose consumed count is at least ``samples``."""
        anchor_step, anchor_samples = self.anchor
        if samples <= anchor_samples:
            return anchor_step
        i = max(j for j, c in enumerate(self._consumed) if c < samples or j == 0)
        return self._steps[i] + -(-(samples - self._consumed[i]) // self._batches[i])

    def consumed(self, step: npt.ArrayLike) -> IntArray:
        """Samples consumed before each step: :math:`c(k)` of the module docstring (int64).

        Steps before the anchor of a resumed run are placed as if the run had started with the
        stages from 0 (the resumed run never evaluates them).
        """
        k = np.asarray(step, dtype=np.int64)
        before = k < self.anchor[0]
        if self.anchor != (0, 0) and bool(np.any(before)):
            fresh = BatchSchedule(self.stages, self.budget)
            return np.where(before, fresh.consumed(k), self._consumed_after(k))
        return self._consumed_after(k)

    def _consumed_after(self, k: IntArray) -> IntArray:
        starts = np.asarray(self._steps, dtype=np.int64)
        i = np.maximum(np.searchsorted(starts, k, side="right") - 1, 0)
        base = np.asarray(self._consumed, dtype=np.int64)[i]
        batch = np.asarray(self._batches, dtype=np.int64)[i]
        # clip the steps past the run so that base + steps * batch stays far inside int64
        room = (_INT64_HEADROOM - base) // batch
        out: IntArray = base + np.minimum(np.maximum(k - starts[i], 0), room) * batch
        return out

    def batch_size(self, step: npt.ArrayLike) -> IntArray:
        """The global batch of each step (int64): :math:`b(c(k))`."""
        return self.batch_at(self.consumed(step))

    def batch_at(self, samples: npt.ArrayLike) -> IntArray:
        """The global batch once ``samples`` have been consumed (int64): :math:`b(c)`, the last stage
        whose threshold ``samples`` has reached (Megatron's ``_get_batch_size_for_samples``)."""
        thresholds = np.asarray([s for s, _ in self.stages], dtype=np.int64)
        batches = np.asarray([b for _, b in self.stages], dtype=np.int64)
        out: IntArray = batches[
            np.searchsorted(thresholds, np.asarray(samples, dtype=np.int64), side="right") - 1
        ]
        return out

    def anchored(self, step: int, samples: int) -> BatchSchedule:
        """The same stages, continued from a checkpoint at ``step`` after ``samples`` samples.

        How a run resumed with another global batch (an elastic restart) counts: from the
        checkpoint on, each step takes the batch of the stage the consumed count is in.
        """
        return BatchSchedule(self.stages, self.budget, (step, samples))
