"""The ``optimizer`` section: which ``torch.optim`` optimizer, its knobs, and parameter groups.

Only torch's built-in optimizers are allowed, through :data:`OPTIMIZERS` (a table from the config
name to its spec model and the ``torch.optim`` class name). A config never names a class to import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from confsched.errors import SpecError
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
    "SGDSpec",
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


@dataclass(frozen=True)
class OptimizerEntry:
    """A row of the optimizer table."""

    model: type[OptimizerBase]
    torch_class: str
    """Class name in ``torch.optim``."""


OPTIMIZERS: dict[str, OptimizerEntry] = {
    "adamw": OptimizerEntry(AdamWSpec, "AdamW"),
    "adam": OptimizerEntry(AdamSpec, "Adam"),
    "sgd": OptimizerEntry(SGDSpec, "SGD"),
    "rmsprop": OptimizerEntry(RMSpropSpec, "RMSprop"),
    "adagrad": OptimizerEntry(AdagradSpec, "Adagrad"),
    "adamax": OptimizerEntry(AdamaxSpec, "Adamax"),
    "nadam": OptimizerEntry(NAdamSpec, "NAdam"),
    "radam": OptimizerEntry(RAdamSpec, "RAdam"),
}
"""Optimizer name -> (spec model, ``torch.optim`` class). The allowlist of optimizers."""
