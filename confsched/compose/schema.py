"""What the spec schema knows about a config path, read from the pydantic models and the registries.

Overrides use it to decide whether a key needs Hydra's ``+`` (a key the schema knows never does) and
which knobs a family or an optimizer keeps when its section changes type. Nothing here is a hand
list: the keys come from :class:`~confsched.spec.root.Spec`, ``FAMILIES`` and ``OPTIMIZERS``.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Union

from pydantic import BaseModel

from confsched.families import FAMILIES
from confsched.spec.optimizer import OPTIMIZERS, OptimizerBase
from confsched.spec.root import Spec

__all__ = ["TYPED_SECTIONS", "TypedNode", "is_known_path", "type_keys", "type_names", "typed_nodes"]

TYPED_SECTIONS = ("optimizer", "scheduler")
"""Sections whose ``name`` picks a model with its own keys (an optimizer, a schedule family)."""


TypedNode = tuple[str, dict[str, Any], str, frozenset[str]]
"""``(path, mapping, name, the keys the named model accepts)``."""


def typed_nodes(data: Any) -> Iterator[TypedNode]:
    """Every mapping of ``data`` whose ``name`` picks one of several models, as ``(path, mapping,
    name, the keys that model accepts)``: ``scheduler``, ``optimizer``, ``weight_decay_scheduler``,
    ``group_schedulers.head.scheduler``... read from the spec's annotations (a union tagged by
    ``name``). Names the schema does not know are left out."""
    yield from _typed(data, Spec, "")


def _typed(
    node: Any, annotation: Any, path: str
) -> Iterator[tuple[str, dict[str, Any], str, frozenset[str]]]:
    if not isinstance(node, dict):
        return
    members = _members(annotation)
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    tagged = {tag: m for m in models if (tag := _tag(m)) is not None}
    if len(tagged) > 1:
        name = node.get("name")
        keys = type_keys("optimizer", name) if path == "optimizer" else None
        if keys is None and isinstance(name, str) and name in tagged:
            keys = frozenset(tagged[name].model_fields)
        if keys is not None and isinstance(name, str):
            yield path, node, name, keys
        return
    for member in members:
        if len(models) == 1 and member is models[0]:
            for key, value in node.items():
                field = member.model_fields.get(str(key))
                if field is not None:
                    yield from _typed(value, field.annotation, f"{path}.{key}" if path else str(key))
        elif typing.get_origin(member) is dict and typing.get_args(member):
            for key, value in node.items():
                yield from _typed(value, typing.get_args(member)[-1], f"{path}.{key}" if path else str(key))


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("name")
    if field is None or typing.get_origin(field.annotation) is not typing.Literal:
        return None
    return str(typing.get_args(field.annotation)[0])


def type_names(section: str) -> list[str]:
    """The names a typed section's ``name`` may take (the registry's keys)."""
    return list(FAMILIES) if section == "scheduler" else list(OPTIMIZERS)


def type_keys(section: str, name: object) -> frozenset[str] | None:
    """The keys a section of type ``name`` accepts; ``None`` when unknown or unlimited.

    ``type_keys("scheduler", "linear")`` is ``{name, warmup, warmup_shape, warmup_start}``; an
    optimizer registered with ``register_optimizer`` accepts the common keys and its class's own
    keyword arguments (anything, when it takes ``**kwargs``).
    """
    if not isinstance(name, str):
        return None
    if section == "scheduler":
        family = FAMILIES.get(name)
        return frozenset(family.model.model_fields) if family is not None else None
    entry = OPTIMIZERS.get(name) if section == "optimizer" else None
    if entry is None:
        return None
    if entry.optimizer_class is None:
        return frozenset(entry.model.model_fields)
    parameters = inspect.signature(entry.optimizer_class).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return frozenset(OptimizerBase.model_fields) | (frozenset(parameters) - {"params"})


def is_known_path(parts: Sequence[str]) -> bool:
    """Whether some spec could have a value at ``parts`` (``["scheduler", "power"]``: polynomial's).

    A list index is a number (``optimizer.groups.0.lr``). Keys of an optimizer registered in Python
    count as known for the optimizer section.
    """
    here: list[Any] = [Spec]
    for i, part in enumerate(parts):
        if i == 1 and parts[0] == "optimizer" and part in _registered_keys():
            return True
        here = [t for annotation in here for t in _children(annotation, part)]
        if not here:
            return False
    return True


def _registered_keys() -> set[str]:
    keys: set[str] = set()
    for entry in OPTIMIZERS.values():
        if entry.optimizer_class is not None:
            keys |= set(inspect.signature(entry.optimizer_class).parameters) - {"params"}
    return keys


def _children(annotation: Any, part: str) -> list[Any]:
    """The types found under key ``part`` of a value of type ``annotation``."""
    found: list[Any] = []
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(part)
            if field is not None:
                found.append(field.annotation)
        elif origin in (list, tuple) and part.isdigit():
            found.extend(a for a in typing.get_args(member) if a is not Ellipsis)
        elif origin is dict:
            found.append(typing.get_args(member)[-1] if typing.get_args(member) else Any)
    return found


def _members(annotation: Any) -> list[Any]:
    """``annotation`` without ``Annotated`` and ``Optional``, a union split into its members."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [m for a in typing.get_args(annotation) if a is not type(None) for m in _members(a)]
    return [annotation]
