"""timm: a ``train.py`` ``args.yaml`` to a spec and back.

timm's ``create_scheduler_v2`` (1.0.31) builds the scheduler from the args, counting its lengths in
epochs (``epochs``, ``warmup_epochs``, ``decay_epochs``, ``cooldown_epochs``) times ``U`` updates per
epoch when ``sched_on_updates`` (``step_update`` after every optimizer update), or in epochs
(``step(epoch)``: the LR changes once per epoch). Per update, each ``sched`` is a confsched family
with its lengths as ``"N ep"`` durations (:data:`FAMILIES`): ``cosine`` -> ``cosine_cycles``,
``tanh`` -> ``tanh``, ``poly`` -> ``polynomial`` (``decay_rate`` is its power), ``step``,
``multistep`` (timm cuts one update before each milestone, so the milestones are whole steps and need
the dataset size), ``constant``, ``none``; ``warmup_lr`` is the warmup's start (``warmup_start =
warmup_lr / lr``), ``min_lr`` the floor every group shares (``floor_groups: same``), ``lr_noise`` the
noise (whole steps: the dataset size is needed), ``warmup_prefix`` as it is. The run is timm's
``num_epochs``: the cycles plus the cooldown (the warmup too with ``warmup_prefix``). ``lr: null``
is ``lr_base`` scaled by the global batch (confsched's ``lr_scaling``, timm's rule).

Per epoch, the LR is a staircase: ``step`` and ``multistep`` without warmup or noise cross (their
cuts fall on epoch boundaries), the others do not. The optimizers that cross: ``sgd`` (Nesterov),
``momentum``, ``adam``, ``adamw``. timm exempts biases and norm weights from weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from confsched.bridges.core import (
    PLACEHOLDER,
    Bridge,
    BridgeError,
    Draft,
    Given,
    Peer,
    Run,
    complete,
    steps_per_epoch,
    validate_draft,
)

__all__ = ["BRIDGE", "FAMILIES"]

_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {"nesterov": True}),
    "nesterov": ("sgd", {"nesterov": True}),
    "momentum": ("sgd", {"nesterov": False}),
    "adam": ("adam", {}),
    "adamw": ("adamw", {}),
}
"""timm's ``opt`` -> (confsched's optimizer, the defaults timm's registry adds)."""

_DEFAULTS: dict[str, Any] = {
    "sched": "cosine",
    "epochs": 100,
    "decay_epochs": None,
    "decay_milestones": [30, 60],
    "warmup_epochs": 5,
    "cooldown_epochs": 0,
    "decay_rate": 0.1,
    "min_lr": 0.0,
    "warmup_lr": 1e-5,
    "warmup_prefix": False,
    "lr_noise": None,
    "lr_noise_pct": 0.67,
    "lr_noise_std": 1.0,
    "seed": 42,
    "lr_cycle_mul": 1.0,
    "lr_cycle_decay": 0.1,
    "lr_cycle_limit": 1,
    "lr_k_decay": 1.0,
    "sched_on_updates": False,
}
"""What ``scheduler_kwargs`` takes for an arg the file does not have (its ``getattr`` defaults)."""


def _detect(data: Mapping[str, Any]) -> bool:
    return "sched" in data and ("epochs" in data or "warmup_lr" in data or "opt" in data)


class _Args:
    """The args with timm's defaults, and the updates per epoch ``U`` (``None`` while unknown)."""

    def __init__(self, peer: Peer, updates: int | None) -> None:
        self.peer = Peer(
            {**_DEFAULTS, **{k: v for k, v in peer.data.items() if v is not None}}, peer.path, peer.source
        )
        self.updates = updates
        self.on_updates = self.peer.flag("sched_on_updates")

    def length(self, key: str, epochs: float) -> int | str:
        """``epochs`` of ``key`` as a duration: ``"N ep"`` when whole, else timm's ``epochs x U``
        updates, which must be whole (per update) and needs ``U``."""
        if float(epochs).is_integer():
            return f"{int(epochs)}ep"
        if not self.on_updates:
            raise self.peer.error(key, f"{epochs!r}: per epoch, timm's fractional epochs cut mid-staircase")
        return self.updates_of(key, epochs * self.need_updates(key))

    def need_updates(self, key: str) -> int:
        if self.updates is None:
            raise self.peer.error(
                key, "timm counts it in updates per epoch: give --dataset-size (and --world-size)"
            )
        return self.updates

    def updates_of(self, key: str, value: float) -> int:
        if not float(value).is_integer():
            raise self.peer.error(
                key, f"{value!r} updates: timm compares a fractional length with whole updates"
            )
        return int(value)


