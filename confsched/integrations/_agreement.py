"""Checks shared by the framework helpers: does a framework's loop agree with the spec's plan?

Each check raises :class:`~confsched.errors.PlanMismatchError` with one line naming the config path
the disagreement is about, both values, and the spec's arithmetic (``StepPlan.explain``).
"""

from __future__ import annotations

import math
from typing import Any

from confsched.errors import PlanMismatchError
from confsched.spec.root import Spec

__all__ = [
    "dataloader_kwargs",
    "expect_batches",
    "expect_fixed_batch",
    "expect_setting",
    "expect_total",
    "is_metric_driven",
    "planned_max_steps",
]


def dataloader_kwargs(spec: Spec) -> dict[str, Any]:
    """``batch_size`` and ``drop_last`` for the training ``DataLoader``, as the spec plans them.

    >>> DataLoader(dataset, shuffle=True, **dataloader_kwargs(spec))  # doctest: +SKIP
    """
    return {"batch_size": spec.data.batch_size, "drop_last": spec.data.drop_last}


def is_metric_driven(spec: Spec) -> bool:
    """Whether the family is stepped with a metric (``reduce_lr_on_plateau``, ``greedy``)."""
    return spec.family.driven_by == "metric"


def expect_setting(path: str, planned: object, setting: str, actual: object, *, hint: str = "") -> None:
    """Raise unless a framework setting equals the spec value it must mirror.

    ``path`` is the spec's config path, ``setting`` names the framework's knob
    (``TrainingArguments.gradient_accumulation_steps``); ``hint`` says how to fix it.
    """
    if planned != actual:
        tail = f" ({hint})" if hint else ""
        raise PlanMismatchError(path, f"{planned!r} in the spec, but {setting} is {actual!r}{tail}")


def planned_max_steps(spec: Spec) -> int | None:
    """The ``max_steps`` a framework runs: ``training.max_steps``, or the steps of a run counted in
    samples or tokens (its budget over the global batch); ``None`` for a run of ``epochs``."""
    return spec.total_steps if spec.plan.counts_samples else spec.training.max_steps


def expect_fixed_batch(spec: Spec, framework: str) -> None:
    """Raise for a spec that ramps its global batch: ``framework`` accumulates a fixed number of
    batches per optimizer step, so only a loop of one's own can follow the ramp."""
    if spec.plan.ramps:
        raise PlanMismatchError(
            "training.batch_rampup",
            f"{framework} accumulates a fixed number of batches per optimizer step, but the spec ramps "
            "the global batch: run your own loop and accumulate spec.plan.micro_batches(step) batches "
            "in each step",
        )


def expect_batches(spec: Spec, batches: int, source: str) -> None:
    """Raise unless ``source`` yields the batches per epoch and process that the spec plans (a run
    counted in samples streams its data across epochs: nothing to compare)."""
    if spec.plan.counts_samples:
        return
    if batches != spec.plan.batches_per_epoch:
        raise PlanMismatchError(
            "data",
            f"{source} yields {batches} batches per epoch on each process, the spec plans "
            f"{spec.plan.batches_per_epoch} ({spec.plan.explain()})",
        )


def expect_total(spec: Spec, total: float, source: str, *, hint: str = "") -> None:
    """Raise unless ``source`` steps the optimizer ``spec.total_steps`` times in the whole run."""
    if total != spec.total_steps:
        shown = int(total) if math.isfinite(total) and total == int(total) else total
        tail = f"; {hint}" if hint else ""
        raise PlanMismatchError(
            "training",
            f"{source} runs {shown} optimizer steps, the spec plans {spec.total_steps} "
            f"({spec.plan.explain()}){tail}",
        )
