"""The Hydra plugin entry of :class:`confsched.integrations.optuna.OptunaSweeper`.

Hydra instantiates a sweeper only from a class in the ``hydra_plugins`` namespace package, and
imports every module there each time an application starts: this one imports nothing heavy, and
Optuna only when the sweeper is used (the ``optuna`` extra).
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

__all__ = ["OptunaSweeper"]


class OptunaSweeper(Sweeper):
    """hydra-optuna-sweeper's sweeper (same settings), which survives invalid trials."""

    def __init__(self, **settings: Any) -> None:
        from confsched.integrations.optuna import sweeper

        self.sweeper = sweeper(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        self.sweeper.sweep(arguments)
