"""Lightning: the ``configure_optimizers`` dict, the ``Trainer`` arguments, and an agreement check.

::

    from confsched.integrations import lightning as cs_lightning

    class Module(lightning.LightningModule):
        def configure_optimizers(self):
            return cs_lightning.configure_optimizers(spec, self)

    trainer = lightning.Trainer(**cs_lightning.trainer_kwargs(spec))
    trainer.fit(Module(), DataLoader(dataset, shuffle=True, **dataloader_kwargs(spec)))

Step-driven families are stepped by Lightning with ``interval: "step"``: once per optimizer step,
after the step, skipped while gradients accumulate, and once more for a partial accumulation at the
end of an epoch (Lightning steps the optimizer on the last batch). That is confsched's arithmetic:
``Trainer.estimated_stepping_batches`` = ``ceil(batches / accumulate_grad_batches) x max_epochs``
(at most ``max_steps``) equals ``spec.total_steps`` when the settings of :func:`trainer_kwargs` are
used; under DDP Lightning shards the data with a ``DistributedSampler``, as the spec assumes for
``world_size > 1``.

Metric-driven families (``reduce_lr_on_plateau``, ``greedy``) subclass ``ReduceLROnPlateau``, so
Lightning passes them the value of ``monitor`` once per ``interval`` (default ``"epoch"``).

This module does not import Lightning: the dict is plain data, the check reads public attributes of
the ``Trainer``. Use it with ``lightning`` or ``pytorch_lightning`` alike.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import nn

from confsched.builder import build
from confsched.errors import PlanMismatchError
from confsched.integrations._agreement import (
    expect_batches,
    expect_fixed_batch,
    expect_setting,
    expect_total,
    is_metric_driven,
    planned_max_steps,
)
from confsched.spec.root import Spec

__all__ = ["check_trainer", "configure_optimizers", "trainer_kwargs"]

_HINT = "pass confsched.integrations.lightning.trainer_kwargs(spec) to the Trainer"


def trainer_kwargs(spec: Spec) -> dict[str, Any]:
    """``max_epochs``, ``max_steps`` and ``accumulate_grad_batches`` for ``lightning.Trainer`` (and
    ``limit_train_batches`` when the spec sets it).

    With ``training.max_steps`` set (or a run counted in samples or tokens), the run is that many
    steps long (``max_epochs=-1``); otherwise it is ``training.epochs`` long (``max_steps=-1``). A
    batch ramp cannot be run by Lightning's fixed accumulation and is refused.
    """
    expect_fixed_batch(spec, "Lightning")
    max_steps = planned_max_steps(spec)
    epochs = -1 if max_steps is not None else spec.training.epochs
    kwargs: dict[str, Any] = {
        "max_epochs": epochs,
        "max_steps": -1 if max_steps is None else max_steps,
        "accumulate_grad_batches": spec.training.grad_accum_steps,
    }
    if spec.training.limit_train_batches is not None:
        kwargs["limit_train_batches"] = spec.training.limit_train_batches
    return kwargs


def check_trainer(spec: Spec, trainer: Any) -> None:
    """Raise :class:`~confsched.errors.PlanMismatchError` unless ``trainer`` runs the spec's plan.

    Compares ``accumulate_grad_batches`` and ``world_size`` with the spec, then the batches per
    epoch and the total of optimizer steps (``estimated_stepping_batches``, which loads the training
    data: call this from ``configure_optimizers`` or later, as :func:`configure_optimizers` does).
    Metric-driven families have no planned total; only the settings are compared for them.
    """
    expect_fixed_batch(spec, "Lightning")
    expect_setting(
        "training.grad_accum_steps",
        spec.training.grad_accum_steps,
        "Trainer.accumulate_grad_batches",
        trainer.accumulate_grad_batches,
        hint=_HINT,
    )
    expect_setting("training.world_size", spec.training.world_size, "Trainer.world_size", trainer.world_size)
    if is_metric_driven(spec):
        return
    total = trainer.estimated_stepping_batches
    batches = trainer.num_training_batches
    if batches != float("inf"):
        expect_batches(spec, int(batches), "Lightning's train DataLoader")
    expect_total(
        spec,
        total,
        "Lightning (Trainer.estimated_stepping_batches)",
        hint=f"{_HINT}, or configure_optimizers(..., check=False) for a deliberately shorter run",
    )


def _attached_trainer(module: nn.Module) -> Any:
    try:
        return module.trainer
    except (AttributeError, RuntimeError):  # a plain module, or a LightningModule outside fit()
        return None


def configure_optimizers(
    spec: Spec,
    module: nn.Module,
    *,
    monitor: str = "val_loss",
    interval: Literal["step", "epoch"] | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """Build the pair for ``module`` and return it as Lightning's ``configure_optimizers`` dict.

    Step-driven families: ``{"optimizer": ..., "lr_scheduler": {"scheduler": ..., "interval":
    "step", "frequency": 1}}``. Metric-driven families also carry ``"monitor": monitor`` and step
    once per ``interval`` (default ``"epoch"``; ``"step"`` to follow a metric logged every step).
    When ``module`` is attached to a ``Trainer`` and ``check`` is true, :func:`check_trainer` runs
    first, so a Trainer that would run another number of steps fails before training starts.
    """
    trainer = _attached_trainer(module)
    if check and trainer is not None:
        check_trainer(spec, trainer)
    optimizer, scheduler = build(spec, module)
    config: dict[str, Any] = {"scheduler": scheduler, "frequency": 1}
    if is_metric_driven(spec):
        config.update(interval=interval or "epoch", monitor=monitor)
    elif interval not in (None, "step"):
        raise PlanMismatchError(
            "scheduler.name",
            f"{spec.scheduler.name} counts optimizer steps: Lightning must step it with interval "
            f"'step', not {interval!r}",
        )
    else:
        config["interval"] = "step"
    return {"optimizer": optimizer, "lr_scheduler": config}
