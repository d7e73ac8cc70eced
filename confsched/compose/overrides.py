"""Command-line overrides: parsing them as Hydra does, with one-line errors."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from confsched.errors import ConfigError

__all__ = ["is_hydra_override", "key_of", "parse_overrides", "rewrite"]


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


def key_of(override: Any) -> str:
    """The key or group an override is about (``scheduler``, ``scheduler.warmup``, ``hydra/launcher``)."""
    return str(override.key_or_group)


def is_hydra_override(override: Any) -> bool:
    """Whether an override is about Hydra itself (``hydra.run.dir``, ``hydra/launcher``)."""
    return key_of(override) == "hydra" or key_of(override).startswith(("hydra.", "hydra/"))


def rewrite(
    overrides: Sequence[str], groups: Set[str], chosen: Set[str], promoted: Set[str] = frozenset()
) -> list[str]:
    """The overrides as Hydra must read them to do what the user meant.

    - a group the primary does not choose is added (``experiment=NAME`` -> ``+experiment=NAME``);
      one it chooses is swapped (``+scheduler=cosine`` -> ``scheduler=cosine``);
    - a key of a spec section in ``promoted`` (one the composed config did not have yet, found while
      composing) is set whether or not it is there: ``++`` (whether the spec allows it is the
      spec's to say).

    ``groups`` are the config groups of the searched trees; ``chosen`` those the primary's defaults
    list chooses. Hydra's own overrides, deletions (``~``) and ``++`` stay as they are.
    """
    out = []
    for text, override in zip(overrides, parse_overrides(overrides), strict=True):
        key = key_of(override)
        kind = override.type.name  # CHANGE, ADD, FORCE_ADD, DEL
        group = key.split("@")[0]
        if is_hydra_override(override) or kind not in ("CHANGE", "ADD"):
            out.append(text)
        elif group in groups and override.package is None:
            if override.value() is None:
                raise ConfigError(
                    group,
                    f"'{text}' chooses no option: give one ({group}=NAME), or drop the group with ~{group}",
                )
            if kind == "CHANGE" and group not in chosen:
                out.append(f"+{text}")
            elif kind == "ADD" and group in chosen:
                out.append(text[1:])
            else:
                out.append(text)
        elif key in promoted:
            out.append(f"++{text.lstrip('+')}")
        else:
            out.append(text)
    return out
