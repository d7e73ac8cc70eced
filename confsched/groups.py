"""Parameter names -> optimizer parameter groups (pure: works on names, no torch).

Each parameter belongs to the first and only spec group whose glob patterns match its name, or to
``default``. Parameters matching ``optimizer.no_decay`` go to a companion group ``<name>.no_decay``
with weight decay 0 and the same LR. A parameter matched by two groups, and a group (or the whole
``no_decay`` list) that matches nothing, are errors naming the group and the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from confsched.errors import GroupError, did_you_mean
from confsched.spec.optimizer import OptimizerBase

__all__ = ["ParamGroupPlan", "plan_groups"]


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


def plan_groups(
    optimizer: OptimizerBase, param_names: Sequence[str], frozen: Sequence[str] = ()
) -> list[ParamGroupPlan]:
    """Assign every parameter name to a param group; groups in ``optimizer.group_names`` order,
    each followed by its ``.no_decay`` companion; empty groups are left out.

    ``frozen`` names the parameters left out because they do not train (``requires_grad`` false),
    so that a group matching only those can say so.
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
    no_decay = {n for n in param_names if _matches(n, optimizer.no_decay)}
    if optimizer.no_decay and not no_decay:
        raise GroupError("optimizer.no_decay", _no_match(optimizer.no_decay, param_names, frozen))
    base_lrs = optimizer.group_base_lrs
    decays = {"default": optimizer.weight_decay}
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
