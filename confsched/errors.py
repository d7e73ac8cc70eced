"""The one error hierarchy of confsched and its one-line renderer.

Every problem with user input (a YAML file, a Hydra override, a spec value, a parameter group
that matches nothing, a checkpoint from another spec) raises a :class:`ConfschedError`. It is a
``ValueError``, it knows the config path it is about, and ``str(error)`` is one line::

    scheduler.warmup: 5000 steps exceeds the run (1950 steps)

The CLI prints it as ``error: <that line>`` and exits with code 2. One error can carry several
problems (every mistake of a spec, up to :data:`MAX_PROBLEMS`): ``error.problems`` lists them, each
a one-line error of its own, ``str(error)`` puts each on its own line, and ``path``, ``message`` and
``source`` are the first one's.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "MAX_PROBLEMS",
    "ConfigError",
    "ConfschedError",
    "GroupError",
    "PlanMismatchError",
    "ResumeError",
    "SpecError",
    "did_you_mean",
    "render",
    "shorten",
]


MAX_PROBLEMS = 20
"""The most problems one error reports (the rest are counted)."""


class ConfschedError(ValueError):
    """Base class: a user-facing problem, tied to a config path when there is one.

    ``path`` is a dotted config path (``scheduler.warmup``, ``optimizer.groups[1].lr``) or ``""``;
    ``message`` says what is wrong and what is allowed; ``source`` names the file, when one was read.
    """

    def __init__(self, path: str, message: str, *, source: str = "") -> None:
        self.path = shorten(path)
        self.message = shorten(message)
        self.source = shorten(source)
        self.problems: tuple[ConfschedError, ...] = (self,)
        """Every problem this error reports, in order (just itself for one)."""
        self.unreported = 0
        """Problems found beyond :data:`MAX_PROBLEMS`, counted but not listed."""
        super().__init__(self._line())

    def _line(self) -> str:
        where = ": ".join(part for part in (self.source, self.path) if part)
        return f"{where}: {self.message}" if where else self.message

    @classmethod
    def of(cls, problems: Sequence[ConfschedError]) -> ConfschedError:
        """One error reporting all of ``problems`` (the first :data:`MAX_PROBLEMS`); a single problem
        is returned as it is. The result has the first problem's type, path, message and source."""
        flat = [p for problem in problems for p in problem.problems]
        if len(flat) == 1:
            return flat[0]
        first = flat[0]
        error = type(first)(first.path, first.message, source=first.source)
        error.problems = tuple(flat[:MAX_PROBLEMS])
        error.unreported = len(flat) - len(error.problems) + sum(p.unreported for p in problems)
        error.args = (str(error),)
        return error

    def lines(self) -> list[str]:
        """One line per problem (and one counting those beyond :data:`MAX_PROBLEMS`)."""
        lines = [problem._line() for problem in self.problems]
        if self.unreported:
            lines.append(f"(and {self.unreported} more problem{'s' if self.unreported > 1 else ''})")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __reduce__(self) -> tuple[object, ...]:
        problems = [(type(p), p.path, p.message, p.source) for p in self.problems]
        return (_rebuild, (problems, self.unreported))

    def within(self, prefix: str, *, source: str = "") -> ConfschedError:
        """The same error with ``prefix`` put in front of each problem's path (and ``source`` set)."""
        return self._each(lambda p: (_join(prefix, p.path), p.message, source or p.source))

    def with_source(self, source: str) -> ConfschedError:
        """The same error, each problem naming ``source`` (a file, a sweep job)."""
        return self._each(lambda p: (p.path, p.message, source))

    def _each(self, change: Callable[[ConfschedError], tuple[str, str, str]]) -> ConfschedError:
        changed = []
        for problem in self.problems:
            path, message, source = change(problem)
            changed.append(type(problem)(path, message, source=source))
        error = ConfschedError.of(changed)
        error.unreported = self.unreported
        return error


def _join(prefix: str, path: str) -> str:
    return ".".join(part for part in (prefix, path) if part).replace(".[", "[")


def _rebuild(problems: list[tuple[type[ConfschedError], str, str, str]], unreported: int) -> ConfschedError:
    error = ConfschedError.of([cls(path, message, source=source) for cls, path, message, source in problems])
    error.unreported = unreported
    return error


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


def shorten(text: str) -> str:
    """``text`` with every run of more than ``echoed_chars`` characters without a space cut to its
    start and its length (``'aaaa...'`` of 1 MB -> ``'aaaa…[1,000,002 characters]'``), and the whole
    cut in the middle past 20 such runs: a huge value in a config makes a readable one-line error.
    """
    from confsched.limits import LIMITS

    most = LIMITS["echoed_chars"].value(strict=False)  # strict: its own error would come here
    if len(text) <= most:
        return text
    words = [w if len(w) <= most else f"{w[: most // 2]}…[{len(w):,} characters]" for w in text.split(" ")]
    shortened = " ".join(words)
    if len(shortened) > 20 * most:
        cut = len(shortened) - 20 * most
        shortened = f"{shortened[: 10 * most]} …[{cut:,} characters]… {shortened[-10 * most :]}"
    return shortened


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` when nothing is close.

    In order: a known alias (``warmup_steps`` -> ``warmup``), the same name in another case
    (``AdamW``), the one choice the word begins (``expo`` -> ``exponential``), a close spelling
    (difflib), the longest choice the word begins with (``minimize`` -> ``min``).
    """
    if len(str(word)) > 100:  # no name is that long, and difflib's time grows with it
        return ""
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
    """Render an error as the CLI prints it: ``error: <path>: <message>``, one line per problem."""
    lines = error.lines() if isinstance(error, ConfschedError) else [str(error)]
    return "\n".join(f"error: {' '.join(line.split())}" for line in lines)
