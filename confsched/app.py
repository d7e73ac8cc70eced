"""Each ``confsched`` subcommand is a real Hydra application.

``run(command, args)`` does three things around ``hydra.main``:

1. It reads the arguments with Hydra's own parser, so every Hydra flag works (``-m``,
   ``--cfg job``, ``--info``, ``hydra.run.dir=...``, ``hydra/launcher=joblib``, ``--config-dir``,
   ``--config-name``), plus the config files some commands take (``show run.yaml``,
   ``diff A B``; a file can be a git revision, ``HEAD:conf/run.yaml``).
2. Before anything runs, it composes and validates every job the command line asks for (each
   combination of a ``-m`` sweep) through :func:`confsched.compose.sweep.check_jobs`, so a typo is
   one ``error:`` line and exit code 2, not a traceback from inside a job.
3. It searches the user's config directory first and the shipped ``conf/`` tree behind it,
   whichever of ``--config-dir`` / ``--config-path`` the user wrote: a user's
   ``scheduler/cosine.yaml`` shadows confsched's, and everything else comes from confsched.

The job itself (``Command.run``) receives a :class:`Job`: the validated spec and Hydra's output
directory. Commands that only print (``show``) run in a temporary output directory, so they leave
nothing behind.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from confsched.compose.config import say_note
from confsched.compose.files import read_file
from confsched.compose.overrides import key_of, parse_overrides, rewrite
from confsched.compose.primary import Primary, open_primary
from confsched.compose.search import HYDRA_VERSION_BASE, Source
from confsched.compose.sweep import BASIC_SWEEPERS, MAX_JOBS, Checked, Composer, check_jobs
from confsched.errors import ConfigError, ConfschedError, render
from confsched.spec.root import Spec

__all__ = ["Command", "Job", "Source", "SweepCallback", "is_config_file", "run"]

_CONFIG_SUFFIXES = (".yaml", ".yml")
_DIR_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp")
_NAME_FLAGS = ("--config-name", "-cn")
_FLAGS = {
    **dict.fromkeys(_DIR_FLAGS, "config_dir"),
    **dict.fromkeys(_NAME_FLAGS, "config_name"),
    "--max-jobs": "max_jobs",
}
"""confsched's own flags (Hydra's parser does not see them), and what each sets."""
_ONCE = {
    "config_dir": "config directory (--config-dir or --config-path)",
    "config_name": "config name",
    "max_jobs": "job limit",
}


@dataclass(frozen=True)
class Job:
    """What a command's job gets: the validated spec, the specs of further files, Hydra's output dir."""

    spec: Spec
    label: str
    output_dir: Path
    overrides: tuple[str, ...]
    """The job's own overrides (``scheduler=linear``), without Hydra's."""
    others: tuple[tuple[str, Spec], ...] = ()
    """``(label, spec)`` of the further config files (``diff``'s B), composed with the same overrides."""
    number: int | None = None
    """The job's number in a ``-m`` sweep; ``None`` for a single run."""


@dataclass(frozen=True)
class Command:
    """A subcommand: its job, how many config files it takes, and whether it writes output files."""

    name: str
    summary: str
    run: Callable[[Job], None]
    files: tuple[int, int] = (0, 1)
    """Least and most config-file arguments (``diff``: exactly 2)."""
    writes: bool = False
    """Writes files into Hydra's output dir; otherwise the job runs in a temporary directory."""
    sweep_end: Callable[[Path], None] | None = None
    """Called with the sweep directory after a ``-m`` run (e.g. the overlay plot of all jobs)."""


@dataclass
class _Invocation:
    source: Source
    primary: Primary
    others: tuple[tuple[Source, Primary], ...]
    argv: list[str]
    """For Hydra's parser: its flags, then the overrides (config files and directories taken out)."""
    overrides: list[str]
    injected: list[str] = field(default_factory=list)
    checked: Checked = field(default_factory=Checked)
    composers: dict[Primary, Composer] = field(default_factory=dict)
    """What the pre-check composed, by primary: the jobs in this process compose with it."""


CHECKED_SWEEPER = "hydra_plugins.confsched_sweepers.basic_sweeper.BasicSweeper"
"""The sweeper of a ``-m`` run with Hydra's basic sweeper: the same, without composing each job again
to check it (see ``hydra_plugins/confsched_sweepers/basic_sweeper.py``)."""

_RUNNING: dict[str, Command] = {}
"""The commands run in this process, by name: how :class:`SweepCallback` finds its command."""


def run(command: Command, args: Sequence[str], prog: str = "confsched") -> int:
    """Run ``command`` as a Hydra application with ``args``; return the exit code."""
    _RUNNING[command.name] = command
    try:
        with ExitStack() as stack:
            invocation = _prepare(command, list(args), stack)
            return _launch(command, invocation, prog)
    except ConfschedError as error:
        print(render(error), file=sys.stderr)
        return 2


# ---- reading the command line ---------------------------------------------------------------


def _hydra_args(argv: list[str]) -> argparse.Namespace:
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.allow_abbrev = False

    def error(message: str) -> Any:
        raise ConfigError("", message)

    parser.error = error  # type: ignore[method-assign]
    return parser.parse_intermixed_args(argv)


def is_config_file(word: str) -> bool:
    """Whether a command-line word names a config file (``run.yaml``), not an override or a flag."""
    return "=" not in word and not word.startswith(("~", "+", "-")) and word.endswith(_CONFIG_SUFFIXES)


def _split_flags(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Take ``--config-dir/-cd`` (or ``--config-path/-cp``), ``--config-name/-cn`` and ``--max-jobs``
    out of ``args``."""
    kept: list[str] = []
    taken: dict[str, str] = {}
    words = iter(args)
    for word in words:
        flag, eq, value = word.partition("=")
        key = _FLAGS.get(flag)
        if key is None:
            kept.append(word)
            continue
        value = value if eq else next(words, "")
        if not value:
            raise ConfigError("", f"{flag} needs a value")
        if key in taken:
            raise ConfigError("", f"{flag}: give one {_ONCE[key]}")
        taken[key] = value
    return kept, taken


def _check_modes(parsed: argparse.Namespace) -> None:
    """Hydra's own rules for its flags, as one-line errors."""
    modes = {
        "--run": parsed.run,
        "-m/--multirun": parsed.multirun,
        "--cfg": parsed.cfg is not None,
        "--info": parsed.info is not None,
        "--shell-completion": parsed.shell_completion,
    }
    if sum(modes.values()) > 1:
        raise ConfigError("", f"give only one of {', '.join(flag for flag, on in modes.items() if on)}")
    if parsed.resolve and not (parsed.cfg or parsed.help):
        raise ConfigError("", "--resolve goes with --cfg (or --help)")


def _sources(files: list[str], taken: dict[str, str], stack: ExitStack) -> list[Source]:
    """The primary config (and ``diff``'s second one): config files, or a directory and a name."""
    if files:
        if taken:
            raise ConfigError("", f"give a config file ({files[0]}) or --config-dir/--config-name, not both")
        return [_file_source(word, stack) for word in files]
    user_dir = taken.get("config_dir")
    directory = Path(user_dir).expanduser().resolve() if user_dir else None
    if directory is not None and not directory.is_dir():
        raise ConfigError("", f"config directory not found: {user_dir}")
    name = taken.get("config_name", "config")
    return [Source(directory, name, name)]


def _prepare(command: Command, args: list[str], stack: ExitStack) -> _Invocation:
    rest, taken = _split_flags(args)
    max_jobs = _max_jobs(taken.pop("max_jobs", None))
    files = [word for word in rest if is_config_file(word)]
    least, most = command.files
    if not least <= len(files) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise ConfigError("", f"{command.name} takes {wanted} config file(s), got {len(files)}: {files}")
    argv = [word for word in rest if not is_config_file(word)]
    parsed = _hydra_args(argv)
    _check_modes(parsed)
    source, *others = _sources(files, taken, stack)
    primary, *more = (
        stack.enter_context(open_primary(s.directory, s.name, _label(s))) for s in [source, *others]
    )
    invocation = _Invocation(source, primary, tuple(zip(others, more, strict=True)), [], parsed.overrides)
    invocation.injected = _injected(command, parsed, stack)
    if not (parsed.help or parsed.hydra_help or parsed.shell_completion):
        invocation.checked = check_jobs(
            primary,
            more,
            invocation.injected,
            invocation.overrides,
            validate_specs=not (parsed.cfg or parsed.info),
            multirun=parsed.multirun,
            note=say_note,
            max_jobs=max_jobs,
            composers=invocation.composers,
        )
    if invocation.checked.multirun and invocation.checked.sweeper == BASIC_SWEEPERS[0]:
        mentioned = {key_of(o) for o in parse_overrides(parsed.overrides)}
        if not mentioned & {"hydra/sweeper", "hydra.sweeper._target_"}:  # checked: skip Hydra's check
            invocation.injected.append(f"hydra.sweeper._target_={CHECKED_SWEEPER}")
    # Flags first, overrides last: Hydra 1.3's parser does not take overrides after a flag.
    overrides = rewrite(parsed.overrides, primary.groups, primary.chosen, invocation.checked.promoted)
    invocation.argv = [*_without(argv, parsed.overrides), *overrides]
    return invocation


def _max_jobs(text: str | None) -> int:
    """``--max-jobs N``: the most jobs a sweep may have (default :data:`MAX_JOBS`)."""
    if text is None:
        return MAX_JOBS
    if not text.isdigit() or int(text) < 1:
        raise ConfigError("", f"--max-jobs takes a whole number of jobs, at least 1 (got {text!r})")
    return int(text)


def _label(source: Source) -> str:
    """How errors name a primary: the file or config name, nothing for the shipped ``config``."""
    return "" if source.directory is None and source.name == "config" else source.label


def _without(words: list[str], overrides: list[str]) -> list[str]:
    """``words`` less ``overrides`` (matched in order, as the parser took them out)."""
    rest, pending = [], list(overrides)
    for word in words:
        if pending and word == pending[0]:
            pending.pop(0)
        else:
            rest.append(word)
    return rest


def _injected(command: Command, parsed: argparse.Namespace, stack: ExitStack) -> list[str]:
    """Overrides the command adds in front of the user's (who can still override each one)."""
    wanted = {"hydra.job.name": command.name, "hydra/help": "confsched"}
    if not command.writes:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"confsched-{command.name}-"))
        wanted |= {"hydra.run.dir": scratch, "hydra.sweep.dir": scratch, "hydra.output_subdir": "null"}
    elif command.sweep_end is not None:  # a file may make the run a sweep (hydra.mode: MULTIRUN)
        wanted |= {
            "+hydra.callbacks.confsched_sweep._target_": f"{SweepCallback.__module__}.SweepCallback",
            "+hydra.callbacks.confsched_sweep.command": command.name,
        }
    mentioned = {key_of(o) for o in parse_overrides(parsed.overrides)}
    return [f"{key}={value}" for key, value in wanted.items() if key.lstrip("+") not in mentioned]


