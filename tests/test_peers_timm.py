"""timm's own scheduler tests (``tests/test_scheduler.py``), ported onto confsched specs.

Each case is one of timm's parametrisations with its scheduler's arguments as confsched knobs
(``t_initial`` -> ``cycle_length`` or the run, ``lr_min`` -> ``min_lr`` with
``floor_groups: same``, ``warmup_lr_init`` -> ``warmup_start`` as a fraction of the base LR,
``warmup_prefix`` as is, ``noise_range_t`` / ``noise_pct`` / ``noise_seed`` -> ``noise``). Every
step is compared with the installed timm scheduler (stepped with ``step(k)``, timm's stateless
protocol: the LR of step ``k``) to 1e-12 relative, noise included, and timm's own assertion is
kept. timm's optimizer: SGD, every group at 0.1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import confsched
from tests.peers import assert_lrs, ours, reference_optimizer, spec_of, torch_trace
from tests.timm_schedulers import timm_scheduler

BASE = 0.1


@dataclass(frozen=True)
class Timm:
    """A timm scheduler class and its arguments, with the confsched scheduler it ports to."""

    module: str
    cls: str
    kwargs: dict[str, Any]
    scheduler: dict[str, Any]
    total: int

    def spec(self, groups: int = 1) -> confsched.Spec:
        return spec_of(self.scheduler, total=self.total, lrs=(BASE,) * groups)

    def trace(self, steps: int, groups: int = 1) -> np.ndarray:
        """Row k: timm's LRs after ``step(k)`` (``step_update(k)`` when not ``t_in_epochs``)."""
        optimizer = reference_optimizer((BASE,) * groups)
        scheduler = getattr(timm_scheduler(self.module), self.cls)(optimizer, **self.kwargs)
        per_update = self.kwargs.get("t_in_epochs") is False
        rows = []
        for k in range(steps):
            (scheduler.step_update if per_update else scheduler.step)(k)
            rows.append([float(g["lr"]) for g in optimizer.param_groups])
        return np.array(rows)


def cosine(t_initial: int, total: int | None = None, **timm: Any) -> Timm:
    knobs = _cycle_knobs(t_initial, timm)
    return Timm(
        "cosine_lr",
        "CosineLRScheduler",
        {"t_initial": t_initial, **timm},
        {"name": "cosine_cycles", **knobs},
        _total(t_initial, total, timm),
    )


def tanh(t_initial: int, total: int | None = None, **timm: Any) -> Timm:
    knobs = _cycle_knobs(t_initial, timm)
    return Timm(
        "tanh_lr",
        "TanhLRScheduler",
        {"t_initial": t_initial, **timm},
        {"name": "tanh", **knobs},
        _total(t_initial, total, timm),
    )


def poly(t_initial: int, **timm: Any) -> Timm:
    """PolyLRScheduler over t_initial: confsched's polynomial decays over the run, so the run is
    t_initial long (after it both hold lr_min)."""
    knobs = {
        "name": "polynomial",
        "power": timm.get("power", 0.5),
        "lr_end": timm.get("lr_min", 0.0),
        "floor_groups": "same",
    }
    knobs |= {"k_decay": timm["k_decay"]} if "k_decay" in timm else {}
    knobs |= _warmup_knobs(timm, prefix_default=False) | _noise_knobs(timm)
    prefix = timm.get("warmup_prefix", False)
    total = t_initial + (timm.get("warmup_t", 0) if prefix else 0)
    return Timm("poly_lr", "PolyLRScheduler", {"t_initial": t_initial, **timm}, knobs, total)


def step(decay_t: int, total: int = 100, **timm: Any) -> Timm:
    knobs = {"name": "step", "step_size": decay_t, "gamma": timm.get("decay_rate", 1.0)}
    knobs |= _warmup_knobs(timm, prefix_default=True) | _noise_knobs(timm)
    return Timm("step_lr", "StepLRScheduler", {"decay_t": decay_t, **timm}, knobs, total)


def multistep(decay_t: list[int], total: int = 100, **timm: Any) -> Timm:
    """timm's MultiStepLRScheduler cuts at step m - 1 for a milestone m (it counts the milestones
    up to t + 1: ``bisect_right(decay_t, t + 1)``); confsched's milestones are torch's, so a timm
    milestone m is confsched's m - 1."""
    knobs = {
        "name": "multistep",
        "milestones": [m - 1 for m in decay_t],
        "gamma": timm.get("decay_rate", 1.0),
    }
    knobs |= _warmup_knobs(timm, prefix_default=True) | _noise_knobs(timm)
    return Timm("multistep_lr", "MultiStepLRScheduler", {"decay_t": decay_t, **timm}, knobs, total)


