"""The parity matrix: every family against ``transformers.get_scheduler``, every group, every step.

For each case the LR of every param group at every step ``0 .. total_steps + 50`` must equal the
reference's to a relative error of 1e-12 (and be exactly 0 where the reference is), both through the
torch scheduler (``get_last_lr()`` after each ``scheduler.step()``) and through ``lr_curve``. The
reference optimizer gets each param group's ``initial_lr`` (our scheduler has already set the groups'
``lr`` to the step-0 value) and ``optimizer.lr`` as its default LR (transformers' reference for
``lr_end`` and ``min_lr``). The cases are drawn against the registry: a family that transformers has
and this table lacks fails :func:`test_every_transformers_family_has_parity_cases`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import confsched
from tests.conftest import WORKED_EXAMPLE, assert_lrs_match, layers, run_spec, step_lrs

transformers = pytest.importorskip("transformers")

TRANSFORMERS_NAMES = {member.value for member in transformers.SchedulerType}
STEP_FAMILIES = {
    n for n, f in confsched.FAMILIES.items() if f.driven_by == "step" and n in TRANSFORMERS_NAMES
}
METRIC_FAMILIES = {
    n for n, f in confsched.FAMILIES.items() if f.driven_by == "metric" and n in TRANSFORMERS_NAMES
}

# confsched knob -> transformers keyword, where the names differ
RENAMED = {"decay": "num_decay_steps", "stable": "num_stable_steps", "increase_cooldown": "warmup"}


@dataclass(frozen=True)
class Case:
    """A schedule (``name`` + knobs as in the spec, durations in steps) over a ``total``-step run."""

    name: str
    warmup: int = 0
    knobs: dict[str, Any] = field(default_factory=dict)
    total: int = 240
    lrs: tuple[float, ...] = (1e-3,)

    @property
    def id(self) -> str:
        knobs = ",".join(f"{k}={v}" for k, v in self.knobs.items())
        return f"{self.name}[w={self.warmup},T={self.total},{knobs},groups={len(self.lrs)}]"

    def spec(self) -> confsched.Spec:
        scheduler = {"name": self.name, "warmup": self.warmup, **self.knobs}
        return confsched.validate(run_spec(scheduler, total=self.total, lrs=self.lrs))

    def reference_kwargs(self) -> dict[str, Any]:
        return {RENAMED.get(k, k): v for k, v in self.knobs.items()}


THREE = (1e-3, 3e-4, 2.5e-2)
TWO = (3e-4, 1e-3)
T = 240
ALL_SHAPES = ("linear", "cosine", "1-sqrt")

STEP_CASES = [
    # linear
    Case("linear"),
    Case("linear", 24, lrs=THREE),
    Case("linear", T, lrs=TWO),
    Case("linear", 1, total=7, lrs=TWO),
    # cosine
    Case("cosine"),
    Case("cosine", 30, lrs=THREE),
    Case("cosine", 17, {"num_cycles": 1.25}, lrs=TWO),
    Case("cosine", 0, {"num_cycles": 2.0}, lrs=THREE),
    Case("cosine", T, lrs=TWO),
    # cosine_with_restarts
    Case("cosine_with_restarts"),
    Case("cosine_with_restarts", 20, {"num_cycles": 3}, lrs=THREE),
    Case("cosine_with_restarts", 0, {"num_cycles": 2.5}, lrs=TWO),
    Case("cosine_with_restarts", T, {"num_cycles": 2}),
    # polynomial: powers 0.5, 1, 2, 3 and several lr_end
    Case("polynomial"),
    Case("polynomial", 25, {"power": 0.5}, lrs=THREE),
    Case("polynomial", 25, {"power": 1.0, "lr_end": 1e-5}, lrs=TWO),
    Case("polynomial", 0, {"power": 2.0}, lrs=THREE),
    Case("polynomial", 10, {"power": 2.0, "lr_end": 2e-4}, lrs=THREE),
    Case("polynomial", 10, {"power": 3.0, "lr_end": 0.0}, lrs=TWO),
    Case("polynomial", T - 1, {"power": 3.0}, lrs=TWO),
    # constant (transformers' constant has no warmup: see test_constant_with_warmup_is_constant_with_warmup)
    Case("constant"),
    Case("constant", lrs=THREE),
    # constant_with_warmup
    Case("constant_with_warmup"),
    Case("constant_with_warmup", 40, lrs=THREE),
    Case("constant_with_warmup", T, lrs=TWO),
    # inverse_sqrt: default timescale = warmup (or 10000 without warmup), explicit timescales
    Case("inverse_sqrt"),
    Case("inverse_sqrt", 20, lrs=THREE),
    Case("inverse_sqrt", 20, {"timescale": 7}, lrs=TWO),
    Case("inverse_sqrt", 0, {"timescale": 50}, lrs=THREE),
    Case("inverse_sqrt", T),
    # cosine_with_min_lr: min_lr vs min_lr_rate
    Case("cosine_with_min_lr", 0, {"min_lr": 1e-5}),
    Case("cosine_with_min_lr", 20, {"min_lr": 1e-5}, lrs=THREE),
    Case("cosine_with_min_lr", 20, {"min_lr_rate": 0.1}, lrs=THREE),
    Case("cosine_with_min_lr", 5, {"min_lr_rate": 0.2, "num_cycles": 1.5}, lrs=TWO),
    Case("cosine_with_min_lr", 5, {"min_lr_rate": 1.0}),
    Case("cosine_with_min_lr", T, {"min_lr_rate": 0.05}, lrs=TWO),
    # cosine_warmup_with_min_lr: the one-step-ahead variant, with and without warmup_lr_rate
    Case("cosine_warmup_with_min_lr", 0, {"min_lr_rate": 0.1}),
    Case("cosine_warmup_with_min_lr", 20, {"min_lr": 1e-5}, lrs=THREE),
    Case("cosine_warmup_with_min_lr", 20, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2}, lrs=THREE),
    Case("cosine_warmup_with_min_lr", 1, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.5}, lrs=TWO),
    Case("cosine_warmup_with_min_lr", 12, {"min_lr_rate": 0.0, "warmup_lr_rate": 0.0, "num_cycles": 1.0}),
    Case("cosine_warmup_with_min_lr", T, {"min_lr_rate": 0.1}, lrs=TWO),
    # warmup_stable_decay: every warmup x decay shape, explicit stable, zero-length phases, a tail
    *(
        Case(
            "warmup_stable_decay",
            20,
            {"decay": 60, "warmup_type": w, "decay_type": d, "min_lr_ratio": 0.1},
            lrs=TWO,
        )
        for w in ALL_SHAPES
        for d in ALL_SHAPES
    ),
    Case("warmup_stable_decay", 20, {"decay": 60, "stable": 50}, lrs=THREE),
    Case("warmup_stable_decay", 20, {"decay": 60, "stable": 0, "decay_type": "linear"}, lrs=TWO),
    Case("warmup_stable_decay", 0, {"decay": 100, "num_cycles": 1.0, "min_lr_ratio": 0.05}, lrs=THREE),
    Case("warmup_stable_decay", 30, {"decay": 0, "warmup_type": "1-sqrt"}),
    Case("warmup_stable_decay", 30, {"decay": 0, "stable": 0, "min_lr_ratio": 0.3}, lrs=TWO),
    Case("warmup_stable_decay", T, {"decay": 0}),
    Case("warmup_stable_decay", 0, {"decay": T}),
    # the mission's worked example, once, with three groups
    Case("cosine", 100, total=1950, lrs=THREE),
]


def reference_scheduler(case: Case, optimizer: torch.optim.Optimizer) -> Any:
    kwargs = case.reference_kwargs()
    total: int | None = case.total
    if "num_stable_steps" in kwargs:
        total = None  # transformers warns when given both and uses num_stable_steps
    return transformers.get_scheduler(
        case.name,
        optimizer,
        num_warmup_steps=case.warmup,
        num_training_steps=total,
        scheduler_specific_kwargs=kwargs,
    )


def reference_optimizer(spec: confsched.Spec, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """A second optimizer over the same parameters with each group's base LR (``initial_lr``)."""
    groups = [{"params": list(g["params"]), "lr": g["initial_lr"]} for g in optimizer.param_groups]
    return torch.optim.AdamW(groups, lr=spec.optimizer.lr)