# ---- config files and git revisions ---------------------------------------------------------


def _file_source(word: str, stack: ExitStack) -> Source:
    revision, colon, path = word.partition(":")
    if colon and not Path(word).exists():
        directory = stack.enter_context(_checkout(revision, path))
        file = directory / Path(path).name
    else:
        file = Path(word).expanduser().resolve()
        directory = file.parent
    read_file(file, word)  # what is wrong with the file as a whole is said as `load` says it
    return Source(directory, file.stem, word)


def _git(args: Sequence[str], cwd: str | Path, failure: str = "") -> str:
    """``git ARGS`` in ``cwd``; its output. A failure is one line: ``failure`` if given (git's own
    text, several lines of it, is not shown), else git's last line."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace", check=False
        )
    except FileNotFoundError:
        raise ConfigError("", "git is not installed; cannot read a file at a revision") from None
    if result.returncode != 0:
        if failure:
            raise ConfigError("", failure)
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1].removeprefix("fatal: ")
        raise ConfigError("", f"git {' '.join(args[:2])}: {reason}")
    return result.stdout


_SYMLINK_MODE = "120000"
"""``git ls-tree``'s mode of a symbolic link: such entries are not read from a revision."""


@contextmanager
def _checkout(revision: str, path: str) -> Iterator[Path]:
    """The YAML files of ``path``'s directory at ``revision``, in a temporary directory.

    The whole directory comes from the revision (not only the file), so a Hydra config's own
    groups next to it are read as they were then too. Only regular files are taken: a symbolic
    link in the tree is left out (the config itself being one is an error), so nothing is read
    from outside the revision.
    """
    word = f"{revision}:{path}"
    top = _git(
        ["rev-parse", "--show-toplevel"], ".", f"{word}: not inside a git repository (REV:path reads git)"
    ).strip()
    prefix = _git(["rev-parse", "--show-prefix"], ".").strip()
    if not revision or revision.startswith("-"):
        raise ConfigError("", f"{word}: {revision!r} is not a revision")
    _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
        top,
        f"{word}: {revision} is not a revision of this repository (a commit, branch or tag)",
    )
    inside = os.path.normpath(os.path.join(prefix, path) if path.startswith(("./", "../")) else path)
    folder = os.path.dirname(inside)
    listing = _git(["ls-tree", "-r", "-z", revision, "--", folder or "."], top).split("\0")
    entries = {}
    for entry in filter(None, listing):
        meta, _, name = entry.partition("\t")
        entries[name] = meta.split(" ")[0]
    if entries.get(inside) == _SYMLINK_MODE:
        raise ConfigError("", f"{word}: is a symbolic link at {revision}; give the file it points to")
    wanted = [
        name for name, mode in entries.items() if name.endswith(_CONFIG_SUFFIXES) and mode != _SYMLINK_MODE
    ]
    if inside not in wanted:
        raise ConfigError("", f"{word}: no such file at revision {revision}")
    with tempfile.TemporaryDirectory(prefix="confsched-rev-") as scratch:
        archive = Path(scratch) / "files.tar"
        _git(["archive", "--format=tar", f"--output={archive}", revision, "--", *wanted], top)
        try:
            with tarfile.open(archive) as tar:
                regular = [member for member in tar.getmembers() if member.isfile() or member.isdir()]
                tar.extractall(Path(scratch) / "tree", members=regular, **_TAR_FILTER)
        except (tarfile.TarError, OSError) as exc:
            raise ConfigError("", f"{word}: cannot read the files at {revision}: {exc}") from None
        yield Path(scratch) / "tree" / folder