def _cycle_knobs(t_initial: int, timm: dict[str, Any]) -> dict[str, Any]:
    knobs: dict[str, Any] = {"cycle_length": t_initial}
    for ours_, theirs in (
        ("cycle_mul", "cycle_mul"),
        ("cycle_decay", "cycle_decay"),
        ("cycle_limit", "cycle_limit"),
    ):
        if theirs in timm:
            knobs[ours_] = timm[theirs]
    if "lr_min" in timm:
        knobs |= {"min_lr": timm["lr_min"], "floor_groups": "same"}
    if "k_decay" in timm:
        knobs["k_decay"] = timm["k_decay"]
    return knobs | _warmup_knobs(timm, prefix_default=False) | _noise_knobs(timm)


def _warmup_knobs(timm: dict[str, Any], *, prefix_default: bool) -> dict[str, Any]:
    if not timm.get("warmup_t"):
        return {}
    prefix = timm.get("warmup_prefix", prefix_default)
    return {
        "warmup": timm["warmup_t"],
        "warmup_start": timm.get("warmup_lr_init", 0.0) / BASE,
        "warmup_prefix": prefix,
    }


def _noise_knobs(timm: dict[str, Any]) -> dict[str, Any]:
    if "noise_range_t" not in timm:
        return {}
    start, end = timm["noise_range_t"]
    return {
        "noise": {
            "start": start,
            "end": end,
            "pct": timm.get("noise_pct", 0.67),
            "seed": timm.get("noise_seed", 42),
            "std": timm.get("noise_std", 1.0),
        }
    }


def _total(t_initial: int, total: int | None, timm: dict[str, Any]) -> int:
    prefix = timm.get("warmup_prefix", False)
    return total or t_initial + (timm.get("warmup_t", 0) if prefix else 0)


def check(case: Timm, steps: int, groups: int = 1) -> np.ndarray:
    """confsched's LRs of ``steps`` steps, equal to timm's within 1e-12 relative."""
    got = ours(case.spec(groups), steps)
    assert_lrs(got, case.trace(steps, groups), rtol=1e-12)
    return got[:, 0]


FIVE = [
    ("CosineLRScheduler", lambda **k: cosine(100, **k)),
    ("StepLRScheduler", lambda **k: step(10, **k)),
    ("MultiStepLRScheduler", lambda **k: multistep([10, 20, 30], **k)),
    ("PolyLRScheduler", lambda **k: poly(100, **k)),
    ("TanhLRScheduler", lambda **k: tanh(100, **k)),
]
NAMES = [name for name, _ in FIVE]


@pytest.mark.parametrize(("name", "make"), FIVE, ids=NAMES)
def test_scheduler_init_and_step(name: str, make: Callable[..., Timm]) -> None:
    """TestSchedulerBasics: the scheduler builds, and after 10 epochs the LR is not above the start."""
    lrs = check(make(), 10)
    assert lrs[-1] <= BASE


def test_plateau_scheduler_step() -> None:
    """PlateauLRScheduler(patience_t=2, decay_rate=0.5), metric 1.0 for 10 epochs (mode max, timm's
    default). timm wraps torch's ReduceLROnPlateau; its step(0) without warmup sets the LR to
    warmup_lr_init (0), which timm's own loop never calls (it steps epoch + 1), so torch's plateau
    is the reference of the values: the first update sets the best, then the LR halves after
    every 3 flat updates."""
    spec = spec_of(
        {"name": "reduce_lr_on_plateau", "mode": "max", "patience": 2, "factor": 0.5}, total=10, lrs=(BASE,)
    )
    got = ours(spec, 11, [1.0] * 10)[:, 0]
    assert got.tolist() == [0.1] * 4 + [0.05] * 3 + [0.025] * 3 + [0.0125]
    optimizer = reference_optimizer((BASE,))
    torch_plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=2, factor=0.5)
    assert got.tolist() == torch_trace(optimizer, [torch_plateau], 11, [1.0] * 11)[:, 0].tolist()


@pytest.mark.parametrize(("name", "make"), FIVE, ids=NAMES)
def test_warmup_lr_increases(name: str, make: Callable[..., Timm]) -> None:
    """TestWarmup: warmup_t=5 from warmup_lr_init=0.001 (timm's default warmup_prefix per class)."""
    lrs = check(make(warmup_t=5, warmup_lr_init=0.001), 8)
    assert lrs[0] == pytest.approx(0.001, rel=1e-5)
    assert (np.diff(lrs[:5]) > 0).all()


