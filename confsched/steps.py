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

Durations (``100``, ``0.06``, ``"6%"``, ``"2ep"``) become steps here and nowhere else: a fraction
:math:`f` of the run is :math:`\\lceil f T \\rceil` steps and :math:`e` epochs are
:math:`\\lceil e S \\rceil` steps, computed exactly (no float rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from confsched.errors import SpecError
from confsched.spec.duration import Duration

__all__ = ["StepPlan", "plan_steps"]


@dataclass(frozen=True)
class StepPlan:
    """The step counts of one run, derived from the ``data`` and ``training`` sections."""

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
    limit_train_batches: int | float | None = None
    """Lightning's ``limit_train_batches``: at most this many batches per epoch (an int), or this
    fraction of them (a float, ``int(n_b * fraction)`` as Lightning computes it)."""
    batches_dropped: int = 0
    """Batches per epoch the limit leaves out (``batches_per_epoch`` counts those that run)."""

    def steps(self, duration: Duration, *, rounding: Literal["ceil", "floor"] = "ceil") -> int:
        """Return ``duration`` in whole optimizer steps (fractions and epochs rounded up, or down
        with ``rounding="floor"``: NeMo's ``int(warmup_ratio * max_steps)``)."""
        if duration.unit == "steps":
            return int(duration.amount)
        whole = self.total_steps if duration.unit == "fraction" else self.steps_per_epoch
        exact = duration.amount * whole
        return math.floor(exact) if rounding == "floor" else math.ceil(exact)

    def describe(self, duration: Duration) -> str:
        """``duration`` and its steps for a message: ``5000 steps``, ``60ep = 2340 steps``."""
        steps = self.steps(duration)
        return f"{steps} steps" if duration.unit == "steps" else f"{duration} = {steps} steps"

    def explain(self) -> str:
        """The arithmetic behind :attr:`total_steps`, with this run's numbers, on one line."""
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


def plan_steps(
    *,
    dataset_size: int,
    batch_size: int,
    drop_last: bool,
    world_size: int,
    grad_accum_steps: int,
    epochs: int | None,
    max_steps: int | None,
    limit_train_batches: int | float | None = None,
) -> StepPlan:
    """Compute :class:`StepPlan` with the formulas of this module's docstring.

    Raises :class:`~confsched.errors.SpecError` when the loop would never step the optimizer or
    when neither ``epochs`` nor ``max_steps`` says how long to train.
    """
    samples_per_rank = -(-dataset_size // world_size)
    batches = samples_per_rank // batch_size if drop_last else -(-samples_per_rank // batch_size)
    limited = _limited(batches, limit_train_batches)
    steps_per_epoch = -(-limited // grad_accum_steps)
    if steps_per_epoch == 0:
        raise SpecError(
            "data.batch_size",
            f"{batch_size} is larger than the {samples_per_rank} samples each rank sees and "
            "drop_last drops that partial batch: 0 optimizer steps per epoch "
            "(lower batch_size or set drop_last: false)",
        )
    if max_steps is not None:
        total = max_steps
    elif epochs is not None:
        total = epochs * steps_per_epoch
    else:
        raise SpecError("training", "set epochs or max_steps to say how long the run is")
    return StepPlan(
        dataset_size=dataset_size,
        batch_size=batch_size,
        drop_last=drop_last,
        world_size=world_size,
        grad_accum_steps=grad_accum_steps,
        epochs=epochs,
        max_steps=max_steps,
        samples_per_rank=samples_per_rank,
        batches_per_epoch=limited,
        steps_per_epoch=steps_per_epoch,
        total_steps=total,
        limit_train_batches=limit_train_batches,
        batches_dropped=batches - limited,
    )


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
