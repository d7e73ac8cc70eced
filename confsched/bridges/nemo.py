"""NeMo: an ``optim`` block with its ``sched`` (``nemo.core.optim.lr_scheduler``) to a spec and back.

The file holds ``optim`` at the top level or under ``model`` (a NeMo model config), beside an
optional ``trainer`` (``max_steps``, ``max_epochs``, ``accumulate_grad_batches``,
``limit_train_batches``, ``devices`` x ``num_nodes``) and ``model.train_ds.batch_size``. NeMo's
run is ``sched.max_steps``, else ``trainer.max_steps``, else ``max_epochs`` epochs counted as its
``compute_max_steps`` counts them (confsched's step plan, with ``limit_train_batches``).

Each scheduler is NeMo's semantics in confsched's spelling (:data:`SCHEDULERS`; the same as
``docs/migrating.md``'s NeMo table): ``warmup_shape: nemo`` for its ``(step + 1) / (W + 1)``
warmup, ``hold`` for ``hold_steps``, ``floor_lr`` where NeMo clamps with ``max(lr, min_lr)``,
``floor_groups: same`` where ``min_lr`` is the end of the decay, ``after_run_lr`` for ``min_lr``
after ``max_steps``. ``warmup_ratio`` and ``hold_ratio`` are NeMo's ``int(ratio x max_steps)``:
kept as a fraction (``warmup_rounding: floor``) where that rounds the same, else whole steps.
``StepLR``, ``CyclicLR`` (stepped per step) and ``ExponentialLR``, ``ReduceLROnPlateau`` (per
epoch) are torch's (:mod:`confsched.bridges.torch_lr`).

Not crossing: ``PolynomialHoldDecayAnnealing`` with a warmup and no hold (NeMo decays on the global
step there, its decay over before it starts), ``T5InverseSquareRootAnnealing`` with
``constant_ratio`` (NeMo fails on it), the nested ``sched.args`` form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from confsched.bridges import torch_lr
from confsched.bridges.core import (
    Bridge,
    BridgeError,
    Draft,
    Given,
    Peer,
    Run,
    complete,
    exact_steps,
    total_steps,
    validate_draft,
)

__all__ = ["BRIDGE", "SCHEDULERS"]

_OPTIMIZERS = {
    "adam": "adam",
    "adamw": "adamw",
    "fused_adam": "adamw",
    "sgd": "sgd",
    "adagrad": "adagrad",
    "adamax": "adamax",
    "rmsprop": "rmsprop",
    "nadam": "nadam",
    "radam": "radam",
}
"""NeMo's optimizer names (``nemo.core.optim.optimizers``) -> confsched's."""

_META = (
    "name",
    "max_steps",
    "monitor",
    "reduce_on_plateau",
    "t_max_epochs",
    "t_accumulate_grad_batches",
    "t_limit_train_batches",
    "t_num_workers",
    "last_epoch",
    "iters_per_batch",
)
"""``sched`` keys that are NeMo's plumbing, not the scheduler's arguments."""

_WARMUP = ("warmup_steps", "warmup_ratio")
_HOLD = ("hold_steps", "hold_ratio")


def _detect(data: Mapping[str, Any]) -> bool:
    model = data.get("model")
    optim = data.get("optim", model.get("optim") if isinstance(model, Mapping) else None)
    return isinstance(optim, Mapping) and "sched" in optim


def _read(peer: Peer, given: Given, source: str) -> Draft:
    draft = Draft("NeMo", source)
    model = peer.section("model")
    optim = peer.section("optim") or (model.section("optim") if model is not None else None)
    if optim is None:
        raise peer.error("optim", "missing: a NeMo config has optim (or model.optim) with its sched")
    draft.optimizer = _optimizer(optim)
    sched = optim.section("sched")
    if sched is None:
        raise optim.error("sched", "missing: the optim block has no scheduler to import")
    if sched.has("args"):
        raise sched.error("args", "the nested args form: write the scheduler's parameters in sched itself")
    name = sched.text("name")
    complete(draft, _run(peer, sched, model), given)
    if name in SCHEDULERS:
        keys, make = SCHEDULERS[name]
        sched.only((*keys, *_META), f"NeMo's {name}")
        sched.same("last_epoch", -1, -1, "a scheduler resumed mid-run; confsched resumes from its state dict")
        draft.scheduler = make(sched, draft)
    elif name in _TORCH:
        args = Peer({k: v for k, v in sched.data.items() if k not in _META}, sched.path, source)
        draft.scheduler = torch_lr.scheduler_of(sched, "name", name, args, _TORCH[name], total_steps(draft))
    else:
        raise sched.error(
            "name", f"{name!r} has no confsched equivalent ({', '.join([*SCHEDULERS, *_TORCH])})"
        )
    validate_draft(draft)
    return draft


def _optimizer(optim: Peer) -> dict[str, Any]:
    kind = optim.text("name")
    if kind not in _OPTIMIZERS:
        raise optim.error("name", f"{kind!r} has no confsched optimizer ({', '.join(_OPTIMIZERS)})")
    section: dict[str, Any] = {"name": _OPTIMIZERS[kind], "lr": optim.number("lr")}
    for key, value in optim.data.items():
        if key not in ("name", "lr", "sched") and value is not None:
            section[key] = list(value) if isinstance(value, tuple) else value
    return section


def _run(peer: Peer, sched: Peer, model: Peer | None) -> Run:
    trainer = peer.section("trainer") or Peer({}, "trainer", peer.source)
    run = Run(grad_accum_steps=trainer.integer("accumulate_grad_batches", 1, low=1))
    train_ds = model.section("train_ds") if model is not None else None
    if train_ds is not None:
        run.batch_size = train_ds.optional("batch_size", low=1)
        run.drop_last = train_ds.flag("drop_last", False)
    if trainer.has("limit_train_batches"):
        limit = trainer.raw("limit_train_batches")
        run.limit_train_batches = limit if isinstance(limit, int) else trainer.number("limit_train_batches")
    if trainer.has("devices") and trainer.raw("devices") not in ("auto", -1):
        run.world_size = trainer.integer("devices", low=1) * trainer.integer("num_nodes", 1, low=1)
    steps = sched.integer("max_steps", -1) if sched.has("max_steps") else trainer.integer("max_steps", -1)
    if steps > 0:
        run.max_steps = steps
    elif trainer.has("max_epochs") and trainer.integer("max_epochs") > 0:
        run.epochs = trainer.integer("max_epochs")
    return run


def _steps(sched: Peer, draft: Draft, keys: tuple[str, str], knob: str) -> int | float | None:
    """NeMo's ``<x>_steps`` or ``int(<x>_ratio x max_steps)``: whole steps, or the ratio itself
    where confsched's floor of the exact decimal is the same (always, while max_steps is unknown)."""
    steps_key, ratio_key = keys
    if sched.has(steps_key) and sched.has(ratio_key):
        raise sched.error(ratio_key, f"set together with {steps_key}; NeMo takes one of them")
    if sched.has(steps_key):
        return sched.integer(steps_key, low=0) or None
    if not sched.has(ratio_key):
        return None
    ratio = sched.number(ratio_key, low=0)
    if not ratio < 1:
        raise sched.error(ratio_key, f"{ratio!r} must be below 1")
    total = total_steps(draft)
    if total is None:
        draft.notes[f"scheduler.{knob}"] = (
            f"NeMo's int({ratio!r} x max_steps), confsched's floor of the exact decimal"
        )
        return ratio
    steps = int(ratio * total)
    same = exact_steps(ratio, total, "floor") == steps
    return ratio if same and knob == "warmup" else steps or None


