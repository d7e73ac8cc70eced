"""Composition: Hydra composes the defaults list and the overrides, OmegaConf resolves interpolations,
then :func:`confsched.validate` checks the plain container (OmegaConf cannot use pydantic models as
structured configs).
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.files import read_file, read_text
from confsched.compose.hydra_errors import hydra_error, yaml_error
from confsched.compose.hydra_section import Path as HydraPath
from confsched.compose.hydra_section import check_hydra, refuse_file_hydra
from confsched.compose.interpolation import check_expansion, check_resolvers
from confsched.compose.overrides import is_hydra_override, key_of, rewrite
from confsched.compose.primary import FILE_OPTION, SCRATCH_PREFIX, Primary, open_primary
from confsched.compose.retype import COMMAND_LINE, Origin, Origins, annotate, retype
from confsched.compose.search import search_path, shipped_config_dir, shown_path
from confsched.errors import ConfigError, ConfschedError
from confsched.spec.root import Spec, validate

__all__ = [
    "Composed",
    "SweepSettings",
    "compose",
    "compose_config",
    "compose_primary",
    "is_value_override",
    "load",
    "promote",
    "recording_loader",
    "say_note",
    "to_data",
    "with_values",
]


def compose(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    config_name: str = "config",
) -> Spec:
    """Compose a config with Hydra (defaults list + ``overrides``) and validate it.

    ``config_dir`` is searched before the shipped ``conf/`` tree (which is always behind it);
    ``overrides`` are Hydra override strings such as ``"scheduler=linear"`` or
    ``"scheduler.warmup=10%"``. The result equals what ``confsched show`` validates for
    ``--config-dir config_dir --config-name config_name`` and the same overrides, including what
    the command does to an override (see :mod:`confsched.compose`); a key dropped because its
    section changed type is said in a ``note:`` line on stderr.
    """
    with open_primary(config_dir, config_name, label="") as primary:
        composed = compose_primary(overrides, primary)
    return composed.spec(note=say_note)


def say_note(note: str) -> None:
    """Print a note (a key dropped by a change of type) on stderr: ``note: ...``."""
    print(f"note: {note}", file=sys.stderr)


def compose_config(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    config_name: str = "config",
) -> DictConfig:
    """The composed (unresolved) job config, without the ``hydra`` node; errors as ``ConfigError``.

    This uses Hydra's config loader directly and touches none of Hydra's global state, so it works
    at any time, including inside a running Hydra job. It is Hydra's composition: keys of a section
    whose type changed are still there (:meth:`Composed.spec` drops them).
    """
    with open_primary(config_dir, config_name) as primary:
        return compose_primary(overrides, primary).config


@dataclass(frozen=True)
class SweepSettings:
    """The composed ``hydra.mode`` and ``hydra.sweeper``: a file may make a run a sweep."""

    multirun: bool = False
    """``hydra.mode: MULTIRUN``."""
    sweeper: str = ""
    """The sweeper's ``_target_``."""
    params: tuple[str, ...] = ()
    """``hydra.sweeper.params`` as overrides (``key=a,b``), in order; Hydra's basic sweeper puts them
    before the command line's."""
    mode: Any = None
    """The composed ``hydra.mode`` as Hydra reads it (a ``RunMode``, or ``None`` when unset)."""

    @classmethod
    def of(cls, hydra: Any) -> SweepSettings:
        """The settings of a composed, unresolved ``hydra`` node (a DictConfig or ``None``)."""
        if not isinstance(hydra, DictConfig):
            return cls()
        mode = OmegaConf.select(hydra, "mode", default=None)
        sweeper = OmegaConf.select(hydra, "sweeper", default=None)
        params = OmegaConf.select(hydra, "sweeper.params", default=None)
        return cls(
            mode=mode,
            multirun=str(getattr(mode, "name", None) or mode) == "MULTIRUN",
            sweeper=str(sweeper.get("_target_", "")) if isinstance(sweeper, DictConfig) else "",
            params=tuple(f"{k!s}={v!s}" for k, v in params.items_ex(resolve=False))
            if isinstance(params, DictConfig)
            else (),
        )


