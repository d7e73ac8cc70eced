"""Log the LR of every group at every optimizer step: to Python logging, and to TensorBoard.

:class:`LRLogger` reads the LRs from ``optimizer.param_groups``, one value per LR group of the spec
(the ``.no_decay`` companions share their group's LR and are not repeated), so a logged row equals
the row of :func:`confsched.lr_curve` for that step. Call it just before ``optimizer.step()`` with the
number of optimizer steps done so far (Lightning: ``on_before_optimizer_step`` with
``trainer.global_step``; the HF Trainer: :class:`confsched.integrations.transformers.LRLoggingCallback`).

Python logging goes to the ``confsched.lr`` logger, which propagates to the root logger: under
``@hydra.main`` that is the job log. TensorBoard needs the ``tensorboard`` package
(``pip install "confsched[tensorboard]"``); any object with ``add_scalar(tag, value, step)`` works::

    from torch.utils.tensorboard import SummaryWriter
    lr_logger = LRLogger(writer=SummaryWriter("runs/exp1"))
    for step in range(spec.total_steps):
        ...
        lr_logger(optimizer, step)
        optimizer.step()
        scheduler.step()
"""

from __future__ import annotations

import logging
from typing import Protocol

import torch
from torch.optim import Optimizer

__all__ = ["LRLogger", "ScalarWriter", "group_lrs"]


class ScalarWriter(Protocol):
    """What :class:`LRLogger` needs from a TensorBoard ``SummaryWriter`` (or any scalar logger)."""

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> object: ...


def group_lrs(optimizer: Optimizer) -> dict[str, float]:
    """The current LR of each LR group, in optimizer order, keyed by the group's name.

    Groups built by :func:`confsched.build` are keyed by their ``lr_group`` (``default``, ``head``);
    other param groups by their ``name`` key, or by their index.
    """
    lrs: dict[str, float] = {}
    for index, group in enumerate(optimizer.param_groups):
        name = str(group.get("lr_group", group.get("name", index)))
        lr = group["lr"]
        lrs.setdefault(name, float(lr.item() if isinstance(lr, torch.Tensor) else lr))
    return lrs


class LRLogger:
    """Log every LR group's LR at an optimizer step: ``lr_logger(optimizer, step)``.

    ``writer`` gets one scalar per group, tagged ``<prefix>/<group>``; ``logger`` (default: the
    ``confsched.lr`` logger) gets one line per step at ``level``, e.g.
    ``step 12: lr default=0.000998 head=9.98e-05``. Only steps that are multiples of
    ``every_n_steps`` are logged; every call returns the LRs it read.
    """

    def __init__(
        self,
        *,
        writer: ScalarWriter | None = None,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        every_n_steps: int = 1,
        prefix: str = "lr",
    ) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.writer = writer
        self.logger = logger if logger is not None else logging.getLogger("confsched.lr")
        self.level = level
        self.every_n_steps = every_n_steps
        self.prefix = prefix

    def __call__(self, optimizer: Optimizer, step: int) -> dict[str, float]:
        """Log the LRs that optimizer step ``step`` (0 = the first) uses; return them by group."""
        lrs = group_lrs(optimizer)
        if step % self.every_n_steps:
            return lrs
        if self.writer is not None:
            for name, lr in lrs.items():
                self.writer.add_scalar(f"{self.prefix}/{name}", lr, step)
        if self.logger.isEnabledFor(self.level):
            shown = " ".join(f"{name}={lr:.6g}" for name, lr in lrs.items())
            self.logger.log(self.level, "step %d: %s %s", step, self.prefix, shown)
        return lrs
