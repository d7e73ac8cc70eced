"""Where each value came from, and what happens to a section whose type changed.

Hydra merges dictionaries: swapping ``scheduler.name`` from ``cosine_with_restarts`` to ``linear``
keeps ``num_cycles``, which ``linear`` does not have (hydra issues #1896, #2956; NeMo's
``optim.sched.name`` overrides hit the same trap). Here every key of the composed config has an
:class:`Origin` (the file that set it last, or the command line), recorded while Hydra composes,
and :func:`retype` drops a key the section's new type does not know when it was written before that
type was chosen (one ``note:`` line each). A key the user typed on the command line is never
dropped: the spec reports it, with a did-you-mean.

Ranks, lowest first: files (the primary, the options it chooses, experiments), then a section's
type chosen on the command line (``scheduler=cosine``, ``scheduler.name=linear``), then keys typed
on the command line. A key is a leftover when its origin ranks below the origin of the section's
``name`` (or has the same rank and was merged earlier).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig

from confsched.compose.schema import typed_nodes
from confsched.errors import ConfschedError

__all__ = ["COMMAND_LINE", "Origin", "Origins", "annotate", "retype"]

COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Origin:
    """Who set a value: ``label`` (``experiment/bert_finetune``, ``run.yaml``, ``command line``)."""

    label: str
    rank: int
    """0: a file; 1: a section's type chosen on the command line; 2: typed on the command line."""
    order: int
    """Merge order (later wins)."""
    shown: bool
    """Named in messages: an option or experiment file (not the primary, not the command line)."""

    @property
    def set_by(self) -> str:
        """`` (set by experiment/bert_finetune)`` for a shown origin, else ``""``."""
        return f" (set by {self.label})" if self.shown else ""


class Origins:
    """The origin of every key of a composed config, by dotted path (lists are single values)."""

    def __init__(self) -> None:
        self._by_path: dict[str, Origin] = {}

    def copy(self) -> Origins:
        """An independent copy (one job's origins on top of what its group choices composed)."""
        copied = Origins()
        copied._by_path = dict(self._by_path)
        return copied

    def record(self, path: str, origin: Origin) -> None:
        """``origin`` set ``path`` (and everything below it)."""
        self._by_path[path] = origin

    def record_config(self, config: Any, origin: Origin, prefix: str = "") -> None:
        """``origin`` set every leaf of ``config`` (a DictConfig embedded at its package)."""
        for path in _leaves(config, prefix):
            self._by_path[path] = origin

    def of(self, path: str) -> Origin | None:
        """The latest origin of ``path``: its own, an enclosing key's, or one below it."""
        dotted = path.replace("[", ".").replace("]", "")
        found = [
            origin
            for key, origin in self._by_path.items()
            if key == dotted or dotted.startswith(key + ".") or key.startswith(dotted + ".")
        ]
        return max(found, key=lambda o: (o.rank, o.order)) if found else None


def _leaves(config: Any, prefix: str) -> Iterator[str]:
    if not isinstance(config, DictConfig):
        yield prefix
        return
    for key, value in config.items_ex(resolve=False):
        if key == "defaults" and isinstance(value, ListConfig):
            continue  # a config's own defaults list: not a value
        path = f"{prefix}.{key!s}" if prefix else str(key)
        if not prefix and key == "hydra":
            continue
        if isinstance(value, DictConfig) and len(value) > 0:
            yield from _leaves(value, path)
        else:
            yield path


def retype(data: Any, origins: Origins) -> list[str]:
    """Drop, in place, the keys of each typed section (``scheduler``, ``optimizer``,
    ``weight_decay_scheduler``, ...) that its type does not know and that were written before the
    type was chosen; return one note per dropped key."""
    notes: list[str] = []
    for path, body, name, known in list(typed_nodes(data)):
        chooser = origins.of(f"{path}.name")
        if chooser is None:
            continue
        for key in [k for k in body if k not in known]:
            origin = origins.of(f"{path}.{key}")
            if origin is None or origin.rank >= 2:
                continue
            if (origin.rank, origin.order) >= (chooser.rank, chooser.order):
                continue
            del body[key]
            notes.append(f"{path}.{key}{origin.set_by} dropped: {name} has no such knob")
    return notes


def annotate(error: ConfschedError, origins: Origins) -> ConfschedError:
    """``error`` with each problem's path followed by the file that set the value, when the value
    came from an option or experiment file: ``optimizer.betas (set by experiment/bert_finetune)``."""
    changed = []
    for problem in error.problems:
        origin = origins.of(problem.path) if problem.path else None
        path = f"{problem.path}{origin.set_by}" if origin is not None and origin.rank < 2 else problem.path
        changed.append(type(problem)(path, problem.message, source=problem.source))
    annotated = ConfschedError.of(changed)
    annotated.unreported = error.unreported
    return annotated


def plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy with each section copied too (``retype`` edits sections in place)."""
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in mapping.items()}