@pytest.mark.parametrize(("name", "make"), FIVE, ids=NAMES)
def test_warmup_prefix_reaches_target_lr(name: str, make: Callable[..., Timm]) -> None:
    kwargs = {"decay_rate": 0.5} if name in ("StepLRScheduler", "MultiStepLRScheduler") else {}
    lrs = check(make(warmup_t=5, warmup_lr_init=0.001, warmup_prefix=True, **kwargs), 8)
    if name == "TanhLRScheduler":  # timm's test: approx(base) at 1e-5; tanh starts at (1 - tanh(-7))/2
        assert lrs[5] == pytest.approx(BASE, rel=1e-5)
    else:
        assert lrs[5] == BASE


def test_cosine_decay() -> None:
    lrs = check(cosine(100, lr_min=0.001), 101)
    assert lrs[0] == pytest.approx(BASE, rel=1e-5)
    assert lrs[50] == pytest.approx(0.001 + 0.5 * (BASE - 0.001) * (1 + math.cos(math.pi * 0.5)), rel=1e-2)
    assert lrs[100] == pytest.approx(0.001, rel=1e-5)


def test_cosine_cycles() -> None:
    lrs = check(cosine(50, total=110, lr_min=0.001, cycle_limit=2), 110)
    assert lrs[49] < BASE * 0.5
    assert lrs[100:] == pytest.approx([0.001] * 10, rel=1e-5)


def test_step_decay() -> None:
    lrs = check(step(10, decay_rate=0.5), 21)
    assert (lrs[9], lrs[10], lrs[20]) == pytest.approx((BASE, BASE * 0.5, BASE * 0.25), rel=1e-5)


def test_multistep_decay() -> None:
    lrs = check(multistep([10, 20, 30], decay_rate=0.5), 32)
    assert lrs[8] == pytest.approx(BASE, rel=1e-5)
    assert (lrs[11], lrs[21], lrs[31]) == pytest.approx((BASE * 0.5, BASE * 0.25, BASE * 0.125), rel=1e-5)
    assert lrs[9] == BASE * 0.5  # timm: one step before its milestone


def test_poly_decay() -> None:
    lrs = check(poly(100, lr_min=0.001, power=1.0), 101)
    assert lrs[0] == pytest.approx(BASE, rel=1e-5)
    assert lrs[100] == pytest.approx(0.001, rel=1e-5)


def test_tanh_decay() -> None:
    lrs = check(tanh(100, lr_min=0.001), 101)
    assert lrs[-1] < lrs[0]


@pytest.mark.parametrize(("name", "make"), FIVE, ids=NAMES)
def test_state_dict_save_load(name: str, make: Callable[..., Timm]) -> None:
    """TestStateDict: 5 steps, save, load into a fresh pair; here also: the next steps agree."""
    spec = make().spec()
    optimizer, scheduler = confsched.build(spec, _layers())
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    optimizer2, scheduler2 = confsched.build(spec, _layers())
    scheduler2.load_state_dict(state)
    assert scheduler2.state_dict() == state
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        optimizer2.step()
        scheduler2.step()
        assert scheduler2.get_last_lr() == scheduler.get_last_lr()


def test_plateau_state_dict_save_load() -> None:
    spec = spec_of({"name": "reduce_lr_on_plateau", "mode": "max"}, total=10, lrs=(BASE,))
    optimizer, scheduler = confsched.build(spec, _layers())
    for _ in range(5):
        optimizer.step()
        scheduler.step(1.0)
    state = scheduler.state_dict()
    _, scheduler2 = confsched.build(spec, _layers())
    scheduler2.load_state_dict(state)
    assert scheduler2.state_dict() == state


STEP_UPDATE = [
    ("CosineLRScheduler", lambda: cosine(100, t_in_epochs=False)),
    ("StepLRScheduler", lambda: step(10, decay_rate=0.5, t_in_epochs=False)),
    ("MultiStepLRScheduler", lambda: multistep([10, 20, 30], decay_rate=0.5, t_in_epochs=False)),
    ("PolyLRScheduler", lambda: poly(100, t_in_epochs=False)),
    ("TanhLRScheduler", lambda: tanh(100, t_in_epochs=False)),
]


@pytest.mark.parametrize(("name", "make"), STEP_UPDATE, ids=[n for n, _ in STEP_UPDATE])
def test_step_update_with_t_in_epochs_false(name: str, make: Callable[[], Timm]) -> None:
    """TestStepUpdate: per-update scheduling; the LR has changed after 50 updates."""
    case = make()
    case = Timm(
        case.module,
        case.cls,
        case.kwargs,
        {k: v for k, v in case.scheduler.items() if k != "t_in_epochs"},
        case.total,
    )
    lrs = check(case, 51)
    assert lrs[50] != lrs[0]


