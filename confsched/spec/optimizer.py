"""The ``optimizer`` section: which optimizer, its knobs, and parameter groups.

:data:`OPTIMIZERS` is the allowlist: torch's built-in optimizers, plus any class a user registered
in Python with :func:`register_optimizer`. A config names an entry of that table; it never names a
class to import, so loading a config cannot run code.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from confsched.errors import SpecError, did_you_mean
from confsched.spec.base import NonNegativeFloat, NotBool, PositiveFloat, PositiveInt, StrictModel
from confsched.spec.bounds import LIMIT, LR
from confsched.steps import StepPlan

__all__ = [
    "LAYER_PRESETS",
    "OPTIMIZERS",
    "AdagradSpec",
    "AdamSpec",
    "AdamWSpec",
    "AdamaxSpec",
    "GroupSpec",
    "LRScalingSpec",
    "LayerNames",
    "LayersSpec",
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
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
"""A group name, matched whole (``fullmatch``: ``$`` would let ``"head\n"`` through): printable, no
control characters, at most ``name_chars`` long (:mod:`confsched.limits`)."""


class GroupSpec(StrictModel):
    """A parameter group: the parameters whose names match ``params``, with their own LR and decay."""

    name: str
    """Group name: a label in plots, CSV columns and ``param_group["name"]``."""
    params: list[str] = Field(min_length=1)
    """Glob patterns (``fnmatch``) over ``model.named_parameters()`` names, e.g. ``classifier.*``."""
    lr: LR | None = None
    """Absolute base LR of this group (give ``lr`` or ``lr_scale``, not both; neither = the optimizer's)."""
    lr_scale: PositiveFloat | None = None
    """Base LR as a multiple of ``optimizer.lr`` (0.1 = ten times smaller)."""
    weight_decay: NonNegativeFloat | None = None
    """Weight decay of this group (default: the optimizer's ``weight_decay``)."""

    @model_validator(mode="after")
    def _one_lr(self) -> GroupSpec:
        from confsched.limits import LIMITS

        if len(self.name) > LIMITS["name_chars"].value():
            raise SpecError("name", f"the group name has {LIMITS['name_chars'].exceeded(len(self.name))}")
        if not _GROUP_NAME.fullmatch(self.name) or self.name == "default":
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


# ---- layer-wise LR decay ---------------------------------------------------------------------


@dataclass(frozen=True)
class LayerNames:
    """How a model family names its layers, for layer-wise LR decay over ``L`` blocks.

    A parameter is in layer ``i + 1`` when ``block`` (a regular expression with one group that
    captures the block index ``i``, searched in the name) matches it; otherwise in layer 0 when it
    matches a glob of ``embeddings``; otherwise in layer ``L`` (with the last block) when it matches
    a glob of ``final``; otherwise in layer ``L + 1``, the top layer: the head and whatever else
    sits above the blocks (a pooler).
    """

    embeddings: tuple[str, ...]
    block: str
    final: tuple[str, ...] = ()


LAYER_PRESETS: dict[str, LayerNames] = {
    # transformers' BertModel / RobertaModel (and the *For<Task> models around them): ELECTRA's and
    # BEiT's layer decay; the pooler and the task head form the top layer.
    "hf_bert": LayerNames(("*embeddings.*",), r"(?:^|\.)encoder\.layer\.(\d+)\."),
    "hf_roberta": LayerNames(("*embeddings.*",), r"(?:^|\.)encoder\.layer\.(\d+)\."),
    # transformers' ViTModel: blocks are vit.encoder.layer.<i> (transformers 4) or vit.layers.<i>
    # (5); the final layernorm goes with the last block, as timm's ViT norm does.
    "hf_vit": LayerNames(
        ("*embeddings.*",), r"(?:^|\.)(?:encoder\.layer|layers)\.(\d+)\.", ("*layernorm.*",)
    ),
    # timm's VisionTransformer.group_matcher(): the stem, blocks.<i>, the final norm with the last
    # block; the rest (fc_norm, head) on top, as timm.optim.param_groups_layer_decay groups them.
    "timm_vit": LayerNames(
        ("cls_token", "reg_token", "pos_embed", "patch_embed.*", "norm_pre.*"),
        r"^blocks\.(\d+)\.",
        ("norm.*",),
    ),
}
"""Preset name -> :class:`LayerNames`: the parameter names of the model families layer decay is
used with most (``optimizer.layers.preset``)."""

LayerPreset = Literal["hf_bert", "hf_roberta", "hf_vit", "timm_vit"]


class LayersSpec(StrictModel):
    """How parameter names map to layers for ``layer_decay``: a preset, or patterns of your own.

    Layer 0 holds the embeddings, layer ``i + 1`` block ``i``, layer ``num_blocks + 1`` the head and
    every other parameter matched by no pattern.
    """

    num_blocks: Annotated[int, Field(gt=0, le=10_000), NotBool]
    """Number of blocks (transformer layers) of the model: 12 for BERT-base or ViT-B; the model
    its highest block index must be num_blocks - 1 (checked when the optimizer is built)."""
    preset: LayerPreset | None = None
    """The names of a model family: hf_bert, hf_roberta, hf_vit (transformers), timm_vit (timm).
    Give a preset, or block (and optionally embeddings, final), not both."""
    block: str | None = None
    """A regular expression with one group capturing the block index, searched in each parameter
    name, e.g. ``(?:^|\\.)encoder\\.layer\\.(\\d+)\\.``: its parameters go to layer index + 1."""
    embeddings: list[str] = Field(default_factory=list)
    """Glob patterns of the parameters in layer 0 (embeddings, patch and position embeddings)."""
    final: list[str] = Field(default_factory=list)
    """Glob patterns of parameters above the blocks that go with the last block (a final norm)."""

    @model_validator(mode="after")
    def _preset_or_patterns(self) -> LayersSpec:
        custom = [key for key in ("block", "embeddings", "final") if getattr(self, key)]
        if self.preset is not None and custom:
            raise SpecError(
                custom[0], f"set together with preset {self.preset!r}; give a preset or patterns, not both"
            )
        if self.preset is None and self.block is None:
            presets = ", ".join(LAYER_PRESETS)
            raise SpecError("preset", f"missing: name a preset ({presets}) or give a block pattern")
        if self.block is not None:
            try:
                groups = re.compile(self.block).groups
            except re.error as error:
                raise SpecError("block", f"{self.block!r} is not a regular expression ({error})") from None
            if groups != 1:
                raise SpecError(
                    "block",
                    f"{self.block!r} has {groups} capturing groups; it needs exactly one, capturing "
                    r"the block index (e.g. 'encoder\.layer\.(\d+)\.')",
                )
        return self

    @property
    def names(self) -> LayerNames:
        """The patterns in use: the preset's, or the ones given."""
        if self.preset is not None:
            return LAYER_PRESETS[self.preset]
        assert self.block is not None  # checked by the model
        return LayerNames(tuple(self.embeddings), self.block, tuple(self.final))

    @property
    def count(self) -> int:
        """Layers in all: the embeddings, ``num_blocks`` blocks, and the top layer."""
        return self.num_blocks + 2


def layer_scales(layer_decay: float, layers: int) -> tuple[float, ...]:
    r"""Layer :math:`l` of :math:`n` trains at :math:`\eta\, d^{\,n - 1 - l}`: the top layer at the
    base LR :math:`\eta`, each layer below at ``layer_decay`` :math:`d` times the one above
    (timm's ``layer_decay ** (layer_max - i)``, in the same float operations)."""
    top = layers - 1
    return tuple(layer_decay ** (top - i) for i in range(layers))


# ---- LR scaling by the global batch ----------------------------------------------------------


class LRScalingSpec(StrictModel):
    """Scale ``optimizer.lr`` by the global batch (timm's ``train.py`` rule): ``optimizer.lr`` is the
    LR at ``reference_batch`` samples per optimizer step."""

    rule: Literal["linear", "sqrt"]
    """linear: lr x global / reference (Goyal et al.); sqrt: lr x sqrt(global / reference) (Adam-type)."""
    reference_batch: PositiveInt = 256
    """The global batch optimizer.lr is given for."""

    def factor(self, global_batch: int) -> float:
        """The multiplier of ``optimizer.lr``, as timm computes it (``batch_ratio`` in floats)."""
        ratio = global_batch / self.reference_batch
        return ratio**0.5 if self.rule == "sqrt" else ratio

    def explain(self, lr: float, plan: StepPlan) -> str:
        """``linear rule: global batch 32 x 4 x 8 = 1024 (...); lr 0.001 x 1024 / 256 = 0.004``."""
        batch, accumulation, world = plan.batch_size, plan.grad_accum_steps, plan.world_size
        total = batch * accumulation * world
        ratio = f"{total} / {self.reference_batch}"
        scaled = f"sqrt({ratio})" if self.rule == "sqrt" else ratio
        return (
            f"{self.rule} rule: global batch {batch} x {accumulation} x {world} = {total} "
            f"(batch_size x grad_accum_steps x world_size); "
            f"lr {lr:g} x {scaled} = {lr * self.factor(total):.6g}"
        )


class OptimizerBase(StrictModel):
    """Fields every optimizer has."""

    name: str
    """Which optimizer (a key of the optimizer table: adamw, adam, sgd, ...)."""
    lr: LR
    """Base learning rate of the default group; schedules scale it by their multiplier."""
    weight_decay: NonNegativeFloat = 0.0
    """Weight decay of the default group."""
    groups: list[GroupSpec] = Field(default_factory=list)
    """Parameter groups with their own LR / weight decay; unmatched parameters form group 'default'."""
    no_decay: list[str] = Field(default_factory=list)
    """Glob patterns of parameters trained without weight decay (e.g. ``*.bias``, ``*norm*``)."""
    lr_as_tensor: bool = False
    """Hold each group's LR as a 0-d tensor (for ``torch.compile``d optimizer steps)."""
    layer_decay: Annotated[float, Field(gt=0, le=1), NotBool] | None = None
    """Layer-wise LR decay (BEiT, ELECTRA, timm): the parameters not in ``groups`` form one group
    per layer (``layer_0`` ... ``layer_<num_blocks + 1>``), layer l at lr x layer_decay^(top - l);
    ``layers`` says which parameter is in which layer. null = off (one ``default`` group)."""
    layers: LayersSpec | None = None
    """How parameter names map to layers (required with layer_decay): a preset or patterns."""
    lr_scaling: LRScalingSpec | None = None
    """Scale lr by the global batch (batch x grad_accum_steps x world_size) before any group's
    lr_scale or layer decay applies; absolute LRs (a group's lr) are taken as written."""

    @model_validator(mode="after")
    def _unique_groups(self) -> OptimizerBase:
        layered = set(self._layer_group_names())
        seen: set[str] = set()
        for i, group in enumerate(self.groups):
            if group.name in seen:
                raise SpecError(f"groups[{i}].name", f"group name {group.name!r} is used twice")
            if group.name in layered:
                raise SpecError(
                    f"groups[{i}].name",
                    f"{group.name!r} is the name of one of layer_decay's groups (layer_0 to "
                    f"layer_{len(layered) - 1}); name the group otherwise",
                )
            seen.add(group.name)
        if self.layer_decay is not None and self.layers is None:
            raise SpecError(
                "layers", "required with layer_decay: name a preset, e.g. {preset: hf_bert, num_blocks: 12}"
            )
        if self.layers is not None and self.layer_decay is None:
            raise SpecError("layer_decay", "missing: layers is set, but without layer_decay it does nothing")
        if self.layer_decay is not None and self.layers is not None:
            smallest = self.lr * layer_scales(self.layer_decay, self.layers.count)[0]
            if smallest < sys.float_info.min:
                raise SpecError(
                    "layer_decay",
                    f"{self.layer_decay:g} over {self.layers.count} layers takes layer 0's LR down to "
                    f"{self.lr:g} x {self.layer_decay:g}^{self.layers.count - 1}, below the smallest "
                    "normal float; use a larger layer_decay or fewer layers",
                )
        return self

    def _layer_group_names(self) -> tuple[str, ...]:
        if self.layer_decay is None or self.layers is None:
            return ()
        return tuple(f"layer_{i}" for i in range(self.layers.count))

    @property
    def group_names(self) -> tuple[str, ...]:
        """Names of the LR groups, in optimizer order: ``default`` (or, with ``layer_decay``, one
        group per layer, ``layer_0`` first), then ``groups``."""
        return (*(self._layer_group_names() or ("default",)), *(g.name for g in self.groups))

    def group_lrs(self, lr: float) -> dict[str, float]:
        """Base LR of each group for an optimizer LR of ``lr``: a group's ``lr``, or ``lr_scale * lr``,
        or ``lr`` (``default``), or ``lr * layer_decay^(top - l)`` (layer ``l``)."""
        lrs = {"default": lr}
        if self.layer_decay is not None and self.layers is not None:
            scales = layer_scales(self.layer_decay, self.layers.count)
            lrs = {name: lr * scale for name, scale in zip(self._layer_group_names(), scales, strict=True)}
        for i, g in enumerate(self.groups):
            lrs[g.name] = g.lr if g.lr is not None else lr * (g.lr_scale or 1.0)
            if not lrs[g.name] <= LIMIT:
                raise SpecError(
                    f"groups[{i}].lr_scale",
                    f"{g.lr_scale:g} x lr {lr:g} = {lrs[g.name]:g} is above the largest LR ({LIMIT:g})",
                )
        return lrs

    @property
    def group_base_lrs(self) -> dict[str, float]:
        """Base LR of each group for ``optimizer.lr`` as written (before ``lr_scaling``; the spec's
        :attr:`~confsched.Spec.group_base_lrs` has the scaled ones)."""
        return self.group_lrs(self.lr)

    @property
    def group_layers(self) -> dict[str, int]:
        """The layer of each layer-decay group (``layer_3`` -> 3); empty without ``layer_decay``."""
        return {name: i for i, name in enumerate(self._layer_group_names())}

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