def curve_per_param_group(
    spec: confsched.Spec, optimizer: torch.optim.Optimizer, curve: np.ndarray
) -> np.ndarray:
    """``lr_curve`` columns (one per LR group) rearranged to the optimizer's param groups."""
    columns = [spec.group_names.index(g["lr_group"]) for g in optimizer.param_groups]
    return curve[:, columns]


def check_step_case(case: Case) -> float:
    spec = case.spec()
    assert spec.total_steps == case.total
    assert spec.warmup_steps == case.warmup
    steps = case.total + 50
    optimizer, scheduler = confsched.build(spec, layers(len(case.lrs)))
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(case.lrs)
    ref_optimizer = reference_optimizer(spec, optimizer)
    theirs = step_lrs(ref_optimizer, reference_scheduler(case, ref_optimizer), steps)
    with pytest.warns(confsched.ScheduleOverrunWarning):  # the 50 steps past the end
        ours = step_lrs(optimizer, scheduler, steps)
    curve = curve_per_param_group(spec, optimizer, confsched.lr_curve(spec, steps + 1))
    worst = max(assert_lrs_match(ours, theirs), assert_lrs_match(curve, theirs))
    # and bit for bit: the same float operations as transformers, in the same order, with C's cos,
    # sqrt and pow (see test_numpy_float64_cosine_is_the_c_librarys)
    assert ours == theirs
    assert curve.tolist() == theirs
    return worst