def _read(peer: Peer, given: Given, source: str) -> Draft:
    draft = Draft("timm", source)
    p = _Args(peer, None).peer
    run = Run(
        batch_size=p.integer("batch_size", 128, low=1),
        grad_accum_steps=p.integer("grad_accum_steps", 1, low=1),
        drop_last=True,  # timm's training loader drops the last partial batch
    )
    args = _Args(peer, steps_per_epoch(run, given, draft))
    sched = p.text("sched")
    if sched not in FAMILIES:
        raise p.error("sched", f"{sched!r} has no confsched family ({', '.join(FAMILIES)})")
    section, cycles = FAMILIES[sched](args)
    if not args.on_updates:
        _per_epoch(args, sched, section)
    run.epochs = _epochs(args, sched, cycles)
    draft.optimizer = _optimizer(p, given)
    complete(draft, run, given)
    draft.scheduler = section
    if sched != "none":
        draft.scheduler.update(_warmup(args, draft))
        draft.scheduler.update(_noise(args, cycles))
    draft.remarks.append(
        "timm exempts biases and norm weights from weight decay: add optimizer.no_decay patterns."
    )
    validate_draft(draft)
    return draft


def _optimizer(p: Peer, given: Given) -> dict[str, Any]:
    opt = p.text("opt", "sgd").lower()
    if opt not in _OPTIMIZERS:
        raise p.error("opt", f"{opt!r} has no confsched optimizer ({', '.join(_OPTIMIZERS)})")
    name, defaults = _OPTIMIZERS[opt]
    section: dict[str, Any] = {
        "name": name,
        **defaults,
        "weight_decay": p.number("weight_decay", 2e-5, low=0),
    }
    if name == "sgd":
        section["momentum"] = p.number("momentum", 0.9, low=0)
    else:
        if p.has("opt_betas"):
            section["betas"] = p.numbers("opt_betas")
        if p.has("opt_eps"):
            section["eps"] = p.number("opt_eps")
    if p.has("lr"):
        section["lr"] = p.number("lr")
        return section
    scale = p.text("lr_base_scale", "") or ("sqrt" if any(o in opt for o in ("ada", "lamb")) else "linear")
    section["lr"] = p.number("lr_base", 0.1)
    section["lr_scaling"] = {"rule": scale, "reference_batch": p.integer("lr_base_size", 256, low=1)}
    return section


def _cycles(args: _Args) -> dict[str, Any]:
    p = args.peer
    section: dict[str, Any] = {"cycle_length": args.length("epochs", p.number("epochs"))}
    mul, decay, limit = (
        p.number("lr_cycle_mul"),
        p.number("lr_cycle_decay"),
        p.integer("lr_cycle_limit", low=1),
    )
    if limit > 1:  # one cycle: neither the length nor the peak of a next one matters
        section.update(cycle_mul=mul, cycle_decay=decay, cycle_limit=limit)
    return {**section, **_floor(p)}


def _floor(p: Peer) -> dict[str, Any]:
    low = p.number("min_lr", low=0)
    return {"min_lr": low, "floor_groups": "same"} if low else {}


def _cosine(args: _Args) -> tuple[dict[str, Any], bool]:
    section = {"name": "cosine_cycles", **_cycles(args)}
    if args.peer.number("lr_k_decay") != 1.0:
        section["k_decay"] = args.peer.number("lr_k_decay")
    return section, True


def _tanh(args: _Args) -> tuple[dict[str, Any], bool]:
    return {"name": "tanh", **_cycles(args)}, True


def _poly(args: _Args) -> tuple[dict[str, Any], bool]:
    p = args.peer
    if p.integer("lr_cycle_limit", low=1) != 1:
        raise p.error("lr_cycle_limit", "poly with several cycles has no confsched spelling (use one cycle)")
    if p.number("cooldown_epochs") or (p.number("warmup_epochs") and p.flag("warmup_prefix")):
        key = "cooldown_epochs" if p.number("cooldown_epochs") else "warmup_prefix"
        raise p.error(
            key, "poly decays over its cycle only; confsched's polynomial decays to the end of the run"
        )
    section: dict[str, Any] = {
        "name": "polynomial",
        "power": p.number("decay_rate"),
        "lr_end": p.number("min_lr", low=0),
    }
    section["floor_groups"] = "same"
    if p.number("lr_k_decay") != 1.0:
        section["k_decay"] = p.number("lr_k_decay")
    return section, True


def _step(args: _Args) -> tuple[dict[str, Any], bool]:
    p = args.peer
    decay = p.number("decay_epochs", 90, low=0) if p.has("decay_epochs") else 90.0
    return {
        "name": "step",
        "step_size": args.length("decay_epochs", decay),
        "gamma": p.number("decay_rate"),
    }, False


