"""Command-line overrides: parsing them as Hydra does, with one-line errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confsched.errors import ConfigError

__all__ = ["is_hydra_override", "key_of", "parse_overrides"]


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
