"""Reading specs: ``compose(overrides)`` from the Hydra config tree, ``load(path)`` for one YAML
file, ``validate(mapping)`` for plain data. All three return the same validated :class:`Spec`.

Composition goes one way: Hydra composes the defaults list and the overrides, OmegaConf resolves
interpolations, then :func:`confsched.validate` checks the plain container (OmegaConf cannot use
pydantic models as structured configs). Hydra's own errors (an unknown group option, a key that is
not in the config, an override that does not parse) become one-line :class:`ConfigError` s with a
"did you mean", like the spec's.

The search path is the same here and in the ``confsched`` command: a user's config directory (when
given) first, then the shipped ``conf/`` tree, so a user's ``scheduler/cosine.yaml`` shadows the
shipped one and everything the user does not define comes from confsched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from confsched.errors import ConfigError, did_you_mean
from confsched.spec.root import Spec, validate

__all__ = [
    "HYDRA_VERSION_BASE",
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


def _version_base() -> dict[str, Any]:
    from hydra import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    # Hydra 1.3 warns when version_base is missing; 1.4 deprecates passing it at all.
    return {} if (major, minor) >= (1, 4) else {"version_base": "1.3"}


HYDRA_VERSION_BASE: dict[str, Any] = _version_base()
"""Keyword arguments that pin Hydra's behaviour to 1.3 without a warning on Hydra 1.3 or 1.4."""


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
        loader = ConfigLoaderImpl(config_search_path=_search_path(config_dir))
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


HYDRA_TARGETS = ("hydra._internal.core_plugins.", "hydra_plugins.", "confsched.app.SweepCallback")
"""What a ``_target_`` in the ``hydra`` section may name: Hydra's own launchers and sweepers, an
installed Hydra plugin, and confsched's sweep callback. Everything else is refused."""


LOGGING_CLASSES = ("logging.", "colorlog.")
"""What ``class`` / ``()`` in Hydra's logging settings may name (the stdlib, hydra_colorlog's)."""


def refuse_hydra_code(node: Any, path: str = "hydra") -> None:
    """Refuse ``hydra:`` settings that would make Hydra import or call arbitrary code.

    Hydra instantiates the ``_target_`` of its launcher, sweeper and callbacks, and hands
    ``job_logging`` / ``hydra_logging`` to ``logging.config.dictConfig``, whose ``()`` key calls a
    factory and whose ``class`` key imports one. A config file may only name Hydra's own plugins
    and installed ``hydra_plugins`` there, and only ``logging.*`` (or ``colorlog.*``) classes.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "_target_" and not str(value).startswith(HYDRA_TARGETS):
                raise ConfigError(
                    where,
                    f"{value!r} is refused: a config is data; in the hydra section it may only name "
                    "Hydra's own launchers and sweepers or an installed hydra_plugins package",
                )
            if key in ("()", "class") and not str(value).startswith(LOGGING_CLASSES):
                raise ConfigError(
                    where,
                    f"{value!r} is refused: logging settings may only name "
                    f"{' or '.join(p + '*' for p in LOGGING_CLASSES)} classes",
                )
            refuse_hydra_code(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            refuse_hydra_code(item, f"{path}[{i}]")


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it (for messages)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def search_dirs(config_dir: str | Path | None) -> list[Path]:
    """The config directories in search order: ``config_dir`` (if given), then the shipped tree."""
    shipped = shipped_config_dir()
    if config_dir is None:
        return [shipped]
    directory = Path(config_dir).expanduser().resolve()
    if not directory.is_dir():
        raise ConfigError("", f"config directory not found: {config_dir}")
    return [directory, shipped]


def _search_path(config_dir: str | Path | None) -> Any:
    """Hydra's search path for ``search_dirs(config_dir)``, built as the command line builds it."""
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    primary, *more = search_dirs(config_dir)
    search_path = create_config_search_path(str(primary))
    for directory in more:  # where `--config-dir` goes: behind the primary dir, before the schema
        search_path.prepend("command-line", f"file://{directory}", anchor=SearchPathQuery(provider="schema"))
    return search_path


def parse_overrides(overrides: Sequence[str]) -> list[Any]:
    """Hydra's parsed overrides; a bad one is a ``ConfigError`` naming it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except OverrideParseException as exc:
            reason = next(
                (line for line in str(exc).splitlines() if line and not line.startswith(("Error", "See "))),
                "invalid syntax",
            )
            raise ConfigError(
                "", f"cannot parse override '{text}': {reason} (overrides look like key=value)"
            ) from None
    return parsed


def to_data(config: DictConfig, *, source: str = "") -> Any:
    """Resolve interpolations and return plain data; a failing interpolation names its key."""
    try:
        return OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(key, f"cannot resolve interpolation: {reason}", source=source) from None


def hydra_error(
    exc: BaseException, config_name: str = "config", primaries: Sequence[str] = ()
) -> ConfigError:
    """Translate one of Hydra's composition errors into a one-line :class:`ConfigError`.

    ``primaries`` are the config names that could have been meant when the primary config is missing.
    """
    from hydra.errors import MissingConfigException

    cause = exc.__cause__
    if isinstance(exc, MissingConfigException):
        missing = str(exc.missing_cfg_file or config_name)
        if exc.options is None:
            return ConfigError(
                "",
                f"cannot find the primary config '{missing}'{did_you_mean(missing, primaries)} "
                f"(primary configs here: {', '.join(primaries) or 'none'})",
            )
        group, _, option = missing.rpartition("/")
        options = list(exc.options)
        return ConfigError(
            group,
            f"unknown option '{option}'{did_you_mean(option, options)} (choose one of: {', '.join(options)})",
        )
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        key = str(getattr(cause, "key", "") or "")
        parent = getattr(cause, "parent_node", None)
        keys = list(parent) if isinstance(parent, DictConfig) else []
        allowed = sorted(str(k) for k in keys if str(k) != "hydra")
        if allowed and key not in allowed:
            return ConfigError(
                str(cause.full_key),
                f"unknown key '{key}'{did_you_mean(key, allowed)} (allowed here: {', '.join(allowed)})",
            )
        return ConfigError(str(cause.full_key), _first_line(cause))
    text = str(exc)
    if text.startswith("Ambiguous value for argument"):
        argument = text.split("'")[1] if text.count("'") >= 2 else ""
        return ConfigError(
            "",
            f"'{argument}' has several values: to sweep over them add -m (--multirun); "
            "for a list write key=[a,b]",
        )
    return ConfigError("", _first_line(exc))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def load(path: str | Path) -> Spec:
    """Read a YAML spec file (OmegaConf interpolations allowed) and validate it.

    Errors name the file: ``my.yaml: scheduler.warmup: 5000 steps exceeds the run (1950 steps)``.
    """
    source = str(path)
    return validate(to_data(read_file(path, source), source=source), source=source)


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


def yaml_error(exc: yaml.YAMLError, source: str) -> ConfigError:
    """A YAML error of ``source`` as one line: where it was found, and where the construct it
    breaks began (``while parsing a flow sequence at line 5``: the ``[`` left open)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ConfigError("", f"cannot read YAML: {' '.join(str(exc).split())}", source=source)
    message = f"YAML syntax error{_at(exc.problem_mark)}: {exc.problem}"
    if "'\\t'" in str(exc.problem):
        message += " (YAML indents with spaces, not tabs)"
    if exc.context_mark is not None and str(exc.context).startswith("while parsing"):
        message += f" ({exc.context}{_at(exc.context_mark)})"
    return ConfigError("", message, source=source)


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
