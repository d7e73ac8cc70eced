"""The sweep pre-check: every job a command line asks for is composed and validated before the
first one runs, so a typo in job 5 of a ``-m`` sweep is one ``error:`` line naming that job, not a
traceback after five jobs ran.

What makes a sweep (as Hydra's basic sweeper reads it): ``-m`` or a file's ``hydra.mode: MULTIRUN``;
the jobs are the product of the comma lists, ``range()`` and ``glob()`` of the file's
``hydra.sweeper.params`` followed by the command line's. A sweeper that proposes values itself
(Optuna) is checked on what is fixed; its trials are checked as they run.

It scales: the jobs are **counted before they are expanded** (a sweep of more than :data:`MAX_JOBS`
jobs is refused, ``--max-jobs N`` raises the limit), then streamed one at a time (memory does not
grow with their number), and a :class:`Composer` runs Hydra once per distinct choice of groups and
options, applying each job's ``key=value`` overrides on a copy of that composed config, as Hydra
does after composing (a 300-job grid of values is composed once, not 300 times).
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confsched.compose.config import Composed, compose_primary, is_value_override, with_values
from confsched.compose.overrides import is_hydra_override, key_of, parse_overrides, rewrite
from confsched.compose.primary import Primary
from confsched.compose.search import search_path
from confsched.errors import ConfigError, ConfschedError
from confsched.spec.root import Spec

__all__ = [
    "BASIC_SWEEPERS",
    "MAX_JOBS",
    "Checked",
    "Composer",
    "SweepConfigs",
    "check_jobs",
    "combinations",
    "count_values",
]

MAX_JOBS = 10_000
"""The most jobs a sweep may have; ``--max-jobs N`` on the command line raises (or lowers) it."""

BASIC_SWEEPERS = ("hydra._internal.core_plugins.basic_sweeper.BasicSweeper", "")
"""The sweepers that run the product of the overrides' values (the pre-check expands it)."""

_SECTIONS = frozenset(Spec.model_fields)
"""Taken as groups by :class:`SweepConfigs`: only a dotted key (``scheduler.warmup=5``) is a value
there; a whole section set on the command line is composed by Hydra."""

_STRUCTURES = 256
"""Composed configs a :class:`Composer` keeps (one per distinct choice of groups; least recent out)."""


@dataclass
class Checked:
    """What the pre-check found: whether the command runs a sweep, and keys Hydra must get as ``++``."""

    multirun: bool = False
    """A sweep: ``-m``, or the composed ``hydra.mode: MULTIRUN``."""
    sweeper: str = ""
    """The composed ``hydra.sweeper._target_``."""
    jobs: int = 1
    promoted: set[str] = field(default_factory=set)
    """Keys of spec sections the composed config did not have yet (``++`` for Hydra)."""
    mode: tuple[Any] | None = None
    """``(hydra.mode,)`` when the pre-check composed what Hydra composes to read it: a single run
    whose command line sweeps nothing (Hydra's ``get_mode`` would compose the whole config again)."""


