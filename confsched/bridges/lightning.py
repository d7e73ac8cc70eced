"""Lightning: an ``lr_scheduler`` config (LightningCLI's YAML, or the dict ``configure_optimizers``
returns, written out) to a spec. Import only.

Two spellings are read, at the top level of the file::

    lr_scheduler:                      # LightningCLI: stepped once per epoch (Lightning's default)
      class_path: torch.optim.lr_scheduler.StepLR
      init_args: {step_size: 30}

    lr_scheduler:                      # configure_optimizers' dict
      scheduler: {class_path: torch.optim.lr_scheduler.CosineAnnealingLR, init_args: {T_max: 1000}}
      interval: step                   # "epoch" by default
      frequency: 1

next to ``optimizer`` (``class_path`` / ``init_args``), ``trainer`` (``max_steps``, ``max_epochs``,
``accumulate_grad_batches``, ``limit_train_batches``, ``devices`` x ``num_nodes``) and a batch size
(``data.init_args.batch_size`` or ``data.batch_size``). Lightning calls ``scheduler.step()`` once
per ``interval`` every ``frequency`` intervals: per optimizer step, every torch class crosses as
:mod:`confsched.bridges.torch_lr` maps it; per epoch (or every ``n``), the classes whose LR changes
at whole calls anyway, with their durations in epochs. A metric-driven scheduler
(``ReduceLROnPlateau``) changes once per metric update, whatever the interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confsched.bridges import torch_lr
from confsched.bridges.core import (
    PLACEHOLDER,
    Bridge,
    Draft,
    Given,
    Peer,
    Run,
    complete,
    total_steps,
    validate_draft,
)

__all__ = ["BRIDGE"]


def _detect(data: Mapping[str, Any]) -> bool:
    block = data.get("lr_scheduler")
    return isinstance(block, Mapping) and ("class_path" in block or "scheduler" in block)


def _read(peer: Peer, given: Given, source: str) -> Draft:
    draft = Draft("Lightning", source)
    optimizer = peer.section("optimizer")
    if optimizer is None:
        draft.optimizer = {"name": "adamw", "lr": PLACEHOLDER}
        draft.notes["optimizer.lr"] = "the config has no optimizer: set it"
    else:
        draft.optimizer = torch_lr.optimizer_of(
            optimizer, "class_path", optimizer.text("class_path"), optimizer.section("init_args") or Peer({})
        )
    block = peer.section("lr_scheduler")
    if block is None:
        raise peer.error("lr_scheduler", "missing: the config has no lr_scheduler to import")
    if block.has("scheduler"):
        block.only(
            ("scheduler", "interval", "frequency", "monitor", "strict", "name"),
            "Lightning's lr_scheduler dict",
        )
        interval = block.text("interval", "epoch")
        if interval not in ("step", "epoch"):
            raise block.error("interval", f"{interval!r} is not step or epoch")
        every = torch_lr.Every(
            block.integer("frequency", 1, low=1), "steps" if interval == "step" else "epochs"
        )
        block = block.section("scheduler")
        assert block is not None
    else:
        every = torch_lr.Every(1, "epochs")
    name = block.text("class_path")
    args = block.section("init_args") or Peer({}, block.key("init_args"), source)
    run = _run(peer)
    if name.endswith("OneCycleLR") and run.max_steps is None and run.epochs is None:
        run.max_steps = args.integer("total_steps") if args.has("total_steps") else None
    complete(draft, run, given)
    draft.scheduler = torch_lr.scheduler_of(block, "class_path", name, args, every, total_steps(draft))
    validate_draft(draft)
    return draft


def _run(peer: Peer) -> Run:
    trainer = peer.section("trainer") or Peer({}, "trainer", peer.source)
    run = Run(grad_accum_steps=trainer.integer("accumulate_grad_batches", 1, low=1))
    if trainer.has("limit_train_batches"):
        limit = trainer.raw("limit_train_batches")
        run.limit_train_batches = limit if isinstance(limit, int) else trainer.number("limit_train_batches")
    devices = trainer.raw("devices", "auto")
    if devices not in ("auto", -1):
        count = len(devices) if isinstance(devices, list) else trainer.integer("devices", low=1)
        run.world_size = count * trainer.integer("num_nodes", 1, low=1)
    max_steps = trainer.integer("max_steps", -1)
    if max_steps > 0:
        run.max_steps = max_steps
    elif trainer.has("max_epochs") and trainer.integer("max_epochs") > 0:
        run.epochs = trainer.integer("max_epochs")
    data = peer.section("data")
    if data is not None:
        args = data.section("init_args") or data
        run.batch_size = args.optional("batch_size", low=1)
    return run


BRIDGE = Bridge("lightning", "Lightning lr_scheduler config (LightningCLI YAML)", _detect, _read)