def _multistep(args: _Args) -> tuple[dict[str, Any], bool]:
    p = args.peer
    milestones = p.numbers("decay_milestones")
    if args.on_updates:  # milestone m applies at update m x U - 1 (timm's t + 1 convention)
        updates = args.need_updates("decay_milestones")
        steps: list[Any] = [args.updates_of("decay_milestones", m * updates) - 1 for m in milestones]
    else:  # per epoch: epoch m - 1
        steps = [f"{int(m) - 1}ep" for m in milestones]
    return {"name": "multistep", "milestones": steps, "gamma": p.number("decay_rate")}, False


def _constant(args: _Args) -> tuple[dict[str, Any], bool]:
    return {"name": "constant"}, False


FAMILIES: dict[str, Callable[[_Args], tuple[dict[str, Any], bool]]] = {
    "cosine": _cosine,
    "tanh": _tanh,
    "poly": _poly,
    "step": _step,
    "multistep": _multistep,
    "constant": _constant,
    "none": _constant,
}
"""timm's ``sched`` -> (its ``scheduler`` section without warmup and noise, whether timm counts
its run in cycles)."""


def _per_epoch(args: _Args, sched: str, section: dict[str, Any]) -> None:
    p = args.peer
    if sched in ("cosine", "tanh", "poly"):
        raise p.error(
            "sched_on_updates",
            f"false: timm steps its {sched} schedule once per epoch, a staircase confsched does not draw; "
            "set sched_on_updates: true (and train with it) to import it",
        )
    if sched != "none" and p.number("warmup_epochs"):
        raise p.error(
            "warmup_epochs", "a warmup stepped once per epoch is a staircase confsched does not draw"
        )
    if p.has("lr_noise") and sched != "none":
        raise p.error("lr_noise", "noise drawn once per epoch has no confsched spelling")


def _epochs(args: _Args, sched: str, cycles: bool) -> int:
    """timm's ``num_epochs``: what ``create_scheduler_v2`` returns and ``train.py`` trains."""
    p = args.peer
    epochs, warmup, cooldown = (
        p.integer("epochs", low=1),
        p.number("warmup_epochs"),
        p.number("cooldown_epochs"),
    )
    prefix = p.flag("warmup_prefix")
    if not cycles:
        return epochs + int(warmup) if prefix and sched != "none" else epochs
    mul, limit = p.number("lr_cycle_mul"), p.integer("lr_cycle_limit", low=1)
    if mul == 1.0:
        length = epochs * limit + (warmup if prefix else 0) + cooldown
        if not float(length).is_integer():
            raise p.error("warmup_epochs", f"{warmup!r}: the run's epochs must be whole")
        return int(length)
    updates = args.need_updates("lr_cycle_mul") if args.on_updates else 1
    t = math.floor(-epochs * updates * (mul**limit - 1) / (1 - mul))
    t += int(warmup * updates) if prefix else 0
    return (t + int(cooldown * updates)) // updates


def _warmup(args: _Args, draft: Draft) -> dict[str, Any]:
    p = args.peer
    warmup = p.number("warmup_epochs", low=0)
    if not warmup:
        return {}
    lr = _scaled_lr(draft)
    knobs: dict[str, Any] = {"warmup": args.length("warmup_epochs", warmup)}
    start = p.number("warmup_lr", low=0)
    if start:
        if lr is None:
            raise p.error(
                "warmup_lr", "an absolute start over lr_base scaled by the global batch: give --world-size"
            )
        knobs["warmup_start"] = start / lr
    if not p.flag("warmup_prefix"):
        knobs["warmup_prefix"] = False
    return knobs


def _scaled_lr(draft: Draft) -> float | None:
    optimizer = draft.optimizer
    scaling = optimizer.get("lr_scaling")
    if scaling is None:
        return float(optimizer["lr"])
    if draft.data.get("batch_size") == PLACEHOLDER:
        return None
    world = draft.training.get("world_size", 1)
    batch = draft.data["batch_size"] * draft.training.get("grad_accum_steps", 1) * world
    ratio = batch / scaling["reference_batch"]
    return float(optimizer["lr"]) * (ratio**0.5 if scaling["rule"] == "sqrt" else ratio)


def _noise(args: _Args, cycles: bool) -> dict[str, Any]:
    p = args.peer
    if not p.has("lr_noise"):
        return {}
    fractions = p.numbers("lr_noise")
    length = p.number("epochs") * (args.need_updates("lr_noise") if args.on_updates else 1)
    bounds = [math.ceil(f * length) for f in fractions]  # timm compares whole updates with f x t_initial
    noise: dict[str, Any] = {
        "start": bounds[0],
        "pct": p.number("lr_noise_pct"),
        "seed": p.integer("seed", low=0),
    }
    if p.number("lr_noise_std") != 1.0:
        noise["std"] = p.number("lr_noise_std")
    if len(bounds) > 1:
        noise["end"] = bounds[1]
    return {"noise": noise}


# ---- export ---------------------------------------------------------------------------------


