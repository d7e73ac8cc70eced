"""Composition: Hydra composes the defaults list and the overrides, OmegaConf resolves interpolations,
then :func:`confsched.validate` checks the plain container (OmegaConf cannot use pydantic models as
structured configs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.files import read_file
from confsched.compose.hydra_errors import hydra_error, yaml_error
from confsched.compose.hydra_section import refuse_hydra_code
from confsched.compose.overrides import parse_overrides
from confsched.compose.search import Source, search_dirs, search_path, shown_path
from confsched.errors import ConfigError
from confsched.spec.root import Spec, validate

__all__ = ["compose", "compose_config", "load", "spec_of", "to_data"]


def compose(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    config_name: str = "config",
) -> Spec:
    """Compose a config with Hydra (defaults list + ``overrides``) and validate it.

    ``config_dir`` is searched before the shipped ``conf/`` tree (which is always behind it);
    ``overrides`` are Hydra override strings such as ``"scheduler=linear"`` or
    ``"scheduler.warmup=10%"``. The result equals what ``confsched show`` validates for
    ``--config-dir config_dir --config-name config_name`` and the same overrides.
    """
    return validate(to_data(compose_config(overrides, config_dir, config_name)))


def compose_config(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    config_name: str = "config",
) -> DictConfig:
    """The composed (unresolved) job config, without the ``hydra`` node; errors as ``ConfigError``.

    This uses Hydra's config loader directly and touches none of Hydra's global state, so it works
    at any time, including inside a running Hydra job.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.utils import setup_globals
    from hydra.errors import HydraException
    from hydra.types import RunMode

    overrides = list(overrides)
    parse_overrides(overrides)
    setup_globals()  # the resolvers Hydra registers (${now:...})
    try:
        loader = ConfigLoaderImpl(config_search_path=search_path(config_dir))
        config = loader.load_configuration(config_name=config_name, overrides=overrides, run_mode=RunMode.RUN)
    except yaml.YAMLError as exc:  # a file of the config tree that is not YAML
        mark = getattr(exc, "problem_mark", None)
        raise yaml_error(exc, shown_path(mark.name) if mark is not None else "") from None
    except (HydraException, OmegaConfBaseException, OSError) as exc:
        primaries = sorted({p.stem for d in search_dirs(config_dir) for p in d.glob("*.yaml")})
        raise hydra_error(exc, config_name, primaries) from None
    refuse_hydra_code(OmegaConf.to_container(config.get("hydra", {}), resolve=False))
    with read_write(config), open_dict(config):
        config.pop("hydra", None)
    return config


def to_data(config: DictConfig, *, source: str = "") -> Any:
    """Resolve interpolations and return plain data; a failing interpolation names its key."""
    try:
        return OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(key, f"cannot resolve interpolation: {reason}", source=source) from None


def spec_of(config: DictConfig, source: Source) -> Spec:
    """Validate a composed config of ``source``; errors name the file (not the shipped ``config``)."""
    label = "" if source.directory is None and source.name == "config" else source.label
    return validate(to_data(config, source=label), source=label)


def load(path: str | Path) -> Spec:
    """Read a YAML spec file (OmegaConf interpolations allowed) and validate it.

    Errors name the file: ``my.yaml: scheduler.warmup: 5000 steps exceeds the run (1950 steps)``.
    """
    source = str(path)
    return validate(to_data(read_file(path, source), source=source), source=source)
