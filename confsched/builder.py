"""``build(spec, model) -> (optimizer, scheduler)``: the only place the spec meets torch objects."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from confsched.adaptive import step_factor
from confsched.errors import SpecError
from confsched.groups import plan_groups
from confsched.lr_scheduler import GroupSchedules, MetricDrivenLR, ScheduledLR
from confsched.schedules import Schedule
from confsched.spec.optimizer import OPTIMIZERS
from confsched.spec.root import Spec

__all__ = ["build", "build_optimizer", "build_scheduler"]

NamedParameters = nn.Module | Iterable[tuple[str, nn.Parameter]]


def _named(model: NamedParameters) -> tuple[list[tuple[str, nn.Parameter]], list[str]]:
    """The trainable ``(name, parameter)`` pairs, and the names of the frozen ones."""
    pairs = list(model.named_parameters() if isinstance(model, nn.Module) else model)
    return [(name, p) for name, p in pairs if p.requires_grad], [n for n, p in pairs if not p.requires_grad]


def build_optimizer(spec: Spec, model: NamedParameters) -> Optimizer:
    """The ``torch.optim`` optimizer of ``spec.optimizer`` over the model's trainable parameters.

    Param groups follow :func:`confsched.groups.plan_groups`; each carries ``name`` (e.g. ``head``
    or ``head.no_decay``) and ``lr_group`` (``head``) keys besides torch's own. The optimizer's
    default LR is ``spec.lr`` (``optimizer.lr`` after ``lr_scaling``).
    """
    named, frozen = _named(model)
    by_name = dict(named)
    plans = plan_groups(spec.optimizer, [name for name, _ in named], frozen, spec.group_base_lrs)
    as_tensor = spec.optimizer.lr_as_tensor
    param_groups = [
        {
            "params": [by_name[n] for n in plan.params],
            "lr": torch.tensor(plan.lr, dtype=torch.float64) if as_tensor else plan.lr,
            "weight_decay": plan.weight_decay,
            "name": plan.name,
            "lr_group": plan.lr_group,
        }
        for plan in plans
    ]
    entry = OPTIMIZERS[spec.optimizer.name]
    optimizer_class = entry.optimizer_class or getattr(torch.optim, entry.target.rsplit(".", 1)[1])
    optimizer: Optimizer = optimizer_class(
        param_groups,
        lr=spec.lr,
        weight_decay=spec.optimizer.weight_decay,
        **spec.optimizer.torch_kwargs(),
    )
    if not isinstance(optimizer, Optimizer):
        raise SpecError(
            "optimizer.name",
            f"{spec.optimizer.name!r} built a {type(optimizer).__name__}, not a torch.optim.Optimizer",
        )
    return optimizer


def build_scheduler(
    spec: Spec, optimizer: Optimizer, *, allow_spec_change: bool = False, last_epoch: int = -1
) -> LRScheduler:
    """The scheduler of ``spec.scheduler`` over ``optimizer`` (its groups' LRs are the base LRs).

    ``allow_spec_change`` lets ``load_state_dict`` accept a state saved under another spec (with a
    warning) instead of raising :class:`~confsched.errors.ResumeError`. ``last_epoch`` (torch's;
    step-driven families) starts the scheduler at step ``last_epoch + 1`` without a state dict;
    groups without ``initial_lr`` take their current LR as their base LR.
    """
    schedule = spec.schedule
    fingerprint, spec_config = spec.fingerprint, spec.to_config()
    if callable(schedule):
        if last_epoch >= 0:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        return ScheduledLR(
            optimizer,
            _param_group_schedules(spec, optimizer),
            total_steps=spec.total_steps,
            plan=spec.plan.explain(),
            fingerprint=fingerprint,
            spec_config=spec_config,
            allow_spec_change=allow_spec_change,
            momentum=spec.momentum_schedule,
            weight_decay=spec.weight_decay_schedule,
            last_epoch=last_epoch,
        )
    per_group = _param_group_schedules(spec, optimizer)
    factors = None
    if isinstance(per_group, dict):  # groups with their own step-driven factor (a chain's members)
        factors = [step_factor(per_group[str(g.get("lr_group"))]) for g in optimizer.param_groups]
    return MetricDrivenLR(
        optimizer,
        schedule,
        fingerprint=fingerprint,
        spec_config=spec_config,
        allow_spec_change=allow_spec_change,
        factors=factors,
    )


def _param_group_schedules(spec: Spec, optimizer: Optimizer) -> GroupSchedules:
    """The one schedule when every group shares it; else the schedule of each LR group by name,
    which each param group follows by the ``lr_group`` key that :func:`build_optimizer` sets (a
    param group added later too)."""
    schedules: dict[str, Schedule] = dict(zip(spec.group_names, spec.group_schedules, strict=True))  # type: ignore[arg-type]
    if len({id(s) for s in schedules.values()}) == 1:
        return next(iter(schedules.values()))
    found = [str(group.get("lr_group")) for group in optimizer.param_groups]
    unknown = [name for name in found if name not in schedules]
    if unknown:
        raise SpecError(
            "optimizer.groups",
            f"the groups follow different schedules, but param group(s) {unknown} name no LR group "
            f"of the spec ({', '.join(schedules)}) in an 'lr_group' key: build the optimizer with "
            "confsched.build_optimizer, or set 'lr_group' on each param group",
        )
    return schedules


def build(
    spec: Spec, model: NamedParameters, *, allow_spec_change: bool = False
) -> tuple[Optimizer, LRScheduler]:
    """Build ``(optimizer, scheduler)`` for ``model`` from a validated spec."""
    optimizer = build_optimizer(spec, model)
    return optimizer, build_scheduler(spec, optimizer, allow_spec_change=allow_spec_change)
