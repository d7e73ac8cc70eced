"""Hydra's Optuna sweeper, made to survive invalid trials (``pip install "confsched[optuna]"``).

Optuna proposes values that no grid pre-check could see: a warmup longer than the run, a family
whose knobs do not fit. With the plain ``hydra/sweeper=optuna`` such a trial ends the whole study:
the job raises, the sweeper re-raises it (its ``max_failure_rate`` is 0 by default), and the trials
still to come never run. :class:`OptunaSweeper` is that sweeper with one change: a trial whose job
failed with a :class:`~confsched.errors.ConfschedError` (an invalid spec, a plan that does not
match the data) is told to the study as ``FAIL``, its one-line reason stored as the trial's user
attribute ``confsched_error``, and the study goes on. Any other failure (a bug in the training
code) still counts against ``max_failure_rate`` as before.

Select it with the shipped preset (``+hparams_search=optuna``, ``conf/hparams_search/optuna.yaml``)
or in your own config (Hydra takes sweepers only from its ``hydra_plugins`` package, where
confsched's wheel puts the entry point)::

    defaults:
      - override /hydra/sweeper: optuna
    hydra:
      sweeper:
        _target_: hydra_plugins.confsched_sweepers.optuna_sweeper.OptunaSweeper

Works with any launcher: the job's exception comes back inside Hydra's ``JobReturn`` (pickled by
submitit or Ray), so it is recognised wherever the job ran.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl

from confsched.errors import ConfschedError
from confsched.integrations.sweep import error_line

__all__ = ["ERROR_ATTRIBUTE", "InvalidTrial", "sweeper"]

log = logging.getLogger(__name__)

ERROR_ATTRIBUTE = "confsched_error"
"""The user attribute of a failed trial that holds its one-line reason."""


class InvalidTrial:
    """What an invalid trial's job returns to the sweeper: not a number, so Optuna records a failure.

    The sweeper converts a job's return value with ``float()``; this raises ``ValueError`` with
    the reason, which the sweeper catches, logs and tells the study as ``TrialState.FAIL``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __float__(self) -> float:
        raise ValueError(self.reason)

    def __str__(self) -> str:
        return f"invalid trial: {self.reason}"


class _Launcher(Launcher):
    """The sweeper's launcher, with each failed job's ``ConfschedError`` turned into a failed trial."""

    def __init__(self, inner: Launcher, sweeper: _Sweeper) -> None:
        self.inner = inner
        self.sweeper = sweeper

    def setup(self, **kwargs: Any) -> None:  # the sweeper set the inner launcher up already
        self.inner.setup(**kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        returns = self.inner.launch(job_overrides, initial_job_idx=initial_job_idx)
        trials = self.sweeper.pending
        return [self.sweeper.judge(trial, ret) for trial, ret in zip(trials, returns, strict=True)]


class _Sweeper(OptunaSweeperImpl):
    def setup(self, **kwargs: Any) -> None:
        super().setup(**kwargs)
        assert self.launcher is not None
        self.launcher = _Launcher(self.launcher, self)
        self.pending: list[Any] = []

    def _configure_trials(self, trials: list[Any], *args: Any) -> Sequence[Sequence[str]]:
        self.pending = list(trials)  # the trials of the batch about to be launched, in order
        overrides: Sequence[Sequence[str]] = super()._configure_trials(trials, *args)
        return overrides

    def judge(self, trial: Any, ret: JobReturn) -> JobReturn:
        """``ret``, or for a job that failed with a ``ConfschedError``, a return Optuna counts as failed."""
        error = ret._return_value
        if ret.status != JobStatus.FAILED or not isinstance(error, ConfschedError):
            return ret
        reason = error_line(error)
        trial.set_user_attr(ERROR_ATTRIBUTE, reason)
        log.warning("trial %d is invalid, the study goes on: %s", trial.number, reason)
        return dataclasses.replace(ret, status=JobStatus.COMPLETED, _return_value=InvalidTrial(reason))


def sweeper(**settings: Any) -> Sweeper:
    """The sweeper of ``hydra/sweeper=optuna`` for ``settings``, surviving invalid trials."""
    return _Sweeper(**settings)
