r"""Schedules on the sample axis: a family's schedule of samples, evaluated at optimizer steps.

A run counted in samples builds its family's schedule :math:`f` on samples (its warmup, decay and
knots are sample counts). The optimizer step :math:`k` then trains at

.. math::

    m(k) = f\bigl(c(k)\bigr)

where :math:`c(k)` is the number of samples consumed before step :math:`k`
(:meth:`confsched.time.batches.BatchSchedule.consumed`). This is how Megatron-LM's
``OptimizerParamScheduler`` runs a sample-based schedule (``step(increment=global_batch)`` after
every iteration, so iteration :math:`k` trains at the LR of the samples consumed before it), and
how a batch ramp-up or a change of world size leaves the LR a continuous function of the data seen.

:class:`OnSamples` wraps any schedule this way, so every family works on samples without knowing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from confsched.schedules import Schedule, WithMomentum
from confsched.time.batches import BatchSchedule

__all__ = ["OnSamples", "consumed_samples", "on_samples", "planned_steps", "resumed"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OnSamples:
    r""":math:`m(k) = f(c(k))`: ``schedule`` (of samples) at the samples consumed before step :math:`k`."""

    schedule: Schedule
    batches: BatchSchedule

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        return self.schedule(self.batches.consumed(step))


def on_samples(schedule: Schedule, batches: BatchSchedule) -> Schedule:
    """``schedule`` (of samples) as a schedule of steps; a momentum schedule paired with it too."""
    if isinstance(schedule, WithMomentum):
        return WithMomentum(OnSamples(schedule.lr, batches), OnSamples(schedule.momentum, batches))
    return OnSamples(schedule, batches)


def consumed_samples(schedule: object, step: int) -> int | None:
    """Samples consumed before ``step`` by the run ``schedule`` follows; ``None`` if it counts steps."""
    inner = schedule.lr if isinstance(schedule, WithMomentum) else schedule
    if not isinstance(inner, OnSamples):
        return None
    return int(inner.batches.consumed(step))


def planned_steps(schedule: object) -> int | None:
    """The optimizer steps until the budget of the run ``schedule`` follows; ``None`` for steps."""
    inner = schedule.lr if isinstance(schedule, WithMomentum) else schedule
    return inner.batches.total_steps if isinstance(inner, OnSamples) else None


def resumed(schedule: Schedule, step: int, samples: int) -> Schedule:
    """``schedule`` for a run resumed at ``step`` after ``samples`` samples (its checkpoint).

    A run counted in samples whose batch differs from the checkpoint's run (another world size or
    global batch) continues from there with its own batches: the LR stays the same function of the
    samples consumed. A schedule of steps, or one whose count already agrees, is returned as is.
    """
    if isinstance(schedule, WithMomentum):
        lr, momentum = resumed(schedule.lr, step, samples), resumed(schedule.momentum, step, samples)
        return schedule if lr is schedule.lr else WithMomentum(lr, momentum)
    if not isinstance(schedule, OnSamples) or int(schedule.batches.consumed(step)) == samples:
        return schedule
    return OnSamples(schedule.schedule, schedule.batches.anchored(step, samples))
