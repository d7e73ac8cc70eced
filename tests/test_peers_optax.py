"""optax's schedule tests (``optax/schedules/_schedule_test.py``, ``_join_test.py``), ported.

optax (JAX) is not installed here: the expected values are the ones written in optax's tests, with
their tolerance (``atol=1e-3``, or ``rtol=1e-6`` where optax uses it; optax computes in float32).
optax's schedules give absolute values; the confsched spec takes one of them as its base LR
(``optimizer.lr``: ``init_value`` or ``peak_value``) and the others as fractions of it.

Mapped: ``polynomial_schedule`` -> ``polynomial`` (``transition_begin`` -> ``hold``), a rising one
-> a ``phases`` phase; ``piecewise_constant_schedule`` and ``piecewise_interpolate_schedule`` ->
``piecewise`` (knots at the boundaries, values the cumulative products of the scales; a repeated
position is a jump); ``exponential_decay`` -> ``exponential`` (``transition_steps`` -> ``period``,
``staircase``, ``end_value`` -> ``end_lr_ratio``, ``transition_begin`` -> ``hold``);
``cosine_decay_schedule`` -> ``cosine_with_min_lr`` (``alpha`` -> ``min_lr_rate``, ``exponent``;
held after the decay with ``after_run_lr``); ``warmup_cosine_decay_schedule`` -> a warmup (or a
linear phase, when it starts above its peak) and a cosine; ``sgdr_schedule`` -> ``sgdr``;
``join_schedules`` -> ``sequential``; the one-cycle schedules -> ``piecewise``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import confsched
from tests.peers import ours, spec_of


def lrs(scheduler: dict[str, Any], *, total: int, lr: float, steps: int | list[int]) -> np.ndarray:
    spec = spec_of(scheduler, total=total, lrs=(lr,))
    if isinstance(steps, int):
        return ours(spec, steps)[:, 0]
    return confsched.lr_curve(spec, steps)[:, 0]


def close(got: np.ndarray, expected: Any, *, atol: float = 1e-3, rtol: float = 0.0) -> None:
    np.testing.assert_allclose(got, np.asarray(expected, dtype=np.float64), atol=atol, rtol=rtol)


def test_constant() -> None:
    close(lrs({"name": "constant"}, total=15, lr=10.0, steps=15), [10.0] * 15)


def test_polynomial_linear() -> None:
    """polynomial_schedule(10 -> 20, power 1, 10 steps): rising, a linear phase."""
    phases = {"name": "phases", "phases": [{"duration": 10, "shape": "linear", "start": 1.0, "end": 2.0}]}
    close(lrs(phases, total=15, lr=10.0, steps=15), list(range(10, 20)) + [20] * 5)


def test_polynomial_zero_steps_schedule() -> None:
    """transition_steps <= 0: optax holds init_value; in confsched that is ``constant``."""
    close(lrs({"name": "constant"}, total=15, lr=10.0, steps=15), [10.0] * 15)


def test_polynomial_nonlinear() -> None:
    got = lrs({"name": "polynomial", "power": 2.0, "lr_end": 10.0}, total=10, lr=25.0, steps=15)
    close(got, [10.0 + 15.0 * (1.0 - n / 10) ** 2 for n in range(10)] + [10] * 5)


def test_polynomial_with_decay_begin() -> None:
    got = lrs({"name": "polynomial", "power": 2.0, "lr_end": 10.0, "hold": 4}, total=14, lr=30.0, steps=20)
    close(got, [30.0] * 4 + [10.0 + 20.0 * (1.0 - n / 10) ** 2 for n in range(10)] + [10] * 6)


def test_piecewise_constant_positive() -> None:
    """piecewise_constant_schedule(0.1, {3: 2.0, 6: 0.5}): knots that jump."""
    knots = [[0, 1.0], [3, 1.0], [3, 2.0], [6, 2.0], [6, 1.0]]
    got = lrs({"name": "piecewise", "knots": knots}, total=10, lr=0.1, steps=10)
    close(got, [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1])


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_constant_schedule(staircase: bool) -> None:
    scheduler = {"name": "exponential", "gamma": 1.0, "period": 15, "staircase": staircase}
    close(lrs(scheduler, total=15, lr=1.0, steps=15), [1.0] * 15)


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize(
    ("knob", "value", "message"),
    [
        ("period", 0, "scheduler.period: 0 = 0 steps; gamma applies over at least one step"),
        ("gamma", 0.0, "scheduler.gamma: must be greater than 0 (got 0.0)"),
    ],
)
def test_exponential_nonvalid_transition_steps_and_decay_rate(
    staircase: bool, knob: str, value: float, message: str
) -> None:
    """optax falls back to a constant schedule for transition_steps <= 0 and decay_rate 0;
    confsched refuses them with one line (a constant is ``constant``)."""
    scheduler = {"name": "exponential", "gamma": 1.0, "period": 2, "staircase": staircase, knob: value}
    with pytest.raises(confsched.SpecError) as caught:
        spec_of(scheduler, total=15, lrs=(1.0,))
    assert str(caught.value) == message


@pytest.mark.parametrize(("staircase", "begin"), [(False, 0), (True, 0), (False, 5), (True, 5)])
def test_exponential(staircase: bool, begin: int) -> None:
    """exponential_decay(1.0, transition_steps=2, decay_rate=2.0): growth, from transition_begin."""
    scheduler = {"name": "exponential", "gamma": 2.0, "period": 2, "staircase": staircase, "hold": begin}
    got = lrs(scheduler, total=15 + begin, lr=1.0, steps=15 + begin)

    def p(count: int) -> float:
        return math.floor(count / 2) if staircase else count / 2

    close(got, [1.0] * begin + [2.0 ** p(count) for count in range(15)])


@pytest.mark.parametrize(
    ("decay_rate", "end_value", "staircase"),
    [
        (0.2, 0.1, False),
        (2.0, 3.0, False),
        (0.2, 0.1, True),
        (2.0, 3.0, True),
        (1.0, 0.1, False),
        (1.0, 0.1, True),
    ],
)
def test_exponential_end_value_with_staircase(decay_rate: float, end_value: float, staircase: bool) -> None:
    """end_value bounds the decay (a floor below 1, a ceiling above). With decay_rate 1 and
    end_value 0.1 optax also clips the init value before transition_begin (0.1 throughout);
    confsched's bound applies from transition_begin (its hold stays at the base LR)."""
    scheduler = {
        "name": "exponential",
        "gamma": decay_rate,
        "period": 2,
        "staircase": staircase,
        "hold": 3,
        "end_lr_ratio": end_value,
    }
    got = lrs(scheduler, total=14, lr=1.0, steps=14)

    def p(count: int) -> float:
        return math.floor(count / 2) if staircase else count / 2

    expected = np.array([1.0] * 3 + [decay_rate ** p(count) for count in range(11)])
    clip = np.maximum if decay_rate < 1.0 else np.minimum
    expected = clip(expected, end_value)
    if decay_rate == 1.0:
        close(got[:3], [1.0] * 3)  # the hold
        close(got[3:], expected[3:])
    else:
        close(got, expected)


