"""Composition: Hydra composes the defaults list and the overrides, OmegaConf resolves interpolations,
then :func:`confsched.validate` checks the plain container (OmegaConf cannot use pydantic models as
structured configs).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.files import read_file
from confsched.compose.hydra_errors import hydra_error, yaml_error
from confsched.compose.hydra_section import refuse_hydra_code
from confsched.compose.overrides import is_hydra_override, key_of, rewrite
from confsched.compose.primary import FILE_OPTION, Primary, open_primary
from confsched.compose.retype import COMMAND_LINE, Origin, Origins, annotate, retype
from confsched.compose.schema import TYPED_SECTIONS
from confsched.compose.search import search_path, shown_path
from confsched.errors import ConfigError, ConfschedError
from confsched.spec.root import Spec, validate

__all__ = [
    "Composed",
    "compose",
    "compose_config",
    "compose_primary",
    "load",
    "recording_loader",
    "say_note",
    "to_data",
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
class Composed:
    """A composed job config, where each of its values came from, and what Hydra was given."""

    config: DictConfig
    origins: Origins
    label: str
    """How messages name the primary (``""`` for the shipped ``config``)."""
    promoted: frozenset[str]
    """Keys of spec sections the merged config did not have yet: Hydra must get them as ``++``."""

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
    except (HydraException, OmegaConfBaseException, OSError) as exc:
        names = sorted({p.stem for d in primary.config_dirs for p in d.glob("*.yaml")})
        raise hydra_error(exc, primary.name, names, given) from None
    refuse_hydra_code(OmegaConf.to_container(config.get("hydra", {}), resolve=False))
    with read_write(config), open_dict(config):
        config.pop("hydra", None)
    return Composed(config, loader.origins, primary.label, frozenset(loader.promoted))


def _section_key(override: Any) -> bool:
    """A ``key=value`` inside a spec section (``scheduler.power``), not a group or Hydra's own."""
    key = key_of(override)
    return "." in key and key.split(".")[0] in Spec.model_fields and not is_hydra_override(override)


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

        def _parse_overrides_and_create_caching_repo(self, config_name: Any, overrides: Any) -> Any:
            parsed, repo = super()._parse_overrides_and_create_caching_repo(config_name, overrides)
            self._parsed = parsed
            return parsed, repo

        def _load_single_config(self, default: Any, repo: Any) -> Any:
            result = super()._load_single_config(default, repo)
            path = str(default.config_path or "")
            if path.startswith("hydra/") or str(default.package or "").startswith("hydra"):
                return result
            group, _, option = path.rpartition("/")
            own = default.primary or option == FILE_OPTION
            typed_on_line = {key_of(o).split("@")[0] for o in self._parsed if not _section_key(o)}
            chosen_here = group in typed_on_line  # a choice of this command line: named in messages
            rank = 1 if chosen_here and group in Spec.model_fields else 0
            origin = Origin(
                self.primary.label if own else path, rank, self._loaded, shown=chosen_here and not own
            )
            self.origins.record_config(result.config, origin)
            self._loaded += 1
            return result

        def _compose_config_from_defaults_list(self, defaults: Any, repo: Any) -> DictConfig:
            from hydra.core.override_parser.types import OverrideType

            config = super()._compose_config_from_defaults_list(defaults=defaults, repo=repo)
            for i, override in enumerate(self._parsed):
                if not _section_key(override) or override.type.name not in ("CHANGE", "ADD"):
                    continue
                key = key_of(override)
                there = OmegaConf.select(config, key, default=None, throw_on_missing=False) is not None
                if override.type.name == "ADD" or not there:
                    override.type = OverrideType.FORCE_ADD
                    self.promoted.add(key)
                typed_name = key in {f"{s}.name" for s in TYPED_SECTIONS}
                self.origins.record(key, Origin(COMMAND_LINE, 1 if typed_name else 2, 10**6 + i, shown=False))
            return config

    return _Loader


def to_data(config: DictConfig, *, source: str = "") -> Any:
    """Resolve interpolations and return plain data; a failing interpolation names its key."""
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
    return validate(to_data(read_file(path, source), source=source), source=source)