@dataclass(frozen=True)
class Composed:
    """A composed job config, where each of its values came from, and what Hydra was given."""

    config: DictConfig
    origins: Origins
    label: str
    """How messages name the primary (``""`` for the shipped ``config``)."""
    promoted: frozenset[str]
    """Keys of spec sections the merged config did not have yet: Hydra must get them as ``++``."""
    sweep: SweepSettings = field(default_factory=lambda: SweepSettings())
    """What the composed ``hydra`` node says about sweeping (its mode, sweeper and params)."""

    def spec(self, note: Callable[[str], None] | None = None) -> Spec:
        """The validated spec; ``note`` is called first with each key dropped by a change of type.

        Every problem is reported; a value set by an option or experiment file names that file.
        """
        data = to_data(self.config, source=self.label)
        for dropped in retype(data, self.origins):
            if note is not None:
                note(dropped)
        try:
            return validate(data, source=self.label)
        except ConfschedError as error:
            raise annotate(error, self.origins) from None


def compose_primary(overrides: Sequence[str], primary: Primary) -> Composed:
    """Compose ``primary`` with ``overrides`` (see :mod:`confsched.compose` for what is done to them)."""
    from hydra.core.utils import setup_globals
    from hydra.errors import HydraException
    from hydra.types import RunMode

    given = rewrite(list(overrides), primary.groups, primary.chosen)
    setup_globals()  # the resolvers Hydra registers (${now:...})
    loader = recording_loader(search_path(primary.dirs), primary)
    try:
        config = loader.load_configuration(config_name=primary.name, overrides=given, run_mode=RunMode.RUN)
    except yaml.YAMLError as exc:  # a file of the config tree that is not YAML
        mark = getattr(exc, "problem_mark", None)
        raise yaml_error(exc, shown_path(mark.name) if mark is not None else "") from None
    except (HydraException, OmegaConfBaseException, OSError, ValueError) as exc:
        if isinstance(exc, ConfschedError):  # a file refused while Hydra read it
            raise
        names = sorted({p.stem for d in primary.config_dirs for p in d.glob("*.yaml")})
        raise hydra_error(exc, primary.name, names, given) from None
    check_expansion(config, source=primary.label)
    check_hydra(config, loader.hydra_keys, _hydra_keys_of(loader.parsed))
    sweep = SweepSettings.of(config.get("hydra"))
    with read_write(config), open_dict(config):
        config.pop("hydra", None)
    return Composed(config, loader.origins, primary.label, frozenset(loader.promoted), sweep)


def _hydra_keys_of(parsed: Sequence[Any]) -> set[HydraPath]:
    """The keys below ``hydra`` that command-line overrides set (``hydra.run.dir=x``: ``run.dir``). A
    group choice (``hydra/launcher=mine``) is not among them: the option's keys come from its file."""
    return {tuple(key_of(o)[len("hydra.") :].split(".")) for o in parsed if key_of(o).startswith("hydra.")}


def is_value_override(override: Any, groups: Set[str]) -> bool:
    """A ``key=value`` of the spec (``scheduler.warmup=10``, ``+data.drop_last=true``, a ``++`` or
    ``~`` one too; ``groups``: the config groups, whose options are not values): Hydra applies it
    on the composed config, after every file."""
    return _section_key(override, groups) and not override.is_sweep_override()