def _warmup(sched: Peer, draft: Draft, shape: str = "nemo") -> dict[str, Any]:
    warmup = _steps(sched, draft, _WARMUP, "warmup")
    if warmup is None:
        return {}
    knobs: dict[str, Any] = {"warmup": warmup}
    if shape != "linear":
        knobs["warmup_shape"] = shape
    if isinstance(warmup, float):
        knobs["warmup_rounding"] = "floor"
    return knobs


def _hold(sched: Peer, draft: Draft) -> dict[str, Any]:
    hold = _steps(sched, draft, _HOLD, "hold")
    return {} if hold is None else {"hold": hold}


def _min_lr(sched: Peer, default: float = 0.0) -> float:
    return sched.number("min_lr", default, low=0)


def _policy(sched: Peer, draft: Draft) -> dict[str, Any]:
    return {
        "name": "constant",
        **_warmup(sched, draft),
        **_hold(sched, draft),
        "after_run_lr": _min_lr(sched),
    }


def _annealing(power: float, clamp: bool) -> Callable[[Peer, Draft], dict[str, Any]]:
    """SquareAnnealing (power 2) and SquareRootAnnealing (0.5): a polynomial to 0 clamped at
    min_lr; WarmupAnnealing: linear to min_lr."""

    def make(sched: Peer, draft: Draft) -> dict[str, Any]:
        floor = _min_lr(sched, 1e-5 if power == 2.0 else 0.0)
        ends = {"lr_end": 0.0, "floor_lr": floor} if clamp else {"lr_end": floor, "floor_groups": "same"}
        warmup = _warmup(sched, draft)
        if power == 0.5 and warmup:
            warmup["warmup_prefix"] = False  # SquareRootAnnealing decays over the global step
        return {"name": "polynomial", "power": power, **ends, **warmup, "after_run_lr": floor}

    return make


