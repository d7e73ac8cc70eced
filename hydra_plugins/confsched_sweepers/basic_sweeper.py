"""Hydra's basic sweeper, for a sweep confsched has checked (the ``confsched`` command selects it).

Hydra's basic sweeper composes each job's config twice before the job runs: once to check the whole
batch, once in the launcher. confsched's pre-check has composed and validated every job already
(:mod:`confsched.compose.sweep`), so this sweeper skips Hydra's check, and gives the launcher
:class:`confsched.compose.sweep.SweepConfigs`: Hydra composes once per distinct choice of groups,
and a job's ``key=value`` overrides are applied on a copy, as Hydra applies them. The jobs and
their order are Hydra's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper as HydraBasicSweeper
from hydra.core.config_loader import ConfigLoader
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

__all__ = ["BasicSweeper"]


class BasicSweeper(HydraBasicSweeper):
    """Hydra's basic sweeper (same settings), without its second composition of every job."""

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from confsched.compose.sweep import SweepConfigs

        loader = cast(ConfigLoader, SweepConfigs(hydra_context.config_loader))  # the same methods
        context = HydraContext(config_loader=loader, callbacks=hydra_context.callbacks)
        super().setup(hydra_context=context, task_function=task_function, config=config)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Nothing: confsched composed and validated every job before the sweep started."""