def promote(override: Any, index: int, config: DictConfig, origins: Origins) -> bool:
    """Before Hydra applies a value override (the ``index``-th of the command line) to the composed
    ``config``: make it set the key whether or not the config has it yet (``++``, returns True when
    it did not), and record that the command line set it. The loader and :func:`with_values` both
    do this, so a job composed either way has the same config and origins."""
    from hydra.core.override_parser.types import OverrideType

    if override.type.name not in ("CHANGE", "ADD"):
        return False
    key = key_of(override)
    there = OmegaConf.select(config, key, default=None, throw_on_missing=False) is not None
    promoted = override.type.name == "ADD" or not there
    if promoted:
        override.type = OverrideType.FORCE_ADD
    typed_name = key.endswith(".name")  # a type chosen on the command line
    origins.record(key, Origin(COMMAND_LINE, 1 if typed_name else 2, 10**6 + index, shown=False))
    return promoted


def with_values(base: Composed, values: Sequence[tuple[int, Any]], given: Sequence[str]) -> Composed:
    """``base`` (composed without them) with the value overrides ``values`` applied, as Hydra applies
    them after composing: ``(index in the command line, parsed override)``; ``given`` is the whole
    command line, for messages."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.errors import HydraException

    config = copy.deepcopy(base.config)
    origins = base.origins.copy()
    promoted = {key_of(o) for i, o in values if promote(o, i, config, origins)}
    try:
        ConfigLoaderImpl._apply_overrides_to_config([o for _, o in values], config)
    except (HydraException, OmegaConfBaseException) as exc:
        raise hydra_error(exc, "", (), given) from None
    return Composed(config, origins, base.label, base.promoted | promoted, base.sweep)


def _section_key(override: Any, groups: Set[str]) -> bool:
    """A ``key=value`` of the spec (``scheduler.power``, ``weight_decay_scheduler={...}``), not a
    group option (``scheduler=cosine``) or Hydra's own."""
    key = key_of(override)
    section = key.split(".")[0]
    return (
        section in Spec.model_fields
        and ("." in key or section not in groups)
        and not is_hydra_override(override)
    )


def recording_loader(config_search_path: Any, primary: Primary) -> Any:
    """Hydra's ``ConfigLoaderImpl`` for ``config_search_path``, recording ``.origins`` (where each
    value comes from) and setting a key of a spec section the merged config lacks (``.promoted``)."""
    return _loader_class()(config_search_path, primary)


@functools.cache
def _loader_class() -> Any:
    """Hydra's config loader, recording where each value comes from, and setting a key of a spec
    section whether or not the merged config has it yet (``++``): whether the spec allows the key is
    for the spec to say, with every other problem and a did-you-mean. (A class made on first use:
    importing confsched does not import Hydra's loader.)"""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    class _Loader(ConfigLoaderImpl):
        """Hydra's config loader, recording where each value comes from, and setting a key of a spec
        section whether or not the merged config has it yet (``++``): whether the spec allows the key is
        for the spec to say, with every other problem and a did-you-mean."""

        def __init__(self, config_search_path: Any, primary: Primary) -> None:
            super().__init__(config_search_path=config_search_path)
            self.primary = primary
            self.origins = Origins()
            self.promoted: set[str] = set()
            self._parsed: list[Any] = []
            self._loaded = 0
            self.hydra_keys: dict[HydraPath, str] = {}
            """Keys below ``hydra`` that a file of the user's set -> the file (for messages)."""
            self.untrusted: dict[str, str] = {}
            """Config paths read from a user's file -> how messages name the file."""

        @property
        def parsed(self) -> list[Any]:
            """The command line's overrides as Hydra parsed them."""
            return self._parsed

        def _parse_overrides_and_create_caching_repo(self, config_name: Any, overrides: Any) -> Any:
            parsed, repo = super()._parse_overrides_and_create_caching_repo(config_name, overrides)
            self._parsed = parsed
            return parsed, _CheckedRepository(repo, self)

        def _load_single_config(self, default: Any, repo: Any) -> Any:
            result = super()._load_single_config(default, repo)
            path = str(default.config_path or "")
            source = self.untrusted.get(path)
            if source is not None and isinstance(result.config, DictConfig):
                keys = refuse_file_hydra(result.config.get("hydra"), source)
                self.hydra_keys.update(dict.fromkeys(keys, source))
            if path.startswith("hydra/") or str(default.package or "").startswith("hydra"):
                return result
            group, _, option = path.rpartition("/")
            own = default.primary or option == FILE_OPTION
            typed_on_line = {
                key_of(o).split("@")[0] for o in self._parsed if not _section_key(o, self.primary.groups)
            }
            chosen_here = group in typed_on_line  # a choice of this command line: named in messages
            rank = 1 if chosen_here and group in Spec.model_fields else 0
            origin = Origin(
                self.primary.label if own else path, rank, self._loaded, shown=chosen_here and not own
            )
            self.origins.record_config(result.config, origin)
            self._loaded += 1
            return result

        def _compose_config_from_defaults_list(self, defaults: Any, repo: Any) -> DictConfig:
            config = super()._compose_config_from_defaults_list(defaults=defaults, repo=repo)
            for i, override in enumerate(self._parsed):
                if _section_key(override, self.primary.groups) and promote(override, i, config, self.origins):
                    self.promoted.add(key_of(override))
            return config

    return _Loader


