"""The ``optimizer`` section: which optimizer, its knobs, and parameter groups.

:data:`OPTIMIZERS` is the allowlist: torch's built-in optimizers, plus any class a user registered
in Python with :func:`register_optimizer`. A config names an entry of that table; it never names a
class to import, so loading a config cannot run code.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from confsched.errors import SpecError, did_you_mean
from confsched.spec.base import NonNegativeFloat, NotBool, PositiveFloat, StrictModel

__all__ = [
    "OPTIMIZERS",
    "AdagradSpec",
    "AdamSpec",
    "AdamWSpec",
    "AdamaxSpec",
    "GroupSpec",
    "NAdamSpec",
    "OptimizerBase",
    "OptimizerEntry",
    "RAdamSpec",
    "RMSpropSpec",
    "RegisteredOptimizerSpec",
    "SGDSpec",
    "register_optimizer",
]

Beta = Annotated[float, Field(ge=0, lt=1), NotBool]
_GROUP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class GroupSpec(StrictModel):
    """A parameter group: the parameters whose names match ``params``, with their own LR and decay."""

    name: str
    """Group name: a label in plots, CSV columns and ``param_group["name"]``."""
    params: list[str] = Field(min_length=1)
    """Glob patterns (``fnmatch``) over ``model.named_parameters()`` names, e.g. ``classifier.*``."""
    lr: PositiveFloat | None = None
    """Absolute base LR of this group (give ``lr`` or ``lr_scale``, not both; neither = the optimizer's)."""
    lr_scale: PositiveFloat | None = None
    """Base LR as a multiple of ``optimizer.lr`` (0.1 = ten times smaller)."""
    weight_decay: NonNegativeFloat | None = None
    """Weight decay of this group (default: the optimizer's ``weight_decay``)."""

    @model_validator(mode="after")
    def _one_lr(self) -> GroupSpec:
        if not _GROUP_NAME.match(self.name) or self.name == "default":
            raise SpecError(
                "name",
                f"{self.name!r} is not a usable group name "
                "(letters, digits, '_', '.', '-'; 'default' is reserved for unmatched parameters)",
            )
        if self.lr is not None and self.lr_scale is not None:
            raise SpecError(
                "lr_scale",
                f"both lr ({self.lr:g}) and lr_scale ({self.lr_scale:g}) are set; give one of them",
            )
        return self


class OptimizerBase(StrictModel):
    """Fields every optimizer has."""

    name: str
    """Which optimizer (a key of the optimizer table: adamw, adam, sgd, ...)."""
    lr: PositiveFloat
    """Base learning rate of the default group; schedules scale it by their multiplier."""
    weight_decay: NonNegativeFloat = 0.0
    """Weight decay of the default group."""
    groups: list[GroupSpec] = Field(default_factory=list)
    """Parameter groups with their own LR / weight decay; unmatched parameters form group 'default'."""
    no_decay: list[str] = Field(default_factory=list)
    """Glob patterns of parameters trained without weight decay (e.g. ``*.bias``, ``*norm*``)."""
    lr_as_tensor: bool = False
    """Hold each group's LR as a 0-d tensor (for ``torch.compile``d optimizer steps)."""

    @model_validator(mode="after")
    def _unique_groups(self) -> OptimizerBase:
        seen: set[str] = set()
        for i, group in enumerate(self.groups):
            if group.name in seen:
                raise SpecError(f"groups[{i}].name", f"group name {group.name!r} is used twice")
            seen.add(group.name)
        return self

    @property
    def group_names(self) -> tuple[str, ...]:
        """Names of the LR groups, in optimizer order: ``default`` first, then ``groups``."""
        return ("default", *(g.name for g in self.groups))

    @property
    def group_base_lrs(self) -> dict[str, float]:
        """Base LR of each group: its ``lr``, or ``lr_scale * optimizer.lr``, or ``optimizer.lr``."""
        lrs = {"default": self.lr}
        for g in self.groups:
            lrs[g.name] = g.lr if g.lr is not None else self.lr * (g.lr_scale or 1.0)
        return lrs

    def torch_kwargs(self) -> dict[str, object]:
        """Keyword arguments for the ``torch.optim`` class, other than params, lr, weight_decay."""
        common = set(OptimizerBase.model_fields)
        return {k: getattr(self, k) for k in type(self).model_fields if k not in common}


class _AdamFamily(OptimizerBase):
    betas: tuple[Beta, Beta] = (0.9, 0.999)
    """Coefficients of the running averages of the gradient and its square."""
    eps: PositiveFloat = 1e-8
    """Term added to the denominator for numerical stability."""


class AdamWSpec(_AdamFamily):
    """``torch.optim.AdamW``: Adam with decoupled weight decay."""

    name: Literal["adamw"]
    weight_decay: NonNegativeFloat = 0.01
    """Decoupled weight decay of the default group (torch's default 0.01)."""
    amsgrad: bool = False
    """Use the AMSGrad variant."""


class AdamSpec(_AdamFamily):
    """``torch.optim.Adam``."""

    name: Literal["adam"]
    amsgrad: bool = False
    """Use the AMSGrad variant."""


class AdamaxSpec(_AdamFamily):
    """``torch.optim.Adamax``: Adam with the infinity norm."""

    name: Literal["adamax"]


class NAdamSpec(_AdamFamily):
    """``torch.optim.NAdam``: Adam with Nesterov momentum."""

    name: Literal["nadam"]
    momentum_decay: NonNegativeFloat = 4e-3
    """Momentum decay psi."""
    decoupled_weight_decay: bool = False
    """Decouple weight decay as in AdamW."""


class RAdamSpec(_AdamFamily):
    """``torch.optim.RAdam``: rectified Adam."""

    name: Literal["radam"]
    decoupled_weight_decay: bool = False
    """Decouple weight decay as in AdamW."""


class SGDSpec(OptimizerBase):
    """``torch.optim.SGD``, optionally with (Nesterov) momentum."""

    name: Literal["sgd"]
    momentum: NonNegativeFloat = 0.0
    """Momentum factor."""
    dampening: NonNegativeFloat = 0.0
    """Dampening for momentum."""
    nesterov: bool = False
    """Nesterov momentum (needs momentum > 0 and dampening 0)."""

    @model_validator(mode="after")
    def _nesterov(self) -> SGDSpec:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise SpecError(
                "nesterov",
                f"true needs momentum > 0 and dampening 0 "
                f"(got momentum {self.momentum:g}, dampening {self.dampening:g})",
            )
        return self


class RMSpropSpec(OptimizerBase):
    """``torch.optim.RMSprop``."""

    name: Literal["rmsprop"]
    alpha: Annotated[float, Field(ge=0, le=1), NotBool] = 0.99
    """Smoothing constant."""
    eps: PositiveFloat = 1e-8
    """Term added to the denominator for numerical stability."""
    momentum: NonNegativeFloat = 0.0
    """Momentum factor."""
    centered: bool = False
    """Normalise by an estimate of the gradient's variance."""


class AdagradSpec(OptimizerBase):
    """``torch.optim.Adagrad``."""

    name: Literal["adagrad"]
    lr_decay: NonNegativeFloat = 0.0
    """Adagrad's own LR decay (applied inside the optimizer, on top of the schedule)."""
    eps: PositiveFloat = 1e-10
    """Term added to the denominator for numerical stability."""
    initial_accumulator_value: NonNegativeFloat = 0.0
    """Starting value of the sum of squared gradients."""


class RegisteredOptimizerSpec(OptimizerBase):
    """An optimizer class registered in Python with :func:`register_optimizer`.

    Its own keyword arguments sit beside the common fields and are checked against the class's
    ``__init__`` signature.
    """

    model_config = ConfigDict(extra="allow")
    union_tag: ClassVar[str] = "registered"

    name: str

    @model_validator(mode="after")
    def _known_arguments(self) -> RegisteredOptimizerSpec:
        entry = OPTIMIZERS.get(self.name)
        if entry is None or entry.optimizer_class is None:
            raise SpecError("name", f"{self.name!r} is not a registered optimizer")
        parameters = inspect.signature(entry.optimizer_class).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return self
        allowed = sorted(set(parameters) - {"params", "lr", "weight_decay"})
        for key in self.model_extra or {}:
            if key not in allowed:
                raise SpecError(
                    key,
                    f"unknown key '{key}'{did_you_mean(key, allowed)} "
                    f"({entry.optimizer_class.__name__} takes: {', '.join(allowed)})",
                )
        return self

    def torch_kwargs(self) -> dict[str, object]:
        """The registered class's own keyword arguments, as given in the config."""
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class OptimizerEntry:
    """A row of the optimizer table."""

    model: type[OptimizerBase]
    target: str
    """Dotted path of the class (what a Hydra ``_target_`` would name), e.g. ``torch.optim.AdamW``."""
    optimizer_class: type | None = None
    """The class itself, for optimizers registered in Python; ``None`` for torch built-ins."""


def _builtin(model: type[OptimizerBase], torch_class: str) -> OptimizerEntry:
    return OptimizerEntry(model, f"torch.optim.{torch_class}")


OPTIMIZERS: dict[str, OptimizerEntry] = {
    "adamw": _builtin(AdamWSpec, "AdamW"),
    "adam": _builtin(AdamSpec, "Adam"),
    "sgd": _builtin(SGDSpec, "SGD"),
    "rmsprop": _builtin(RMSpropSpec, "RMSprop"),
    "adagrad": _builtin(AdagradSpec, "Adagrad"),
    "adamax": _builtin(AdamaxSpec, "Adamax"),
    "nadam": _builtin(NAdamSpec, "NAdam"),
    "radam": _builtin(RAdamSpec, "RAdam"),
}
"""Optimizer name -> (spec model, class path). The allowlist: a config can name nothing else."""


def register_optimizer(name: str, optimizer_class: type[Any]) -> OptimizerEntry:
    """Allow ``optimizer.name: <name>`` in configs to build ``optimizer_class``.

    ``optimizer_class`` is called as ``optimizer_class(param_groups, lr=..., weight_decay=...,
    **its own keys from the config)``, like the ``torch.optim`` classes. Registering is a decision
    made in Python code; a config can only refer to what was registered.
    """
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise SpecError("optimizer.name", f"{name!r}: register optimizers under a lower_snake_case name")
    existing = OPTIMIZERS.get(name)
    if existing is not None and existing.optimizer_class is None:
        raise SpecError("optimizer.name", f"{name!r} is a torch built-in; register under another name")
    if not inspect.isclass(optimizer_class):
        raise SpecError("optimizer.name", f"{name!r}: {optimizer_class!r} is not a class")
    target = f"{optimizer_class.__module__}.{optimizer_class.__qualname__}"
    entry = OptimizerEntry(RegisteredOptimizerSpec, target, optimizer_class)
    OPTIMIZERS[name] = entry
    return entry
