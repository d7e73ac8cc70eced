"""What every bridge shares: reading a peer's config, writing the spec, and the one error.

A bridge reads a peer's config through :class:`Peer` (every value it takes is checked there, and an
error names the peer's key: ``lr_scheduler_kwargs.power: 'two' is not a number``), fills a
:class:`Draft` (the four sections of a spec), and states the run it found as a :class:`Run`.
:func:`complete` puts the run and the user's command-line values (:class:`Given`) together: what
neither says is a placeholder, OmegaConf's mandatory value ``???`` with a comment saying what to set
(``confsched show FILE data.dataset_size=50000`` sets it without editing the file).

Nothing here imports torch: a bridge maps configs; the peers' schedulers are only run by the tests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from confsched.errors import ConfschedError, SpecError, did_you_mean

__all__ = [
    "PLACEHOLDER",
    "Bridge",
    "BridgeError",
    "Draft",
    "Given",
    "Peer",
    "Run",
    "complete",
    "exact_steps",
    "expect_defaults",
    "float_ceil",
    "read_peer_file",
    "spec_yaml",
    "steps_per_epoch",
    "total_steps",
    "validate_draft",
]

PLACEHOLDER = "???"
"""OmegaConf's mandatory value: a field the peer's config does not say and the user must set."""

_MISSING: Any = object()


class BridgeError(ConfschedError):
    """A peer's config (or a spec) says something the other side cannot express exactly, or a
    peer's value is not what the peer itself accepts: one line naming the key, the value and what
    crosses."""


@dataclass(frozen=True)
class Given:
    """What the user gives on the command line for what a peer's config does not say."""

    dataset_size: int | None = None
    batch_size: int | None = None
    world_size: int | None = None
    max_steps: int | None = None
    said_by: str = field(default="the command line", compare=False)
    """Who gives them, for messages (an export's round trip: the spec)."""


@dataclass
class Run:
    """The run a peer's config describes; ``None``: the config does not say."""

    batch_size: int | None = None
    grad_accum_steps: int = 1
    world_size: int | None = None
    drop_last: bool = False
    max_steps: int | None = None
    epochs: int | None = None
    limit_train_batches: int | float | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """Why a field is missing, by spec path (``training.max_steps``): the placeholder's comment."""


