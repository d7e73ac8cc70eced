"""Accelerate: prepare the pair without the step-count multiplication pitfall.

``accelerator.prepare(..., scheduler)`` wraps the scheduler in an ``AcceleratedScheduler`` that
steps it only when the optimizer really stepped (not while gradients accumulate), and then, unless
the Accelerator splits batches, **``num_processes`` times per optimizer step**: Accelerate assumes
the schedule was sized for one process seeing every batch, so with ``W`` processes each doing
``T / W`` steps it steps the schedule ``W`` times per step. A confsched scheduler is already sized
per process (``training.world_size`` gives each rank its shard: ``spec.total_steps`` is the number
of ``optimizer.step()`` calls on every rank), so stepped ``W`` times it would race through the
schedule in ``1 / W`` of the run. Worse, Accelerate stops stepping a scheduler with a
``total_steps`` attribute once it reaches it (a special case for ``OneCycleLR``), so the LR would
sit at the end of the schedule for the rest of the run, with no overrun warning.

:func:`prepare` avoids both: it checks that the Accelerator runs the spec's processes and gradient
accumulation, calls ``accelerator.prepare``, and makes every confsched scheduler step exactly once
per optimizer step, whatever the number of processes. ::

    from confsched.integrations import accelerate as cs_accelerate

    accelerator = Accelerator(**cs_accelerate.accelerator_kwargs(spec))
    optimizer, scheduler = confsched.build(spec, model)
    loader = DataLoader(dataset, shuffle=True, **dataloader_kwargs(spec))
    model, optimizer, loader, scheduler = cs_accelerate.prepare(
        accelerator, spec, model, optimizer, loader, scheduler
    )
    for epoch in range(spec.training.epochs):
        for batch in loader:
            with accelerator.accumulate(model):
                accelerator.backward(loss_of(model, batch))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()

Inside ``accelerator.accumulate`` the last batch of an epoch always ends an accumulation, as the
spec counts. Across processes Accelerate shards whole batches: with ``drop_last`` and
``world_size > 1`` a process gets ``floor(floor(N / B) / W)`` batches where the spec (a
``DistributedSampler`` per rank) counts ``floor(ceil(N / W) / B)``; :func:`prepare` compares the
prepared training DataLoader's length with the spec and says so.
"""

from __future__ import annotations

from typing import Any

from accelerate import Accelerator
from accelerate.scheduler import AcceleratedScheduler
from torch.utils.data import DataLoader

from confsched.integrations._agreement import expect_batches, expect_fixed_batch, expect_setting
from confsched.lr_scheduler import MetricDrivenLR, ScheduledLR
from confsched.spec.root import Spec

__all__ = ["accelerator_kwargs", "check_accelerator", "prepare"]

_HINT = "pass confsched.integrations.accelerate.accelerator_kwargs(spec) to Accelerator"
_TRAIN_LOADER = "the prepared training DataLoader"


def accelerator_kwargs(spec: Spec) -> dict[str, Any]:
    """Keyword arguments for ``Accelerator``: ``gradient_accumulation_steps`` of the spec.

    The number of processes comes from the launcher (``accelerate launch --num_processes``), not
    from here: it must equal ``training.world_size``, which :func:`check_accelerator` verifies.
    """
    return {"gradient_accumulation_steps": spec.training.grad_accum_steps}


def check_accelerator(spec: Spec, accelerator: Accelerator, train_dataloader: Any = None) -> None:
    """Raise :class:`~confsched.errors.PlanMismatchError` unless ``accelerator`` runs the spec's loop.

    Compares ``num_processes`` with ``training.world_size`` and ``gradient_accumulation_steps``
    with ``training.grad_accum_steps``; given the (prepared) training DataLoader, also its batches
    per epoch on this process with the spec's. A batch ramp is refused (the Accelerator accumulates a
    fixed number of batches).
    """
    expect_fixed_batch(spec, "the Accelerator")
    expect_setting(
        "training.world_size",
        spec.training.world_size,
        "Accelerator.num_processes",
        accelerator.num_processes,
        hint="launch as many processes as the spec's world_size",
    )
    expect_setting(
        "training.grad_accum_steps",
        spec.training.grad_accum_steps,
        "Accelerator.gradient_accumulation_steps",
        accelerator.gradient_accumulation_steps,
        hint=_HINT,
    )
    if train_dataloader is not None:
        expect_batches(spec, len(train_dataloader), _TRAIN_LOADER)


def prepare(accelerator: Accelerator, spec: Spec, *objects: Any) -> Any:
    """``accelerator.prepare(*objects)``, checked against the spec, stepping schedulers once per step.

    Runs :func:`check_accelerator` with the first ``DataLoader`` among ``objects`` as the training
    data (put the training loader before evaluation loaders, as in ``prepare(model, optimizer,
    train_loader, eval_loader, scheduler)``), then has every confsched scheduler's
    ``AcceleratedScheduler`` step it once per optimizer step instead of ``num_processes`` times.
    Returns what ``accelerator.prepare`` returns.
    """
    check_accelerator(spec, accelerator)
    prepared = accelerator.prepare(*objects)
    results = prepared if isinstance(prepared, tuple) else (prepared,)
    loaders = [new for old, new in zip(objects, results, strict=True) if isinstance(old, DataLoader)]
    if loaders:
        expect_batches(spec, len(loaders[0]), _TRAIN_LOADER)
    for result in results:
        if isinstance(result, AcceleratedScheduler) and isinstance(
            result.scheduler, ScheduledLR | MetricDrivenLR
        ):
            # One scheduler step per optimizer step: confsched counts the steps of each process.
            result.split_batches = True
    return prepared
