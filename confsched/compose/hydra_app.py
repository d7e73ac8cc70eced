"""The spec of a config that a user's own ``@hydra.main`` application composed.

``confsched.from_hydra(cfg)`` applies the rules of the ``confsched`` command to it, as far as Hydra
allows: a section whose type changed on the command line (``scheduler.name=linear``) keeps the
knobs both types share and drops the others, one ``note:`` line each on stderr; every problem of
the spec is reported at once; a value set by an option or experiment named on the command line
names it. What Hydra decides before the application's function runs cannot change: Hydra refuses a
key the composed config lacks (write ``++scheduler.power=2``, or swap the group:
``scheduler=polynomial scheduler.power=2``) and a group the defaults list lacks without ``+``
(``+experiment=NAME``).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.config import recording_loader, say_note, to_data
from confsched.compose.primary import Primary
from confsched.compose.retype import Origins, annotate, retype
from confsched.errors import ConfschedError
from confsched.spec.root import Spec, validate

__all__ = ["from_hydra"]


def from_hydra(cfg: DictConfig) -> Spec:
    """The validated spec of ``cfg``, the config your ``@hydra.main`` function received.

    Call it inside the running application (it reads Hydra's runtime: the config name, the search
    path and the command line's overrides, to know where each value came from). Outside one it is
    ``confsched.validate`` of the resolved config.
    """
    data = to_data(cfg)
    if isinstance(data, dict):
        data.pop("hydra", None)
    origins = _origins()
    for note in retype(data, origins):
        say_note(note)
    try:
        return validate(data)
    except ConfschedError as error:
        raise annotate(error, origins) from None


def _origins() -> Origins:
    """Where each value of the running application's config came from (composed again, recording)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return Origins()
    runtime: Any = HydraConfig.get()
    name = str(runtime.job.config_name)
    groups = frozenset(
        str(k).split("/")[0] for k in runtime.runtime.choices if not str(k).startswith("hydra")
    )
    primary = Primary((), name, name, groups)
    try:
        loader = recording_loader(_search_path(runtime.runtime.config_sources), primary)
        loader.load_configuration(
            config_name=name, overrides=list(runtime.overrides.task), run_mode=RunMode.RUN
        )
    except (HydraException, OmegaConfBaseException, OSError, ConfschedError):
        return Origins()  # composing again failed: say less rather than fail a run Hydra started
    origins: Origins = loader.origins
    return origins


def _search_path(sources: Any) -> Any:
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl

    path = ConfigSearchPathImpl()
    for source in sources:
        path.append(str(source.provider), f"{source.schema}://{source.path}")
    return path
