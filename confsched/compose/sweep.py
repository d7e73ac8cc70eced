"""The sweep pre-check: every job a command line asks for is composed and validated before the
first one runs, so a typo in job 5 of a ``-m`` sweep is one ``error:`` line naming that job, not a
traceback after five jobs ran.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from confsched.compose.config import compose_config, spec_of
from confsched.compose.overrides import is_hydra_override, parse_overrides
from confsched.compose.search import Source
from confsched.errors import ConfschedError

__all__ = ["check_jobs", "combinations"]


def check_jobs(
    source: Source,
    others: Sequence[Source],
    injected: Sequence[str],
    overrides: Sequence[str],
    *,
    validate_specs: bool,
    multirun: bool,
) -> None:
    """Compose (and validate) every job of the command line; raise the first problem.

    ``source`` is composed with ``injected + overrides`` (``injected``: what the command adds, such
    as Hydra's output dir), each of ``others`` (``diff``'s second file) with the job's own overrides.
    """
    parsed = parse_overrides(overrides)
    jobs = combinations(parsed) if multirun else [[o.input_line for o in parsed]]
    for number, job in enumerate(jobs):
        task = [text for text, o in zip(job, parse_overrides(job), strict=True) if not is_hydra_override(o)]
        try:
            for where, job_overrides in ((source, [*injected, *job]), *((other, task) for other in others)):
                config = compose_config(job_overrides, where.directory, where.name)
                if validate_specs:
                    spec_of(config, where)
        except ConfschedError as error:
            if len(jobs) == 1:
                raise
            label = f"job {number} ({' '.join(task)})"
            source_label = f"{error.source}, {label}" if error.source else label
            raise type(error)(error.path, error.message, source=source_label) from None


def combinations(parsed: list[Any]) -> list[list[str]]:
    """The jobs of a ``-m`` sweep, as Hydra's basic sweeper forms them (a product of the choices)."""
    choices: list[list[str]] = []
    for override in parsed:
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                return [[o.input_line for o in parsed if not o.is_sweep_override()]]
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(combination) for combination in itertools.product(*choices)]