@pytest.mark.parametrize(("name", "make"), FIVE, ids=NAMES)
def test_multiple_param_groups(name: str, make: Callable[..., Timm]) -> None:
    got = ours(make().spec(3), 20)
    assert_lrs(got, make().trace(20, 3), rtol=1e-12)
    assert (got[-1] <= got[0]).all()


NOISE = [
    ("CosineLRScheduler", lambda **k: cosine(100, **k)),
    ("StepLRScheduler", lambda **k: step(10, **k)),
    ("PolyLRScheduler", lambda **k: poly(100, **k)),
    ("TanhLRScheduler", lambda **k: tanh(100, **k)),
]


@pytest.mark.parametrize(("name", "make"), NOISE, ids=[n for n, _ in NOISE])
def test_noise_range(name: str, make: Callable[..., Timm]) -> None:
    """TestNoise: noise_range_t=(10, 50), noise_pct=0.5, noise_seed=42, 60 epochs: timm's own
    draws, step for step (the same generator stream), and the same again on a second run."""
    case = make(noise_range_t=(10, 50), noise_pct=0.5, noise_seed=42)
    first = check(case, 60)
    assert ours(case.spec(), 60)[:, 0].tolist() == first.tolist()
    clean = ours(make().spec(), 60)[:, 0]
    noisy = first != clean
    assert noisy.tolist() == [False] * 10 + [True] * 40 + [False] * 10
    assert (np.abs(first / clean - 1)[10:50] < 0.5).all()


def test_noise_std_scales_each_normal_draw_before_the_pct_test() -> None:
    """timm's noise_std (``randn(...).item() * noise_std``, then redrawn until below noise_pct):
    the same draws as timm's step for step, and other draws than with std 1."""
    case = cosine(100, noise_range_t=(10, 90), noise_pct=0.3, noise_seed=5, noise_std=0.2)
    scaled = check(case, 100)
    standard = ours(cosine(100, noise_range_t=(10, 90), noise_pct=0.3, noise_seed=5).spec(), 100)
    assert (scaled[10:90] != standard[10:90, 0]).all()


def test_uniform_noise() -> None:
    """timm's uniform noise (its base class's noise_type; set on the scheduler, as only
    PlateauLRScheduler takes it as an argument): the same draws, step for step."""
    case = cosine(100, noise_range_t=(10, 90), noise_pct=0.4, noise_seed=3)
    scheduler = {**case.scheduler, "noise": {**case.scheduler["noise"], "type": "uniform"}}
    got = ours(spec_of(scheduler, total=100, lrs=(BASE,)), 100)
    optimizer = reference_optimizer((BASE,))
    reference = timm_scheduler("cosine_lr").CosineLRScheduler(optimizer, **case.kwargs)
    reference.noise_type = "uniform"
    theirs = []
    for k in range(100):
        reference.step(k)
        theirs.append([optimizer.param_groups[0]["lr"]])
    assert_lrs(got, theirs, rtol=1e-12)


@pytest.mark.parametrize("uniform", [False, True])
def test_noise_resumes_exactly(uniform: bool) -> None:
    """timm seeds every step (noise_seed + t): a scheduler resumed mid-noise draws the same."""
    noise = {"start": 5, "end": 80, "pct": 0.3, "seed": 7, "type": "uniform" if uniform else "normal"}
    spec = spec_of({"name": "cosine", "noise": noise}, total=100, lrs=(BASE,))
    whole = ours(spec, 100)
    optimizer, scheduler = confsched.build(spec, _layers())
    for _ in range(40):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    optimizer2, scheduler2 = confsched.build(spec, _layers())
    scheduler2.load_state_dict(state)
    rest = []
    for _ in range(40, 100):
        rest.append(scheduler2.get_last_lr()[0])
        optimizer2.step()
        scheduler2.step()
    assert rest == whole[40:, 0].tolist()


@pytest.mark.parametrize(
    "make", [lambda **k: cosine(100, **k), lambda **k: poly(100, **k)], ids=["cosine", "poly"]
)
def test_k_decay(make: Callable[..., Timm]) -> None:
    k1, k2 = check(make(k_decay=1.0), 100), check(make(k_decay=2.0), 100)
    assert k1[50] != k2[50]


def _layers() -> Any:
    from tests.conftest import layers

    return layers(1)


PORTED = 6 + 5 + 5 + 5 + 1 + 1 + 1 + 1 + 1 + 1 + 5 + 1 + 5 + 5 + 4 + 2
"""timm test cases ported: init (6) and step (5), warmup (5 + 5), cosine decay / cycles, step,
multistep, poly, tanh, state dicts (5 + 1), step_update (5), groups (5), noise (4), k-decay (2)."""
