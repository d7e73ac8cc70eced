"""Reading specs: ``compose(overrides)`` from the Hydra config tree, ``load(path)`` for one YAML
file, ``validate(mapping)`` for plain data. All three return the same validated :class:`Spec`.

The implementation lives in :mod:`confsched.compose` (the Hydra side in one place); this module
keeps the names it always had.
"""

from __future__ import annotations

from confsched.compose.config import compose, compose_config, load, to_data
from confsched.compose.files import read_file
from confsched.compose.hydra_errors import hydra_error, yaml_error
from confsched.compose.hydra_section import FILE_KEYS, TARGETS
from confsched.compose.interpolation import FILE_RESOLVERS
from confsched.compose.overrides import parse_overrides
from confsched.compose.search import HYDRA_VERSION_BASE, search_dirs, shipped_config_dir, shown_path
from confsched.spec.root import validate

__all__ = [
    "FILE_KEYS",
    "FILE_RESOLVERS",
    "HYDRA_VERSION_BASE",
    "TARGETS",
    "compose",
    "compose_config",
    "hydra_error",
    "load",
    "parse_overrides",
    "read_file",
    "search_dirs",
    "shipped_config_dir",
    "shown_path",
    "to_data",
    "validate",
    "yaml_error",
]
