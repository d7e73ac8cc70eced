"""Bridges to the configs people already have: a peer's config to a spec (``confsched import``), a
spec to a peer's config (``confsched export --to``), exactly or not at all.

:data:`PEERS` is the registry, one module per peer (:mod:`~confsched.bridges.hf`,
:mod:`~confsched.bridges.deepspeed`, :mod:`~confsched.bridges.timm`, :mod:`~confsched.bridges.nemo`,
:mod:`~confsched.bridges.lightning`; torch's classes, which several of them name, in
:mod:`~confsched.bridges.torch_lr`); :mod:`~confsched.bridges.core` is what they share.

An import is exact by construction, each peer's mapping tested against the peer's own scheduler
(``tests/test_bridges.py``). An export is checked when it is made: the written config is imported
back and must give the spec's LRs at every step of the run (relative error 1e-12), else the export
is refused with the spec key the peer cannot express. Nothing here imports torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from confsched.bridges import deepspeed, hf, lightning, nemo, timm
from confsched.bridges.core import (
    Bridge,
    BridgeError,
    Draft,
    Given,
    Peer,
    dump,
    read_peer_file,
    spec_yaml,
    validate_draft,
)

__all__ = [
    "PEERS",
    "Bridge",
    "BridgeError",
    "Given",
    "export_config",
    "export_text",
    "import_config",
    "import_text",
]

PEERS: dict[str, Bridge] = {
    b.name: b for b in (hf.BRIDGE, deepspeed.BRIDGE, timm.BRIDGE, nemo.BRIDGE, lightning.BRIDGE)
}
"""Peer name (``--from`` / ``--to``) -> its bridge."""

RTOL = 1e-12
"""How close an exported config's LRs must come to the spec's (relative, at every step of the run)."""


def detect(data: Mapping[str, Any], source: str) -> Bridge:
    """The one peer whose config ``data`` looks like; an error when none or several do."""
    found = [bridge for bridge in PEERS.values() if bridge.detect(data)]
    if len(found) == 1:
        return found[0]
    what = f"looks like {' and '.join(b.name for b in found)}" if found else "is none of the peers' configs"
    raise BridgeError("", f"the file {what}; say which with --from ({', '.join(PEERS)})", source=source)


def import_config(
    data: Mapping[str, Any], peer: str | None = None, given: Given | None = None, source: str = ""
) -> Draft:
    """A peer's config (a mapping) as a :class:`~confsched.bridges.core.Draft` of a spec."""
    bridge = _bridge(peer, "--from") if peer is not None else detect(data, source)
    return bridge.read(Peer(data, "", source), given or Given(), source)


def import_text(path: str | Path, peer: str | None = None, given: Given | None = None) -> str:
    """``confsched import``: the spec YAML for a peer's config file."""
    source, given = str(path), given or Given()
    draft = import_config(read_peer_file(path), peer, given, source)
    options = [f"--from {peer}" if peer else ""] + [
        f"--{name.replace('_', '-')} {value}"
        for name, value in vars(given).items()
        if value is not None and name != "said_by"
    ]
    return spec_yaml(draft, " ".join(["confsched import", source, *filter(None, options)]))


def export_config(spec: Any, peer: str) -> dict[str, Any]:
    """The peer's config for a validated spec; a :class:`BridgeError` naming the spec key the peer
    cannot express when its config would give other LRs."""
    bridge = _bridge(peer, "--to")
    if bridge.write is None:
        raise BridgeError("", f"--to {peer}: confsched imports {bridge.title} but does not write it")
    _one_group(spec, bridge)
    config = bridge.write(spec)
    given = Given(
        spec.data.dataset_size, spec.data.batch_size, spec.training.world_size, spec.total_steps, "the spec"
    )
    draft = bridge.read(Peer(config, "", "exported"), given, f"the exported {peer} config")
    back = validate_draft(draft)
    if back is None:  # a bridge that writes less than it reads back: a bug, said as one line
        raise BridgeError("", f"the exported config leaves {', '.join(draft.placeholders)} unset")
    _compare(spec, back, bridge)
    return config


def export_text(spec: Any, peer: str) -> str:
    """``confsched export``: the peer's config as JSON or YAML text."""
    config = export_config(spec, peer)
    if PEERS[peer].writes == "json":
        return json.dumps(config, indent=2) + "\n"
    return dump(config)


def _bridge(peer: str, flag: str) -> Bridge:
    from confsched.errors import did_you_mean

    if peer not in PEERS:
        raise BridgeError("", f"{flag} {peer}: not a peer{did_you_mean(peer, PEERS)} ({', '.join(PEERS)})")
    return PEERS[peer]


def _one_group(spec: Any, bridge: Bridge) -> None:
    if len(spec.group_names) > 1:
        raise BridgeError(
            "optimizer.groups" if spec.optimizer.groups else "optimizer.layer_decay",
            f"{len(spec.group_names)} LR groups ({', '.join(spec.group_names)}): "
            f"{bridge.title} schedules one LR",
        )
    for key in ("weight_decay_scheduler", "momentum_scheduler", "group_schedulers"):
        if getattr(spec, key):
            raise BridgeError(key, f"{bridge.title} schedules the learning rate only")


