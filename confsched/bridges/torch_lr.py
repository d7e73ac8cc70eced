"""torch's optimizers and ``torch.optim.lr_scheduler`` classes named in a config, as confsched sections.

Lightning (a ``class_path``), DeepSpeed (a ``scheduler.type`` that is not its own) and NeMo
(``StepLR``, ``ExponentialLR``, ``CyclicLR``, ``ReduceLROnPlateau``) build torch's classes from a
config. :data:`SCHEDULERS` maps each class and its keyword arguments to a ``scheduler`` section, the
rows of ``docs/migrating.md``'s torch table (``tests/test_bridges.py`` checks them against it).

How often the peer calls ``scheduler.step()`` is :class:`Every`: once per optimizer step gives
torch's curve itself; every ``n`` steps or epochs (Lightning's ``interval`` and ``frequency``) gives
a staircase, which confsched draws only for the classes whose LR changes at whole counts of
``step()`` anyway (step, multistep, exponential with a staircase, constant): their durations become
``n`` steps or ``"n ep"``. torch schedulers are exact on every group when stepped once per step; a
``lambda`` (LambdaLR, MultiplicativeLR) runs code and has no equivalent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from confsched.bridges.core import Peer

__all__ = ["SCHEDULERS", "Every", "optimizer_of", "scheduler_of"]


@dataclass(frozen=True)
class Every:
    """How often the peer calls ``scheduler.step()``: every ``count`` optimizer steps or epochs."""

    count: int = 1
    unit: Literal["steps", "epochs"] = "steps"

    @property
    def per_step(self) -> bool:
        return self.unit == "steps" and self.count == 1

    def duration(self, calls: int) -> int | str:
        """``calls`` calls of ``step()`` as a confsched duration (steps, or ``"N ep"``)."""
        n = calls * self.count
        return n if self.unit == "steps" else f"{n}ep"

    def __str__(self) -> str:
        unit = self.unit.rstrip("s") if self.count == 1 else self.unit
        return f"once per {unit}" if self.count == 1 else f"every {self.count} {unit}"


Maker = Callable[[Peer, Every, "int | None"], dict[str, Any]]


def _step(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("step_size", "gamma", "last_epoch"), "StepLR")
    size = args.integer("step_size", low=1)
    return {"name": "step", "step_size": every.duration(size), "gamma": args.number("gamma", 0.1)}


def _multistep(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("milestones", "gamma", "last_epoch"), "MultiStepLR")
    milestones = [int(m) for m in args.numbers("milestones")]
    if not milestones:
        raise args.error("milestones", "[]: give at least one milestone")
    return {
        "name": "multistep",
        "milestones": [every.duration(m) for m in milestones],
        "gamma": args.number("gamma", 0.1),
    }


def _exponential(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("gamma", "last_epoch"), "ExponentialLR")
    section: dict[str, Any] = {"name": "exponential", "gamma": args.number("gamma")}
    if not every.per_step:
        section.update(period=every.duration(1), staircase=True)
    return section


def _constant(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("factor", "total_iters", "last_epoch"), "ConstantLR")
    factor, iters = args.number("factor", 1.0 / 3), args.integer("total_iters", 5, low=0)
    return {
        "name": "constant",
        "warmup": every.duration(iters),
        "warmup_shape": "constant",
        "warmup_start": factor,
    }


def _linear(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("start_factor", "end_factor", "total_iters", "last_epoch"), "LinearLR")
    start, end = args.number("start_factor", 1.0 / 3), args.number("end_factor", 1.0)
    iters = args.integer("total_iters", 5, low=0)
    if end == 1.0:
        return {"name": "constant", "warmup": iters, "warmup_start": start}
    return {"name": "phases", "phases": [{"duration": iters, "shape": "linear", "start": start, "end": end}]}


def _polynomial(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("total_iters", "power", "last_epoch"), "PolynomialLR")
    iters, power = args.integer("total_iters", 5, low=1), args.number("power", 1.0)
    if run == iters:
        return {"name": "polynomial", "power": power, "lr_end": 0.0}
    return {
        "name": "phases",
        "phases": [{"duration": iters, "shape": "polynomial", "power": power, "end": 0.0}],
    }


def _cosine(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("T_max", "eta_min", "last_epoch"), "CosineAnnealingLR")
    t_max = args.integer("T_max", low=1)
    section: dict[str, Any] = {
        "name": "cosine_with_min_lr",
        "min_lr": args.number("eta_min", 0.0),
        "floor_groups": "same",
    }
    if run != t_max:
        if run is None:
            raise args.error(
                "T_max", f"{t_max}: the cosine's place in the run needs the run's length (--max-steps)"
            )
        section["num_cycles"] = run / (2 * t_max)
    return section


def _warm_restarts(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    args.only(("T_0", "T_mult", "eta_min", "last_epoch"), "CosineAnnealingWarmRestarts")
    t0, mult = args.integer("T_0", low=1), args.integer("T_mult", 1, low=1)
    if run is None:
        raise args.error("T_0", f"{t0}: the number of restarts in the run needs its length (--max-steps)")
    cycles, length, covered = 0, t0, 0
    while covered <= run:
        covered, length, cycles = covered + length, length * mult, cycles + 1
    return {
        "name": "cosine_cycles",
        "cycle_length": t0,
        "cycle_mul": mult,
        "cycle_limit": cycles,
        "min_lr": args.number("eta_min", 0.0),
        "floor_groups": "same",
    }


def _cyclic(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    known = ("base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma", "cycle_momentum")
    args.only((*known, "base_momentum", "max_momentum", "last_epoch"), "CyclicLR")
    section: dict[str, Any] = {
        "name": "cyclic",
        "max_lr": args.number("max_lr"),
        "base_lr": args.number("base_lr"),
    }
    for key in ("step_size_up", "step_size_down"):
        if args.has(key):
            section[key] = args.integer(key, low=1)
    for key in ("mode", "gamma", "cycle_momentum", "base_momentum", "max_momentum"):
        if args.has(key):
            section[key] = args.raw(key)
    return section


def _one_cycle(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    keys = (
        "max_lr",
        "total_steps",
        "epochs",
        "steps_per_epoch",
        "pct_start",
        "anneal_strategy",
        "cycle_momentum",
    )
    more = ("base_momentum", "max_momentum", "div_factor", "final_div_factor", "three_phase", "last_epoch")
    args.only((*keys, *more), "OneCycleLR")
    total = (
        args.integer("total_steps", low=1)
        if args.has("total_steps")
        else args.integer("epochs", low=1) * args.integer("steps_per_epoch", low=1)
    )
    if run is not None and run != total:
        raise args.error(
            "total_steps",
            f"{total}: OneCycleLR covers {total} steps, the run has {run}; "
            "confsched's one_cycle covers the run",
        )
    section: dict[str, Any] = {"name": "one_cycle", "max_lr": args.number("max_lr")}
    for key in (*keys[4:], *more[:-1]):
        if args.has(key):
            section[key] = args.raw(key)
    return section


def _plateau(args: Peer, every: Every, run: int | None) -> dict[str, Any]:
    keys = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")
    args.only(keys, "ReduceLROnPlateau")
    return {"name": "reduce_lr_on_plateau", **{key: args.raw(key) for key in keys if args.has(key)}}


SCHEDULERS: dict[str, tuple[Maker, bool]] = {
    "StepLR": (_step, True),
    "MultiStepLR": (_multistep, True),
    "ExponentialLR": (_exponential, True),
    "ConstantLR": (_constant, True),
    "LinearLR": (_linear, False),
    "PolynomialLR": (_polynomial, False),
    "CosineAnnealingLR": (_cosine, False),
    "CosineAnnealingWarmRestarts": (_warm_restarts, False),
    "CyclicLR": (_cyclic, False),
    "OneCycleLR": (_one_cycle, False),
    "ReduceLROnPlateau": (_plateau, True),
}
"""torch class name -> (its ``scheduler`` section, whether a staircase of it is one too)."""

_CODE = ("LambdaLR", "MultiplicativeLR")


def scheduler_of(
    peer: Peer, key: str, name: str, args: Peer, every: Every, run: int | None
) -> dict[str, Any]:
    """The ``scheduler`` section for torch's ``name`` with ``args``, stepped ``every``; ``key`` is
    where the peer's config names the class (for errors)."""
    short = name.rsplit(".", 1)[-1]
    if short in _CODE:
        raise peer.error(
            key,
            f"{name}: a lambda runs code, a config does not; write the curve as piecewise knots or phases",
        )
    if short not in SCHEDULERS or not name.startswith(("torch.optim.lr_scheduler.", short)):
        raise peer.error(key, f"{name!r} has no confsched family (those that cross: {', '.join(SCHEDULERS)})")
    make, staircase = SCHEDULERS[short]
    if not every.per_step and not staircase:
        raise peer.error(
            key,
            f"{short} stepped {every} changes the LR in a staircase confsched does not draw; step it "
            "once per optimizer step (interval: step, frequency: 1)",
        )
    return make(args, every, run)