_TAR_FILTER: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


# ---- running Hydra --------------------------------------------------------------------------


def _main_options() -> dict[str, Any]:
    """``hydra.main`` keyword arguments for the installed Hydra.

    Hydra 1.4 checks every ``_target_`` it instantiates against an execution whitelist and warns
    (an error from 1.5 on) for one it was not given: confsched's sweep callback is the only target
    it adds, so that is the whitelist.
    """
    import inspect

    import hydra

    options = dict(HYDRA_VERSION_BASE)
    if "execution_whitelist" in inspect.signature(hydra.main).parameters:
        options["execution_whitelist"] = [f"{SweepCallback.__module__}.{SweepCallback.__qualname__}"]
    return options


def _launch(command: Command, invocation: _Invocation, prog: str) -> int:
    import hydra

    primary = invocation.primary
    first, *more = primary.dirs
    argv = [prog, *invocation.argv, *invocation.injected]
    if more:  # the shipped tree goes behind the user's directory
        argv += ["--config-dir", str(more[0])]
    task = functools.partial(_job, command, invocation)
    main = hydra.main(config_path=str(first), config_name=primary.name, **_main_options())(task)
    saved, sys.argv = sys.argv, argv
    try:
        with _known_mode(invocation.checked.mode):
            main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except ValueError as exc:  # Hydra's own checks of its flags (a job's errors never get here)
        raise ConfigError("", str(exc).strip().splitlines()[0]) from None
    finally:
        sys.argv = saved
    return 0


