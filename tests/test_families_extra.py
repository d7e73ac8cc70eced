"""The families beyond transformers: cosine_cycles, step, multistep, exponential, one_cycle,
piecewise, phases, and the warmup knobs (warmup_shape, warmup_start) of every family.

Four kinds of test: the contract over every step-driven family of the registry (closed form ==
stepped torch scheduler, finite, non-negative, pickles, bit-exact resume, momentum included); parity
with the reference implementation (timm's CosineLRScheduler, torch's StepLR / MultiStepLR /
ExponentialLR / OneCycleLR / LinearLR, transformers' WSD) to 1e-12 relative; literal hand-derived
values where there is no reference (piecewise, phases, warmup shapes); and a table of bad configs
with their one-line errors.
"""

from __future__ import annotations

import copy
import math
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch.optim import lr_scheduler as torch_lr

import confsched
from confsched import FAMILIES, ScheduleOverrunWarning
from tests.timm_schedulers import timm_scheduler

ROOT = Path(__file__).resolve().parents[1]
SCHEDULER_CONF = ROOT / "conf" / "scheduler"
GALLERY = ROOT / "docs" / "gallery"
STEP_FAMILIES = sorted(name for name, family in FAMILIES.items() if family.driven_by == "step")
WARMUP_KNOBS = {"warmup_shape", "warmup_start"}
GENERIC_KNOBS = {"warmup_prefix", "warmup_rounding", "hold", "floor_lr", "after_run_lr", "noise"}
"""Knobs of every family, documented once (docs/families.md, "Knobs of every family") and left out of the
per-family configs."""

BASE: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "data": {"dataset_size": 1235, "batch_size": 32},
    "training": {"epochs": 50},
}
"""The worked example without its scheduler: 39 steps per epoch, 1950 steps."""
GROUPS = [
    {"name": "head", "params": ["1.*"], "lr_scale": 0.1},
    {"name": "first_bias", "params": ["0.bias"], "lr": 3e-3},
]
"""With :func:`model`: three LR groups (default, head, first_bias) at three base LRs."""


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))


def make(scheduler: dict[str, Any], *, groups: int = 1, **sections: Any) -> confsched.Spec:
    """The worked example with ``scheduler``, ``groups`` LR groups and other sections replaced."""
    data = copy.deepcopy(BASE)
    data["scheduler"] = scheduler
    data["optimizer"]["groups"] = GROUPS[: groups - 1]
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return confsched.validate(data)


def shipped(name: str) -> dict[str, Any]:
    """The scheduler section of ``conf/scheduler/<name>.yaml``."""
    loaded: dict[str, Any] = yaml.safe_load((SCHEDULER_CONF / f"{name}.yaml").read_text())
    return loaded


def reference_optimizer(spec: confsched.Spec, cls: type[torch.optim.Optimizer] = torch.optim.SGD, **kw: Any):
    """A fresh optimizer with one param group per LR group of ``spec``, at the same base LRs."""
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": spec.group_base_lrs[name]}
        for name in spec.group_names
    ]
    return cls(groups, **kw)


def lr_of(group: dict[str, Any]) -> float:
    return float(group["lr"])


def momentum_of(group: dict[str, Any]) -> float:
    return float(group["betas"][0] if "betas" in group else group["momentum"])


def trace(
    optimizer: torch.optim.Optimizer,
    advance: Callable[[int], object],
    steps: int,
    read: Callable[[dict[str, Any]], Any] = lr_of,
) -> np.ndarray:
    """Row k: what every group uses for optimizer step k; ``advance(k + 1)`` after each step."""
    rows = []
    for k in range(steps):
        rows.append([read(group) for group in optimizer.param_groups])
        optimizer.step()
        advance(k + 1)
    return np.array(rows)


def assert_close(ours: np.ndarray, theirs: np.ndarray, *, rtol: float = 1e-12, atol: float = 0.0) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# ---- the contract, over every step-driven family of the registry -------------------------------


