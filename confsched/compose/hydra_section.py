"""What a config file may set under ``hydra:``: an exact list of keys, checked on resolved values.

Hydra instantiates the ``_target_`` of its launcher, sweeper and callbacks, hands ``job_logging`` /
``hydra_logging`` to ``logging.config.dictConfig`` (whose handlers open any file), imports the
modules of ``searchpath`` and writes where ``run.dir``, ``sweep.dir`` and ``output_subdir`` say. A
spec file is data that travels (pull requests, papers, CI), so it may set only the keys of
:data:`FILE_KEYS`, the ``_target_`` of a launcher, sweeper or sampler only to a class of
:data:`TARGETS`, and output directories only inside the working directory. Everything else a file
sets under ``hydra:`` is refused with one line naming the key. The rule is checked twice: on the
keys a file writes as soon as it is read (so ``searchpath`` never reaches Hydra), and on the values
after composition and interpolation (so ``run: ${elsewhere}`` is judged by what it becomes).

The command line is the user's own: a key it sets is not held to this list, but its ``job.name``,
``run.dir`` and ``sweep.dir`` must still resolve (``hydra.job.name=${oc.env:UNSET}`` is one line,
not a traceback) and the name be a name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from confsched.errors import ConfigError, did_you_mean
from confsched.limits import LIMITS, limit

__all__ = ["FILE_KEYS", "TARGETS", "check_hydra", "file_keys", "refuse_file_hydra", "refuse_keys"]

Path = tuple[str, ...]

_OUTPUT = "an output directory inside the working directory"
_JOBLIB = ("n_jobs", "backend", "prefer", "verbose", "timeout", "batch_size", "pre_dispatch")
_SUBMITIT = (
    "timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name",
    "partition", "qos", "comment", "constraint", "exclude", "gres", "cpus_per_gpu", "gpus_per_task",
    "mem_per_gpu", "mem_per_cpu", "account", "max_num_timeout", "array_parallelism", "signal_delay_s",
)  # fmt: skip
_OPTUNA = ("direction", "study_name", "n_trials", "n_jobs", "storage", "sampler.seed")

FILE_KEYS: dict[str, str] = {
    "mode": "RUN or MULTIRUN",
    "verbose": "loggers to make verbose",
    "run.dir": _OUTPUT,
    "sweep.dir": _OUTPUT,
    "sweep.subdir": "a relative subdirectory of the sweep dir",
    "job.name": "a name (letters, digits, '_', '.', '-')",
    "job.chdir": "true or false",
    "sweeper.params.*": "the values a sweep runs (key: a,b,c)",
    "searchpath.*": "confsched's shipped tree only (pkg://confsched.conf)",
    "callbacks.*._target_": "confsched's JobRecorder (TARGETS)",
    "callbacks.*.metric": "the name of what the job returns (JobRecorder)",
    "job_logging.loggers.*.level": "a logger's level",
    "job_logging.loggers.*.propagate": "true or false",
    "job_logging.loggers.*.handlers.*": "the name of one of Hydra's handlers (console, file)",
    "launcher._target_": "a launcher class of TARGETS",
    "sweeper._target_": "a sweeper class of TARGETS",
    "sweeper.sampler._target_": "an Optuna sampler class of TARGETS",
    **{f"launcher.{knob}": "a knob of the joblib launcher" for knob in _JOBLIB},
    **{f"launcher.{knob}": "a knob of the submitit launchers" for knob in _SUBMITIT},
    **{f"sweeper.{knob}": "a knob of the Optuna sweeper" for knob in _OPTUNA},
}
"""The ``hydra.*`` keys a config file may set (``*``: any one key), and what each takes. A launcher
or sweeper is chosen in the defaults list (``override /hydra/launcher: joblib``): the option is
the installed plugin's own file, and a file may then set the knobs above. Not here, so refused in a
file: ``job_logging`` but a logger's level, handlers and propagation, ``hydra_logging``
(dictConfig: factories, any file opened), ``callbacks`` but confsched's ``JobRecorder``
(instantiated), ``searchpath`` but confsched's own tree (imports modules), ``output_subdir``,
``job.env_set`` / ``env_copy`` (the jobs' environment), ``launcher.setup`` / ``submitit_folder``
(shell lines, a directory), ``sweeper.custom_search_space`` (a function), ``help`` / ``hydra_help``."""

TARGETS = frozenset(
    {
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        "hydra_plugins.confsched_sweepers.basic_sweeper.BasicSweeper",
        "hydra_plugins.confsched_sweepers.optuna_sweeper.OptunaSweeper",
        "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",
        "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
        "optuna.samplers.TPESampler",
        "optuna.samplers.RandomSampler",
        "optuna.samplers.CmaEsSampler",
        "optuna.samplers.NSGAIISampler",
        "optuna.samplers.GridSampler",
        "confsched.integrations.sweep.JobRecorder",
    }
)
"""The classes a file may name as ``_target_`` of ``hydra.launcher``, ``hydra.sweeper``,
``hydra.sweeper.sampler`` or a callback (confsched's ``JobRecorder``): exactly these names (no
prefix: ``hydra._internal.utils.os.system`` starts like Hydra's own)."""

_LISTED = (
    "mode",
    "verbose",
    "run.dir",
    "sweep.dir",
    "sweep.subdir",
    "job.name",
    "job.chdir",
    "sweeper.params",
)
"""The keys an error lists (the launcher and sweeper knobs are many: FILE_KEYS has them)."""
_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")
_HANDLERS = ("console", "file")
"""What a logger under ``job_logging.loggers`` may take: a level name, Hydra's own handlers."""
_NAMED = [key for key in FILE_KEYS if "*" not in key]
"""The allowed keys a did-you-mean may suggest (not the patterns)."""
_PATTERNS: tuple[Path, ...] = tuple(tuple(key.split(".")) for key in FILE_KEYS)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CHECKED_ON_THE_COMMAND_LINE = (("job", "name"), ("run", "dir"), ("sweep", "dir"))


def _matches(path: Path, pattern: Path) -> bool:
    return len(path) == len(pattern) and all(p == "*" or p == k for k, p in zip(path, pattern, strict=True))


def _under_allowed(path: Path) -> bool:
    """Whether ``path`` is an allowed key or a mapping that holds one (``run`` holds ``run.dir``)."""
    return any(len(path) <= len(pattern) and _matches(path, pattern[: len(path)]) for pattern in _PATTERNS)


def _dotted(path: Path) -> str:
    return ".".join(("hydra", *path))


def _leaves(node: Any, path: Path) -> Iterable[tuple[Path, Any]]:
    """``(path, value)`` of each leaf below ``node`` (plain data), iteratively."""
    stack = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping) and value:
            stack.extend(((*where, str(k)), v) for k, v in value.items())
        elif isinstance(value, list) and value:
            stack.extend(((*where, str(i)), v) for i, v in enumerate(value))
        else:
            yield where, value


def file_keys(hydra: Any) -> list[Path]:
    """The keys a file's ``hydra`` node (as loaded: DictConfig or plain) sets, as paths below ``hydra``."""
    if hydra is None:
        return []
    data = (
        OmegaConf.to_container(hydra, resolve=False) if isinstance(hydra, DictConfig | ListConfig) else hydra
    )
    return [path for path, _ in _leaves(data, ())]


def refuse_keys(paths: Iterable[Path], source: str, *, resolved: bool = False) -> None:
    """Refuse the first of ``paths`` (keys below ``hydra`` a file sets) that :data:`FILE_KEYS` lacks.

    The line names the outermost key that is not allowed (``hydra.job_logging``, not the handler
    three levels down), with a did-you-mean among the allowed keys and the list of them. Before
    resolution (not ``resolved``) a key that holds allowed keys (``run``) may be set to an
    interpolation; once resolved, every leaf must be an allowed key.
    """
    for path in sorted(paths):
        if not path:
            raise ConfigError(
                "hydra", "must be a mapping of Hydra's settings in a config file", source=source
            )
        exact = any(_matches(path, pattern) for pattern in _PATTERNS)
        if exact or (_under_allowed(path) and not resolved):  # `run: ${x}`: judged once resolved
            continue
        depth = next((n for n in range(1, len(path) + 1) if not _under_allowed(path[:n])), len(path))
        key = ".".join(path[:depth])
        raise ConfigError(
            _dotted(path[:depth]),
            f"a config file may not set this{did_you_mean(key, _NAMED)} (a file may set "
            f"{', '.join(_LISTED)} and the knobs of the launcher or sweeper it chooses); "
            "set it on the command line",
            source=source,
        )


def refuse_file_hydra(hydra: Any, source: str) -> list[Path]:
    """Refuse what a file's ``hydra`` node (as loaded, unresolved) sets beyond :data:`FILE_KEYS`, and a
    ``searchpath`` entry other than confsched's shipped tree, before Hydra reads it (Hydra imports
    the modules of ``pkg://`` entries); return the keys it sets."""
    keys = file_keys(hydra)
    refuse_keys(keys, source)
    if keys and any(path[0] == "searchpath" for path in keys):
        from confsched.compose.search import shipped_config_dir

        allowed = {"pkg://confsched.conf", f"file://{shipped_config_dir()}"}
        entries = OmegaConf.to_container(hydra, resolve=False).get("searchpath") or []  # type: ignore[union-attr]
        for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            if entry not in allowed:
                raise ConfigError(
                    f"hydra.searchpath[{i}]",
                    f"{entry!r} is refused: a config file may add only confsched's shipped tree "
                    "(pkg://confsched.conf); for your own configs use --config-dir",
                    source=source,
                )
    return keys


def check_hydra(config: DictConfig, set_by: Mapping[Path, str], command_line: Iterable[Path]) -> None:
    """Check the composed, unresolved ``config``'s ``hydra`` node: each key a file set (``set_by``:
    path below ``hydra`` -> the file) that the command line did not set again is allowed, and its
    resolved value is fit (a class of :data:`TARGETS`, a directory inside the working directory, a
    name); the command line's ``job.name``, ``run.dir`` and ``sweep.dir`` resolve."""
    hydra = config.get("hydra") if isinstance(config, DictConfig) else None
    if not isinstance(hydra, DictConfig):
        return
    line = list(command_line)

    def by_line(path: Path) -> bool:
        return any(path[: len(c)] == c for c in line)

    for path, source in sorted(set_by.items()):
        if by_line(path):
            continue
        refuse_keys([path], source)
        if path[:2] == ("sweeper", "params") or path == ("sweep", "subdir"):
            _check_literal(hydra, path, source)  # resolved per job, at run time
            continue
        value = _resolved(hydra, path, source)
        subpaths = list(_leaves(value, path)) if isinstance(value, Mapping | list) else [(path, value)]
        refuse_keys([p for p, _ in subpaths], source, resolved=True)
        for where, leaf in subpaths:
            _check_value(where, leaf, source, from_file=True)
    for path in _CHECKED_ON_THE_COMMAND_LINE:
        if by_line(path):
            _check_value(path, _resolved(hydra, path, ""), "", from_file=False)


def _resolved(hydra: DictConfig, path: Path, source: str) -> Any:
    """The value at ``path`` below ``hydra`` with its interpolations resolved (plain data)."""
    node: Any = hydra
    try:
        for part in path:
            node = node[int(part)] if isinstance(node, ListConfig) else node[part]
        if isinstance(node, DictConfig | ListConfig):
            return OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as exc:
        reason = " ".join(str(exc).splitlines()[0].split()) if str(exc) else type(exc).__name__
        raise ConfigError(_dotted(path), f"cannot resolve interpolation: {reason}", source=source) from None
    return node


def _check_literal(hydra: DictConfig, path: Path, source: str) -> None:
    """``sweep.subdir`` and sweep params are resolved by Hydra per job: the text must not leave."""
    node: Any = hydra
    for part in path:
        node = node._get_node(part) if isinstance(node, DictConfig) else None
    text = str(node._value()) if node is not None and hasattr(node, "_value") else ""
    if path == ("sweep", "subdir") and (os.path.isabs(text) or ".." in re.split(r"[/\\]", text)):
        raise ConfigError(
            _dotted(path),
            f"{text!r} leaves the sweep directory: give a relative path without '..'",
            source=source,
        )


def _check_value(path: Path, value: Any, source: str, *, from_file: bool) -> None:
    key = ".".join(path)
    if isinstance(value, Mapping | list) and not (path[:2] == ("sweeper", "params")):
        raise ConfigError(_dotted(path), f"must be a single value, got {value!r}", source=source)
    if path[-1] == "_target_" and value is not None and value not in TARGETS:
        raise ConfigError(
            _dotted(path),
            f"{value!r} is refused: a config file names only a launcher, sweeper or sampler class "
            "of Hydra's plugins (choose it in the defaults list: override /hydra/launcher: joblib) "
            "or confsched's callback confsched.integrations.sweep.JobRecorder",
            source=source,
        )
    if key == "job.name" and (
        not isinstance(value, str) or not _NAME.fullmatch(value) or len(value) > limit("name_chars")
    ):
        why = (
            LIMITS["name_chars"].exceeded(len(value))
            if isinstance(value, str) and len(value) > limit("name_chars")
            else "letters, digits, '_', '.', '-', not starting with '.' or '-'"
        )
        raise ConfigError(_dotted(path), f"{value!r} is not a job name ({why})", source=source)
    if key in ("run.dir", "sweep.dir") and from_file and not (isinstance(value, str) and _inside(value)):
        raise ConfigError(
            _dotted(path),
            f"{value!r} is outside the working directory: a config file writes only below it "
            "(a relative path such as outputs/run; anywhere else: set it on the command line)",
            source=source,
        )
    if path[:2] == ("job_logging", "loggers") and len(path) >= 4:
        allowed = _LEVELS if path[3] == "level" else _HANDLERS if path[3] == "handlers" else (True, False)
        if value not in allowed:
            raise ConfigError(
                _dotted(path),
                f"{value!r} is not allowed (choose one of: {', '.join(map(str, allowed))})",
                source=source,
            )
    if key == "sweeper.storage" and value is not None:
        raise ConfigError(
            _dotted(path),
            f"{value!r}: a config file keeps the study in memory (null); "
            "a database: set it on the command line",
            source=source,
        )


def _inside(directory: str) -> bool:
    """Whether ``directory`` (relative to the working directory, or absolute) lies below it."""
    cwd = os.path.abspath(os.getcwd())
    full = os.path.normpath(os.path.join(cwd, directory))
    return full == cwd or full.startswith(cwd.rstrip(os.sep) + os.sep)