class Composer:
    """Composes the jobs of one primary config: Hydra once per distinct choice of groups, options and
    Hydra settings, then each job's ``key=value`` overrides applied on a copy of that config.

    Equal to :func:`compose_primary` of the job's overrides (same config, origins and promoted
    keys): Hydra itself applies value overrides after composing every file, with the same code.
    """

    def __init__(self, primary: Primary) -> None:
        self.primary = primary
        self._composed: OrderedDict[tuple[str, ...], Composed] = OrderedDict()

    def compose(self, overrides: Sequence[str]) -> Composed:
        """The composed job config of ``overrides`` (as the command line gives them); Hydra's own
        overrides (``hydra.run.dir=...``) are left out: they do not change the spec."""
        given = rewrite(list(overrides), self.primary.groups, self.primary.chosen)
        kept = [(t, o) for t, o in zip(given, _parse(tuple(given)), strict=True) if not is_hydra_override(o)]
        given = [text for text, _ in kept]
        parsed = [copy.copy(o) for _, o in kept]  # the loader retypes them: copies
        groups = self.primary.groups
        values = [(i, o) for i, o in enumerate(parsed) if is_value_override(o, groups)]
        structure = tuple(t for t, o in zip(given, parsed, strict=True) if not is_value_override(o, groups))
        base = self._composed.get(structure)
        if base is None:
            base = compose_primary(structure, self.primary)
            self._composed[structure] = base
            if len(self._composed) > _STRUCTURES:
                self._composed.popitem(last=False)
        else:
            self._composed.move_to_end(structure)
        return with_values(base, values, given) if values else base

    def keep(self, injected: Sequence[str], overrides: Sequence[str], composed: Composed) -> None:
        """Take ``composed``, :func:`compose_primary` of ``injected + overrides``, as the composition
        of ``overrides``, when ``injected`` are all Hydra overrides (the command's output dir, job
        name, help) and ``overrides`` have no ``key=value`` and no Hydra override: Hydra overrides
        change only the ``hydra`` node, which is dropped, so it is the config :meth:`compose` would
        compose (the pre-check's settings composition is its single job's: a run composes once)."""
        if not all(is_hydra_override(o) for o in _parse(tuple(injected))):
            return
        given = rewrite(list(overrides), self.primary.groups, self.primary.chosen)
        groups = self.primary.groups
        if any(is_hydra_override(o) or is_value_override(o, groups) for o in _parse(tuple(given))):
            return
        self._composed[tuple(given)] = composed
        if len(self._composed) > _STRUCTURES:
            self._composed.popitem(last=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled for a launcher's worker: the primary, without the composed configs."""
        return (Composer, (self.primary,))

    def spec(self, overrides: Sequence[str], note: Callable[[str], None] | None = None) -> Spec:
        """The validated spec of a job (``note``: each key dropped by a change of type)."""
        return self.compose(overrides).spec(note=note)


def _parse(overrides: Sequence[str]) -> tuple[Any, ...]:
    """Parsed overrides (shared: copy one before changing it)."""
    return tuple(_parse_one(text) for text in overrides)


@functools.lru_cache(maxsize=4096)
def _parse_one(text: str) -> Any:
    """One override parsed, once per distinct text (Hydra's parser takes about 1 ms an override; a
    sweep has as many distinct texts as values, not as jobs)."""
    (parsed,) = parse_overrides([text])
    return parsed


def check_jobs(
    primary: Primary,
    others: Sequence[Primary],
    injected: Sequence[str],
    overrides: Sequence[str],
    *,
    validate_specs: bool,
    multirun: bool,
    note: Callable[[str], None] | None = None,
    max_jobs: int = MAX_JOBS,
    composers: dict[Primary, Composer] | None = None,
    each: Callable[[int, Sequence[str], Spec], None] | None = None,
) -> Checked:
    """Compose (and validate) every job of the command line; raise the first job's problems.

    ``primary`` is composed with ``injected + overrides`` (``injected``: what the command adds, such
    as Hydra's output dir), each of ``others`` (``diff``'s second file) with the job's own overrides.
    ``note`` is called with each key dropped by a change of type, naming the job in a sweep;
    ``each`` with each job's number, own overrides and spec. ``composers`` (by primary) are used and
    filled, so the jobs compose with what the pre-check composed.
    """
    composers = {} if composers is None else composers
    for where in (primary, *others):
        composers.setdefault(where, Composer(where))
    fixed = [o.input_line for o in parse_overrides(overrides) if not o.is_sweep_override()]
    composed = compose_primary([*injected, *fixed], primary)  # the command's hydra settings
    composers[primary].keep(injected, fixed, composed)
    settings = composed.sweep
    checked = Checked(multirun=multirun or settings.multirun, sweeper=settings.sweeper)
    if not checked.multirun and len(fixed) == len(overrides):
        checked.mode = (settings.mode,)
    if checked.multirun and settings.sweeper in BASIC_SWEEPERS:
        sweeps = _keyed(_parser(primary).parse_overrides([*settings.params, *overrides]))
        sizes = [count_values(o) for o in sweeps]  # counted before anything is listed
    else:  # one job, or a sweeper that proposes the values: check what is fixed
        sweeps, sizes = [], []
    checked.jobs = math.prod(sizes)
    if checked.jobs > max_jobs:
        raise ConfigError(
            "",
            f"the sweep has {checked.jobs:,} jobs ({' x '.join(str(n) for n in sizes if n > 1)}), more "
            f"than the limit of {max_jobs:,}: sweep fewer values, or raise the limit with --max-jobs N",
        )
    single = fixed if checked.multirun else list(overrides)
    axes = [list(_values(o)) for o in sweeps] if sweeps else [[text] for text in single]
    for number, job in enumerate(itertools.product(*axes)):
        task = [t for t, o in zip(job, _parse(tuple(job)), strict=True) if not is_hydra_override(o)]
        label = f"job {number} ({' '.join(task)})" if checked.jobs > 1 else ""
        try:
            for where, job_overrides in ((primary, [*injected, *job]), *((other, task) for other in others)):
                composed = composers[where].compose(job_overrides)
                checked.promoted |= composed.promoted
                if validate_specs:
                    said = ", ".join(part for part in (where.label, label) if part)
                    say = note if note is None or not said else _labelled(note, said)
                    spec = composed.spec(note=say)
                    if each is not None and where is primary:
                        each(number, task, spec)
        except ConfschedError as error:
            if not label:
                raise
            raise error.with_source(", ".join(p for p in (error.source, label) if p)) from None
    return checked


def _labelled(note: Callable[[str], None], label: str) -> Callable[[str], None]:
    return lambda text: note(f"{label}: {text}")


def _keyed(parsed: list[Any]) -> list[Any]:
    """One override per key, as Hydra's basic sweeper keeps them: a later one wins, in the first's place."""
    keyed: dict[str, Any] = {}
    for override in parsed:
        keyed[override.get_key_element()] = override
    return list(keyed.values())


def _parser(primary: Primary) -> Any:
    """Hydra's override parser, with a config loader for ``glob()`` (it lists a group's options)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create(
        config_loader=ConfigLoaderImpl(config_search_path=search_path(primary.dirs))
    )


def _values(override: Any) -> Iterator[str]:
    if not override.is_sweep_override():
        yield override.input_line
        return
    key = override.get_key_element()
    for value in override.sweep_string_iterator():
        yield f"{key}={value}"


def count_values(override: Any) -> int:
    """How many values an override sweeps (1 for a plain one), without listing them.

    ``interval()`` has no count: it is for sweepers that propose values, and is refused here.
    """
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    if not override.is_sweep_override():
        return 1
    value = override.value()
    if isinstance(value, ChoiceSweep):
        return len(value.list)
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        assert start is not None  # the grammar requires both
        assert stop is not None
        if step == 0:
            raise ConfigError(key_of(override), f"{_written(override)} needs a step other than 0")
        return max(0, math.ceil((stop - start) / step))
    if not isinstance(value, IntervalSweep):  # glob(): a group's options, listed by the loader
        return sum(1 for _ in override.sweep_string_iterator())
    raise ConfigError(
        key_of(override),
        f"{_written(override)} is for a sweeper that proposes values "
        "(+hparams_search=optuna); Hydra's basic sweeper needs values: a,b,c or range(start,stop,step)",
    )


def _written(override: Any) -> str:
    """What the override sets its key to, as typed (``range(0,10,0)``)."""
    return override.input_line.partition("=")[2] or override.input_line


def combinations(parsed: list[Any]) -> list[list[str]]:
    """The jobs of a ``-m`` sweep, as Hydra's basic sweeper forms them (a product of the choices)."""
    choices = [list(_values(o)) for o in parsed if o.is_discrete_sweep() or not o.is_sweep_override()]
    return [list(combination) for combination in itertools.product(*choices)]


class SweepConfigs:
    """Hydra's config loader for the jobs of a checked sweep: each job's config (the one Hydra's
    launcher hands the job, ``hydra`` node included) is Hydra's composition of its group choices,
    once per distinct choice, with the job's ``key=value`` overrides applied on a copy, as Hydra
    applies them after composing; ``hydra.overrides.task`` and ``hydra.job.override_dirname`` are
    the job's own. Everything else is the wrapped loader's.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self._composed: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    def __getattr__(self, name: str) -> Any:  # only for what this class does not have itself
        if name in ("loader", "_composed") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled for a launcher's worker (joblib, submitit, Ray): the loader, without the cache."""
        return (SweepConfigs, (self.loader,))

    def load_sweep_config(self, master_config: Any, sweep_overrides: list[str]) -> Any:
        from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
        from omegaconf import OmegaConf, open_dict, read_write

        parsed = [copy.copy(o) for o in _parse(tuple(sweep_overrides))]
        values = [o for o in parsed if is_value_override(o, _SECTIONS)]  # dotted keys only: safe
        if not values:
            return self.loader.load_sweep_config(master_config, sweep_overrides)
        structure = tuple(text for text, o in zip(sweep_overrides, parsed, strict=True) if o not in values)
        base = self._composed.get(structure)
        if base is None:
            base = self.loader.load_sweep_config(master_config, list(structure))
            self._composed[structure] = base
            if len(self._composed) > _STRUCTURES:
                self._composed.popitem(last=False)
        config = copy.deepcopy(base)
        ConfigLoaderImpl._apply_overrides_to_config(values, config)
        task = [o for o in parsed if not o.is_hydra_override()]
        dirname = config.hydra.job.config.override_dirname
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.overrides.task = [o.input_line for o in task]
            config.hydra.job.override_dirname = get_overrides_dirname(
                overrides=task,
                kv_sep=dirname.kv_sep,
                item_sep=dirname.item_sep,
                exclude_keys=dirname.exclude_keys,
            )
        OmegaConf.copy_cache(from_config=master_config, to_config=config)
        return config
