"""The sweep pre-check: every job a command line asks for is composed and validated before the
first one runs, so a typo in job 5 of a ``-m`` sweep is one ``error:`` line naming that job, not a
traceback after five jobs ran.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confsched.compose.config import compose_primary
from confsched.compose.overrides import is_hydra_override, parse_overrides
from confsched.compose.primary import Primary
from confsched.errors import ConfschedError
from confsched.spec.root import Spec

__all__ = ["Checked", "check_jobs", "combinations", "job_key"]


@dataclass
class Checked:
    """What the pre-check found: the validated specs by job, notes, and keys Hydra must get as ``++``."""

    specs: dict[tuple[Any, ...], Spec] = field(default_factory=dict)
    """Each job's spec, by :func:`job_key` (the job itself need not compose it again)."""
    promoted: set[str] = field(default_factory=set)
    """Keys of spec sections the composed config did not have yet (``++`` for Hydra)."""


def job_key(primary: Primary, overrides: Sequence[str]) -> tuple[Any, ...]:
    """A job's identity for :attr:`Checked.specs`: the primary and its overrides, ``+`` aside."""
    return (primary.dirs, primary.name, tuple(sorted(o.lstrip("+") for o in overrides)))


def check_jobs(
    primary: Primary,
    others: Sequence[Primary],
    injected: Sequence[str],
    overrides: Sequence[str],
    *,
    validate_specs: bool,
    multirun: bool,
    note: Callable[[str], None] | None = None,
) -> Checked:
    """Compose (and validate) every job of the command line; raise the first job's problems.

    ``primary`` is composed with ``injected + overrides`` (``injected``: what the command adds, such
    as Hydra's output dir), each of ``others`` (``diff``'s second file) with the job's own overrides.
    ``note`` is called with each key dropped by a change of type, naming the job in a sweep.
    """
    checked = Checked()
    parsed = parse_overrides(overrides)
    jobs = combinations(parsed) if multirun else [[o.input_line for o in parsed]]
    for number, job in enumerate(jobs):
        task = [text for text, o in zip(job, parse_overrides(job), strict=True) if not is_hydra_override(o)]
        label = f"job {number} ({' '.join(task)})" if len(jobs) > 1 else ""
        try:
            for where, job_overrides in ((primary, [*injected, *job]), *((other, task) for other in others)):
                composed = compose_primary(job_overrides, where)
                checked.promoted |= composed.promoted
                if validate_specs:
                    said = ", ".join(part for part in (where.label, label) if part)
                    say = note if note is None or not said else _labelled(note, said)
                    checked.specs[job_key(where, task)] = composed.spec(note=say)
        except ConfschedError as error:
            if not label:
                raise
            raise error.with_source(", ".join(p for p in (error.source, label) if p)) from None
    return checked


def _labelled(note: Callable[[str], None], label: str) -> Callable[[str], None]:
    return lambda text: note(f"{label}: {text}")


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
