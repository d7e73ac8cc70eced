"""The primary config, and a spec file's own sections as group options.

A user's self-contained spec file (``optimizer:``, ``scheduler:``, ``data:``, ``training:``, no
defaults list) is a primary config whose sections Hydra cannot swap: ``scheduler=cosine`` needs
``scheduler`` in the defaults list. So before composing, each section of the primary that names a
config group (a directory of options in the searched trees) and that its defaults list does not
choose becomes an option of that group, ``<group>/(file).yaml``, chosen by a defaults entry put
where the section was (just before ``_self_``). The composed config is the same as the file's, and
``scheduler=cosine`` now replaces the file's section with the option found in the searched trees
(the user's directory first, the shipped tree behind it), keeping the other sections.

The rewritten primary and its options live in a temporary directory that stands for the primary's
own (the other entries of that directory are linked into it), for as long as the
:func:`open_primary` context lasts; the search path keeps its two directories.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from confsched.compose.files import read_file
from confsched.compose.hydra_section import refuse_file_hydra
from confsched.compose.search import search_dirs

__all__ = ["FILE_OPTION", "SCRATCH_PREFIX", "Primary", "group_of", "open_primary"]

FILE_OPTION = "(file)"
"""The option name under which a spec file's own section is chosen (never a name a user types)."""


@dataclass(frozen=True)
class Primary:
    """A primary config ready to compose: the directories searched, in order, and its name."""

    dirs: tuple[Path, ...]
    name: str
    label: str
    """How messages name the primary: the file the user gave, or the config name."""
    groups: frozenset[str]
    """The config groups of the searched trees (``optimizer``, ``scheduler``, ``experiment``...)."""
    chosen: frozenset[str] = field(default_factory=frozenset)
    """The groups the primary's defaults list chooses (after the rewrite)."""
    from_file: frozenset[str] = field(default_factory=frozenset)
    """The groups whose option is the file's own section (``(file)``)."""

    @property
    def config_dirs(self) -> tuple[Path, ...]:
        """The searched directories without the temporary one of a rewritten primary."""
        return tuple(d for d in self.dirs if not _is_scratch(d))


SCRATCH_PREFIX = "confsched-primary-"


def _is_scratch(directory: Path) -> bool:
    return directory.name.startswith(SCRATCH_PREFIX)


@contextmanager
def open_primary(
    config_dir: str | Path | None, config_name: str, label: str | None = None
) -> Iterator[Primary]:
    """The primary ``config_name`` of ``config_dir`` (then the shipped tree), its file sections made
    group options when it has any (see the module's docstring). ``label`` names it in messages
    (default: ``config_name``; ``""``: not named)."""
    dirs = tuple(search_dirs(config_dir))
    groups = frozenset(_groups(dirs))
    label = config_name if label is None else label
    file = next((d / f"{config_name}.yaml" for d in dirs if (d / f"{config_name}.yaml").is_file()), None)
    if file is None:  # Hydra says it cannot find the primary config
        yield Primary(dirs, config_name, label, groups)
        return
    config = read_file(file, label or config_name)
    refuse_file_hydra(config.get("hydra", None), label or config_name)  # before Hydra reads it
    defaults = config.get("defaults", None)
    entries = list(defaults) if defaults is not None else []
    chosen = {group_of(entry) for entry in entries} - {None}
    sections = [
        key
        for key, value in config.items_ex(resolve=False)
        if isinstance(key, str) and key in groups and key not in chosen and isinstance(value, DictConfig)
    ]
    if not sections:
        yield Primary(dirs, config_name, label, groups, frozenset(str(g) for g in chosen))
        return
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX) as scratch:
        here = Path(scratch)
        _mirror(file.parent, here, skip={file.name, *sections})
        for key in sections:
            (here / key).mkdir()
            if (file.parent / key).is_dir():
                _mirror(file.parent / key, here / key, skip={f"{FILE_OPTION}.yaml"})
            OmegaConf.save(config[key], here / key / f"{FILE_OPTION}.yaml", resolve=False)
        rest = OmegaConf.masked_copy(
            config, [str(k) for k in config if k not in sections and k != "defaults"]
        )
        at = next((i for i, e in enumerate(entries) if e == "_self_"), len(entries))
        added: list[Any] = [{key: FILE_OPTION} for key in sections]
        tail = entries[at:] if at < len(entries) else ["_self_"]
        rest["defaults"] = [*entries[:at], *added, *tail]
        OmegaConf.save(rest, here / f"{config_name}.yaml", resolve=False)
        yield Primary(
            tuple(here if d == file.parent else d for d in dirs),
            config_name,
            label,
            groups,
            frozenset({*(str(g) for g in chosen), *sections}),
            frozenset(sections),
        )


def _mirror(source: Path, target: Path, skip: set[str]) -> None:
    """Symbolic links in ``target`` to the entries of ``source`` (but ``skip``): the scratch directory
    stands for the primary's own, so it is searched with the same two directories as before."""
    for entry in source.iterdir():
        if entry.name not in skip:
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())


def group_of(entry: Any) -> str | None:
    """The group a defaults-list entry chooses (``override /scheduler@x: cosine`` -> ``scheduler``)."""
    if isinstance(entry, DictConfig | dict) and len(entry) == 1:
        (key,) = entry.keys()
        key = str(key).split()[-1]  # `override scheduler`, `optional scheduler`
        return key.lstrip("/").split("@")[0] or None
    return None


def _groups(dirs: tuple[Path, ...]) -> set[str]:
    """Top-level config groups: directories holding ``.yaml`` options (Hydra's own ``hydra/`` aside)."""
    return {
        sub.name
        for d in dirs
        for sub in d.iterdir()
        if sub.is_dir() and sub.name != "hydra" and any(sub.glob("*.yaml"))
    }
