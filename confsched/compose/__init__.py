"""The Hydra side of confsched in one place: what happens to a config file and an override.

A command line or a ``confsched.compose(...)`` call goes through these modules, in this order:

- :mod:`~confsched.compose.search`: where configs are found (a user's directory, then the shipped
  ``conf/`` tree) and Hydra's search path;
- :mod:`~confsched.compose.files`: reading one spec file (``confsched.load``, ``show FILE.yaml``);
- :mod:`~confsched.compose.primary`: a spec file's own sections become group options, so
  ``scheduler=cosine`` replaces its ``scheduler:`` section;
- :mod:`~confsched.compose.overrides`: parsing the overrides, and what Hydra must read for them
  (``experiment=X`` is ``+experiment=X``; a key of a spec section needs no ``+``);
- :mod:`~confsched.compose.schema`: what the spec's models know (keys of each family and optimizer);
- :mod:`~confsched.compose.config`: Hydra composes (recording where each value came from),
  OmegaConf resolves, :mod:`~confsched.compose.retype` drops the keys a section's new type does
  not know, pydantic validates (every problem, each naming the file that set its value);
- :mod:`~confsched.compose.hydra_section`: what a file may set under ``hydra:`` (exact keys,
  checked on resolved values);
- :mod:`~confsched.compose.interpolation`: which resolvers a file may use, and how far its
  interpolations may expand (the limits: :mod:`confsched.limits`);
- :mod:`~confsched.compose.hydra_errors`: Hydra's and PyYAML's errors as one line;
- :mod:`~confsched.compose.sweep`: the pre-check of every job of a ``-m`` sweep;
- :mod:`~confsched.compose.hydra_app`: the same rules in a user's own ``@hydra.main`` application
  (``confsched.from_hydra(cfg)``).

The ``confsched`` command (:mod:`confsched.cli`) and its Hydra application runner
(:mod:`confsched.app`) sit on top; nothing here imports them.
"""

from __future__ import annotations

from confsched.compose.config import Composed, compose, compose_config, compose_primary, load, to_data
from confsched.compose.files import read_file
from confsched.compose.hydra_errors import hydra_error, yaml_error
from confsched.compose.hydra_section import FILE_KEYS, TARGETS, check_hydra
from confsched.compose.interpolation import FILE_RESOLVERS
from confsched.compose.overrides import parse_overrides
from confsched.compose.primary import Primary, open_primary
from confsched.compose.search import (
    HYDRA_VERSION_BASE,
    Source,
    search_dirs,
    shipped_config_dir,
    shown_path,
)
from confsched.compose.sweep import check_jobs, combinations

__all__ = [
    "FILE_KEYS",
    "FILE_RESOLVERS",
    "HYDRA_VERSION_BASE",
    "TARGETS",
    "Composed",
    "Primary",
    "Source",
    "check_hydra",
    "check_jobs",
    "combinations",
    "compose",
    "compose_config",
    "compose_primary",
    "hydra_error",
    "load",
    "open_primary",
    "parse_overrides",
    "read_file",
    "search_dirs",
    "shipped_config_dir",
    "shown_path",
    "to_data",
    "yaml_error",
]