def _compare(spec: Any, back: Any, bridge: Bridge) -> None:
    """Refuse the export unless ``back`` (the exported config imported again) gives ``spec``'s LRs."""
    import numpy as np

    from confsched.curve import lr_curve

    metrics = _METRICS if spec.family.driven_by == "metric" else None
    if back.total_steps == spec.total_steps:
        ours = lr_curve(spec, metrics=metrics) if metrics else lr_curve(spec)
        theirs = lr_curve(back, metrics=metrics) if metrics else lr_curve(back)
        if ours.shape == theirs.shape and np.allclose(theirs, ours, rtol=RTOL, atol=0.0):
            return
    for section in ("scheduler", "optimizer", "training", "data"):
        path, mine, other = _first_difference(
            _resolved(getattr(spec, section), spec.plan),
            _resolved(getattr(back, section), back.plan),
            section,
        )
        if path:
            raise BridgeError(
                path,
                f"{_shown(mine)}: {bridge.title} cannot express it "
                f"(the nearest config it has gives {_shown(other)})",
            )
    raise BridgeError("scheduler", f"{bridge.title} cannot express this schedule exactly")


_METRICS = [1.0, 0.9, 0.8, *([0.8] * 60), 0.5, *([0.5] * 30)]
"""A metric sequence (improving, then flat, then better) that the metric-driven families are compared on."""


def _resolved(value: Any, plan: Any) -> Any:
    """A section as plain data with its durations in steps (``"7%"`` and ``70`` are the same)."""
    from pydantic import BaseModel

    from confsched.spec.duration import Duration

    if isinstance(value, Duration):
        return plan.steps(value)
    if isinstance(value, BaseModel):
        return {name: _resolved(getattr(value, name), plan) for name in type(value).model_fields}
    if isinstance(value, list | tuple):
        return [_resolved(item, plan) for item in value]
    return value


def _first_difference(mine: Any, other: Any, path: str) -> tuple[str, Any, Any]:
    if isinstance(mine, dict) and isinstance(other, dict):
        for key in mine:
            found = _first_difference(mine[key], other.get(key), f"{path}.{key}")
            if found[0]:
                return found
        return "", None, None
    if isinstance(mine, list) and isinstance(other, list) and len(mine) == len(other):
        for i, (a, b) in enumerate(zip(mine, other, strict=True)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found[0]:
                return found
        return "", None, None
    close = isinstance(mine, float) and isinstance(other, float) and abs(mine - other) <= RTOL * abs(mine)
    return ("", None, None) if mine == other or close else (path, mine, other)


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def peers_help() -> Sequence[str]:
    """One line per peer for the command's help."""
    return [
        f"  {name:<10} {bridge.title}{'' if bridge.write else ' (import only)'}"
        for name, bridge in PEERS.items()
    ]


IMPORT_OPTIONS = {
    f"--{name.replace('_', '-')}": name for name in Given.__dataclass_fields__ if name != "said_by"
}
"""``confsched import``'s options: what the peer's config may not say (``--dataset-size``...)."""

IMPORT_USAGE = (
    "usage: confsched import PEER_CONFIG [--from PEER] [--dataset-size N] [--batch-size N] "
    "[--world-size N] [--max-steps N]"
)


def import_command(args: Sequence[str]) -> str:
    """``confsched import FILE [--from PEER] [--dataset-size N] ...``: the spec YAML (an error is a
    :class:`BridgeError`)."""
    from confsched.errors import did_you_mean

    if any(word in ("-h", "--help") for word in args):
        return (
            "\n".join(
                [IMPORT_USAGE, "", "peers (--from; detected from the file when not given):", *peers_help()]
            )
            + "\n"
        )
    files: list[str] = []
    peer: str | None = None
    values: dict[str, int] = {}
    words = iter(args)
    for word in words:
        flag, eq, value = word.partition("=")
        if not flag.startswith("--"):
            files.append(word)
            continue
        if flag not in (*IMPORT_OPTIONS, "--from"):
            known = [*IMPORT_OPTIONS, "--from"]
            raise BridgeError(
                "", f"import: unknown option {flag}{did_you_mean(flag, known)} ({IMPORT_USAGE})"
            )
        value = value if eq else next(words, "")
        if flag == "--from":
            peer = value
        elif not value.isdigit() or int(value) < 1:
            raise BridgeError("", f"import: {flag} {value!r} is not a whole number above 0")
        else:
            values[IMPORT_OPTIONS[flag]] = int(value)
    if len(files) != 1:
        raise BridgeError("", f"import takes one peer config file, got {len(files)} ({IMPORT_USAGE})")
    given = Given(
        values.get("dataset_size"),
        values.get("batch_size"),
        values.get("world_size"),
        values.get("max_steps"),
    )
    return import_text(files[0], peer, given)


def export_args(args: Sequence[str]) -> tuple[list[str], str]:
    """``export``'s ``--to PEER`` (or ``--to=PEER``) taken out of its arguments (the rest go to Hydra)."""
    rest, peer = [], ""
    words = iter(args)
    for word in words:
        if word == "--to" or word.startswith("--to="):
            peer = word.partition("=")[2] if "=" in word else next(words, "")
        else:
            rest.append(word)
    writers = [name for name, bridge in PEERS.items() if bridge.write is not None]
    if not peer and any(word in ("-h", "--help", "--hydra-help") for word in rest):
        return rest, ""
    if not peer:
        raise BridgeError("", f"export needs --to PEER ({'|'.join(writers)})")
    _bridge(peer, "--to")
    return rest, peer
