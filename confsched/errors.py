"""The one error hierarchy of confsched and its one-line renderer.

Every problem with user input (a YAML file, a Hydra override, a spec value, a parameter group
that matches nothing, a checkpoint from another spec) raises a :class:`ConfschedError`. It is a
``ValueError``, it knows the config path it is about, and ``str(error)`` is one line::

    scheduler.warmup: 5000 steps exceeds the run (1950 steps)

The CLI prints it as ``error: <that line>`` and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "ConfschedError",
    "GroupError",
    "PlanMismatchError",
    "ResumeError",
    "SpecError",
    "did_you_mean",
    "render",
]


class ConfschedError(ValueError):
    """Base class: a user-facing problem, tied to a config path when there is one.

    ``path`` is a dotted config path (``scheduler.warmup``, ``optimizer.groups[1].lr``) or ``""``;
    ``message`` says what is wrong and what is allowed; ``source`` names the file, when one was read.
    """

    def __init__(self, path: str, message: str, *, source: str = "") -> None:
        self.path = path
        self.message = message
        self.source = source
        where = ": ".join(part for part in (source, path) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.path, self.message, self.source))

    def within(self, prefix: str, *, source: str = "") -> ConfschedError:
        """The same error with ``prefix`` put in front of its path (and ``source`` set)."""
        path = ".".join(part for part in (prefix, self.path) if part).replace(".[", "[")
        return type(self)(path, self.message, source=source or self.source)


def _rebuild(cls: type[ConfschedError], path: str, message: str, source: str) -> ConfschedError:
    return cls(path, message, source=source)


class SpecError(ConfschedError):
    """A value in the schedule spec is invalid (type, range, or a rule between fields)."""


class ConfigError(ConfschedError):
    """A config file or override cannot be read or composed (YAML syntax, unknown group option)."""


class GroupError(ConfschedError):
    """Parameter groups do not fit the model (a pattern matches nothing, a parameter matches two)."""


class ResumeError(ConfschedError):
    """A saved scheduler state does not belong to the spec it is being loaded into."""


class PlanMismatchError(ConfschedError):
    """A training framework is set up to run another loop than the spec plans (steps, batches,
    gradient accumulation, processes): the schedule would end early or never finish."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def render(error: BaseException) -> str:
    """Render an error as the single line the CLI prints: ``error: <path>: <message>``."""
    text = " ".join(str(error).split())
    return f"error: {text}"