def test_exponential_immutable_count() -> None:
    close(lrs({"name": "exponential", "gamma": 0.5}, total=5, lr=32.0, steps=5), [32, 16, 8, 4, 2])


def _cosine(decay_steps: int, alpha: float, exponent: float = 1.0) -> dict[str, Any]:
    held = {"after_run_lr": alpha} if alpha else {"after_run_lr": 0.0}
    return {"name": "cosine_with_min_lr", "min_lr_rate": alpha, "exponent": exponent, **held}


def test_cosine_decay_count_smaller_count() -> None:
    got = lrs(_cosine(10, 0.0), total=10, lr=0.1, steps=10)
    close(got, 0.1 * (0.5 + 0.5 * np.cos(np.pi * np.arange(10) / 10)))


def test_cosine_decay_count_greater_count() -> None:
    got = lrs(_cosine(5, 0.0), total=5, lr=0.1, steps=12)
    close(got, 0.1 * (0.5 + 0.5 * np.cos(np.pi * np.minimum(np.arange(12), 5) / 5)))


def test_cosine_decay_count_greater_count_with_alpha() -> None:
    scheduler = {**_cosine(5, 0.1), "after_run_lr": 0.01}
    got = lrs(scheduler, total=5, lr=0.1, steps=12)
    close(got, 0.1 * (0.9 * (0.5 + 0.5 * np.cos(np.pi * np.minimum(np.arange(12), 5) / 5)) + 0.1))