def test_numpy_float64_cosine_is_the_c_librarys():
    """The cosine families equal transformers (math.cos) bit for bit only because NumPy's float64
    cosine is the C library's, on one value or an array: so from NumPy 1.25 (pyproject's floor);
    NumPy 1.24 used its own AVX-512 cosine, off in the last bit for most inputs. (pow is computed
    with Python floats where a reference's value is claimed: NumPy's differs by release and CPU.)"""
    x = np.linspace(0.0, 2.0 * math.pi, 20_001)
    assert np.cos(x).tolist() == [math.cos(v) for v in x.tolist()]
    assert [float(np.cos(v)) for v in x[:500]] == [math.cos(v) for v in x[:500].tolist()]


def test_every_transformers_family_is_a_confsched_family():
    assert set(confsched.FAMILIES) >= TRANSFORMERS_NAMES


def test_every_transformers_family_has_parity_cases():
    assert {case.name for case in STEP_CASES} == STEP_FAMILIES
    assert {case.name for case in METRIC_CASES} == METRIC_FAMILIES
    assert STEP_FAMILIES | METRIC_FAMILIES == TRANSFORMERS_NAMES


@pytest.mark.parametrize("case", STEP_CASES, ids=lambda c: c.id)
def test_step_family_matches_transformers(case):
    check_step_case(case)


def test_constant_with_warmup_is_constant_with_warmup():
    """transformers' ``constant`` ignores ``num_warmup_steps``; confsched's ``constant`` honours a
    warmup (documented): it is then exactly transformers' ``constant_with_warmup``."""
    constant = Case("constant", 40, lrs=THREE).spec()
    with_warmup = Case("constant_with_warmup", 40, lrs=THREE).spec()
    assert np.array_equal(confsched.lr_curve(constant, 300), confsched.lr_curve(with_warmup, 300))
    assert confsched.lr_curve(constant, 2)[1].tolist() == [lr * (1 / 40) for lr in THREE]


# ---- where transformers raises or is undefined, confsched refuses the spec -----------------------


def build_reference(name: str, warmup: int, total: int, **kwargs: Any) -> Any:
    optimizer = torch.optim.AdamW(layers(1).parameters(), lr=1e-3)
    return optimizer, transformers.get_scheduler(
        name, optimizer, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=kwargs
    )


@pytest.mark.parametrize("lr_end", [1e-3, 5e-3])
def test_polynomial_lr_end_not_below_lr(lr_end):
    with pytest.raises(ValueError, match="lr_end"):
        build_reference("polynomial", 10, T, lr_end=lr_end)
    with pytest.raises(confsched.SpecError) as info:
        Case("polynomial", 10, {"lr_end": lr_end}).spec()
    assert str(info.value) == f"scheduler.lr_end: {lr_end:g} must be below optimizer.lr (0.001)"
    assert info.value.path == "scheduler.lr_end"