@contextmanager
def _known_mode(mode: tuple[Any] | None) -> Iterator[None]:
    """Hydra's ``get_mode`` returns ``mode[0]`` (unless ``mode`` is ``None``) while Hydra runs.

    Before a run, Hydra composes the whole config once only to read its ``hydra.mode``, and then
    again for the job. For a single run the pre-check has composed the same overrides (a sweep
    override is not among them) and read that ``hydra.mode`` (``None`` when unset, as Hydra
    reads it): Hydra is told it rather than composing a third time. Hydra still composes the job
    it runs (and :func:`check_jobs` checked that config's ``hydra`` section).
    """
    from hydra._internal.hydra import Hydra

    own = Hydra.__dict__.get("get_mode")
    if mode is None or own is None:
        yield
        return
    known = mode[0]

    def get_mode(self: Any, config_name: str | None, overrides: list[str]) -> Any:
        return known

    Hydra.get_mode = get_mode  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = own  # type: ignore[method-assign]


def _job(command: Command, invocation: _Invocation, config: DictConfig) -> None:
    """A Hydra job: the spec confsched composes for the job's overrides (already validated by the
    pre-check, in this process; composed again in a launcher's worker process)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_config = HydraConfig.get()
    overrides = tuple(str(o) for o in hydra_config.overrides.task)
    number = hydra_config.job.num if hydra_config.mode == RunMode.MULTIRUN else None
    output_dir = Path(hydra_config.runtime.output_dir)
    spec: Spec | None = None
    try:
        spec = _spec(invocation, invocation.primary, overrides)
        job = Job(
            spec=spec,
            label=invocation.source.label,
            output_dir=output_dir,
            overrides=overrides,
            others=tuple(
                (source.label, _spec(invocation, primary, overrides)) for source, primary in invocation.others
            ),
            number=number,
        )
        command.run(job)
    except ConfschedError as error:
        _record(command, number, output_dir, overrides, spec, error)
        print(render(error), file=sys.stderr)
        raise SystemExit(2) from None
    _record(command, number, output_dir, overrides, spec, None)
    sys.stdout.flush()


def _record(
    command: Command,
    number: int | None,
    output_dir: Path,
    overrides: tuple[str, ...],
    spec: Spec | None,
    error: ConfschedError | None,
) -> None:
    """A job of a sweep that writes files leaves its result for ``confsched report``."""
    if number is None or not command.writes:
        return
    from confsched.integrations.sweep import JobResult, error_line, write_result

    result = JobResult(
        job=number,
        overrides=overrides,
        status="completed" if error is None else "failed",
        error=None if error is None else error_line(error),
        spec=None if spec is None else spec.to_config(),
    )
    write_result(output_dir, result)


def _spec(invocation: _Invocation, primary: Primary, overrides: Sequence[str]) -> Spec:
    """The job's spec, composed as the pre-check composed it (Hydra once per choice of groups)."""
    composer = invocation.composers.setdefault(primary, Composer(primary))
    return composer.spec(overrides)


class SweepCallback(Callback):
    """Hydra callback: before a ``-m`` sweep, take its directory (a used one is refused); after it,
    call the command's ``sweep_end`` with the directory."""

    def __init__(self, command: str) -> None:
        self.command = command

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from confsched.integrations.sweep import take_sweep_dir

        take_sweep_dir(str(config.hydra.sweep.dir))  # a second sweep into it is refused

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        command = _RUNNING.get(self.command)
        hook = command.sweep_end if command is not None else None
        if hook is not None:
            hook(Path(str(config.hydra.sweep.dir)))
