"""What a config file's ``${...}`` interpolations may do, checked before OmegaConf resolves anything.

A file may interpolate its own values (``${training.epochs}``, ``${.warmup}``) and use the resolvers
of :data:`FILE_RESOLVERS`, which only read the config or the clock. The others are escape hatches
and are refused in a file with one line naming the key: ``oc.env`` reads the environment (secrets,
``$HOME`` into an output path), ``oc.decode`` and ``oc.create`` build config out of text (a
``hydra:`` setting no key check saw), ``oc.deprecated`` redirects a key, and any resolver some
installed package registers may do anything. The command line is the user's own: its overrides use
every resolver.

Resolution is also bounded, on the whole composed config, before it runs
(:func:`check_expansion`): the number of interpolations (``interpolations``) and the length any
value grows to once expanded (``interpolated_chars``), computed from the references (a value that
doubles another 40 times would be 2^40 characters: refused at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from confsched.errors import ConfigError, did_you_mean
from confsched.limits import LIMITS, limit

__all__ = ["FILE_RESOLVERS", "check_expansion", "check_resolvers", "interpolations"]

FILE_RESOLVERS: dict[str, str] = {
    "now": "the date and time (${now:%Y-%m-%d}), for output directories",
    "hydra": "a value of Hydra's own config (${hydra:job.name})",
    "oc.select": "another key of the config, with a default (${oc.select:training.epochs,10})",
}
"""The resolvers a config file may use, and what each reads. Plain ``${key}`` interpolation of the
config's own values is always allowed."""

Path = tuple[str, ...]


def _leaves(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """``(path, value)`` of every leaf of plain data (strings unresolved), without recursion."""
    stack = [(path, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*where, str(k)), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*where, str(i)), v) for i, v in reversed(list(enumerate(value))))
        else:
            yield where, value


def _dotted(path: Path) -> str:
    return ".".join(path)


def interpolations(text: str) -> tuple[list[str], list[str], int]:
    """The resolvers ``text`` calls, the keys it references (as written, ``.x`` relative) and its
    number of ``${...}`` expressions (nested ones counted), from OmegaConf's own grammar."""
    from omegaconf import grammar_parser

    if "${" not in text:
        return [], [], 0
    tree = grammar_parser.parse(text, parser_rule="configValue")
    resolvers: list[str] = []
    keys: list[str] = []
    count = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        kind = type(node).__name__
        if kind == "InterpolationContext":
            count += 1
        elif kind == "ResolverNameContext":
            resolvers.append(node.getText())
        elif kind == "InterpolationNodeContext":
            keys.append(node.getText()[2:-1])
        elif kind == "InterpolationResolverContext":
            name = next(
                (c.getText() for c in node.getChildren() if type(c).__name__ == "ResolverNameContext"), ""
            )
            if name in ("oc.select", "hydra"):  # they read a key: its first argument
                argument = node.getText().split(":", 1)[1][:-1].split(",")[0].strip()
                keys.append(argument if name == "oc.select" else f"hydra.{argument}")
        for i in range(getattr(node, "getChildCount", lambda: 0)()):
            child = node.getChild(i)
            if hasattr(child, "getChildCount"):
                stack.append(child)
    return resolvers, keys, count


def check_resolvers(config: Any, source: str, *, package: str = "") -> int:
    """Refuse a resolver of a file's value that is not in :data:`FILE_RESOLVERS`; return the file's
    number of interpolations (over ``interpolations`` is refused). ``config``: the file as loaded
    (unresolved); ``package``: where its keys go (``hydra.launcher``), for messages."""
    from omegaconf.errors import GrammarParseError

    data = (
        OmegaConf.to_container(config, resolve=False)
        if isinstance(config, DictConfig | ListConfig)
        else config
    )
    total = 0
    for path, value in _leaves(data, tuple(p for p in package.split(".") if p)):
        if not isinstance(value, str) or "${" not in value:
            continue
        try:
            resolvers, _, count = interpolations(value)
        except GrammarParseError:
            continue  # OmegaConf says what is wrong with it when it resolves it
        for name in resolvers:
            if name not in FILE_RESOLVERS:
                allowed = ", ".join(FILE_RESOLVERS)
                raise ConfigError(
                    _dotted(path),
                    f"the resolver '{name}' is refused in a config file{did_you_mean(name, FILE_RESOLVERS)} "
                    f"(a file may use ${{key}} and: {allowed}; give it on the command line instead)",
                    source=source,
                )
        total += count
        if total > limit("interpolations"):
            raise ConfigError(
                _dotted(path), f"the file has {LIMITS['interpolations'].exceeded()}", source=source
            )
    return total


