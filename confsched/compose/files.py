"""Reading one spec file, for ``confsched.load`` and for ``confsched show FILE.yaml`` alike."""

from __future__ import annotations

from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.hydra_errors import yaml_error
from confsched.errors import ConfigError

__all__ = ["read_file"]


def read_file(path: str | Path, source: str = "") -> DictConfig:
    """Read one spec file; a file that is not YAML, not a mapping, or empty is a ``ConfigError``.

    ``load`` and the ``confsched`` command (for ``show FILE.yaml``) both read files through here, so a
    file fails with the same line either way. ``source`` is how the messages name the file.
    """
    source = source or str(path)
    file = Path(path)
    if not file.is_file():
        raise ConfigError("", f"no such config file: {source}")
    try:
        config = OmegaConf.load(file)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    except OmegaConfBaseException as exc:
        raise ConfigError("", f"cannot read YAML: {' '.join(str(exc).split())}", source=source) from None
    if not isinstance(config, DictConfig):
        raise ConfigError(
            "",
            "a spec must be a mapping of sections (optimizer, scheduler, data, training), got a list",
            source=source,
        )
    if len(config) == 0:
        raise ConfigError(
            "", "the file is empty; a spec needs optimizer, scheduler, data and training", source=source
        )
    return config