def test_cosine_with_exponent() -> None:
    got = lrs(_cosine(100, 0.0, exponent=2.0), total=100, lr=0.1, steps=[0, 10, 50, 75, 100])
    close(got, [0.1, 0.09516553580760956, 0.025, 0.0021446612663567066, 0.0], rtol=1e-6, atol=1e-8)


def test_cosine_with_giant_int_steps() -> None:
    """decay_steps = 1e10 (beyond int32): the value at step 1e9."""
    got = lrs(_cosine(10**10, 0.0), total=10**10, lr=1000.0, steps=[10**9])
    close(got, [975.52826], rtol=1e-7, atol=0)


@pytest.mark.parametrize(
    ("init", "peak", "end"), [(10, 0.5, 1e-4), (5, 3, 0.0)], ids=["with end value", "without end value"]
)
def test_warmup_cosine_limits(init: float, peak: float, end: float) -> None:
    """warmup_cosine_decay_schedule(init, peak, warmup 100, decay 1000): init_value starts above
    the peak here, so the warmup is a linear phase from init / peak to 1."""
    phases = [
        {"duration": 100, "shape": "linear", "start": init / peak, "end": 1.0},
        {"duration": 900, "shape": "cosine", "end": end / peak},
    ]
    got = lrs({"name": "phases", "phases": phases}, total=1000, lr=peak, steps=[0, 100, 1000])
    close(got[:2], [init, peak], rtol=1e-7, atol=0)
    close(got[2:], [end], rtol=1e-3, atol=0)


def test_warmup_cosine_monotonicity_and_exponent_ordering() -> None:
    def schedule(exponent: float) -> np.ndarray:
        scheduler = {"name": "cosine_with_min_lr", "warmup": 5, "min_lr_rate": 0.1, "exponent": exponent}
        return lrs(scheduler, total=25, lr=1.0, steps=26)

    regular, steep = schedule(1.0), schedule(2.0)
    assert (np.diff(regular[:6]) > 0).all()
    assert regular[5] == pytest.approx(1.0, abs=1e-6)
    assert (np.diff(regular[5:]) <= 0).all()
    assert regular[-1] == pytest.approx(0.1, abs=1e-6)
    assert (steep[5:] <= regular[5:] + 1e-12).all()


def test_warmup_cosine_decay_equal_to_warmup() -> None:
    """optax raises when decay_steps == warmup_steps (nothing left to decay over); confsched's
    cosine families accept a warmup as long as the run, the cosine then starting past it (as
    transformers does), so the LR is 1 at the end of the warmup."""
    got = lrs({"name": "cosine_with_min_lr", "warmup": 10, "min_lr_rate": 0.0}, total=10, lr=1.2, steps=11)
    assert got[10] == 1.2


@pytest.mark.parametrize(
    ("lr0", "lr1", "lr2"), [(1.6, 0.8, 0.4), (1.6, 1.6, 1.6)], ids=["with step decay", "without step_decay"]
)
def test_sgdr_limits(lr0: float, lr1: float, lr2: float) -> None:
    cycles = [
        {"duration": steps, "warmup": 500, "start": 0.0, "peak": lr / 1.6, "end": 0.0}
        for steps, lr in zip((2000, 3000, 5000), (lr0, lr1, lr2), strict=True)
    ]
    got = lrs({"name": "sgdr", "cycles": cycles}, total=10_000, lr=1.6, steps=[500, 2500, 5500])
    close(got, [lr0, lr1, lr2], rtol=1e-7, atol=0)


def test_linear_piecewise() -> None:
    """piecewise_interpolate_schedule('linear', 200, {5: 1.5, 10: 0.25}): knots at the cumulative
    products 200, 300, 75."""
    got = lrs({"name": "piecewise", "knots": [[0, 1.0], [5, 1.5], [10, 0.375]]}, total=13, lr=200.0, steps=13)
    close(got, [200.0, 220.0, 240.0, 260.0, 280.0, 300.0, 255.0, 210.0, 165.0, 120.0, 75.0, 75.0, 75.0])