def check_expansion(config: DictConfig, source: str = "") -> None:
    """Refuse a config whose resolution would build a value longer than ``interpolated_chars`` (or
    that holds more than ``interpolations``), computed from the references before resolving.

    The expanded length of a value is the length of its text outside ``${...}`` plus the expanded
    lengths of the keys it references; of a mapping or list, the sum over its values. Keys are read
    as OmegaConf reads them (``.x`` relative to the value's mapping); a reference to a missing key
    or a cycle counts 0 (OmegaConf reports those when it resolves).
    """
    from omegaconf.errors import GrammarParseError

    data = OmegaConf.to_container(config, resolve=False)
    most, most_count = limit("interpolated_chars"), limit("interpolations")
    own: dict[Path, int] = {}  # a leaf's length outside its interpolations
    refs: dict[Path, list[Path]] = {}
    children: dict[Path, list[Path]] = {}
    count = 0
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            kids = [((*path, str(k)), v) for k, v in items]
            children[path] = [p for p, _ in kids]
            stack.extend(kids)
            continue
        text = "" if value is None else str(value)
        own[path] = len(text)
        if not isinstance(value, str) or "${" not in value:
            continue
        try:
            _, keys, found = interpolations(value)
        except GrammarParseError:
            continue
        count += found
        if count > most_count:
            raise ConfigError(
                _dotted(path), f"the config has {LIMITS['interpolations'].exceeded()}", source=source
            )
        own[path] = len(text) - sum(len(k) + 3 for k in keys)
        refs[path] = [_absolute(path, key) for key in keys]
    sizes: dict[Path, int] = {}
    for start in [*refs]:
        _expand(start, own, refs, children, sizes, most, source)


def _absolute(path: Path, key: str) -> Path:
    """The path a key written in the value at ``path`` refers to (``.x``: beside it, ``..x``: above)."""
    dots = len(key) - len(key.lstrip("."))
    base = path[: len(path) - dots] if dots else ()
    parts = [p for p in key.lstrip(".").replace("[", ".").replace("]", "").split(".") if p]
    return base + tuple(parts)


def _expand(
    start: Path,
    own: dict[Path, int],
    refs: dict[Path, list[Path]],
    children: dict[Path, list[Path]],
    sizes: dict[Path, int],
    most: int,
    source: str,
) -> None:
    """The expanded length of ``start`` and what it depends on, into ``sizes`` (an explicit stack)."""
    visiting: set[Path] = set()
    stack: list[tuple[Path, bool]] = [(start, False)]
    while stack:
        path, ready = stack.pop()
        if path in sizes:
            continue
        deps = refs.get(path, children.get(path, []))
        if not ready:
            if path in visiting:  # a cycle: OmegaConf reports it
                sizes[path] = 0
                continue
            visiting.add(path)
            stack.append((path, True))
            stack.extend((d, False) for d in deps if d not in sizes and (d in own or d in children))
            continue
        visiting.discard(path)
        size = max(own.get(path, 0), 0) + sum(sizes.get(d, 0) for d in deps)
        sizes[path] = size
        if size > most:
            raise ConfigError(
                _dotted(path),
                f"interpolation would make it {LIMITS['interpolated_chars'].exceeded(size)}",
                source=source,
            )
