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


_ALIASES: dict[str, str] = {
    "warmup_steps": "warmup",
    "num_warmup_steps": "warmup",
    "warmup_ratio": "warmup",
}
"""Names users bring from transformers' ``TrainingArguments`` and ``get_*_schedule*`` functions ->
confsched's key (suggested where that key is allowed)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` when nothing is close.

    In order: a known alias (``warmup_steps`` -> ``warmup``), the same name in another case
    (``AdamW``), the one choice the word begins (``expo`` -> ``exponential``), a close spelling
    (difflib), the longest choice the word begins with (``minimize`` -> ``min``).
    """
    by_lower = {choice.lower(): choice for choice in choices}
    found = _closest(str(word).lower(), list(by_lower))
    return f"; did you mean '{by_lower[found]}'?" if found else ""


def _closest(word: str, choices: list[str]) -> str | None:
    if _ALIASES.get(word) in choices:
        return _ALIASES[word]
    if word in choices:
        return word
    starting = [c for c in choices if c.startswith(word)] if len(word) >= 3 else []
    if len(starting) == 1:
        return starting[0]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    within = [c for c in choices if len(c) >= 3 and word.startswith(c)]
    return max(within, key=len) if within else None


def render(error: BaseException) -> str:
    """Render an error as the single line the CLI prints: ``error: <path>: <message>``."""
    text = " ".join(str(error).split())
    return f"error: {text}"