def _cosine(sched: Peer, draft: Draft) -> dict[str, Any]:
    floor = _min_lr(sched)
    constant = _steps(sched, draft, ("constant_steps", "constant_ratio"), "constant")
    if not constant:
        return {
            "name": "cosine_with_min_lr",
            "min_lr": floor,
            "floor_groups": "same",
            **_warmup(sched, draft),
            "after_run_lr": floor,
        }
    # Megatron's cosine: a linear warmup step / W, the cosine to min_lr, min_lr for constant_steps
    total = total_steps(draft)
    warmup = _warmup(sched, draft, "linear")
    if total is None or isinstance(constant, float) or isinstance(warmup.get("warmup"), float):
        raise sched.error(
            "constant_steps", "the cosine's length (max_steps - constant - warmup) needs max_steps"
        )
    lr = draft.optimizer["lr"]
    decay = total - constant - warmup.get("warmup", 0)
    phases = [{"duration": decay, "shape": "cosine", "end": floor / lr}]
    return {"name": "phases", **warmup, "phases": phases, "after_run_lr": floor}


def _noam(sched: Peer, draft: Draft) -> dict[str, Any]:
    section = {"name": "noam", "d_model": sched.integer("d_model", low=1), **_warmup(sched, draft, "linear")}
    return {**section, "floor_lr": _min_lr(sched)}


def _noam_hold(sched: Peer, draft: Draft) -> dict[str, Any]:
    warmup = _warmup(sched, draft)
    if not warmup:
        raise sched.error("warmup_steps", "missing: NeMo's NoamHoldAnnealing needs a warmup")
    floor = _min_lr(sched)
    rate = {"decay_rate": sched.number("decay_rate")} if sched.has("decay_rate") else {}
    return {
        "name": "inverse_sqrt",
        **rate,
        **warmup,
        **_hold(sched, draft),
        "floor_lr": floor,
        "after_run_lr": floor,
    }


def _inverse_sqrt(sched: Peer, draft: Draft) -> dict[str, Any]:
    warmup = _warmup(sched, draft)
    steps = warmup.get("warmup", 0)
    if isinstance(steps, float):
        raise sched.error(
            "warmup_ratio", "the decay's timescale (warmup + 1) needs whole steps: set max_steps"
        )
    return {"name": "inverse_sqrt", "timescale": steps + 1, **warmup, "after_run_lr": _min_lr(sched)}


def _t5(sched: Peer, draft: Draft) -> dict[str, Any]:
    if sched.has("constant_ratio"):
        raise sched.error(
            "constant_ratio",
            "NeMo's T5InverseSquareRootAnnealing fails on it (it reads constant_steps); use constant_steps",
        )
    return {
        "name": "t5_inverse_sqrt",
        "constant_steps": sched.integer("constant_steps", low=1),
        "after_run_lr": _min_lr(sched),
    }


