"""DeepSpeed: a ``ds_config.json``'s ``scheduler`` and ``optimizer`` blocks to a spec and back.

DeepSpeed's engine builds the scheduler without stepping it and calls ``scheduler.step()`` after
every optimizer step, so optimizer step ``k`` runs at the LR its formulas give for
``last_batch_iteration = k - 1`` (the construction value at ``k = 0``). In that step time, with
``W' = max(2, warmup_num_steps)``, ``rho = warmup_min_lr / warmup_max_lr`` and ``T`` the
``total_num_steps`` (DeepSpeed 0.19.8, ``deepspeed/runtime/lr_schedules.py``):

- ``WarmupLR``, ``warmup_type: log``: ``rho + (1 - rho) log(max(k, 1)) / log(W')`` up to ``k = W'``,
  then 1: ``constant`` with ``warmup_shape: log``. ``linear``: ``rho`` at ``k = 0``, then
  ``rho + (1 - rho) (k - 1) / W'`` (one step late): ``phases``.
- ``WarmupDecayLR``: the same warmup, then ``rho + (1 - rho) (T - k + 1) / (T - W')`` from
  ``k = W' + 1``, ``warmup_min_lr`` from ``T + 1`` on: one step at the peak, then a linear phase to
  where DeepSpeed is at ``k = T``, and ``after_run_lr``. (A linear phase, not DeepSpeed's
  expression: the two agree to a few ulps of the peak, the relative error growing towards the end.)
- ``WarmupCosineLR``, ``log`` from ``warmup_min_ratio`` 0: ``cosine_with_min_lr`` (``min_lr_rate`` =
  ``cos_min_ratio``) with a ``log`` warmup. DeepSpeed runs step 0 at LR 0 and, with
  ``warmup_type: linear``, starts its cosine one step into the decay: those have no equivalent.
- ``OneCycle``: torch's ``CyclicLR`` triangle for one cycle (``cyclic``), then ``cycle_min_lr`` held
  (``sequential`` with ``constant``) or ``cycle_min_lr / (1 + decay_lr_rate t / decay_step_size)``
  (``inverse_sqrt``, ``decay_rate`` 1, ``timescale = decay_step_size / decay_lr_rate`` when that is
  whole). Its momentum cycle (it sets beta1 to ``cycle_min_mom`` before the first step and beta2
  to 0.99) does not cross: ``cycle_momentum: false``, or an optimizer without betas.
- ``LRRangeTest``: ``min_lr (1 + rate k / step_size)``: ``piecewise`` through ``k = 0`` and
  ``k = T`` (held after the run, where DeepSpeed keeps rising); its staircase, knots with jumps.
- A torch class (``StepLR``...): built by DeepSpeed as torch builds it, stepped once per step
  (:mod:`confsched.bridges.torch_lr`).

The optimizer: ``Adam`` (DeepSpeed's, AdamW unless ``adam_w_mode: false``), ``AdamW``,
``Adagrad`` and torch's classes by name. The batch: ``train_micro_batch_size_per_gpu``,
``gradient_accumulation_steps``, and the processes ``train_batch_size / (micro x accumulation)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from confsched.bridges import torch_lr
from confsched.bridges.core import (
    PLACEHOLDER,
    Bridge,
    BridgeError,
    Draft,
    Given,
    Peer,
    Run,
    complete,
    total_steps,
    validate_draft,
)

__all__ = ["BRIDGE", "READERS", "WRITERS"]

_DS_OPTIMIZERS = {"adam": "adamw", "adamw": "adamw", "adagrad": "adagrad"}
"""DeepSpeed's own optimizer types (lower case) -> confsched's; ``adam`` is AdamW unless
``adam_w_mode: false``."""


def _detect(data: Mapping[str, Any]) -> bool:
    scheduler = data.get("scheduler")
    return (isinstance(scheduler, Mapping) and "type" in scheduler) or any(
        key in data for key in ("train_micro_batch_size_per_gpu", "zero_optimization", "train_batch_size")
    )


def _read(peer: Peer, given: Given, source: str) -> Draft:
    draft = Draft("DeepSpeed", source)
    optimizer = peer.section("optimizer")
    draft.optimizer = _optimizer(optimizer) if optimizer is not None else {"name": "adamw", "lr": PLACEHOLDER}
    if optimizer is None:
        draft.notes["optimizer.lr"] = "the config has no optimizer block: set the optimizer's LR"
    block = peer.section("scheduler")
    if block is None:
        raise peer.error("scheduler", "missing: the config has no scheduler block to import")
    kind = block.text("type")
    params = block.section("params") or Peer({}, block.key("params"), source)
    run = _run(peer, params if kind in ("WarmupDecayLR", "WarmupCosineLR") else None)
    complete(draft, run, given)
    read = READERS.get(kind)
    if read is None:
        draft.scheduler = torch_lr.scheduler_of(
            block, "type", kind, params, torch_lr.Every(), total_steps(draft)
        )
    else:
        read(params, draft)
    validate_draft(draft)
    return draft


def _optimizer(block: Peer) -> dict[str, Any]:
    kind = block.text("type")
    params = block.section("params") or Peer({}, block.key("params"), block.source)
    name = _DS_OPTIMIZERS.get(kind.lower())
    if name is None:
        return torch_lr.optimizer_of(block, "type", kind, params)
    params.only(
        ("lr", "betas", "eps", "weight_decay", "adam_w_mode", "torch_adam", "bias_correction"),
        f"DeepSpeed's {kind}",
    )
    params.same("bias_correction", True, True, "torch's Adam corrects its bias")
    if kind.lower() == "adam" and not params.flag("adam_w_mode", True):
        name = "adam"
    section: dict[str, Any] = {"name": name, "lr": params.number("lr", 1e-3)}
    for key in ("betas", "eps", "weight_decay"):
        if params.has(key):
            section[key] = params.raw(key)
    return section


def _run(peer: Peer, params: Peer | None) -> Run:
    micro = peer.optional("train_micro_batch_size_per_gpu", low=1)
    accumulation = peer.integer("gradient_accumulation_steps", 1, low=1)
    total = peer.optional("train_batch_size", low=1)
    world = None
    if total is not None and micro is not None:
        world, rest = divmod(total, micro * accumulation)
        if rest or not world:
            raise peer.error(
                "train_batch_size",
                f"{total} is not train_micro_batch_size_per_gpu x gradient_accumulation_steps ({micro} x "
                f"{accumulation}) x a number of processes",
            )
    elif total is not None:
        micro = None  # the micro batch depends on the processes: a placeholder unless given
    run = Run(batch_size=micro, grad_accum_steps=accumulation, world_size=world)
    if params is not None:
        run.max_steps = params.integer("total_num_steps", low=1)
    return run


def _warmup(params: Peer, draft: Draft, max_default: float | None) -> tuple[float, float, int, str]:
    """(rho, peak LR, W', warmup type) of WarmupLR / WarmupDecayLR."""
    low = _one(params, "warmup_min_lr", 0.0)
    high = (
        _one(params, "warmup_max_lr", max_default)
        if max_default is not None or params.has("warmup_max_lr")
        else None
    )
    if high is None:
        high = draft.optimizer["lr"]
        if high == PLACEHOLDER:
            raise params.error(
                "warmup_max_lr", "missing, and the config has no optimizer LR it would default to"
            )
    if not 0 <= low <= high or high <= 0:
        raise params.error(
            "warmup_min_lr",
            f"{low!r} to warmup_max_lr {high!r}: confsched warms up from 0 <= min <= max, max > 0",
        )
    draft.optimizer["lr"] = high
    return low / high, high, max(2, params.integer("warmup_num_steps", 1000, low=1)), _warmup_type(params)


def _one(params: Peer, key: str, default: float | None) -> float:
    value = params.raw(key, default)
    if isinstance(value, list):
        if len(value) != 1:
            raise params.error(key, f"{value}: one LR per param group; a config's spec has one group")
        return Peer({key: value[0]}, params.path, params.source).number(key)
    return params.number(key, default)


def _warmup_type(params: Peer) -> str:
    kind = params.text("warmup_type", "log")
    if kind not in ("log", "linear"):
        raise params.error("warmup_type", f"{kind!r} is not log or linear")
    return kind


def _linear_warmup(rho: float, steps: int) -> list[dict[str, Any]]:
    """DeepSpeed's linear warmup in step time: rho at step 0, then rho + (1 - rho) (k - 1) / W'."""
    return [
        {"duration": 1, "shape": "constant", "start": rho},
        {"duration": steps, "shape": "linear", "end": 1.0},
    ]


def _read_warmup_lr(params: Peer, draft: Draft) -> None:
    params.only(
        ("warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type", "last_batch_iteration"),
        "WarmupLR",
    )
    rho, _, steps, kind = _warmup(params, draft, None)
    if kind == "log":
        draft.scheduler = {"name": "constant", "warmup": steps, "warmup_shape": "log", "warmup_start": rho}
    else:
        draft.scheduler = {"name": "phases", "phases": _linear_warmup(rho, steps)}


def _read_warmup_decay(params: Peer, draft: Draft) -> None:
    keys = (
        "warmup_min_lr",
        "warmup_max_lr",
        "warmup_num_steps",
        "warmup_type",
        "total_num_steps",
        "last_batch_iteration",
    )
    params.only(keys, "WarmupDecayLR")
    rho, high, steps, kind = _warmup(params, draft, 0.001)
    total = params.integer("total_num_steps", low=1)
    if total < steps + 1:
        raise params.error(
            "total_num_steps", f"{total}: a decay after the {steps}-step warmup needs at least {steps + 1}"
        )
    end = rho + (1 - rho) / (total - steps)  # DeepSpeed's LR at step T, over the peak
    decay = {"duration": None, "shape": "linear", "end": end}
    if kind == "log":
        phases: list[dict[str, Any]] = [{"duration": 1, "shape": "constant", "start": 1.0}, decay]
        draft.scheduler = {
            "name": "phases",
            "warmup": steps,
            "warmup_shape": "log",
            "warmup_start": rho,
            "phases": phases,
        }
    else:
        draft.scheduler = {"name": "phases", "phases": [*_linear_warmup(rho, steps), decay]}
    draft.scheduler["after_run_lr"] = rho * high


def _read_warmup_cosine(params: Peer, draft: Draft) -> None:
    keys = (
        "total_num_steps",
        "warmup_min_ratio",
        "warmup_num_steps",
        "cos_min_ratio",
        "warmup_type",
        "last_batch_iteration",
    )
    params.only(keys, "WarmupCosineLR")
    if _warmup_type(params) == "linear":
        raise params.error(
            "warmup_type",
            "'linear': DeepSpeed's WarmupCosineLR then ends its warmup at (W - 1) / W and starts the cosine "
            "one step in, never at the peak; a shape confsched has no spelling for (use log)",
        )
    start = params.number("warmup_min_ratio", 0.0)
    if start != 0:
        raise params.error(
            "warmup_min_ratio",
            f"{start!r}: DeepSpeed's WarmupCosineLR runs step 0 at LR 0 and step 1 at {start!r}, a start "
            "confsched's warmup has no spelling for (it starts at warmup_start); use 0",
        )
    floor = params.number("cos_min_ratio", 0.0001, low=0)
    lr = draft.optimizer["lr"]
    if lr == PLACEHOLDER:
        raise params.error(
            "cos_min_ratio", "WarmupCosineLR scales the optimizer's LR: the config needs an optimizer block"
        )
    steps = max(2, params.integer("warmup_num_steps", 1000, low=1))
    draft.scheduler = {
        "name": "cosine_with_min_lr",
        "min_lr_rate": floor,
        "warmup": steps,
        "warmup_shape": "log",
        "after_run_lr": floor * lr,
    }


def _read_one_cycle(params: Peer, draft: Draft) -> None:
    keys = (
        "cycle_min_lr",
        "cycle_max_lr",
        "decay_lr_rate",
        "cycle_first_step_size",
        "cycle_second_step_size",
    )
    stairs = ("cycle_first_stair_count", "cycle_second_stair_count", "decay_step_size", "cycle_momentum")
    momentum = ("cycle_min_mom", "cycle_max_mom", "decay_mom_rate", "last_batch_iteration")
    params.only((*keys, *stairs, *momentum), "OneCycle")
    for key in stairs[:2]:
        params.same(key, 0, 0, "a staircase cycle confsched does not draw; use 0")
    if params.flag("cycle_momentum", True) and draft.optimizer["name"] not in ("sgd", "rmsprop", "adagrad"):
        raise params.error(
            "cycle_momentum",
            "true: DeepSpeed's OneCycle sets beta1 to cycle_min_mom before the first step, cycles it from "
            "cycle_max_mom after, and fixes beta2 at 0.99; set cycle_momentum: false to import the LR cycle",
        )
    low, high = _one(params, "cycle_min_lr", None), _one(params, "cycle_max_lr", None)
    if not 0 < low < high:
        raise params.error("cycle_max_lr", f"{high!r} must be above cycle_min_lr ({low!r}) > 0")
    up = params.integer("cycle_first_step_size", 2000, low=1)
    down = params.integer("cycle_second_step_size", up, low=1)
    draft.optimizer["lr"] = low
    cyclic = {
        "name": "cyclic",
        "max_lr": high,
        "step_size_up": up,
        "step_size_down": down,
        "cycle_momentum": False,
    }
    rate, every = params.number("decay_lr_rate", 0.0, low=0), params.integer("decay_step_size", 0, low=0)
    after: dict[str, Any] = {"name": "constant"}
    if rate and every:
        timescale = every / rate
        if not timescale.is_integer():
            raise params.error(
                "decay_lr_rate",
                f"{rate!r}: the decay after the cycle, 1 / (1 + t x {rate!r} / {every}), is confsched's "
                f"inverse_sqrt with a whole timescale (decay_step_size / decay_lr_rate = {timescale!r})",
            )
        after = {"name": "inverse_sqrt", "decay_rate": 1.0, "timescale": int(timescale)}
    total = total_steps(draft)
    if total is not None and total <= up + down and after["name"] == "constant":
        draft.scheduler = {**cyclic, "after_run_lr": low}
    else:
        draft.scheduler = {"name": "sequential", "schedulers": [cyclic, after], "milestones": [up + down]}


def _read_range_test(params: Peer, draft: Draft) -> None:
    keys = (
        "lr_range_test_min_lr",
        "lr_range_test_step_size",
        "lr_range_test_step_rate",
        "lr_range_test_staircase",
    )
    params.only((*keys, "last_batch_iteration"), "LRRangeTest")
    low = _one(params, "lr_range_test_min_lr", 1e-3)
    size = params.integer("lr_range_test_step_size", 2000, low=1)
    rate = params.number("lr_range_test_step_rate", 1.0, low=0)
    total = total_steps(draft)
    if total is None:
        raise params.error(
            "lr_range_test_step_size",
            "the range test's LR at the end of the run needs its length (--max-steps)",
        )
    draft.optimizer["lr"] = low
    if params.flag("lr_range_test_staircase", False):
        knots: list[list[Any]] = [[0, 1.0]]
        for j in range(1, total // size + 1):
            knots += [[j * size, 1 + rate * (j - 1)], [j * size, 1 + rate * j]]
        if len(knots) > 2001:
            raise params.error(
                "lr_range_test_step_size",
                f"{size}: {len(knots) // 2} stairs in the run; confsched draws at most 1000",
            )
        if len(knots) == 1:
            knots.append([total, 1.0])
    else:
        knots = [[0, 1.0], [total, 1 + rate * total / size]]
    draft.scheduler = {"name": "piecewise", "knots": knots}


Reader = Callable[[Peer, Draft], None]
Writer = Callable[[Any], dict[str, Any]]

READERS: dict[str, Reader] = {
    "WarmupLR": _read_warmup_lr,
    "WarmupDecayLR": _read_warmup_decay,
    "WarmupCosineLR": _read_warmup_cosine,
    "OneCycle": _read_one_cycle,
    "LRRangeTest": _read_range_test,
}
"""DeepSpeed's own scheduler types; any other type is one of torch's classes."""


# ---- export ---------------------------------------------------------------------------------


def _write(spec: Any) -> dict[str, Any]:
    name = spec.scheduler.name
    if name not in WRITERS:
        raise BridgeError(
            "scheduler.name",
            f"{name}: no DeepSpeed scheduler gives it (those that cross: {', '.join(WRITERS)})",
        )
    return {
        "train_micro_batch_size_per_gpu": spec.data.batch_size,
        "gradient_accumulation_steps": spec.training.grad_accum_steps,
        "train_batch_size": spec.data.batch_size * spec.training.grad_accum_steps * spec.training.world_size,
        "optimizer": _optimizer_block(spec),
        "scheduler": WRITERS[name](spec),
    }


_OPTIMIZER_TYPES = {
    "adamw": "AdamW",
    "adam": "Adam",
    "adagrad": "Adagrad",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
}


def _optimizer_block(spec: Any) -> dict[str, Any]:
    optimizer = spec.optimizer
    if optimizer.name not in _OPTIMIZER_TYPES:
        raise BridgeError(
            "optimizer.name",
            f"{optimizer.name}: not one of DeepSpeed's optimizers ({', '.join(_OPTIMIZER_TYPES)})",
        )
    params: dict[str, Any] = {"lr": spec.lr, "weight_decay": optimizer.weight_decay}
    if optimizer.name == "adam":
        params["adam_w_mode"] = False
    for key in ("betas", "eps", "momentum", "nesterov", "dampening", "alpha", "centered", "lr_decay"):
        if hasattr(optimizer, key):
            value = getattr(optimizer, key)
            params[key] = list(value) if isinstance(value, tuple) else value
    return {"type": _OPTIMIZER_TYPES[optimizer.name], "params": params}


def _write_warmup(spec: Any) -> dict[str, Any]:
    """WarmupLR or WarmupDecayLR from the forms :func:`_read_warmup_lr` and
    :func:`_read_warmup_decay` write (a constant with a log warmup, or those phases)."""
    scheduler = spec.scheduler
    logged = scheduler.warmup_shape == "log" and spec.warmup_steps > 0
    if scheduler.name == "constant":
        rho, steps, decays = (scheduler.warmup_start, spec.warmup_steps, False) if logged else (1.0, 2, False)
    else:
        phases = scheduler.phases
        decays = phases[-1].duration is None
        if logged:
            rho, steps = scheduler.warmup_start, spec.warmup_steps
        else:
            first = phases[0].start if phases[0].start is not None else 1.0
            second = phases[1].duration if len(phases) > 1 else None
            rho, steps = first, spec.plan.steps(second) if second is not None else 2
    params = {
        "warmup_min_lr": rho * spec.lr,
        "warmup_max_lr": spec.lr,
        "warmup_num_steps": steps,
        "warmup_type": "log" if logged else "linear",
    }
    if decays:
        return {"type": "WarmupDecayLR", "params": {**params, "total_num_steps": spec.total_steps}}
    return {"type": "WarmupLR", "params": params}


def _write_cosine(spec: Any) -> dict[str, Any]:
    scheduler = spec.scheduler
    rate = scheduler.min_lr_rate if scheduler.min_lr_rate is not None else scheduler.min_lr / spec.lr
    params = {
        "total_num_steps": spec.total_steps,
        "warmup_min_ratio": 0.0,
        "warmup_num_steps": max(2, spec.warmup_steps),
        "cos_min_ratio": rate,
        "warmup_type": "log",
    }
    return {"type": "WarmupCosineLR", "params": params}


def _write_one_cycle(spec: Any) -> dict[str, Any]:
    scheduler = spec.scheduler
    cyclic = scheduler if scheduler.name == "cyclic" else scheduler.schedulers[0]
    if cyclic.name != "cyclic":
        raise BridgeError(
            "scheduler.schedulers[0]", f"{cyclic.name}: DeepSpeed's OneCycle starts with a cyclic triangle"
        )
    up = spec.plan.steps(cyclic.step_size_up)
    down = spec.plan.steps(cyclic.step_size_down) if cyclic.step_size_down is not None else up
    params: dict[str, Any] = {
        "cycle_min_lr": spec.lr,
        "cycle_max_lr": cyclic.max_lr,
        "cycle_first_step_size": up,
        "cycle_second_step_size": down,
        "cycle_momentum": False,
    }
    last = scheduler.schedulers[-1] if scheduler.name == "sequential" else None
    if last is not None and last.name == "inverse_sqrt" and last.timescale is not None:
        params.update(decay_lr_rate=1.0, decay_step_size=last.timescale)
    return {"type": "OneCycle", "params": params}


def _write_range_test(spec: Any) -> dict[str, Any]:
    """LRRangeTest from the knots :func:`_read_range_test` writes: two (a line), or stairs."""
    knots = spec.scheduler.knots
    staircase = len(knots) > 2
    if staircase:
        size, rate = spec.plan.steps(knots[1][0]), knots[2][1] - knots[1][1]
    else:
        size, rate = spec.total_steps, knots[-1][1] - 1.0
    params = {
        "lr_range_test_min_lr": spec.lr,
        "lr_range_test_step_size": size,
        "lr_range_test_step_rate": rate,
        "lr_range_test_staircase": staircase,
    }
    return {"type": "LRRangeTest", "params": params}


def _write_torch(spec: Any) -> dict[str, Any]:
    kind, params = torch_lr.torch_class(spec)
    return {"type": kind, "params": params}


WRITERS: dict[str, Writer] = {
    "constant": _write_warmup,
    "phases": _write_warmup,
    "cosine_with_min_lr": _write_cosine,
    "cyclic": _write_one_cycle,
    "sequential": _write_one_cycle,
    "piecewise": _write_range_test,
    "step": _write_torch,
    "multistep": _write_torch,
    "exponential": _write_torch,
    "one_cycle": _write_torch,
}
"""confsched family -> the DeepSpeed scheduler block written for it (what the block cannot say,
the round trip in :func:`confsched.bridges.export` finds and names)."""

BRIDGE = Bridge("deepspeed", "DeepSpeed config (ds_config.json)", _detect, _read, _write, writes="json")
