"""Hydra's and PyYAML's errors as one-line :class:`~confsched.errors.ConfigError` s.

Hydra reports an unknown group option, a key that is not in the config or an override that does
not parse in several lines, often with a traceback; here each becomes one line naming the key, with
a "did you mean" like the spec's own errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from confsched.errors import ConfigError, did_you_mean

__all__ = ["first_line", "hydra_error", "yaml_error"]


def hydra_error(
    exc: BaseException,
    config_name: str = "config",
    primaries: Sequence[str] = (),
    overrides: Sequence[str] = (),
) -> ConfigError:
    """Translate one of Hydra's composition errors into a one-line :class:`ConfigError`.

    ``primaries`` are the config names that could have been meant when the primary config is missing;
    ``overrides`` those Hydra was given (where Hydra refuses one, the line says what would work).
    """
    from hydra.errors import MissingConfigException

    cause = exc.__cause__
    refused = _refused(str(exc), overrides)
    if refused is not None:
        return refused
    if isinstance(exc, MissingConfigException):
        missing = str(exc.missing_cfg_file or config_name)
        if exc.options is None:
            return ConfigError(
                "",
                f"cannot find the primary config '{missing}'{did_you_mean(missing, primaries)} "
                f"(primary configs here: {', '.join(primaries) or 'none'})",
            )
        group, _, option = missing.rpartition("/")
        options = [o for o in exc.options if o != "(file)"]  # a spec file's own section
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
        if "list index out of range" in str(cause):
            return ConfigError(
                str(cause.full_key),
                "the list has no such item: set the whole list to add one (key=[...])",
            )
        return ConfigError(str(cause.full_key), first_line(cause))
    text = str(exc)
    if text.startswith("Ambiguous value for argument"):
        argument = text.split("'")[1] if text.count("'") >= 2 else ""
        return ConfigError(
            "",
            f"'{argument}' has several values: to sweep over them add -m (--multirun); "
            "for a list write key=[a,b]",
        )
    return ConfigError("", first_line(exc))


def _refused(text: str, overrides: Sequence[str]) -> ConfigError | None:
    """Hydra's refusals of an override, each as one line with the override that would work."""
    quoted = text.split("'")[1] if text.count("'") >= 2 else ""
    given = next((o for o in overrides if o.lstrip("+~").split("=")[0].split("@")[0] == quoted), "")
    plain = given.lstrip("+")
    if text.startswith("Could not override") and "No match in the defaults list" in text:
        return ConfigError(quoted, f"'{quoted}' is not in the defaults list: add it with +{plain}")
    if text.startswith("Could not append to config. An item is already at"):
        return ConfigError(quoted, f"'{quoted}' is already set: change it with {plain} (or ++{plain})")
    if text.startswith("Could not add") and "is already in the defaults list" in text:
        return ConfigError(quoted, f"'{quoted}' is already chosen: swap it with {plain}")
    if text.startswith("Multiple values for "):
        group = text[len("Multiple values for ") :].split(".")[0]
        chosen = [o for o in overrides if o.lstrip("+").split("=")[0] == group]
        return ConfigError(group, f"{group} is chosen {len(chosen)} times ({' '.join(chosen)}): give one")
    if text.startswith("Could not delete from config"):
        return ConfigError(
            quoted, f"cannot delete '{quoted}': {first_line(Exception(text.split('.', 1)[1]))}"
        )
    return None


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text (or its type's name)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


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