def _write(spec: Any) -> dict[str, Any]:
    scheduler, plan = spec.scheduler, spec.plan
    updates = spec.steps_per_epoch
    sched = next((name for name, family in _FAMILY_OF.items() if family == scheduler.name), None)
    if sched is None:
        raise BridgeError(
            "scheduler.name", f"{scheduler.name}: no timm sched gives it ({', '.join(_FAMILY_OF.values())})"
        )
    if not spec.data.drop_last:
        raise BridgeError(
            "data.drop_last",
            "false: timm's training loader drops the last partial batch of each epoch; set it true",
        )
    optimizer = spec.optimizer
    by_name = {
        "sgd": "sgd" if getattr(optimizer, "nesterov", False) else "momentum",
        "adam": "adam",
        "adamw": "adamw",
    }
    if optimizer.name not in by_name:
        raise BridgeError(
            "optimizer.name",
            f"{optimizer.name}: not one of timm's optimizers that cross ({', '.join(by_name)})",
        )
    args: dict[str, Any] = {
        "sched": sched,
        "sched_on_updates": True,
        "opt": by_name[optimizer.name],
        "lr": spec.lr,
        "weight_decay": optimizer.weight_decay,
        "batch_size": spec.data.batch_size,
        "grad_accum_steps": spec.training.grad_accum_steps,
    }
    if optimizer.name == "sgd":
        args["momentum"] = optimizer.momentum
    else:
        args.update(opt_betas=list(optimizer.betas), opt_eps=optimizer.eps)

    def epochs(path: str, steps: int) -> int:
        """``steps`` as the whole epochs timm counts its lengths in."""
        if steps % updates:
            raise BridgeError(
                path,
                f"{steps} steps is not a whole number of epochs ({updates} steps each): "
                "timm counts it in epochs",
            )
        return steps // updates

    length = plan.steps(getattr(scheduler, "cycle_length", None) or _cycle(spec))
    args["epochs"] = epochs("scheduler.cycle_length", length)
    args["warmup_epochs"] = epochs("scheduler.warmup", spec.warmup_steps)
    args["warmup_lr"] = scheduler.warmup_start * spec.lr
    args["warmup_prefix"] = scheduler.warmup_prefix
    floor = getattr(scheduler, "min_lr", None) or getattr(scheduler, "lr_end", None) or 0.0
    args["min_lr"] = floor
    for knob, key in (
        ("cycle_mul", "lr_cycle_mul"),
        ("cycle_decay", "lr_cycle_decay"),
        ("cycle_limit", "lr_cycle_limit"),
        ("k_decay", "lr_k_decay"),
    ):
        if hasattr(scheduler, knob):
            args[key] = getattr(scheduler, knob)
    if scheduler.name in ("step", "multistep", "polynomial"):
        args["decay_rate"] = getattr(scheduler, "gamma", None) or getattr(scheduler, "power", 0.1)
    if scheduler.name == "step":
        args["decay_epochs"] = epochs("scheduler.step_size", plan.steps(scheduler.step_size))
    if scheduler.name == "multistep":
        args["decay_milestones"] = [
            epochs(f"scheduler.milestones[{i}]", plan.steps(m) + 1)
            for i, m in enumerate(scheduler.milestones)
        ]
    if scheduler.noise is not None:
        noise = scheduler.noise
        bounds = [plan.steps(noise.start), *([plan.steps(noise.end)] if noise.end is not None else [])]
        args.update(
            lr_noise=[b / length for b in bounds],
            lr_noise_pct=noise.pct,
            seed=noise.seed,
            lr_noise_std=noise.std,
        )
    planned = spec.total_steps / updates
    if not planned.is_integer():
        raise BridgeError(
            "training",
            f"{spec.total_steps} steps are not whole epochs of {updates} steps: timm trains epochs",
        )
    cycled = scheduler.name in ("cosine_cycles", "tanh", "polynomial")
    args["cooldown_epochs"] = 0
    if not cycled:  # timm trains epochs (+ the warmup with warmup_prefix): the run without its warmup
        args["epochs"] = int(planned) - (args["warmup_epochs"] if scheduler.warmup_prefix else 0)
        return args
    scheduled = _epochs(_Args(Peer(args, "", "exported"), updates), sched, cycles=True)
    args["cooldown_epochs"] = int(planned) - scheduled  # after the cycles, timm holds min_lr
    return args


def _cycle(spec: Any) -> Any:
    from confsched.spec.duration import parse_duration

    return parse_duration(
        spec.total_steps - spec.warmup_steps if spec.scheduler.warmup_prefix else spec.total_steps
    )


_FAMILY_OF = {
    "cosine": "cosine_cycles",
    "tanh": "tanh",
    "poly": "polynomial",
    "step": "step",
    "multistep": "multistep",
    "constant": "constant",
}

BRIDGE = Bridge("timm", "timm train.py args (args.yaml)", _detect, _read, _write)