def _polynomial(hold: bool) -> Callable[[Peer, Draft], dict[str, Any]]:
    def make(sched: Peer, draft: Draft) -> dict[str, Any]:
        floor = _min_lr(sched)
        warmup, held = _warmup(sched, draft), _hold(sched, draft) if hold else {}
        if hold and warmup and not held:
            raise sched.error(
                "warmup_steps",
                "with no hold_steps NeMo's PolynomialHoldDecayAnnealing decays on the global step, over "
                "before the warmup ends; confsched decays after the warmup (set hold_steps, or use "
                "PolynomialDecayAnnealing)",
            )
        section: dict[str, Any] = {
            "name": "polynomial",
            "power": sched.number("power", 1.0),
            "lr_end": floor,
            "floor_groups": "same",
        }
        if sched.flag("cycle", False):
            section["cycle"] = True
        return {**section, **warmup, **held, "after_run_lr": floor}

    return make


def _hold_anneal(shape: str) -> Callable[[Peer, Draft], dict[str, Any]]:
    def make(sched: Peer, draft: Draft) -> dict[str, Any]:
        floor = _min_lr(sched)
        knobs = {**_warmup(sched, draft), **_hold(sched, draft), "after_run_lr": floor}
        if shape == "linear":
            return {"name": "polynomial", "power": 1.0, "lr_end": floor, "floor_groups": "same", **knobs}
        return {
            "name": "phases",
            "phases": [{"duration": None, "shape": "1-sqrt", "end": 0.0}],
            "floor_lr": floor,
            **knobs,
        }

    return make


Maker = Callable[[Peer, Draft], dict[str, Any]]

SCHEDULERS: dict[str, tuple[tuple[str, ...], Maker]] = {
    "WarmupPolicy": ((*_WARMUP, "min_lr"), _policy),
    "WarmupHoldPolicy": ((*_WARMUP, *_HOLD, "min_lr"), _policy),
    "WarmupAnnealing": ((*_WARMUP, "min_lr"), _annealing(1.0, clamp=False)),
    "SquareAnnealing": ((*_WARMUP, "min_lr"), _annealing(2.0, clamp=True)),
    "SquareRootAnnealing": ((*_WARMUP, "min_lr"), _annealing(0.5, clamp=True)),
    "CosineAnnealing": ((*_WARMUP, "constant_steps", "constant_ratio", "min_lr"), _cosine),
    "NoamAnnealing": (("d_model", *_WARMUP, "min_lr"), _noam),
    "NoamHoldAnnealing": ((*_WARMUP, *_HOLD, "decay_rate", "min_lr"), _noam_hold),
    "InverseSquareRootAnnealing": ((*_WARMUP, "min_lr"), _inverse_sqrt),
    "T5InverseSquareRootAnnealing": (("constant_steps", "constant_ratio", "min_lr"), _t5),
    "PolynomialDecayAnnealing": ((*_WARMUP, "power", "cycle", "min_lr"), _polynomial(hold=False)),
    "PolynomialHoldDecayAnnealing": ((*_WARMUP, *_HOLD, "power", "cycle", "min_lr"), _polynomial(hold=True)),
    "WarmupHoldAnnealOneMinusSquareRoot": ((*_WARMUP, *_HOLD, "min_lr"), _hold_anneal("1-sqrt")),
    "WarmupHoldAnnealLinear": ((*_WARMUP, *_HOLD, "min_lr"), _hold_anneal("linear")),
}
"""NeMo's scheduler name -> (the ``sched`` keys it takes, its ``scheduler`` section)."""

_TORCH = {
    "StepLR": torch_lr.Every(1, "steps"),
    "CyclicLR": torch_lr.Every(1, "steps"),
    "ExponentialLR": torch_lr.Every(1, "epochs"),
    "ReduceLROnPlateau": torch_lr.Every(1, "epochs"),
}
"""torch's schedulers in NeMo's registry, and how NeMo's Lightning module steps each
(``EPOCH_SCHEDULERS``: once per epoch)."""


# ---- export ---------------------------------------------------------------------------------


def _write(spec: Any) -> dict[str, Any]:
    scheduler = spec.scheduler
    for name, fits in _WRITERS:
        if fits(scheduler):
            return {"optim": {**_optimizer_block(spec), "sched": _sched(spec, name)}}
    raise BridgeError(
        "scheduler.name",
        f"{scheduler.name}: no NeMo scheduler gives it (those that cross: {', '.join(SCHEDULERS)})",
    )


