"""Hugging Face ``Trainer``: its arguments from the spec, an agreement check, and an LR-logging callback.

::

    from confsched.integrations import transformers as cs_hf

    optimizer, scheduler = confsched.build(spec, model)
    args = TrainingArguments(output_dir="out", **cs_hf.training_arguments_kwargs(spec))
    trainer = Trainer(model=model, args=args, train_dataset=dataset, optimizers=(optimizer, scheduler))
    cs_hf.check_trainer(spec, trainer)
    trainer.train()

Given ``optimizers=(optimizer, scheduler)``, the Trainer ignores its own ``learning_rate``,
``lr_scheduler_type`` and ``warmup_*`` arguments and calls ``scheduler.step()`` once after every
optimizer step (metric-driven families: ``scheduler.step(metric)`` after each evaluation, with
``metric_for_best_model``). It stops at its own total of optimizer steps, computed from the
``DataLoader`` it builds (after Accelerate has sharded it across processes)::

    batches      n = len(trainer.get_train_dataloader())          per process
    per epoch    S = max(ceil(n / gradient_accumulation_steps), 1)  (transformers < 4.52: floor)
    total        T = max_steps if max_steps > 0 else ceil(num_train_epochs * S)

That total must equal ``spec.total_steps``; :func:`check_trainer` compares them. Where the two
arithmetics differ:

- ``world_size > 1`` with ``drop_last``: Accelerate shards whole batches,
  ``floor(floor(N / B) / W)`` per process, where the spec (a ``DistributedSampler`` per rank)
  counts ``floor(ceil(N / W) / B)``: 11 samples in batches of 2 on 2 processes are 2 batches per
  process for the Trainer, 3 for the spec. Without ``drop_last`` both are ``ceil(N / (B W))``.
- transformers < 4.52 counts ``floor(n / A)`` steps per epoch (it stops before the last partial
  accumulation of the run); confsched and later releases count ``ceil(n / A)``.
- ``num_train_epochs`` may be fractional (``ceil(E S)``); the spec's ``epochs`` is whole (use
  ``max_steps``). An empty epoch still counts one step for the Trainer; the spec refuses it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import transformers
from packaging.version import Version
from transformers import TrainerCallback

from confsched.errors import PlanMismatchError
from confsched.integrations._agreement import (
    expect_batches,
    expect_fixed_batch,
    expect_setting,
    expect_total,
    is_metric_driven,
    planned_max_steps,
)
from confsched.integrations.logging import LRLogger
from confsched.spec.root import Spec

if TYPE_CHECKING:
    from transformers import Trainer, TrainerControl, TrainerState, TrainingArguments

__all__ = ["LRLoggingCallback", "check_trainer", "trainer_total_steps", "training_arguments_kwargs"]

_HINT = "pass confsched.integrations.transformers.training_arguments_kwargs(spec) to TrainingArguments"


def training_arguments_kwargs(spec: Spec, *, metric: str = "loss") -> dict[str, Any]:
    """Keyword arguments for ``TrainingArguments`` that make the Trainer run the spec's plan.

    ``per_device_train_batch_size``, ``gradient_accumulation_steps``, ``dataloader_drop_last``, and
    ``num_train_epochs`` or ``max_steps`` (a run counted in samples or tokens: its steps; a batch
    ramp cannot be run by the Trainer and is refused). For metric-driven families also
    ``eval_strategy="epoch"`` and ``metric_for_best_model=metric`` (the Trainer steps such a
    scheduler after each evaluation with that metric, so give the Trainer an ``eval_dataset``).
    """
    expect_fixed_batch(spec, "the Trainer")
    kwargs: dict[str, Any] = {
        "per_device_train_batch_size": spec.data.batch_size,
        "gradient_accumulation_steps": spec.training.grad_accum_steps,
        "dataloader_drop_last": spec.data.drop_last,
    }
    max_steps = planned_max_steps(spec)
    if max_steps is not None:
        kwargs["max_steps"] = max_steps
    else:
        kwargs.update(num_train_epochs=spec.training.epochs, max_steps=-1)
    if is_metric_driven(spec):
        kwargs.update(eval_strategy="epoch", metric_for_best_model=metric)
    return kwargs


def _rounds_up_last_accumulation() -> bool:
    return Version(transformers.__version__).release[:2] >= (4, 52)


def trainer_total_steps(trainer: Trainer) -> tuple[int | None, int]:
    """The Trainer's own ``(batches per epoch and process, total optimizer steps)`` for ``train()``.

    The arithmetic of this module's docstring, on the DataLoader ``trainer.get_train_dataloader()``
    builds; the batches are ``None`` for a dataset without a length (then ``max_steps`` is the total).
    """
    args = trainer.args
    loader = trainer.get_train_dataloader()
    try:
        batches: int | None = len(loader)
    except TypeError:
        batches = None
    if args.max_steps > 0:
        return batches, args.max_steps
    if batches is None:
        raise ValueError("the Trainer needs max_steps > 0 when the training data has no length")
    accumulation = args.gradient_accumulation_steps
    per_epoch = -(-batches // accumulation) if _rounds_up_last_accumulation() else batches // accumulation
    return batches, math.ceil(args.num_train_epochs * max(per_epoch, 1))


def check_trainer(spec: Spec, trainer: Trainer) -> None:
    """Raise :class:`~confsched.errors.PlanMismatchError` unless ``trainer.train()`` runs the spec's plan.

    Compares the arguments that mirror the spec (batch size, accumulation, ``drop_last``, processes,
    dataset size), then the batches per epoch and the Trainer's total of optimizer steps
    (:func:`trainer_total_steps`) with ``spec.total_steps``. For metric-driven families it checks
    instead that the Trainer evaluates and names the metric to step the scheduler with.
    """
    expect_fixed_batch(spec, "the Trainer")
    args = trainer.args
    settings = [
        ("data.batch_size", spec.data.batch_size, "per_device_train_batch_size"),
        ("training.grad_accum_steps", spec.training.grad_accum_steps, "gradient_accumulation_steps"),
        ("data.drop_last", spec.data.drop_last, "dataloader_drop_last"),
        ("training.world_size", spec.training.world_size, "world_size"),
    ]
    for path, planned, name in settings:
        expect_setting(path, planned, f"TrainingArguments.{name}", getattr(args, name), hint=_HINT)
    dataset = trainer.train_dataset
    if dataset is not None and hasattr(dataset, "__len__"):
        size = len(dataset)
        expect_setting("data.dataset_size", spec.data.dataset_size, "len(trainer.train_dataset)", size)
    if is_metric_driven(spec):
        if args.eval_strategy == "no" or not args.metric_for_best_model:
            raise _metric_error(spec, args)
        return
    batches, total = trainer_total_steps(trainer)
    if batches is not None:
        expect_batches(spec, batches, "the Trainer's train DataLoader")
    hint = (
        "" if _rounds_up_last_accumulation() else "transformers < 4.52 counts floor(batches / accumulation)"
    )
    expect_total(spec, total, "the Trainer", hint=hint)


def _metric_error(spec: Spec, args: TrainingArguments) -> PlanMismatchError:
    strategy = getattr(args.eval_strategy, "value", args.eval_strategy)
    return PlanMismatchError(
        "scheduler.name",
        f"{spec.scheduler.name} is stepped by the Trainer after each evaluation with "
        f"metric_for_best_model, but eval_strategy is {strategy!r} and "
        f"metric_for_best_model is {args.metric_for_best_model!r} ({_HINT})",
    )


class LRLoggingCallback(TrainerCallback):
    """Log every LR group's LR at every optimizer step with an :class:`~.logging.LRLogger`.

    Runs in ``on_optimizer_step`` (after ``optimizer.step()``, before ``scheduler.step()``), so the
    step ``state.global_step`` is logged with the LRs it used: the rows of :func:`confsched.lr_curve`.
    """

    def __init__(self, lr_logger: LRLogger | None = None) -> None:
        self.lr_logger = lr_logger if lr_logger is not None else LRLogger()

    def on_optimizer_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        """Log the LRs of the optimizer step that just ran."""
        self.lr_logger(kwargs["optimizer"], state.global_step)