def test_cos_piecewise() -> None:
    """('cosine', 400, {5: 1.2, 3: 0.6, 7: 1.0}): sorted, 400 -> 240 -> 288 -> 288."""
    knots = [[0, 1.0], [3, 0.6], [5, 0.72], [7, 0.72]]
    got = lrs({"name": "piecewise", "knots": knots, "interpolation": "cosine"}, total=9, lr=400.0, steps=9)
    close(got, [400.0, 360.0, 280.0, 240.0, 264.0, 288.0, 288.0, 288.0, 288.0])


@pytest.mark.parametrize(("value", "steps"), [(13.0, 5), (17.0, 3)], ids=["empty dict", "no dict"])
def test_piecewise_without_boundaries(value: float, steps: int) -> None:
    close(lrs({"name": "constant"}, total=steps, lr=value, steps=steps), [value] * steps)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        (
            {"interpolation": "linar"},
            "scheduler.interpolation: 'linar' is not allowed; did you mean 'linear'?",
        ),
        (
            {"knots": [[0, 1.0], [5, -3.0]]},
            "scheduler.knots[1][1]: must be greater than or equal to 0 (got -3.0)",
        ),
    ],
    ids=["invalid type", "invalid scale"],
)
def test_piecewise_invalid(knobs: dict[str, Any], message: str) -> None:
    with pytest.raises(confsched.SpecError) as caught:
        spec_of({"name": "piecewise", "knots": [[0, 1.0], [5, 1.0]], **knobs}, total=10, lrs=(13.0,))
    assert str(caught.value).startswith(message)


def test_zero_interval_size() -> None:
    """{0: 2.0, 5: 3.0} from 13: a jump at step 0 to 26, then up to 78 at step 5."""
    got = lrs({"name": "piecewise", "knots": [[0, 1.0], [0, 2.0], [5, 6.0]]}, total=6, lr=13.0, steps=6)
    assert np.isfinite(got).all()
    assert (got[0], got[5]) == pytest.approx((26.0, 78.0), rel=1e-12)


def test_linear_onecycle() -> None:
    """linear_onecycle_schedule(10, 1000, pct_start 0.3, pct_final 0.7, div 10, final_div 100):
    a piecewise_interpolate_schedule through 100, 1000, 100, 1 at steps 0, 3, 7, 10."""
    knots = [[0, 0.1], [3, 1.0], [7, 0.1], [10, 0.001]]
    got = lrs({"name": "piecewise", "knots": knots}, total=12, lr=1000.0, steps=12)
    close(got, [100.0, 400.0, 700.0, 1000.0, 775.0, 550.0, 325.0, 100.0, 67.0, 34.0, 1.0, 1.0])


def test_cosine_onecycle() -> None:
    knots = [[0, 0.1], [2, 1.0], [5, 0.001]]
    got = lrs({"name": "piecewise", "knots": knots, "interpolation": "cosine"}, total=7, lr=1000.0, steps=7)
    close(got, [100.0, 550.0, 1000.0, 750.25, 250.75, 1.0, 1.0])


def test_join_schedules() -> None:
    """join_schedules([constant 1, constant 2, constant 1], boundaries [3, 6])."""

    def level(value: float) -> dict[str, Any]:
        return {"name": "phases", "phases": [{"duration": None, "shape": "constant", "start": value}]}

    scheduler = {
        "name": "sequential",
        "schedulers": [level(1.0), level(2.0), level(1.0)],
        "milestones": [3, 6],
    }
    got = lrs(scheduler, total=10, lr=1.0, steps=7)
    assert got.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0]


PORTED = 1 + 4 + 1 + 2 + 4 + 4 + 6 + 1 + 5 + 2 + 1 + 1 + 2 + 7 + 2 + 1
"""optax test cases ported: constant 1, polynomial 4, piecewise constant 1, exponential 2 + 4
(nonvalid, refused) + 4 + 6 (end_value) + 1, cosine decay 5, warmup cosine 2 + 1 + 1, sgdr 2,
piecewise interpolate 7, one-cycle 2, join 1. Not ported: negative values (a piecewise constant
from -0.1, warmup-cosine to -3: an LR is >= 0), non-positive one-cycle transition steps (confsched
has no such knob), and the use of a schedule as an optimizer's learning rate (JAX)."""