def test_polynomial_warmup_as_long_as_the_run():
    optimizer, reference = build_reference("polynomial", T, T)
    with pytest.raises(ZeroDivisionError):
        step_lrs(optimizer, reference, T)  # 0 decay steps: transformers divides by zero at step T
    with pytest.raises(confsched.SpecError) as info:
        Case("polynomial", T).spec()
    assert str(info.value) == (
        "scheduler.warmup: 240 steps leaves no steps to decay over in a 240-step run; "
        "polynomial needs warmup shorter than the run"
    )


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
@pytest.mark.parametrize(
    ("knobs", "which"), [({"min_lr": 1e-5, "min_lr_rate": 0.1}, "both are set"), ({}, "neither is set")]
)
def test_min_lr_both_or_neither(name, knobs, which):
    with pytest.raises(ValueError, match="min_lr"):
        build_reference(name, 10, T, **knobs)
    with pytest.raises(confsched.SpecError) as info:
        Case(name, 10, knobs).spec()
    assert str(info.value) == f"scheduler.min_lr: give exactly one of min_lr and min_lr_rate ({which})"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"decay": 230}, "scheduler.decay: warmup 20 + decay 230 = 250 steps exceed the run (240 steps)"),
        (
            {"decay": 100, "stable": 121},
            "scheduler.stable: warmup 20 + stable 121 + decay 100 = 241 steps exceed the run (240 steps)",
        ),
        ({"decay": 241}, "scheduler.decay: 241 steps exceeds the run (240 steps)"),
        ({"decay": "50%", "stable": "2ep"}, "scheduler.stable: 2ep = 480 steps exceeds the run (240 steps)"),
    ],
)
def test_warmup_stable_decay_phases_longer_than_the_run(knobs, message):
    """transformers accepts these and computes a negative stable phase; confsched refuses them."""
    with pytest.raises(confsched.SpecError) as info:
        Case("warmup_stable_decay", 20, knobs).spec()
    assert str(info.value) == message


def test_warmup_stable_decay_durations_resolve_like_steps():
    by_duration = Case("warmup_stable_decay", 20, {"decay": "25%", "stable": 0.5}).spec()
    by_steps = Case("warmup_stable_decay", 20, {"decay": 60, "stable": 120}).spec()
    assert np.array_equal(confsched.lr_curve(by_duration, 300), confsched.lr_curve(by_steps, 300))


# ---- metric-driven families: fixed metric sequences ---------------------------------------------

N_METRICS = 150


def _sequences() -> dict[str, list[float]]:
    k = np.arange(1, N_METRICS + 1, dtype=np.float64)
    rng = np.random.default_rng(2)
    walk = 1.0 + np.cumsum(rng.normal(0.0, 0.02, N_METRICS))
    return {
        "improving": (1.0 / k).tolist(),
        "plateau": [0.7] * N_METRICS,
        "noisy": (1.0 / np.sqrt(k) + rng.normal(0.0, 0.05, N_METRICS)).tolist(),
        "walk": walk.tolist(),
        "improve_then_stall": np.concatenate([1.0 / k[:40], np.full(N_METRICS - 40, 1.0 / 40)]).tolist(),
        "accuracy": (1.0 - 0.5 / np.sqrt(k) + rng.normal(0.0, 0.01, N_METRICS)).tolist(),
    }


SEQUENCES = _sequences()


@dataclass(frozen=True)
class MetricCase:
    name: str
    knobs: dict[str, Any]
    sequence: str
    lrs: tuple[float, ...] = (0.1, 0.03, 0.5)
    moves: bool = True
    """The sequence changes the LR at least once (else the LR must never change)."""
    resets: bool = False
    """The case must make ``greedy`` reset to its initial LRs at least once."""

    @property
    def id(self) -> str:
        knobs = ",".join(f"{k}={v}" for k, v in self.knobs.items())
        return f"{self.name}[{self.sequence},{knobs},groups={len(self.lrs)}]"

    def spec(self) -> confsched.Spec:
        data = run_spec({"name": self.name, **self.knobs}, total=N_METRICS, lrs=self.lrs, optimizer="sgd")
        return confsched.validate(data)


