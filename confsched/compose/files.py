"""Reading one spec file, for ``confsched.load`` and for ``confsched show FILE.yaml`` alike, and the
checks every file of a user's config tree passes before Hydra reads it.

A file is read once, as bytes: its size is checked before (``file_bytes``), then that it is UTF-8
text, then its YAML *events* are counted before any object is built (:func:`check_yaml`): a node
repeated by an alias counts as many nodes as it holds (``yaml_nodes``), and nesting is bounded
(``depth``). PyYAML's parser is a loop over events; only the composer and constructor, which come
after, recurse and expand aliases. So a 700-byte alias bomb or a 10,000-deep ``[[[...]]]`` fails in
milliseconds, with one line. Interpolations are then checked by :mod:`confsched.compose.interpolation`.
"""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from confsched.compose.hydra_errors import yaml_error
from confsched.compose.interpolation import check_resolvers
from confsched.errors import ConfigError
from confsched.limits import LIMITS, limit

__all__ = ["check_yaml", "read_file", "read_text"]


def read_text(path: str | Path, source: str = "") -> str:
    """The text of a config file, after the checks of the module's docstring; any failure (missing,
    unreadable, too large, binary, not UTF-8, an alias bomb, too deep) is a one-line ``ConfigError``."""
    source = source or str(path)
    file = Path(path)
    try:
        if not file.is_file():
            raise ConfigError("", f"no such config file: {source}")
        size = file.stat().st_size
        if size > limit("file_bytes"):
            raise ConfigError("", f"the file has {LIMITS['file_bytes'].exceeded(size)}", source=source)
        with file.open("rb") as handle:
            data = handle.read(limit("file_bytes") + 1)  # a file that grows while read: no more
    except OSError as exc:
        raise ConfigError("", f"cannot read the file: {exc.strerror or exc}", source=source) from None
    if len(data) > limit("file_bytes"):
        raise ConfigError("", f"the file has {LIMITS['file_bytes'].exceeded()}", source=source)
    if b"\x00" in data:
        raise ConfigError("", "a binary file, not YAML text (it holds NUL bytes)", source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}; save the file as UTF-8",
            source=source,
        ) from None
    check_yaml(text, source)
    return text


def check_yaml(text: str, source: str) -> None:
    """Count the YAML nodes of ``text`` (an alias counting as the nodes it repeats) and its nesting,
    from the parser's events, before anything is built; over a limit is a ``ConfigError``.

    A node's size is 1 plus the sizes of its children; an anchored node's size is remembered, and an
    alias adds it again (and its depth below the alias). A YAML syntax error is the usual one line.
    """
    most_nodes, most_depth = limit("yaml_nodes"), limit("depth")
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, levels below it)
    stack: list[list[int]] = [[0, 0]]  # per open collection: [nodes, deepest level below]
    opened: list[str | None] = []
    total = 0
    try:
        for event in yaml.parse(io.StringIO(text), Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([1, 0])
                opened.append(event.anchor)
                if len(stack) - 1 > most_depth:
                    raise ConfigError("", f"the YAML nests {LIMITS['depth'].exceeded()}", source=source)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                nodes, below = stack.pop()
                anchor = opened.pop()
                levels = below + 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes, levels, anchor = 1, 0, event.anchor
            elif isinstance(event, yaml.AliasEvent):
                nodes, levels = anchors.get(str(event.anchor), (1, 0))
                anchor = None
            else:
                continue
            if anchor is not None:
                anchors[anchor] = (nodes, levels)
            parent = stack[-1]
            parent[0] += nodes
            parent[1] = max(parent[1], levels)
            total = sum(frame[0] for frame in stack)
            if total > most_nodes:
                raise ConfigError("", f"the YAML has {LIMITS['yaml_nodes'].exceeded()}", source=source)
            if len(stack) - 1 + levels > most_depth:
                raise ConfigError("", f"the YAML nests {LIMITS['depth'].exceeded()}", source=source)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None


def read_file(path: str | Path, source: str = "") -> DictConfig:
    """Read one spec file; a file that is not YAML, not a mapping, or empty is a ``ConfigError``.

    ``load`` and the ``confsched`` command (for ``show FILE.yaml``) both read files through here, so a
    file fails with the same line either way. ``source`` is how the messages name the file.
    """
    source = source or str(path)
    text = read_text(path, source)
    try:
        loaded = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    except ValueError as exc:  # an integer of more than 4,300 digits (int() refuses it)
        raise ConfigError("", f"cannot read YAML: {str(exc).split(';')[0]}", source=source) from None
    if loaded is None:
        raise ConfigError(
            "", "the file is empty; a spec needs optimizer, scheduler, data and training", source=source
        )
    if not isinstance(loaded, dict):
        kind = "a list" if isinstance(loaded, list) else f"a single value ({_kind(loaded)})"
        raise ConfigError(
            "",
            f"a spec must be a mapping of sections (optimizer, scheduler, data, training), got {kind}",
            source=source,
        )
    try:
        config = OmegaConf.create(loaded)
    except OmegaConfBaseException as exc:
        raise ConfigError("", f"cannot read YAML: {' '.join(str(exc).split())}", source=source) from None
    if len(config) == 0:
        raise ConfigError(
            "", "the file is empty; a spec needs optimizer, scheduler, data and training", source=source
        )
    check_resolvers(config, source)
    return config


def _loader() -> type:
    """The YAML loader OmegaConf reads files with (its floats, ``1e-3`` included; duplicate keys refused)."""
    from omegaconf._utils import get_yaml_loader

    return get_yaml_loader()


def _kind(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text"}.get(
        type(value), type(value).__name__
    )
