"""Where configs are found: the shipped ``conf/`` tree, a user's directory searched before it, and
Hydra's search path built from the two.

The search path is the same for ``confsched.compose`` and the ``confsched`` command: a user's config
directory (when given) first, then the shipped tree, so a user's ``scheduler/cosine.yaml`` shadows
the shipped one and everything the user does not define comes from confsched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confsched.errors import ConfigError

__all__ = [
    "HYDRA_VERSION_BASE",
    "Source",
    "search_dirs",
    "search_path",
    "shipped_config_dir",
    "shown_path",
]


def _version_base() -> dict[str, Any]:
    from hydra import __version__

    major, minor = (int(part) for part in __version__.split(".")[:2])
    # Hydra 1.3 warns when version_base is missing; 1.4 deprecates passing it at all.
    return {} if (major, minor) >= (1, 4) else {"version_base": "1.3"}


HYDRA_VERSION_BASE: dict[str, Any] = _version_base()
"""Keyword arguments that pin Hydra's behaviour to 1.3 without a warning on Hydra 1.3 or 1.4."""


@dataclass(frozen=True)
class Source:
    """A primary config: the directory searched first (``None``: only the shipped tree) and its name."""

    directory: Path | None
    name: str
    label: str
    """How messages and plots call it: the file the user wrote, or ``config``."""


def shipped_config_dir() -> Path:
    """The ``conf/`` tree shipped with confsched (inside the wheel, or at the top of a checkout)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError("", f"confsched's shipped config tree is missing (looked in {package / 'conf'})")


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


def search_path(dirs: Sequence[Path]) -> Any:
    """Hydra's search path for ``dirs`` (in search order), built as the command line builds it."""
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    primary, *more = dirs
    path = create_config_search_path(str(primary))
    for directory in more:  # where `--config-dir` goes: behind the primary dir, before the schema
        path.prepend("command-line", f"file://{directory}", anchor=SearchPathQuery(provider="schema"))
    return path