def _sched(spec: Any, name: str) -> dict[str, Any]:
    scheduler, plan = spec.scheduler, spec.plan
    sched: dict[str, Any] = {"name": name, "max_steps": spec.total_steps}
    if spec.warmup_steps:
        sched["warmup_steps"] = spec.warmup_steps
    hold = plan.steps(scheduler.hold)
    if hold:
        sched["hold_steps"] = hold
    floors = [
        scheduler.after_run_lr,
        scheduler.floor_lr,
        getattr(scheduler, "lr_end", None),
        getattr(scheduler, "min_lr", None),
    ]
    sched["min_lr"] = next((f for f in floors if f is not None), 0.0)
    for key in ("power", "d_model", "decay_rate"):
        if key in type(scheduler).model_fields:
            sched[key] = getattr(scheduler, key)
    if getattr(scheduler, "cycle", False):
        sched["cycle"] = True
    if name == "T5InverseSquareRootAnnealing":
        sched = {
            "name": name,
            "max_steps": spec.total_steps,
            "constant_steps": plan.steps(scheduler.constant_steps),
            "min_lr": sched["min_lr"],
        }
    if name == "CosineAnnealing" and scheduler.name == "phases":
        decay = plan.steps(scheduler.phases[0].duration)
        sched["constant_steps"] = spec.total_steps - decay - spec.warmup_steps
    keys, _ = SCHEDULERS[name]
    return {key: value for key, value in sched.items() if key in (*keys, "name", "max_steps")}


def _optimizer_block(spec: Any) -> dict[str, Any]:
    optimizer = spec.optimizer
    if optimizer.name not in _OPTIMIZERS:
        raise BridgeError(
            "optimizer.name", f"{optimizer.name}: not one of NeMo's optimizers ({', '.join(_OPTIMIZERS)})"
        )
    block: dict[str, Any] = {"name": optimizer.name, "lr": spec.lr}
    for key, value in optimizer.torch_kwargs().items():
        block[key] = list(value) if isinstance(value, tuple) else value
    block["weight_decay"] = optimizer.weight_decay
    return block


def _is(family: str, **knobs: Any) -> Callable[[Any], bool]:
    def fits(scheduler: Any) -> bool:
        return scheduler.name == family and all(getattr(scheduler, k, None) == v for k, v in knobs.items())

    return fits


def _phase(shape: str) -> Callable[[Any], bool]:
    return lambda s: s.name == "phases" and len(s.phases) == 1 and s.phases[0].shape == shape


_WRITERS: list[tuple[str, Callable[[Any], bool]]] = [
    ("WarmupPolicy", lambda s: s.name == "constant" and s.hold.amount == 0),
    ("WarmupHoldPolicy", _is("constant")),
    ("SquareAnnealing", _is("polynomial", power=2.0, lr_end=0.0)),
    ("SquareRootAnnealing", _is("polynomial", power=0.5, lr_end=0.0)),
    ("WarmupAnnealing", lambda s: _is("polynomial", power=1.0, cycle=False)(s) and s.hold.amount == 0),
    ("WarmupHoldAnnealLinear", _is("polynomial", power=1.0, cycle=False)),
    ("PolynomialDecayAnnealing", lambda s: s.name == "polynomial" and s.hold.amount == 0),
    ("PolynomialHoldDecayAnnealing", _is("polynomial")),
    ("CosineAnnealing", _is("cosine_with_min_lr")),
    ("CosineAnnealing", _phase("cosine")),
    ("WarmupHoldAnnealOneMinusSquareRoot", _phase("1-sqrt")),
    ("NoamAnnealing", _is("noam")),
    ("InverseSquareRootAnnealing", lambda s: s.name == "inverse_sqrt" and s.timescale is not None),
    ("NoamHoldAnnealing", _is("inverse_sqrt")),
    ("T5InverseSquareRootAnnealing", _is("t5_inverse_sqrt")),
]
"""The NeMo scheduler written for a spec: the first whose family and knobs fit (what else it
cannot say, the export's round trip names)."""

BRIDGE = Bridge("nemo", "NeMo optim config (optim.sched)", _detect, _read, _write)