METRIC_CASES = [
    MetricCase("reduce_lr_on_plateau", {"patience": 3}, "noisy"),
    MetricCase("reduce_lr_on_plateau", {"patience": 3}, "plateau", lrs=(0.1,)),
    MetricCase("reduce_lr_on_plateau", {"patience": 5}, "improving", moves=False),
    MetricCase("reduce_lr_on_plateau", {"patience": 2, "cooldown": 4, "factor": 0.5}, "walk"),
    MetricCase("reduce_lr_on_plateau", {"patience": 0, "factor": 0.5, "min_lr": 1e-3}, "improve_then_stall"),
    MetricCase("reduce_lr_on_plateau", {"patience": 2, "threshold_mode": "abs", "threshold": 0.01}, "noisy"),
    MetricCase("reduce_lr_on_plateau", {"mode": "max", "patience": 2}, "accuracy", lrs=(0.1, 0.03)),
    MetricCase("reduce_lr_on_plateau", {"mode": "max", "threshold_mode": "abs", "patience": 1}, "walk"),
    MetricCase("reduce_lr_on_plateau", {"patience": 1, "eps": 0.01}, "plateau"),
    MetricCase("greedy", {"patience": 3}, "noisy"),
    MetricCase("greedy", {"patience": 2}, "improving", lrs=(0.1,)),
    MetricCase("greedy", {"patience": 2, "max_lr": 0.3}, "improve_then_stall"),
    MetricCase("greedy", {"patience": 2, "cooldown": 3, "increase_cooldown": 2}, "walk"),
    MetricCase(
        "greedy", {"mode": "max", "threshold_mode": "rel", "threshold": 1e-3, "patience": 2}, "accuracy"
    ),
    MetricCase("greedy", {"mode": "max", "patience": 1, "factor": 0.8}, "walk", lrs=(0.1, 0.03)),
    MetricCase("greedy", {"smooth": True, "window_size": 5, "patience": 2}, "noisy"),
    MetricCase("greedy", {"smooth": True, "window_size": 3, "patience": 1, "factor": 0.5}, "walk"),
    MetricCase(
        "greedy", {"patience": 1, "factor": 0.5, "min_lr": 0.01, "reset_start": 3}, "plateau", resets=True
    ),
    MetricCase(
        "greedy",
        {"patience": 1, "factor": 0.5, "min_lr": 0.01, "reset_start": 2, "smooth": True, "window_size": 4},
        "improve_then_stall",
        resets=True,
    ),
]


def _reference_metric_scheduler(case: MetricCase, spec: confsched.Spec, optimizer: Any) -> Any:
    ref_optimizer = torch.optim.SGD(
        [{"params": list(g["params"]), "lr": g["initial_lr"]} for g in optimizer.param_groups],
        lr=spec.optimizer.lr,
    )
    kwargs = {RENAMED.get(k, k): v for k, v in case.knobs.items()}
    return ref_optimizer, transformers.get_scheduler(
        case.name, ref_optimizer, scheduler_specific_kwargs=kwargs
    )


def _resets(rows: list[list[float]], initial: list[float], floor: float) -> int:
    """How often the LRs jump from all at the floor straight back to the initial LRs."""
    return sum(prev == [floor] * len(prev) and row == initial for prev, row in itertools.pairwise(rows))


@pytest.mark.parametrize("case", METRIC_CASES, ids=lambda c: c.id)
def test_metric_family_matches_transformers(case):
    spec = case.spec()
    metrics = SEQUENCES[case.sequence]
    optimizer, scheduler = confsched.build(spec, layers(len(case.lrs)))
    assert isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    ref_optimizer, reference = _reference_metric_scheduler(case, spec, optimizer)
    theirs = step_lrs(ref_optimizer, reference, len(metrics), metrics)
    ours = step_lrs(optimizer, scheduler, len(metrics), metrics)
    curve = curve_per_param_group(spec, optimizer, confsched.lr_curve(spec, metrics=metrics))
    assert_lrs_match(ours, theirs)
    assert_lrs_match(curve, theirs)
    assert ours == theirs  # same comparisons and products in the same order: bit for bit
    changes = sum(a != b for a, b in itertools.pairwise(theirs))
    assert (changes > 0) == case.moves, f"the LR changed {changes} times"
    if case.resets:
        assert _resets(theirs, list(case.lrs), case.knobs["min_lr"]) >= 1


def test_metric_curve_without_metrics_holds_the_base_lrs():
    spec = METRIC_CASES[0].spec()
    assert confsched.lr_curve(spec).tolist() == [[0.1, 0.03, 0.5]] * N_METRICS
    assert confsched.lr_curve(spec, metrics=[]).tolist() == [[0.1, 0.03, 0.5]]


@pytest.mark.parametrize("name", sorted(METRIC_FAMILIES - {"reduce_lr_on_plateau"}))
def test_metric_family_has_no_warmup(name):
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(run_spec({"name": name, "warmup": 5}, total=N_METRICS))
    assert str(info.value) == (
        f"scheduler.warmup: 5 steps: {name} changes the LR from a metric and has no warmup; set warmup: 0"
    )


def test_worked_example_is_in_the_matrix():
    example = confsched.validate(WORKED_EXAMPLE)
    case = next(c for c in STEP_CASES if c.total == example.total_steps)
    assert (case.name, case.warmup) == (example.scheduler.name, example.warmup_steps)
    assert math.isclose(case.lrs[0], example.optimizer.lr)
