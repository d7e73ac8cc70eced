"""Parameter names -> optimizer parameter groups (pure: works on names, no torch).

Each parameter belongs to the first and only spec group whose glob patterns match its name, or to
``default``. With ``optimizer.layer_decay`` the parameters of no spec group go to the group of their
layer instead (``layer_0`` ... ``layer_<num_blocks + 1>``, see :func:`assign_layers`). Parameters
matching ``optimizer.no_decay`` go to a companion group ``<name>.no_decay`` with weight decay 0 and
the same LR. A parameter matched by two groups, a group (or the whole ``no_decay`` list) that
matches nothing, and blocks that do not fit ``optimizer.layers.num_blocks`` are errors naming the
group and the parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from confsched.errors import GroupError, did_you_mean
from confsched.spec.optimizer import LayersSpec, OptimizerBase

__all__ = ["ParamGroupPlan", "assign_layers", "plan_groups"]


@dataclass(frozen=True)
class ParamGroupPlan:
    """One optimizer param group: its parameters (by name), LR group, base LR and weight decay."""

    name: str
    lr_group: str
    params: tuple[str, ...]
    lr: float
    weight_decay: float


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def _no_match(patterns: Sequence[str], names: Sequence[str], frozen: Sequence[str]) -> str:
    """Why ``patterns`` select nothing: they match only frozen parameters, or none at all."""
    if not names:
        return f"{list(patterns)} match no parameter (the model has no trainable parameters)"
    caught = [n for n in frozen if _matches(n, patterns)]
    if caught:
        return (
            f"{list(patterns)} match only frozen parameters (requires_grad=False: {_listed(caught)}); "
            "unfreeze them or change the patterns"
        )
    hint = did_you_mean(patterns[0], names) if patterns else ""
    return f"{list(patterns)} match no parameter{hint} (the model's parameters: {_listed(names)})"


def assign_layers(layers: LayersSpec, param_names: Sequence[str]) -> dict[str, int]:
    """The layer of each parameter name: block ``i`` -> ``i + 1``, embeddings -> 0, ``final`` ->
    ``num_blocks`` (with the last block), anything else -> ``num_blocks + 1`` (the top layer).

    The block pattern is tried first, so a block's own parameters stay in their block whatever
    their names. Raises :class:`~confsched.errors.GroupError` unless the blocks found are numbered
    within ``0 .. num_blocks - 1`` and the last one is ``num_blocks - 1``.
    """
    names = layers.names
    block = re.compile(names.block)
    top = layers.num_blocks + 1
    found: dict[str, int] = {}
    for name in param_names:
        match = block.search(name)
        if match is not None:
            found[name] = int(match.group(1)) + 1
        elif _matches(name, names.embeddings):
            found[name] = 0
        elif _matches(name, names.final):
            found[name] = layers.num_blocks
        else:
            found[name] = top
    blocks = sorted({found[n] - 1 for n in param_names if block.search(n)})
    shown = f"preset {layers.preset}" if layers.preset else f"block pattern {names.block!r}"
    if not blocks:
        raise GroupError(
            "optimizer.layers",
            f"{shown} matches no parameter outside optimizer.groups (the model's parameters: "
            f"{_listed(list(param_names))}); pick the preset of the model or a block pattern of your own",
        )
    if blocks[-1] != layers.num_blocks - 1:
        raise GroupError(
            "optimizer.layers.num_blocks",
            f"{layers.num_blocks}, but the model's blocks ({shown}) are numbered {blocks[0]} to "
            f"{blocks[-1]}: set num_blocks to {blocks[-1] + 1}",
        )
    return found


def plan_groups(
    optimizer: OptimizerBase,
    param_names: Sequence[str],
    frozen: Sequence[str] = (),
    base_lrs: Mapping[str, float] | None = None,
) -> list[ParamGroupPlan]:
    """Assign every parameter name to a param group; groups in ``optimizer.group_names`` order,
    each followed by its ``.no_decay`` companion; empty groups are left out.

    ``frozen`` names the parameters left out because they do not train (``requires_grad`` false),
    so that a group matching only those can say so. ``base_lrs`` are the groups' base LRs
    (:attr:`confsched.Spec.group_base_lrs`, after ``lr_scaling``; default: ``optimizer.lr``'s).
    """
    owner: dict[str, str] = {}
    for i, group in enumerate(optimizer.groups):
        matched = [n for n in param_names if _matches(n, group.params)]
        if not matched:
            raise GroupError(
                f"optimizer.groups[{i}].params",
                f"group '{group.name}': " + _no_match(group.params, param_names, frozen),
            )
        for name in matched:
            if name in owner:
                raise GroupError(
                    f"optimizer.groups[{i}].params",
                    f"parameter '{name}' matches both group '{owner[name]}' and group '{group.name}'",
                )
            owner[name] = group.name
    if optimizer.layer_decay is not None and optimizer.layers is not None:
        rest = [n for n in param_names if n not in owner]
        owner |= {n: f"layer_{layer}" for n, layer in assign_layers(optimizer.layers, rest).items()}
    no_decay = {n for n in param_names if _matches(n, optimizer.no_decay)}
    if optimizer.no_decay and not no_decay:
        raise GroupError("optimizer.no_decay", _no_match(optimizer.no_decay, param_names, frozen))
    base_lrs = optimizer.group_base_lrs if base_lrs is None else base_lrs
    decays = {name: optimizer.weight_decay for name in optimizer.group_names}
    for group in optimizer.groups:
        decays[group.name] = group.weight_decay if group.weight_decay is not None else optimizer.weight_decay
    plans = []
    for lr_group in optimizer.group_names:
        members = [n for n in param_names if owner.get(n, "default") == lr_group]
        decayed = tuple(n for n in members if n not in no_decay)
        undecayed = tuple(n for n in members if n in no_decay)
        if decayed:
            plans.append(ParamGroupPlan(lr_group, lr_group, decayed, base_lrs[lr_group], decays[lr_group]))
        if undecayed:
            plans.append(ParamGroupPlan(f"{lr_group}.no_decay", lr_group, undecayed, base_lrs[lr_group], 0.0))
    return plans