def run_ours(spec: confsched.Spec, steps: int, start: int = 0, state: Any = None):
    """Build the pair, optionally load ``state``, step to ``steps``; LRs and momenta per step."""
    optimizer, scheduler = confsched.build(spec, model())
    if state is not None:
        optimizer.load_state_dict(state[0])
        scheduler.load_state_dict(state[1])
    lrs, momenta, saved = [], [], None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScheduleOverrunWarning)
        for k in range(start, steps):
            if k == steps // 2:
                saved = (copy.deepcopy(optimizer.state_dict()), copy.deepcopy(scheduler.state_dict()))
            lrs.append(scheduler.get_last_lr())
            momenta.append([momentum_of(g) for g in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
    overruns = [w for w in caught if issubclass(w.category, ScheduleOverrunWarning)]
    return np.array(lrs), np.array(momenta), saved, scheduler, len(overruns)


@pytest.mark.parametrize("name", STEP_FAMILIES)
def test_every_family_closed_form_equals_the_stepped_scheduler(name: str) -> None:
    spec = make(shipped(name), groups=3)
    total = spec.total_steps
    steps = total + 20
    curve = confsched.lr_curve(spec, steps)
    lrs, momenta, saved, scheduler, overruns = run_ours(spec, steps)

    assert np.array_equal(lrs, curve)  # bit for bit, every group, every step to total + 20
    assert np.isfinite(curve).all()
    assert (curve >= 0).all()
    assert overruns == 1  # warned once, past the planned total
    momentum = confsched.momentum_curve(spec, steps)
    if momentum is not None:
        assert np.array_equal(momenta, momentum)

    resumed, resumed_momenta, _, _, _ = run_ours(spec, steps, start=steps // 2, state=saved)
    assert np.array_equal(resumed, curve[steps // 2 :])
    if momentum is not None:
        assert np.array_equal(resumed_momenta, momentum[steps // 2 :])

    clone = pickle.loads(pickle.dumps(scheduler))
    assert clone.get_last_lr() == scheduler.get_last_lr()
    schedule = spec.schedule
    assert callable(schedule)
    assert np.array_equal(pickle.loads(pickle.dumps(schedule))(np.arange(steps)), schedule(np.arange(steps)))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_has_a_complete_config(name: str) -> None:
    """``conf/scheduler/<name>.yaml`` validates, lists every knob the family uses, comments each."""
    text = (SCHEDULER_CONF / f"{name}.yaml").read_text()
    config = yaml.safe_load(text)
    spec = make(config)
    fields = set(type(spec.scheduler).model_fields)
    assert set(config) <= fields
    assert fields - set(config) <= WARMUP_KNOBS | GENERIC_KNOBS
    if (fields - set(config)) & WARMUP_KNOBS:  # a family whose config leaves them out refuses them
        with pytest.raises(confsched.SpecError, match=r"^scheduler\.warmup_shape: 'cosine': "):
            make({**config, "warmup_shape": "cosine"})
    for line in text.splitlines()[1:]:  # the first line says what the family is; name: follows it
        if line.strip() and not line.lstrip().startswith(("#", "name:")) and ":" in line:
            assert "#" in line, f"{name}.yaml: uncommented key: {line}"


def test_every_step_family_has_a_gallery_plot() -> None:
    missing = [name for name in STEP_FAMILIES if not (GALLERY / f"{name}.png").is_file()]
    assert not missing, f"run `python docs/gallery.py` to draw {missing}"


# ---- warmup: shapes, start, and transformers' numbers by default --------------------------------


def test_default_warmup_knobs_keep_transformers_numbers_bit_for_bit() -> None:
    transformers = pytest.importorskip("transformers")
    explicit = make({"name": "cosine", "warmup": 100, "warmup_shape": "linear", "warmup_start": 0.0})
    implicit = make({"name": "cosine", "warmup": 100})
    optimizer = reference_optimizer(explicit, torch.optim.AdamW)
    reference = transformers.get_scheduler("cosine", optimizer, num_warmup_steps=100, num_training_steps=1950)
    theirs = trace(optimizer, lambda _: reference.step(), 1970)
    assert np.array_equal(confsched.lr_curve(explicit, 1970), theirs)
    assert np.array_equal(confsched.lr_curve(implicit, 1970), theirs)


_P = np.arange(4) / 4
WARMUP_SHAPES = {
    "linear": 0.2 + 0.8 * _P,
    "cosine": 0.2 + 0.8 * 0.5 * (1 - np.cos(np.pi * _P)),
    "1-sqrt": 0.2 + 0.8 * (1 - np.sqrt(1 - _P)),
    "exponential": 0.2 ** (1 - _P),
    "constant": np.full(4, 0.2),
}


@pytest.mark.parametrize(("shape", "expected"), WARMUP_SHAPES.items())
def test_warmup_shapes_from_warmup_start(shape: str, expected: np.ndarray) -> None:
    scheduler = {"name": "constant", "warmup": 4, "warmup_shape": shape, "warmup_start": 0.2}
    curve = confsched.lr_curve(make(scheduler, groups=2), 8)
    np.testing.assert_allclose(curve[:4, 0], 1e-3 * expected, rtol=1e-15)
    np.testing.assert_allclose(curve[:4, 1], 1e-4 * expected, rtol=1e-15)
    assert (curve[4:] == [1e-3, 1e-4]).all()


def test_linear_warmup_start_matches_torch_linear_lr_then_step_lr() -> None:
    spec = make(
        {"name": "step", "warmup": 50, "warmup_start": 0.25, "step_size": 100, "gamma": 0.5}, groups=3
    )
    optimizer = reference_optimizer(spec)
    warmup = torch_lr.LinearLR(optimizer, start_factor=0.25, total_iters=50)
    steps = torch_lr.StepLR(optimizer, step_size=100, gamma=0.5)
    reference = torch_lr.SequentialLR(optimizer, [warmup, steps], milestones=[50])
    theirs = trace(optimizer, lambda _: reference.step(), 1970)
    assert_close(confsched.lr_curve(spec, 1970), theirs)


def test_warmup_precedes_the_curve_of_every_family() -> None:
    """Knots, milestones and phases count from the end of the warmup."""
    scheduler = {"name": "multistep", "warmup": 10, "milestones": [5], "gamma": 0.5}
    spec = make(scheduler, training={"max_steps": 20})
    expected = [1e-4 * k for k in range(10)] + [1e-3] * 5 + [5e-4] * 5
    assert confsched.lr_curve(spec)[:, 0].tolist() == pytest.approx(expected, rel=1e-15)


# ---- cosine_cycles: timm's CosineLRScheduler ----------------------------------------------------


def timm_trace(spec: confsched.Spec, steps: int, **kwargs: Any) -> np.ndarray:
    """LRs of timm's CosineLRScheduler stepped with ``step_update(num_updates)`` after each step."""
    cosine_lr = timm_scheduler("cosine_lr")
    optimizer = reference_optimizer(spec)
    reference = cosine_lr.CosineLRScheduler(optimizer, t_in_epochs=False, warmup_prefix=True, **kwargs)
    reference.step_update(0)
    return trace(optimizer, reference.step_update, steps)


COSINE_CYCLES = [
    # (our knobs, timm's kwargs, groups): lr_min / warmup_lr_init are absolute in timm, a fraction of
    # each base LR here; the two agree for the default group, and for every group when they are 0.
    ({}, {"t_initial": 1950}, 3),
    ({"warmup": 100}, {"t_initial": 1850, "warmup_t": 100}, 3),
    ({"cycle_length": "10ep", "cycle_limit": 4}, {"t_initial": 390, "cycle_limit": 4}, 3),
    (
        {"cycle_length": 200, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 5, "min_lr": 1e-5},
        {"t_initial": 200, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 5, "lr_min": 1e-5},
        1,
    ),
    (
        {"warmup": "5%", "warmup_start": 0.1, "cycle_length": "15%", "cycle_mul": 1.5, "cycle_limit": 9},
        {"t_initial": 293, "cycle_mul": 1.5, "cycle_limit": 9, "warmup_t": 98, "warmup_lr_init": 1e-4},
        1,
    ),
    (
        {"cycle_length": 117, "cycle_mul": 1.3, "cycle_decay": 0.8, "cycle_limit": 7, "k_decay": 2.0},
        {"t_initial": 117, "cycle_mul": 1.3, "cycle_decay": 0.8, "cycle_limit": 7, "k_decay": 2.0},
        3,
    ),
    (
        {"cycle_length": 300, "cycle_limit": 10, "k_decay": 0.5, "min_lr_rate": 0.1},
        {"t_initial": 300, "cycle_limit": 10, "k_decay": 0.5, "lr_min": 1e-4},
        1,
    ),
]


@pytest.mark.parametrize(("knobs", "timm_kwargs", "groups"), COSINE_CYCLES)
def test_cosine_cycles_matches_timm(knobs: dict[str, Any], timm_kwargs: dict[str, Any], groups: int) -> None:
    spec = make({"name": "cosine_cycles", **knobs}, groups=groups)
    assert_close(confsched.lr_curve(spec, 1970), timm_trace(spec, 1970, **timm_kwargs))


def test_cosine_cycles_restarts_on_time_where_timm_is_one_step_late() -> None:
    """L = 7, mul = 3: cycle 5 starts at 7 (3^5 - 1) / 2 = 847. timm's log_3(243) is a hair below 5,
    so timm puts step 847 at the end of cycle 4 (the floor) and restarts at 848."""
    spec = make(
        {"name": "cosine_cycles", "cycle_length": 7, "cycle_mul": 3.0, "cycle_decay": 0.5, "cycle_limit": 9},
        training={"max_steps": 900},
    )
    ours = confsched.lr_curve(spec, 900)
    theirs = timm_trace(spec, 900, t_initial=7, cycle_mul=3.0, cycle_decay=0.5, cycle_limit=9)
    differ = np.nonzero(~np.isclose(ours, theirs, rtol=1e-12, atol=0))[0]
    assert differ.tolist() == [847]
    assert ours[847, 0] == 1e-3 * 0.5**5
    assert theirs[847, 0] == 0.0


def test_cosine_cycles_literal_values() -> None:
    spec = make(
        {"name": "cosine_cycles", "cycle_length": 4, "cycle_mul": 2.0, "cycle_decay": 0.5, "cycle_limit": 2},
        training={"max_steps": 20},
    )
    m = confsched.lr_curve(spec, 16)[:, 0] / 1e-3
    half = 0.5 * (1 + math.cos(math.pi / 4))
    expected = [1, half, 0.5, 1 - half, 0.5, 0.5 * (0.5 + 0.5 * math.cos(math.pi / 8))]
    np.testing.assert_allclose(m[:6], expected, rtol=1e-15)
    assert m[8] == 0.25  # cycle 1 is 8 steps long and peaks at 0.5
    assert m[12:].tolist() == [0.0] * 4  # then the floor


# ---- step, multistep, exponential: torch's StepLR, MultiStepLR, ExponentialLR ------------------


TORCH_DECAYS = [
    ({"name": "step", "step_size": "10ep", "gamma": 0.5}, lambda o: torch_lr.StepLR(o, 390, 0.5)),
    ({"name": "step", "step_size": 7, "gamma": 0.9}, lambda o: torch_lr.StepLR(o, 7, 0.9)),
    ({"name": "step", "step_size": "1%", "gamma": 1.01}, lambda o: torch_lr.StepLR(o, 20, 1.01)),
    (
        {"name": "multistep", "milestones": ["50%", 100, "2ep", 100, 1950], "gamma": 0.3},
        lambda o: torch_lr.MultiStepLR(o, [975, 100, 78, 100, 1950], 0.3),
    ),
    ({"name": "exponential", "gamma": 0.998}, lambda o: torch_lr.ExponentialLR(o, 0.998)),
    ({"name": "exponential", "gamma": 1.001}, lambda o: torch_lr.ExponentialLR(o, 1.001)),
]


@pytest.mark.parametrize(("scheduler", "reference"), TORCH_DECAYS)
@pytest.mark.parametrize("groups", [1, 3])
def test_decays_match_torch(scheduler: dict[str, Any], reference: Callable, groups: int) -> None:
    """torch's chained form (lr *= gamma at each cut) drifts from the closed form by an ulp per cut:
    at most ~4e-15 relative over 1970 steps of ExponentialLR, so 1e-12 holds."""
    spec = make(scheduler, groups=groups)
    optimizer = reference_optimizer(spec)
    torch_scheduler = reference(optimizer)
    theirs = trace(optimizer, lambda _: torch_scheduler.step(), 1970)
    ours = confsched.lr_curve(spec, 1970)
    if scheduler["gamma"] > 1:  # growth stops at the end of the run (torch's would go on growing)
        end = spec.total_steps
        assert_close(ours[: end + 1], theirs[: end + 1])
        assert (ours[end:] == ours[end]).all()
        assert (theirs[-1] > theirs[end]).all()
    else:
        assert_close(ours, theirs)


def test_step_equals_torch_closed_form_bit_for_bit() -> None:
    spec = make({"name": "step", "step_size": 7, "gamma": 0.9}, groups=3)
    bases = [spec.group_base_lrs[name] for name in spec.group_names]
    closed = [[base * 0.9 ** (k // 7) for base in bases] for k in range(1970)]  # StepLR's closed form
    assert confsched.lr_curve(spec, 1970).tolist() == closed


def test_exponential_to_a_final_ratio() -> None:
    spec = make({"name": "exponential", "final_lr_ratio": 0.01, "warmup": 50})
    m = confsched.lr_curve(spec, 1970)[:, 0] / 1e-3
    assert m[50] == 1.0
    assert m[1950] == pytest.approx(0.01, rel=1e-15)  # 1900 steps after the warmup: 0.01 ** 1
    assert m[1000] == pytest.approx(0.1, rel=1e-14)  # half way: 0.01 ** (1/2)
    assert m[1960] < m[1950]  # it keeps decaying, like ExponentialLR


# ---- one_cycle: torch's OneCycleLR, momentum included ------------------------------------------


ONE_CYCLE = [
    {},
    {"anneal_strategy": "linear"},
    {"three_phase": True, "pct_start": 0.25},
    {"three_phase": True, "anneal_strategy": "linear", "pct_start": 0.4},
    {"pct_start": 0.1, "div_factor": 10.0, "final_div_factor": 100.0, "max_lr": 0.01},
    {"pct_start": 0.0011, "base_momentum": 0.8, "max_momentum": 0.99},
]
OPTIMIZERS = [
    ("adamw", torch.optim.AdamW, {}),
    ("sgd", torch.optim.SGD, {"momentum": 0.9}),
]


@pytest.mark.parametrize("knobs", ONE_CYCLE)
@pytest.mark.parametrize(("optimizer", "cls", "kwargs"), OPTIMIZERS)
def test_one_cycle_matches_torch(knobs: dict[str, Any], optimizer: str, cls: type, kwargs: dict) -> None:
    """Every step of the run (torch raises past it), to 1e-12 relative, plus 1e-15 x the peak
    absolute for one step: at the last one torch's linear anneal computes (end - start) * 1.0 + start,
    off by an ulp of the peak, i.e. up to ~2e-11 relative to the end LR (25e4 times smaller); ours
    is the end LR exactly. Every other step agrees to 6e-14 (linear) and 5e-15 (cos)."""
    spec = make({"name": "one_cycle", **knobs}, groups=3, optimizer={"name": optimizer, "lr": 1e-3, **kwargs})
    total = spec.total_steps
    scale = knobs.get("max_lr", 1e-3) / 1e-3
    peaks = [scale * spec.group_base_lrs[name] for name in spec.group_names]
    torch_knobs = {k: v for k, v in knobs.items() if k != "max_lr"}

    reference = reference_optimizer(spec, cls, **kwargs)
    one_cycle = torch_lr.OneCycleLR(reference, max_lr=peaks, total_steps=total, **torch_knobs)
    both = trace(reference, lambda _: one_cycle.step(), total, lambda g: (lr_of(g), momentum_of(g)))
    assert_close(confsched.lr_curve(spec), both[..., 0], atol=1e-15 * max(peaks))
    assert np.array_equal(confsched.momentum_curve(spec), both[..., 1])  # same operations: exact


def test_one_cycle_holds_its_end_past_the_run_and_may_skip_momentum() -> None:
    spec = make({"name": "one_cycle", "cycle_momentum": False}, groups=2)
    curve = confsched.lr_curve(spec, 1970)
    assert (curve[1949:] == [1e-3 * (1 / 25 / 1e4), 1e-4 * (1 / 25 / 1e4)]).all()
    assert curve[584, 0] == 1e-3  # the peak, at pct_start * 1950 - 1 = 584
    assert confsched.momentum_curve(spec) is None
    optimizer, _ = confsched.build(spec, model())
    assert [g["betas"] for g in optimizer.param_groups] == [(0.9, 0.999)] * 2


def test_one_cycle_sets_beta1_on_the_optimizer() -> None:
    spec = make({"name": "one_cycle"}, groups=3)
    optimizer, scheduler = confsched.build(spec, model())
    assert [g["betas"] for g in optimizer.param_groups] == [(0.95, 0.999)] * 3
    for _ in range(584):
        optimizer.step()
        scheduler.step()
    assert [g["betas"][0] for g in optimizer.param_groups] == [0.85] * 3
    assert scheduler.get_last_lr() == [1e-3, 1e-4, 3e-3]


# ---- piecewise and phases: hand-derived values ---------------------------------------------------


def curve_of(scheduler: dict[str, Any], steps: int = 14, max_steps: int = 12) -> list[float]:
    """The default group's multiplier (LR / optimizer.lr) for ``steps`` steps of a short run."""
    spec = make(scheduler, training={"max_steps": max_steps})
    return (confsched.lr_curve(spec, steps)[:, 0] / 1e-3).tolist()


def test_piecewise_linear_with_a_jump() -> None:
    knots = [[2, 0.0], [6, 1.0], [6, 0.5], [10, 0.1]]
    expected = [0, 0, 0, 0.25, 0.5, 0.75, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]
    assert curve_of({"name": "piecewise", "knots": knots}) == pytest.approx(expected, rel=1e-15, abs=1e-18)


def test_piecewise_cosine() -> None:
    c = [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(5)]
    expected = [1.0, *c[1:], 0.0, 0.0, 0.0, 0.0]
    got = curve_of({"name": "piecewise", "knots": [[0, 1.0], ["33%", 0.0]], "interpolation": "cosine"}, 9)
    assert got == pytest.approx(expected, rel=1e-15, abs=1e-17)


def test_phases_warmup_hold_and_1_sqrt_cooldown() -> None:
    phases = [
        {"duration": "20%", "shape": "linear", "start": 0.0, "end": 1.0},
        {"duration": None, "shape": "constant"},
        {"duration": 4, "shape": "1-sqrt", "end": 0.0},
    ]
    cooldown = [1 - math.sqrt(k / 4) for k in range(4)]
    expected = [0, 1 / 3, 2 / 3, 1, 1, 1, 1, 1, *cooldown, 0, 0]
    assert curve_of({"name": "phases", "phases": phases}) == pytest.approx(expected, rel=1e-15)


def test_phases_jumps_exponential_and_cosine_cycles() -> None:
    phases = [
        {"duration": 4, "shape": "exponential", "end": 0.01},
        {"duration": 4, "shape": "cosine", "start": 1.0, "end": 0.0, "num_cycles": 1.0},
        {"duration": 2, "shape": "constant", "start": 0.2},
    ]
    expected = [0.01 ** (k / 4) for k in range(4)]
    expected += [0.5 * (1 + math.cos(2 * math.pi * k / 4)) for k in range(4)]
    expected += [0.2] * 6
    assert curve_of({"name": "phases", "phases": phases}) == pytest.approx(expected, rel=1e-15, abs=1e-17)


WSD = [
    {"decay": "20%"},
    {"warmup": 100, "decay": 300, "stable": 1000, "min_lr_ratio": 0.1},
    {"warmup": "5%", "decay": "30%", "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.05},
    {"warmup": 10, "decay": 500, "warmup_type": "1-sqrt", "decay_type": "linear"},
    {"warmup": 200, "decay": 400, "decay_type": "cosine", "num_cycles": 0.75, "min_lr_ratio": 0.2},
    {"warmup": 50, "decay": 100, "min_lr_ratio": 1.0},
]


def as_phases(wsd: dict[str, Any]) -> dict[str, Any]:
    """A warmup_stable_decay config written as phases."""
    r = wsd.get("min_lr_ratio", 0.0)
    return {
        "name": "phases",
        "phases": [
            {
                "duration": wsd.get("warmup", 0),
                "shape": wsd.get("warmup_type", "linear"),
                "start": r,
                "end": 1.0,
            },
            {"duration": wsd.get("stable"), "shape": "constant"},
            {
                "duration": wsd["decay"],
                "shape": wsd.get("decay_type", "cosine"),
                "end": r,
                **({"num_cycles": wsd["num_cycles"]} if "num_cycles" in wsd else {}),
            },
        ],
    }


@pytest.mark.parametrize("wsd", WSD)
def test_warmup_stable_decay_is_phases_exactly(wsd: dict[str, Any]) -> None:
    transformers = pytest.importorskip("transformers")
    spec = make({"name": "warmup_stable_decay", **wsd}, groups=2)
    curve = confsched.lr_curve(spec, 2000)
    assert np.array_equal(confsched.lr_curve(make(as_phases(wsd), groups=2), 2000), curve)
    w, d = spec.warmup_steps, spec.plan.steps(spec.scheduler.decay)
    stable = spec.scheduler.stable
    optimizer = reference_optimizer(spec)
    reference = transformers.get_wsd_schedule(
        optimizer,
        num_warmup_steps=w,
        num_decay_steps=d,
        warmup_type=spec.scheduler.warmup_type,
        decay_type=spec.scheduler.decay_type,
        min_lr_ratio=spec.scheduler.min_lr_ratio,
        num_cycles=spec.scheduler.num_cycles,
        **(
            {"num_training_steps": spec.total_steps}
            if stable is None
            else {"num_stable_steps": spec.plan.steps(stable)}
        ),
    )
    assert np.array_equal(curve, trace(optimizer, lambda _: reference.step(), 2000))


# ---- bad configs: one line naming the path ------------------------------------------------------


BAD: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"name": "cosine", "warmup": 100, "warmup_shape": "exponential"},
        {},
        "scheduler.warmup_start: 0 with warmup_shape exponential: a geometric warmup cannot start at 0; "
        "set warmup_start above 0 (e.g. 0.01)",
    ),
    (
        {"name": "greedy", "warmup_shape": "cosine"},
        {},
        "scheduler.warmup_shape: 'cosine': greedy changes the LR from a metric and has no "
        "warmup; remove warmup_shape",
    ),
    (
        {"name": "greedy", "warmup_start": 0.5},
        {},
        "scheduler.warmup_start: 0.5: greedy changes the LR from a metric and has no warmup; remove "
        "warmup_start",
    ),
    (
        {"name": "greedy", "warmup": 10},
        {},
        "scheduler.warmup: 10 steps: greedy changes the LR from a metric and has no warmup; set warmup: 0",
    ),
    (
        {"name": "one_cycle", "warmup": "1%"},
        {},
        "scheduler.warmup: 1% = 20 steps: one_cycle warms up itself, over pct_start of the run; "
        "set warmup: 0",
    ),
    (
        {"name": "warmup_stable_decay", "decay": 10, "warmup_start": 0.1},
        {},
        "scheduler.warmup_start: 0.1: warmup_stable_decay shapes its warmup with warmup_type and starts "
        "it at min_lr_ratio; remove warmup_start",
    ),
    (
        {"name": "one_cycle"},
        {"optimizer": {"name": "adagrad", "lr": 1e-3}},
        "scheduler.cycle_momentum: true, but the optimizer has neither momentum nor betas to cycle; set "
        "cycle_momentum: false",
    ),
    (
        {"name": "one_cycle", "pct_start": 0.0005},
        {},
        "scheduler.pct_start: 0.0005 of 1950 steps is 0.975 steps; the rise needs more than one step",
    ),
    (
        {"name": "one_cycle", "pct_start": 0.6, "three_phase": True},
        {},
        "scheduler.pct_start: 0.6: with three_phase the rise and the fall back take 2340 of the 1950 "
        "steps and leave none for the final anneal; use pct_start below 0.5",
    ),
    (
        {"name": "cosine_cycles", "cycle_mul": 0.5},
        {},
        "scheduler.cycle_mul: must be greater than or equal to 1 (got 0.5)",
    ),
    (
        {"name": "cosine_cycles", "min_lr": 1e-5, "min_lr_rate": 0.1},
        {},
        "scheduler.min_lr: give at most one of min_lr and min_lr_rate (both are set)",
    ),
    (
        {"name": "step", "step_size": 0},
        {},
        "scheduler.step_size: 0 = 0 steps; the LR must be cut at most once a step",
    ),
    (
        {"name": "multistep", "warmup": 100, "milestones": [10, "100%"]},
        {},
        "scheduler.milestones[1]: 100% = 1950 steps is past the end of the 1850 steps left after the "
        "100-step warmup (the curve starts when the warmup ends)",
    ),
    (
        {"name": "exponential", "gamma": 1.5},
        {},
        "scheduler.gamma: 1.5 applied 1950 times in the run multiplies the LR by 1.5^1950 > 1e300",
    ),
    (
        {"name": "exponential", "gamma": 0.99, "final_lr_ratio": 0.1},
        {},
        "scheduler.gamma: give exactly one of gamma and final_lr_ratio (both are set)",
    ),
    (
        {"name": "piecewise", "knots": [[0, 1.0], ["50%", 0.5], [10, 0.0]]},
        {},
        "scheduler.knots[2][0]: 10 = 10 steps comes before the knot before it (975 steps); positions "
        "must not decrease",
    ),
    (
        {"name": "piecewise", "knots": [[0, 1.0], [100, -0.5]]},
        {},
        "scheduler.knots[1][1]: must be greater than or equal to 0 (got -0.5)",
    ),
    (
        {"name": "phases", "phases": [{"duration": None}, {"duration": 10}, {"duration": None}]},
        {},
        "scheduler.phases[2].duration: null (the rest of the run) is allowed in one phase only; "
        "phases[0] already takes the rest",
    ),
    (
        {"name": "phases", "phases": [{"duration": "60%"}, {"duration": "50%", "end": 0.0}]},
        {},
        "scheduler.phases[1].duration: 50% = 975 steps brings the phases to 2145 steps, past the end of "
        "the run (1950 steps)",
    ),
    (
        {"name": "phases", "phases": [{"duration": 10, "shape": "constant", "end": 0.5}]},
        {},
        "scheduler.phases[0].end: 0.5, but a constant phase holds its start (1); drop end, or pick a shape "
        "that moves the LR (linear, cosine, 1-sqrt, exponential, polynomial)",
    ),
    (
        {"name": "phases", "phases": [{"duration": 10, "shape": "exponential", "end": 0.0}]},
        {},
        "scheduler.phases[0].shape: exponential from 1 to 0: a geometric phase cannot reach or leave 0; "
        "use another shape or a level above 0",
    ),
    (
        {"name": "phases", "phases": [{"duration": 10, "start": 0.0, "end": 1.0, "num_cycles": 1}]},
        {},
        "scheduler.phases[0].num_cycles: 1: only a falling cosine phase has cycles (this one is linear "
        "from 0 to 1)",
    ),
]


BAD += [
    (
        {"name": "cyclic", "max_lr": 3e-3, "step_size_up": 10, "gamma": 0.9},
        {},
        "scheduler.gamma: 0.9, but only mode exp_range uses gamma (mode is triangular)",
    ),
    (
        {"name": "cyclic", "max_lr": 3e-3, "base_lr": 4e-3},
        {},
        "scheduler.max_lr: 0.003 must be above base_lr (0.004)",
    ),
    (
        {"name": "t5_inverse_sqrt", "constant_steps": 0},
        {},
        "scheduler.constant_steps: 0 = 0 steps; 1/sqrt(0) is no LR",
    ),
    (
        {"name": "cosine", "noise": {"start": 100, "end": 50}},
        {},
        "scheduler.noise.end: 50 = 50 steps must come after noise.start (100 steps)",
    ),
    (
        {"name": "cosine", "noise": {"start": 100, "pct": 1.0}},
        {},
        "scheduler.noise.pct: must be less than 1 (got 1.0)",
    ),
    (
        {"name": "cosine_with_min_lr", "min_lr_rate": 0.1, "floor_groups": "same"},
        {},
        "scheduler.floor_groups: same, but min_lr is not set: the groups share an absolute min_lr",
    ),
    ({"name": "tanh", "lb": 3.0, "ub": -7.0}, {}, "scheduler.ub: -7 must be above lb (3)"),
    (
        {
            "name": "sequential",
            "schedulers": [{"name": "cosine"}, {"name": "linear"}],
            "milestones": [10, 20],
        },
        {},
        "scheduler.milestones: 2 milestones for 2 schedulers: give one between each two",
    ),
    (
        {
            "name": "sequential",
            "schedulers": [{"name": "cosine"}, {"name": "reduce_lr_on_plateau"}],
            "milestones": [10],
        },
        {},
        "scheduler.schedulers[1]: reduce_lr_on_plateau is metric-driven; sequential joins step-driven "
        "families (put it in a chain)",
    ),
    (
        {"name": "chain", "schedulers": [{"name": "linear"}, {"name": "chain", "schedulers": []}]},
        {},
        "scheduler.schedulers[1].name: chain cannot be a member: chain and sequential take the other "
        "families",
    ),
    (
        {"name": "chain", "schedulers": [{"name": "reduce_lr_on_plateau"}, {"name": "reduce_lr_on_plateau"}]},
        {},
        "scheduler.schedulers: two metric-driven members: a chain may have one (one plateau state)",
    ),
    (
        {"name": "chain", "schedulers": [{"name": "cosine", "warmup": 5000}, {"name": "linear"}]},
        {},
        "scheduler.schedulers[0].warmup: 5000 steps exceeds its part of the run (1950 steps)",
    ),
    (
        {"name": "chain", "schedulers": [{"name": "cosine", "num_cycles": -1}, {"name": "linear"}]},
        {},
        "scheduler.schedulers[0].num_cycles: must be greater than 0 (got -1)",
    ),
    (
        {"name": "cosine", "warmup": 100, "hold": 10, "warmup_prefix": False},
        {},
        "scheduler.hold: 10: a hold delays the curve, but with warmup_prefix: false the curve runs from "
        "step 0 under the warmup; set hold: 0 or warmup_prefix: true",
    ),
    (
        {"name": "cosine", "warmup": 100, "warmup_shape": "nemo", "warmup_start": 0.1},
        {},
        "scheduler.warmup_start: 0.1 with warmup_shape nemo: NeMo's warmup starts at 1 / (warmup + 1); "
        "remove warmup_start",
    ),
    (
        {"name": "cosine", "warmup": 1000, "hold": "50%"},
        {},
        "scheduler.hold: warmup 1000 + hold 975 = 1975 steps exceed the run (1950 steps)",
    ),
    (
        {"name": "swalr", "swa_lr": 1e300},
        {},
        "scheduler.swa_lr: 1e+300 is 1e+303 x the base LR of group default, above 1e300",
    ),
    (
        {"name": "sgdr", "cycles": [{"duration": 100, "warmup": 100}]},
        {},
        "scheduler.cycles[0].warmup: 100 steps is not shorter than the cycle (100 steps)",
    ),
    (
        {"name": "warmup_stable_decay", "decay": 100, "decay_type": "exponential"},
        {},
        "scheduler.decay_type: exponential decays geometrically to the floor, which must be above 0 (set "
        "min_lr_ratio)",
    ),
    (
        {"name": "reduce_lr_on_plateau", "min_lr": [1e-5, 1e-6]},
        {},
        "scheduler.min_lr: 2 floors for 1 LR groups (default): give one number, or one per group",
    ),
    (
        {"name": "reduce_lr_on_plateau", "noise": {"start": 0}},
        {},
        "scheduler.noise: a mapping: reduce_lr_on_plateau changes the LR from a metric, not by step; "
        "remove noise",
    ),
    (
        {"name": "noam", "d_model": 64, "warmup_shape": "cosine"},
        {},
        "scheduler.warmup_shape: 'cosine': noam's warmup is part of its formula; remove warmup_shape",
    ),
    (
        {"name": "cosine"},
        {"training": {"epochs": 50, "limit_train_batches": 0.01}},
        "training.limit_train_batches: 0.01 of 39 batches per epoch is 0 batches (Lightning: "
        "int(39 x 0.01)); use at least 0.0256",
    ),
]


@pytest.mark.parametrize(("scheduler", "sections", "message"), BAD, ids=[m.split(":")[0] for *_, m in BAD])
def test_bad_configs(scheduler: dict[str, Any], sections: dict[str, Any], message: str) -> None:
    data = copy.deepcopy(BASE) | {"scheduler": scheduler} | sections
    with pytest.raises(confsched.SpecError) as caught:
        confsched.validate(data)
    assert str(caught.value) == message


def test_a_momentum_schedule_needs_an_optimizer_with_momentum() -> None:
    spec = make({"name": "one_cycle"})
    optimizer = torch.optim.Adagrad(model().parameters(), lr=1e-3)
    with pytest.raises(ValueError, match="Adagrad has neither momentum nor betas"):
        confsched.build_scheduler(spec, optimizer)


# ---- the peers' semantics as knobs: shared floors, cooldown shapes, per-cycle warmup, plateau warmup


def test_floor_groups_same_is_timms_lr_min_for_every_group() -> None:
    """timm floors every group at the same absolute lr_min; ``floor_groups: same`` does too."""
    knobs = {"cycle_length": 300, "cycle_mul": 1.5, "cycle_limit": 3, "min_lr": 2e-4, "floor_groups": "same"}
    spec = make({"name": "cosine_cycles", **knobs}, groups=3)
    theirs = timm_trace(spec, 1970, t_initial=300, cycle_mul=1.5, cycle_limit=3, lr_min=2e-4)
    assert_close(confsched.lr_curve(spec, 1970), theirs)
    assert confsched.lr_curve(spec, [1960]).tolist() == [[2e-4] * 3]  # every group on the one floor


def test_floor_groups_same_is_torchs_eta_min_for_every_group() -> None:
    spec = make({"name": "cosine_with_min_lr", "min_lr": 5e-5, "floor_groups": "same"}, groups=3)
    optimizer = reference_optimizer(spec)
    reference = torch_lr.CosineAnnealingLR(optimizer, T_max=1950, eta_min=5e-5)
    theirs = trace(optimizer, lambda _: reference.step(), 1951)
    assert_close(confsched.lr_curve(spec, 1951), theirs, rtol=1e-12)
    np.testing.assert_allclose(confsched.lr_curve(spec, [1950]), [[5e-5] * 3], rtol=1e-15)


@pytest.mark.parametrize(
    ("decay", "expected"),
    [
        ({"decay_type": "polynomial", "decay_power": 2.0}, lambda p: (1 - p) ** 2),
        ({"decay_type": "exponential", "min_lr_ratio": 0.01}, lambda p: 0.01**p),
    ],
    ids=["polynomial", "exponential"],
)
def test_wsd_cooldown_shapes(decay: dict[str, Any], expected: Callable[[np.ndarray], np.ndarray]) -> None:
    """The decay of WSD over its last 100 steps, and the same as a phase of ``phases``."""
    spec = make({"name": "warmup_stable_decay", "decay": 100, **decay})
    m = confsched.lr_curve(spec, 1950)[1850:, 0] / 1e-3
    np.testing.assert_allclose(m, expected(np.arange(100) / 100), rtol=1e-14, atol=1e-18)
    phase = {"duration": None, "shape": decay["decay_type"], "end": decay.get("min_lr_ratio", 0.0)}
    phase |= {"power": decay["decay_power"]} if "decay_power" in decay else {}
    as_phases = make({"name": "phases", "phases": [{"duration": 1850, "shape": "constant"}, phase]})
    assert np.array_equal(confsched.lr_curve(as_phases, 1970), confsched.lr_curve(spec, 1970))


def test_wsd_absolute_floor_every_group() -> None:
    spec = make(
        {"name": "warmup_stable_decay", "decay": 100, "min_lr": 1e-5, "floor_groups": "same"}, groups=3
    )
    np.testing.assert_allclose(confsched.lr_curve(spec, [1960]), [[1e-5] * 3], rtol=1e-12)
    scaled = make({"name": "warmup_stable_decay", "decay": 100, "min_lr": 1e-5}, groups=3)
    np.testing.assert_allclose(confsched.lr_curve(scaled, [1960]), [[1e-5, 1e-6, 3e-5]], rtol=1e-12)


def test_cycle_warmup_is_sgdr_of_equal_cycles() -> None:
    """Per-cycle warmup: cosine_cycles with cycle_warmup equals optax's sgdr of the same cycles."""
    cycles = make({"name": "cosine_cycles", "cycle_length": 400, "cycle_limit": 4, "cycle_warmup": 40})
    sgdr = make({"name": "sgdr", "cycles": [{"duration": 400, "warmup": 40}] * 4})
    np.testing.assert_allclose(
        confsched.lr_curve(cycles, 1970), confsched.lr_curve(sgdr, 1970), rtol=1e-14, atol=1e-19
    )


def test_warmup_before_a_plateau() -> None:
    """reduce_lr_on_plateau with a warmup: ``scheduler.step()`` after each optimizer step ramps the
    LR; ``scheduler.step(metric)`` cuts it; the LR is the plateau's times the warmup's."""
    spec = make({"name": "reduce_lr_on_plateau", "warmup": 10, "patience": 0, "factor": 0.5}, groups=2)
    optimizer, scheduler = confsched.build(spec, model())
    lrs = [scheduler.get_last_lr()]
    for k in range(12):
        optimizer.step()
        scheduler.step()
        if k == 5:
            scheduler.step(1.0)  # the best so far
        if k == 7:
            scheduler.step(2.0)  # worse: a cut (patience 0)
        lrs.append(scheduler.get_last_lr())
    ramp = [k / 10 for k in range(11)] + [1.0, 1.0]
    expected = [
        [1e-3 * r * (0.5 if k >= 8 else 1), 1e-4 * r * (0.5 if k >= 8 else 1)]
        for k, r in enumerate(ramp[:13])
    ]
    np.testing.assert_allclose(lrs, expected, rtol=1e-15)
    state = scheduler.state_dict()
    _, resumed = confsched.build(spec, model())
    resumed.load_state_dict(state)
    assert resumed.get_last_lr() == scheduler.get_last_lr()
    # lr_curve replays one metric update per step (torch's pattern of stepping both together)
    curve = confsched.lr_curve(spec, metrics=[1.0, 1.0, 2.0])
    np.testing.assert_allclose(curve[:, 0], [0.0, 1e-4, 2e-4 * 0.5, 3e-4 * 0.25], rtol=1e-15)
