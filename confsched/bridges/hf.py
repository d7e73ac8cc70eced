"""Hugging Face ``TrainingArguments``: a ``training_args.json`` (``args.to_json_string()``, a Trainer
``args`` dump) to a spec and back.

The Trainer builds its scheduler as ``get_scheduler(lr_scheduler_type, optimizer,
num_warmup_steps=args.get_warmup_steps(T), num_training_steps=T,
scheduler_specific_kwargs=lr_scheduler_kwargs)``: transformers' family names are confsched's
(:data:`KWARGS` maps the few keyword names that differ), so a family crosses as it is. The warmup
is ``warmup_steps`` (a whole number, or below 1 a ratio: ``ceil(T x ratio)`` in floating point;
transformers 4's ``warmup_ratio`` the same), which the spec keeps as a ratio where confsched's exact
rounding gives the same steps and as steps otherwise. ``constant``, ``reduce_lr_on_plateau`` and
``greedy`` take no warmup in transformers (it is dropped). The run is ``max_steps`` when above 0,
else ``num_train_epochs`` (fractional: ``ceil(E x steps per epoch)`` steps, counted once the dataset
size is known).

Not crossing: the Trainer's weight-decay exemptions (biases and LayerNorm weights: a spec's
``no_decay`` patterns), optimizers other than ``adamw_torch(_fused)``, ``sgd``, ``adagrad``,
``rmsprop``; a spec's own group LRs, layer decay, and every warmup other than transformers' linear
one from 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from confsched.bridges.core import (
    Bridge,
    BridgeError,
    Draft,
    Given,
    Peer,
    Run,
    complete,
    exact_steps,
    expect_defaults,
    float_ceil,
    steps_per_epoch,
    total_steps,
    validate_draft,
)

__all__ = ["BRIDGE", "KWARGS", "OPTIMIZERS"]

KWARGS: dict[str, dict[str, str]] = {
    "linear": {},
    "cosine": {"num_cycles": "num_cycles"},
    "cosine_with_restarts": {"num_cycles": "num_cycles"},
    "polynomial": {"lr_end": "lr_end", "power": "power"},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": "timescale"},
    "cosine_with_min_lr": {"num_cycles": "num_cycles", "min_lr": "min_lr", "min_lr_rate": "min_lr_rate"},
    "cosine_warmup_with_min_lr": {
        "num_cycles": "num_cycles",
        "min_lr": "min_lr",
        "min_lr_rate": "min_lr_rate",
        "warmup_lr_rate": "warmup_lr_rate",
    },
    "warmup_stable_decay": {
        "num_decay_steps": "decay",
        "num_stable_steps": "stable",
        "warmup_type": "warmup_type",
        "decay_type": "decay_type",
        "min_lr_ratio": "min_lr_ratio",
        "num_cycles": "num_cycles",
    },
    "reduce_lr_on_plateau": {
        k: k
        for k in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")
    },
    "greedy": {
        **{
            k: k
            for k in (
                "mode",
                "factor",
                "patience",
                "threshold",
                "threshold_mode",
                "cooldown",
                "min_lr",
                "max_lr",
                "eps",
                "smooth",
                "window_size",
                "reset_start",
            )
        },
        "warmup": "increase_cooldown",
    },
}
"""``lr_scheduler_type`` -> {``lr_scheduler_kwargs`` key: confsched knob}: the families that cross
and the keywords each takes."""

_NO_WARMUP = ("constant", "reduce_lr_on_plateau", "greedy")
"""transformers builds these without ``num_warmup_steps``."""

OPTIMIZERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "adamw_torch": ("adamw", ()),
    "adamw_torch_fused": ("adamw", ()),
    "sgd": ("sgd", ("momentum", "dampening", "weight_decay", "nesterov")),
    "adagrad": ("adagrad", ("lr_decay", "weight_decay", "eps")),
    "rmsprop": ("rmsprop", ("momentum", "alpha", "eps", "weight_decay", "centered")),
}
"""``optim`` -> (confsched optimizer, the ``optim_args`` keys the Trainer reads for it)."""


def _detect(data: Mapping[str, Any]) -> bool:
    return "lr_scheduler_type" in data or "per_device_train_batch_size" in data


def _read(peer: Peer, given: Given, source: str) -> Draft:
    draft = Draft("HF TrainingArguments", source)
    draft.optimizer = _optimizer(peer)
    name = peer.text("lr_scheduler_type", "linear")
    if name not in KWARGS:
        raise peer.error(
            "lr_scheduler_type", f"{name!r} is not a transformers scheduler ({', '.join(KWARGS)})"
        )
    draft.scheduler = {"name": name}
    kwargs = peer.section("lr_scheduler_kwargs") or Peer({}, peer.key("lr_scheduler_kwargs"), source)
    if name == "constant_with_warmup" and kwargs.data:
        draft.remarks.append(f"transformers ignores lr_scheduler_kwargs for {name}: not imported")
    else:
        kwargs.only(KWARGS[name], f"transformers' {name}")
        for key, knob in KWARGS[name].items():
            if kwargs.has(key):
                draft.scheduler[knob] = kwargs.raw(key)
    complete(draft, _run(peer, given, draft), given)
    if name not in _NO_WARMUP:
        _warmup(peer, draft)
    draft.remarks.append(
        "The Trainer exempts biases and LayerNorm weights from weight decay: add optimizer.no_decay "
        "patterns for your model's names."
    )
    validate_draft(draft)
    return draft


def _optimizer(peer: Peer) -> dict[str, Any]:
    optim = peer.text("optim", "adamw_torch")
    if optim not in OPTIMIZERS:
        raise peer.error(
            "optim", f"{optim!r} has no confsched optimizer (those that cross: {', '.join(OPTIMIZERS)})"
        )
    name, extras = OPTIMIZERS[optim]
    optimizer: dict[str, Any] = {
        "name": name,
        "lr": peer.number("learning_rate", 5e-5),
        "weight_decay": peer.number("weight_decay", 0.0),
    }
    if name == "adamw":
        optimizer["betas"] = [peer.number("adam_beta1", 0.9), peer.number("adam_beta2", 0.999)]
        optimizer["eps"] = peer.number("adam_epsilon", 1e-8)
    args = _optim_args(peer)
    args.only(extras, f"the Trainer's {optim}")
    for key in extras:
        if args.has(key):
            optimizer[key] = args.flag(key) if key in ("nesterov", "centered") else args.number(key)
    return optimizer


def _optim_args(peer: Peer) -> Peer:
    text = peer.raw("optim_args", "")
    pairs = [item.split("=", 1) for item in str(text).replace(" ", "").split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise peer.error("optim_args", f"{text!r} is not 'key=value,...'")
    return Peer(dict(pairs), peer.key("optim_args"), peer.source)


def _run(peer: Peer, given: Given, draft: Draft) -> Run:
    run = Run(
        batch_size=peer.integer("per_device_train_batch_size", 8, low=1),
        grad_accum_steps=peer.integer("gradient_accumulation_steps", 1, low=1),
        drop_last=peer.flag("dataloader_drop_last", False),
    )
    max_steps = peer.integer("max_steps", -1)
    if max_steps > 0:
        run.max_steps = max_steps
        return run
    epochs = peer.number("num_train_epochs", 3.0, low=0)
    if run.drop_last and (given.world_size or 1) > 1:
        raise peer.error(
            "dataloader_drop_last",
            "true on several processes: the Trainer (Accelerate) drops whole batches, floor(floor(N / B) "
            "/ W) per process, where confsched counts floor(ceil(N / W) / B); set max_steps",
        )
    if epochs.is_integer() and epochs > 0:
        run.epochs = int(epochs)
        return run
    if given.dataset_size is None:
        run.notes["training.max_steps"] = (
            f"num_train_epochs {epochs:g}: ceil({epochs:g} x steps per epoch); --dataset-size computes it"
        )
        return run
    per_epoch = steps_per_epoch(run, given, draft)
    assert per_epoch is not None
    run.max_steps = math.ceil(epochs * max(per_epoch, 1))
    return run


def _warmup(peer: Peer, draft: Draft) -> None:
    steps = peer.number("warmup_steps", 0.0, low=0)
    ratio = steps if 0 < steps < 1 else peer.number("warmup_ratio", 0.0, low=0) if steps == 0 else None
    if ratio is None:
        draft.scheduler["warmup"] = int(steps)  # transformers: int(warmup_steps) for warmup_steps >= 1
        return
    if ratio == 0:
        return
    if ratio >= 1:
        raise peer.error("warmup_ratio", f"{ratio!r} must be below 1")
    draft.scheduler["warmup"] = ratio
    total = total_steps(draft)
    if total is None:
        draft.notes["scheduler.warmup"] = (
            f"a ratio: transformers takes ceil(total x {ratio!r}) in floating point, confsched on the exact "
            "decimal (they part only where the product is within 1e-12 of a whole number)"
        )
        return
    if exact_steps(ratio, total, "ceil") != float_ceil(ratio, total):
        draft.scheduler["warmup"] = float_ceil(ratio, total)
        draft.notes["scheduler.warmup"] = f"transformers' ceil({total} x {ratio!r}) in floating point"


# ---- export ---------------------------------------------------------------------------------


def _write(spec: Any) -> dict[str, Any]:
    scheduler = spec.scheduler
    name = scheduler.name
    if name not in KWARGS:
        raise BridgeError(
            "scheduler.name",
            f"{name}: transformers has no such scheduler (those that cross: {', '.join(KWARGS)})",
        )
    knobs = {knob: key for key, knob in KWARGS[name].items()}
    warmup_knobs = () if name in _NO_WARMUP and name != "constant" else ("warmup",)
    expect_defaults(
        scheduler, type(scheduler), [*knobs, *warmup_knobs, "warmup_rounding"], "scheduler", _no_hf
    )
    _one_group(spec)
    args: dict[str, Any] = {**_optimizer_args(spec), **_run_args(spec)}
    kwargs: dict[str, Any] = {}
    for knob, key in knobs.items():
        value = getattr(scheduler, knob)
        default = type(scheduler).model_fields[knob].get_default(call_default_factory=True)
        if value != default or knob in ("min_lr", "min_lr_rate", "decay"):
            kwargs[key] = (
                spec.plan.steps(value) if knob in ("decay", "stable") and value is not None else value
            )
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    lr_type = "constant_with_warmup" if name == "constant" and spec.warmup_steps else name
    args.update(lr_scheduler_type=lr_type, lr_scheduler_kwargs=kwargs, warmup_steps=spec.warmup_steps)
    if spec.family.driven_by == "metric":  # the Trainer steps it after each evaluation, with its metric
        args.update(eval_strategy="epoch", metric_for_best_model="loss")
    return args


def _no_hf(knob: str) -> str:
    return (
        f"transformers' get_scheduler has no {knob} (it takes the warmup as num_warmup_steps, linear from 0)"
    )


def _one_group(spec: Any) -> None:
    optimizer = spec.optimizer
    if optimizer.layer_decay is not None:
        raise BridgeError(
            "optimizer.layer_decay", f"{optimizer.layer_decay:g}: TrainingArguments has no layer decay"
        )
    for i, group in enumerate(optimizer.groups):
        if group.lr is not None or group.lr_scale not in (None, 1.0):
            raise BridgeError(
                f"optimizer.groups[{i}]",
                f"{group.name}: TrainingArguments trains every parameter at learning_rate",
            )
    if spec.group_schedulers:
        raise BridgeError("group_schedulers", "TrainingArguments schedules every parameter alike")
    for key in ("weight_decay_scheduler", "momentum_scheduler"):
        if getattr(spec, key) is not None:
            raise BridgeError(key, "TrainingArguments schedules only the learning rate")


def _optimizer_args(spec: Any) -> dict[str, Any]:
    optimizer = spec.optimizer
    by_name = {name: optim for optim, (name, _) in reversed(OPTIMIZERS.items())}
    if optimizer.name not in by_name:
        raise BridgeError(
            "optimizer.name",
            f"{optimizer.name}: the Trainer's optim has no such optimizer ({', '.join(OPTIMIZERS)})",
        )
    optim = by_name[optimizer.name]
    args: dict[str, Any] = {"optim": optim, "learning_rate": spec.lr, "weight_decay": optimizer.weight_decay}
    if optimizer.name == "adamw":
        expect_defaults(
            optimizer,
            type(optimizer),
            ["lr", "weight_decay", "betas", "eps", "lr_scaling", "no_decay"],
            "optimizer",
            _no_optim,
        )
        args.update(adam_beta1=optimizer.betas[0], adam_beta2=optimizer.betas[1], adam_epsilon=optimizer.eps)
        return args
    extras = OPTIMIZERS[optim][1]
    allowed = ["lr", "weight_decay", "lr_scaling", "no_decay", *extras]
    expect_defaults(optimizer, type(optimizer), allowed, "optimizer", _no_optim)
    pairs = [
        f"{key}={getattr(optimizer, key)}"
        for key in extras
        if key != "weight_decay" and hasattr(optimizer, key)
    ]
    args["optim_args"] = ",".join(pairs) or None
    return args


def _no_optim(knob: str) -> str:
    return f"the Trainer's optimizer takes no {knob}"


def _run_args(spec: Any) -> dict[str, Any]:
    training = spec.training
    if training.batch_rampup is not None:
        raise BridgeError("training.batch_rampup", "the Trainer cannot grow the batch while training")
    args: dict[str, Any] = {
        "per_device_train_batch_size": spec.data.batch_size,
        "gradient_accumulation_steps": training.grad_accum_steps,
        "dataloader_drop_last": spec.data.drop_last,
        "max_steps": spec.total_steps,
    }
    if training.epochs is not None and training.max_steps is None:
        args["num_train_epochs"] = training.epochs
    return args


BRIDGE = Bridge("hf", "HF TrainingArguments (training_args.json)", _detect, _read, _write, writes="json")
