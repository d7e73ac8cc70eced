"""Reading specs: ``compose(overrides)`` from the Hydra config tree, ``load(path)`` for one YAML
file, ``validate(mapping)`` for plain data. All three return the same validated :class:`Spec`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from confsched.errors import ConfigError
from confsched.spec.root import Spec, validate

__all__ = ["compose", "load", "shipped_config_dir", "validate"]


def shipped_config_dir() -> Path:
    """The ``conf/`` tree shipped with confsched (inside the wheel, or at the top of a checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError("", f"confsched's shipped config tree is missing (looked in {here / 'conf'})")


def compose(
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
    config_name: str = "config",
) -> Spec:
    """Compose a config with Hydra (defaults list + ``overrides``) and validate it.

    ``config_dir`` defaults to the shipped ``conf/``; ``overrides`` are Hydra override strings
    such as ``"scheduler=linear"`` or ``"scheduler.warmup=10%"``.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    directory = Path(config_dir).resolve() if config_dir is not None else shipped_config_dir()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(directory), version_base="1.3"):
        config = hydra_compose(config_name=config_name, overrides=list(overrides))
    data = OmegaConf.to_container(config, resolve=True)
    return validate(data, source=f"{config_name}.yaml")


def load(path: str | Path) -> Spec:
    """Read a YAML spec file (OmegaConf interpolations allowed) and validate it.

    Errors name the file: ``my.yaml: scheduler.warmup: 5000 steps exceeds the run (1950 steps)``.
    """
    source = str(path)
    file = Path(path)
    if not file.is_file():
        raise ConfigError("", f"no such config file: {source}")
    try:
        config = OmegaConf.load(file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError("", f"YAML syntax error{where}: {exc.problem}", source=source) from None
    except (yaml.YAMLError, OmegaConfBaseException) as exc:
        raise ConfigError("", f"cannot read YAML: {' '.join(str(exc).split())}", source=source) from None
    if not OmegaConf.is_dict(config):
        raise ConfigError(
            "",
            "a spec must be a mapping of sections (optimizer, scheduler, data, training), got a list",
            source=source,
        )
    try:
        data = OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(
            "", f"cannot resolve interpolation: {' '.join(str(exc).split())}", source=source
        ) from None
    if not data:
        raise ConfigError(
            "", "the file is empty; a spec needs optimizer, scheduler, data and training", source=source
        )
    return validate(data, source=source)