_IMPLEMENTATION = ("foreach", "fused", "capturable", "differentiable")
"""torch optimizer arguments that choose a kernel, not the math."""


def optimizer_of(peer: Peer, key: str, name: str, args: Peer) -> dict[str, Any]:
    """The ``optimizer`` section for torch's optimizer class ``name`` with ``args``."""
    from confsched.spec.optimizer import OPTIMIZERS

    by_class = {
        entry.target.rsplit(".", 1)[-1]: n for n, entry in OPTIMIZERS.items() if entry.optimizer_class is None
    }
    short = name.rsplit(".", 1)[-1]
    if short not in by_class or not name.startswith(("torch.optim.", short)):
        raise peer.error(
            key, f"{name!r} is not one of torch's optimizers confsched builds ({', '.join(by_class)})"
        )
    args.same("maximize", False, False, "confsched minimises")
    section: dict[str, Any] = {"name": by_class[short]}
    for arg, value in args.data.items():
        if arg not in (*_IMPLEMENTATION, "maximize", "params") and value is not None:
            section[arg] = list(value) if isinstance(value, tuple) else value
    section.setdefault("lr", _DEFAULT_LR[section["name"]])
    return section


_DEFAULT_LR = {"sgd": 1e-3, "adam": 1e-3, "adamw": 1e-3, "adamax": 2e-3, "nadam": 2e-3, "radam": 1e-3}
_DEFAULT_LR |= {"adagrad": 1e-2, "rmsprop": 1e-2}
"""torch's default ``lr`` of each optimizer."""


def torch_class(spec: Any) -> tuple[str, dict[str, Any]]:
    """torch's class and keyword arguments for a spec's step, multistep, exponential or one_cycle
    family, stepped once per optimizer step (what they cannot say, the export's round trip names)."""
    scheduler, plan = spec.scheduler, spec.plan
    if scheduler.name == "step":
        return "StepLR", {"step_size": plan.steps(scheduler.step_size), "gamma": scheduler.gamma}
    if scheduler.name == "multistep":
        return "MultiStepLR", {
            "milestones": sorted(plan.steps(m) for m in scheduler.milestones),
            "gamma": scheduler.gamma,
        }
    if scheduler.name == "exponential":
        return "ExponentialLR", {"gamma": scheduler.gamma}
    knobs = (
        "pct_start",
        "anneal_strategy",
        "div_factor",
        "final_div_factor",
        "three_phase",
        "cycle_momentum",
    )
    args = {"max_lr": scheduler.max_lr or spec.lr, "total_steps": spec.total_steps}
    args |= {key: getattr(scheduler, key) for key in (*knobs, "base_momentum", "max_momentum")}
    return "OneCycleLR", args