class Peer:
    """A peer's config (a mapping) with the path of every value read, for one-line errors."""

    def __init__(self, data: Mapping[str, Any], path: str = "", source: str = "") -> None:
        self.data = data
        self.path = path
        self.source = source

    def key(self, name: str) -> str:
        """The dotted path of ``name`` in the peer's config (``scheduler.params.warmup_num_steps``)."""
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> BridgeError:
        return BridgeError(self.key(name) if name else self.path, message, source=self.source)

    def has(self, name: str) -> bool:
        """Whether ``name`` is set (present and not null)."""
        return self.data.get(name) is not None

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        value = self.data.get(name)
        if value is None:
            if default is _MISSING:
                raise self.error(name, "missing: the peer's config must set it")
            return default
        if value == "auto":
            raise self.error(
                name,
                "'auto' is filled in at run time by the HF Trainer from TrainingArguments; write the "
                "value (or import the Trainer's training_args.json with --from hf)",
            )
        return value

    def number(self, name: str, default: Any = _MISSING, *, low: float | None = None) -> float:
        value = self.raw(name, default)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.error(name, f"{value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(name, f"{value!r} is not a finite number")
        if low is not None and value < low:
            raise self.error(name, f"{value!r} is below {low:g}")
        return float(value)

    def integer(self, name: str, default: Any = _MISSING, *, low: int | None = None) -> int:
        value = self.raw(name, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"{value!r} is not a whole number")
        if low is not None and value < low:
            raise self.error(name, f"{value} is below {low}")
        return value

    def optional(self, name: str, *, low: int | None = None) -> int | None:
        """A whole number, or ``None`` when ``name`` is not set."""
        return self.integer(name, low=low) if self.has(name) else None

    def text(self, name: str, default: Any = _MISSING) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise self.error(name, f"{value!r} is not a name")
        return value

    def flag(self, name: str, default: Any = _MISSING) -> bool:
        value = self.raw(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise self.error(name, f"{value!r} is not true or false")
        return value

    def numbers(self, name: str, default: Any = _MISSING) -> list[float]:
        value = self.raw(name, default)
        if not isinstance(value, list | tuple):
            value = [value]
        return [
            Peer({"item": v}, self.key(f"{name}[{i}]"), self.source).number("item")
            for i, v in enumerate(value)
        ]

    def section(self, name: str) -> Peer | None:
        """The sub-mapping ``name`` (``None`` when absent); an error if it is not a mapping."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str) and name.endswith("kwargs"):
            try:  # a Trainer dump may hold a dict as its JSON text
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError:
                raise self.error(name, f"{value!r} is not a JSON mapping") from None
        if not isinstance(value, Mapping):
            raise self.error(name, f"{value!r} is not a mapping")
        return Peer(value, self.key(name), self.source)

    def only(self, allowed: Iterable[str], what: str) -> None:
        """Refuse a key of this mapping outside ``allowed``: it would change the schedule in a way
        this bridge does not map."""
        known = list(allowed)
        for name, value in self.data.items():
            if name not in known and value is not None:
                raise self.error(
                    str(name),
                    f"{value!r}: {what} takes {', '.join(known)}; this key has no confsched "
                    f"equivalent{did_you_mean(str(name), known)}",
                )

    def same(self, name: str, default: Any, value: Any, why: str) -> None:
        """Refuse ``name`` unless it is unset or ``value`` (what the mapping supports)."""
        found = self.data.get(name, default)
        if found is not None and found != value:
            raise self.error(name, f"{found!r}: {why}")


@dataclass
class Draft:
    """The four sections of the spec being written, and the comments the YAML will carry."""

    peer: str
    source: str
    optimizer: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Comment of a line, by spec path (placeholders say what to set)."""
    remarks: list[str] = field(default_factory=list)
    """Lines for the header: what the peer does that the spec leaves to the user."""

    def sections(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "data": self.data,
            "training": self.training,
        }

    @property
    def placeholders(self) -> list[str]:
        return [
            f"{name}.{key}"
            for name, section in self.sections().items()
            for key, value in section.items()
            if value == PLACEHOLDER
        ]


def complete(draft: Draft, run: Run, given: Given) -> None:
    """Fill ``draft.data`` and ``draft.training`` from the peer's ``run`` and the user's ``given``
    values; a value both give must agree; what neither gives becomes a placeholder."""
    batch = _agree("data.batch_size", run.batch_size, given.batch_size, draft, given.said_by)
    world = _agree("training.world_size", run.world_size, given.world_size, draft, given.said_by)
    max_steps = _agree("training.max_steps", run.max_steps, given.max_steps, draft, given.said_by)
    draft.data.update(
        dataset_size=given.dataset_size if given.dataset_size is not None else PLACEHOLDER,
        batch_size=batch if batch is not None else PLACEHOLDER,
    )
    if run.drop_last:
        draft.data["drop_last"] = True
    draft.notes.setdefault("data.dataset_size", "training samples in one epoch (--dataset-size)")
    draft.notes.setdefault("data.batch_size", "samples per batch on each device (--batch-size)")
    if run.epochs is not None and run.max_steps is None:
        draft.training["epochs"] = run.epochs
    elif max_steps is not None:
        draft.training["max_steps"] = max_steps
    else:
        draft.training["max_steps"] = PLACEHOLDER
        draft.notes.setdefault("training.max_steps", "optimizer steps of the run (--max-steps)")
    if run.grad_accum_steps != 1:
        draft.training["grad_accum_steps"] = run.grad_accum_steps
    if world is not None and world != 1:
        draft.training["world_size"] = world
    if run.limit_train_batches is not None:
        draft.training["limit_train_batches"] = run.limit_train_batches
    for path, note in run.notes.items():
        draft.notes[path] = note
    if "epochs" in draft.training and given.max_steps is not None:
        counted = total_steps(draft)
        if counted is not None and counted != given.max_steps:
            raise BridgeError(
                "training.max_steps",
                f"the {draft.peer} config runs {run.epochs} epochs = {counted} steps, {given.said_by} "
                f"{given.max_steps}; give it once",
                source=draft.source,
            )


def steps_per_epoch(run: Run, given: Given, draft: Draft) -> int | None:
    """Optimizer steps in one epoch of ``run`` as confsched counts them (``None`` while the dataset
    size or the batch is unknown)."""
    probe = Draft(draft.peer, draft.source)
    complete(probe, replace(run, max_steps=None, epochs=1, notes={}), replace(given, max_steps=None))
    return total_steps(probe)


def _agree(path: str, found: Any, given: Any, draft: Draft, said_by: str) -> Any:
    if found is not None and given is not None and found != given:
        raise BridgeError(
            path,
            f"the {draft.peer} config says {found}, {said_by} {given}; give it once",
            source=draft.source,
        )
    return found if found is not None else given


def total_steps(draft: Draft) -> int | None:
    """The run's optimizer steps as confsched counts them, or ``None`` while a placeholder of the
    run is unset (the bridges need it to turn a peer's ratios into whole steps as the peer does)."""
    from confsched.spec.root import validate

    sections = {"data": draft.data, "training": draft.training}
    if any(value == PLACEHOLDER for section in sections.values() for value in section.values()):
        if draft.training.get("max_steps") not in (None, PLACEHOLDER):
            return int(draft.training["max_steps"])
        return None
    probe = {"optimizer": {"name": "sgd", "lr": 1.0}, "scheduler": {"name": "constant"}, **sections}
    return validate(probe, source=draft.source).total_steps


def float_ceil(ratio: float, total: int) -> int:
    """``ceil(total * ratio)`` in floating point, as transformers rounds a warmup ratio."""
    return math.ceil(total * ratio)


def exact_steps(ratio: float, total: int, rounding: Literal["ceil", "floor"]) -> int:
    """A fraction of the run in steps as confsched rounds it: on the exact decimal ``repr(ratio)``."""
    product = Decimal(repr(ratio)) * total
    return math.ceil(product) if rounding == "ceil" else math.floor(product)


def expect_defaults(
    section: Any, model: type[Any], allowed: Iterable[str], path: str, why: Callable[[str], str]
) -> None:
    """Refuse every field of ``section`` (a pydantic model instance) outside ``allowed`` that is not
    at its default: the peer has no spelling for it (``why(field)`` says so)."""
    keep = set(allowed) | {"name"}
    for name, info in model.model_fields.items():
        if name in keep:
            continue
        value = getattr(section, name)
        if value != info.get_default(call_default_factory=True):
            shown = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
            raise BridgeError(f"{path}.{name}", f"{_shown(shown)}: {why(name)}")


def _shown(value: Any) -> str:
    return str(value) if not isinstance(value, str) else repr(value)


@dataclass(frozen=True)
class Bridge:
    """A peer: how to recognise its config, how to read it into a spec, how to write a spec as it."""

    name: str
    title: str
    detect: Callable[[Mapping[str, Any]], bool]
    """Whether a config looks like this peer's (``confsched import`` without ``--from``)."""
    read: Callable[[Peer, Given, str], Draft]
    """The peer's config -> a :class:`Draft` (source: the file name, for messages)."""
    write: Callable[[Any], dict[str, Any]] | None = None
    """A validated spec -> the peer's config (``None``: import only)."""
    writes: Literal["json", "yaml"] = "yaml"
    """The format ``confsched export`` prints."""


def read_peer_file(path: str | Path) -> dict[str, Any]:
    """A peer's config file (JSON or YAML) as a mapping; a problem is one ``BridgeError`` line."""
    file = Path(path)
    source = str(path)
    if not file.is_file():
        raise BridgeError("", f"no such file: {source}")
    text = file.read_text()
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise BridgeError(
            "", f"cannot read {'JSON' if file.suffix == '.json' else 'YAML'}: {reason}", source=source
        ) from None
    if not isinstance(data, dict):
        raise BridgeError("", f"a config must be a mapping of keys, got {type(data).__name__}", source=source)
    return data


class _Dumper(yaml.SafeDumper):
    """Block style; lists of plain values on one line (``betas: [0.9, 0.999]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = None if data == PLACEHOLDER else "'" if _needs_quotes(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _needs_quotes(text: str) -> bool:
    return yaml.safe_load(text) != text if text else True


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """``data`` as block-style YAML in insertion order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def spec_yaml(draft: Draft, command: str) -> str:
    """The draft as a commented spec file: a header (where it comes from, what to set, what the peer
    does that the spec leaves to you), then the four sections, each placeholder commented."""
    header = [f"# {command}", f"# A confsched spec imported from the {draft.peer} config {draft.source}."]
    if draft.placeholders:
        names = ", ".join(draft.placeholders)
        header.append(f"# Set the ??? values before use ({names}), in this file or as overrides:")
        header.append(f"#   confsched show THIS.yaml {' '.join(p + '=...' for p in draft.placeholders)}")
    header += [f"# {line}" for line in draft.remarks]
    lines = []
    for name, section in draft.sections().items():
        for line in dump({name: section}).rstrip("\n").splitlines():
            key = line.strip().split(":", 1)[0]
            note = draft.notes.get(f"{name}.{key}") if line.startswith("  ") and ":" in line else None
            lines.append(f"{line}  # {note}" if note else line)
    return "\n".join([*header, *lines]) + "\n"


def validate_draft(draft: Draft) -> Any:
    """The draft as a validated :class:`~confsched.Spec`, when it has no placeholder left (``None``
    otherwise); an invalid spec is the confsched error, naming the file."""
    from confsched.spec.root import validate

    if draft.placeholders:
        return None
    try:
        return validate(draft.sections(), source=draft.source)
    except SpecError as error:
        raise BridgeError(
            error.path, f"{error.message} (in the spec imported from it)", source=draft.source
        ) from None