class _CheckedRepository:
    """Hydra's config repository, reading a user's files as :func:`~confsched.compose.files.read_text`
    reads a spec file (size, UTF-8, YAML nodes and depth) and checking their resolvers, before Hydra
    builds them; a config path with ``..`` (a defaults entry or option leaving the config dirs) is
    refused. Files of the shipped tree and of installed packages are confsched's and Hydra's own."""

    def __init__(self, repo: Any, loader: Any) -> None:
        self._repo = repo
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._repo, name)

    def load_config(self, config_path: str) -> Any:
        if ".." in config_path.replace("\\", "/").split("/"):
            raise ConfigError(
                config_path.rpartition("/")[0] or config_path,
                f"'{config_path}' leaves the config directories: a defaults entry or option names a "
                "config inside them (no '..')",
            )
        file = self._user_file(config_path)
        if file is not None:
            primary = self._loader.primary
            own = config_path == primary.name or any(part.startswith(SCRATCH_PREFIX) for part in file.parts)
            source = (primary.label or config_path) if own else shown_path(file)  # the primary: as named
            read_text(file, source)
        result = self._repo.load_config(config_path)
        if file is not None and result is not None:
            check_resolvers(result.config, source)
            self._loader.untrusted[config_path] = source
        return result

    def _user_file(self, config_path: str) -> Path | None:
        """The file Hydra reads for ``config_path`` when it is a user's (not the shipped tree's)."""
        shipped = shipped_config_dir()
        for config_source in self._repo.get_sources():
            if not config_source.is_config(config_path):
                continue
            if config_source.scheme() != "file":
                return None
            file = Path(config_source.path) / f"{config_path}.yaml"
            if not file.is_file():
                file = file.with_suffix(".yml")
            return None if file.resolve().is_relative_to(shipped) else file
        return None


def to_data(config: DictConfig, *, source: str = "") -> Any:
    """Resolve interpolations and return plain data; a failing interpolation names its key.

    The expansion is bounded first (:func:`~confsched.compose.interpolation.check_expansion`)."""
    check_expansion(config, source=source)
    try:
        return OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(key, f"cannot resolve interpolation: {reason}", source=source) from None


def load(path: str | Path) -> Spec:
    """Read a YAML spec file (OmegaConf interpolations allowed) and validate it.

    Errors name the file: ``my.yaml: scheduler.warmup: 5000 steps exceeds the run (1950 steps)``.
    """
    source = str(path)
    config = read_file(path, source)
    keys = refuse_file_hydra(config.get("hydra", None), source)
    check_expansion(config, source=source)
    check_hydra(config, dict.fromkeys(keys, source), ())
    return validate(to_data(config, source=source), source=source)
