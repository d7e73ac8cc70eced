"""The pure schedules of ``confsched.schedules``: literal values derived by hand, the array contract
(vectorised == elementwise, 0-d in -> 0-d out, shape kept), ``Join``'s boundaries, and pickling."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confsched.schedules import (
    Clamp,
    Constant,
    CosineCycles,
    CosineDecay,
    CosineHardRestarts,
    CosineWarmupWithMinLR,
    Cyclic,
    Decay,
    ExponentialDecay,
    InverseSqrt,
    Join,
    LinearToZero,
    MultiStep,
    Noam,
    Noisy,
    Piecewise,
    PolynomialDecay,
    Product,
    Ramp,
    RsqrtHold,
    Scaled,
    Shift,
    SwaAnneal,
    TanhCycles,
    WithMomentum,
)

# cos(pi/4) = sqrt(2)/2 = 0.7071067811865476, so 1/2 (1 + cos(pi/4)) = 0.8535533905932737 and
# 1/2 (1 - cos(pi/4)) = 0.14644660940672624; sqrt(3)/2 = 0.8660254037844386; cos(pi/8) = 0.9238795325112867
C1 = 0.8535533905932737
C3 = 0.14644660940672624
R3 = 0.8660254037844386
R2 = 0.7071067811865476

GOLDEN = [
    (Constant(0.25), [0.25, 0.25, 0.25]),
    # linear warmup: t / 4, held at 1 from t = L on
    (Ramp(4), [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]),
    # from rho = 0.2: 0.2 + 0.8 t / 4
    (Ramp(4, "linear", start=0.2), [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]),
    # 1/2 (1 - cos(pi t / 4))
    (Ramp(4, "cosine"), [0.0, C3, 0.5, C1, 1.0, 1.0]),
    # 1 - sqrt(1 - t / 4): 1 - sqrt(3)/2, 1 - sqrt(2)/2, 1 - 1/2, 1
    (Ramp(4, "1-sqrt"), [0.0, 1 - R3, 1 - R2, 0.5, 1.0]),
    # 0.01 ** (1 - t / 4): 10^-2, 10^-1.5, 10^-1, 10^-0.5, 1
    (Ramp(4, "exponential", start=0.01), [0.01, 0.0316227766016838, 0.1, 0.31622776601683794, 1.0, 1.0]),
    (Ramp(4, "constant", start=0.3), [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]),
    # (4 - t) / 4, never below 0
    (LinearToZero(4), [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]),
    (LinearToZero(0), [0.0, 0.0]),
    # 1/2 (1 + cos(pi t / 4)); the half wave rises again after t = 4
    (CosineDecay(4), [1.0, C1, 0.5, C3, 0.0, C3, 0.5, C1, 1.0]),
    # one full wave to the floor 0.2: 0.2 + 0.8 * 1/2 (1 + cos(2 pi t / 4))
    (CosineDecay(4, num_cycles=1.0, floor=0.2), [1.0, 0.6, 0.2, 0.6, 1.0]),
    # two descents over 8 steps, then 0
    (CosineHardRestarts(8, num_cycles=2.0), [1.0, C1, 0.5, C3, 1.0, C1, 0.5, C3, 0.0, 0.0]),
    # (1 - 0.2) (1 - t / 4)^2 + 0.2: 1, 0.8 * 0.5625 + 0.2, 0.8 * 0.25 + 0.2, 0.8 * 0.0625 + 0.2, then lr_end
    (PolynomialDecay(4, power=2.0, lr_init=1.0, lr_end=0.2), [1.0, 0.65, 0.4, 0.25, 0.2, 0.2]),
    # 2 sqrt(1 - t / 4) / 2, then lr_end / lr_init = 0
    (PolynomialDecay(4, power=0.5, lr_init=2.0, lr_end=0.0), [1.0, R3, R2, 0.5, 0.0, 0.0]),
    # (0.4 (1 - t / 2)^3 + 0.1) / 0.5: 0.5 / 0.5, (0.4 * 0.125 + 0.1) / 0.5, 0.1 / 0.5
    (PolynomialDecay(2, power=3.0, lr_init=0.5, lr_end=0.1), [1.0, 0.3, 0.2, 0.2]),
    # 1 / sqrt((t + 4) / 4) at t = 0, 4, 5, 12: 1, 1/sqrt(2), 2/3, 1/2
    (InverseSqrt(4), {0: 1.0, 4: 0.7071067811865475, 5: 0.6666666666666666, 12: 0.5}),
    (Decay(4, "linear", floor=0.2), [1.0, 0.8, 0.6, 0.4, 0.2, 0.2]),
    # held at the floor after t = L (unlike CosineDecay)
    (Decay(4, "cosine"), [1.0, C1, 0.5, C3, 0.0, 0.0]),
    (Decay(4, "cosine", num_cycles=1.0), [1.0, 0.5, 0.0, 0.5, 1.0, 1.0]),
    # 1 - sqrt(t / 4)
    (Decay(4, "1-sqrt"), [1.0, 0.5, 1 - R2, 1 - R3, 0.0, 0.0]),
    # 0.01 ** (t / 4): geometric from 1 to the floor
    (Decay(4, "exponential", floor=0.01), [1.0, 0.31622776601683794, 0.1, 0.0316227766016838, 0.01, 0.01]),
    (Decay(4, "1-sqrt", floor=0.5), [1.0, 0.75, 0.5 + 0.5 * (1 - R2), 0.5 + 0.5 * (1 - R3), 0.5]),
    # (s + 1) / 4 during warmup; then 1/2 (1 + cos(pi (s - 3) / 8)):
    # 1/2 (1 + cos(pi/8)) at s = 4, 1/2 at s = 7, 0 at s = 11
    (
        CosineWarmupWithMinLR(4, 12, num_cycles=0.5, floor=0.0),
        {0: 0.25, 1: 0.5, 2: 0.75, 3: 1.0, 4: 0.9619397662556434, 7: 0.5, 11: 0.0},
    ),
    # 0.2 + 0.8 s / 3 during warmup; 0.1 + 0.9 * factor after
    (
        CosineWarmupWithMinLR(4, 12, num_cycles=0.5, floor=0.1, warmup_start=0.2),
        {0: 0.2, 1: 0.4666666666666667, 2: 0.7333333333333334, 3: 1.0, 7: 0.55, 11: 0.1},
    ),
    # warmup 2, hold to step 5, then linear to 0 over 2 steps on local time
    (Join((Ramp(2), Constant(1.0), LinearToZero(2)), (2, 5)), [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]),
    # 0.5 (4 - t) / 4
    (Scaled(LinearToZero(4), 0.5), [0.5, 0.375, 0.25, 0.125, 0.0, 0.0]),
    # 0.5 ** t; 0.5 ** (t / 2); 0.5 ** floor(t / 2)
    (ExponentialDecay(0.5), [1.0, 0.5, 0.25, 0.125]),
    (ExponentialDecay(0.5, period=2), [1.0, R2, 0.5, R2 / 2, 0.25]),
    (ExponentialDecay(0.5, period=2, staircase=True), [1.0, 1.0, 0.5, 0.5, 0.25]),
    # 0.1 ** (milestones passed): the repeated milestone 4 counts twice
    (MultiStep((2, 4, 4), 0.1), [1.0, 1.0, 0.1, 0.1, 0.001, 0.001]),
    # knots (0, 0) (2, 1) (2, 0.5) (6, 0): up, jump down at 2, linear to 0, held
    (Piecewise((0, 2, 2, 6), (0.0, 1.0, 0.5, 0.0)), [0.0, 0.5, 0.5, 0.375, 0.25, 0.125, 0.0, 0.0]),
    # half cosine from 1 to 0 over 4 steps: 0 + (1 - 0) / 2 (cos(pi t / 4) + 1)
    (Piecewise((0, 4), (1.0, 0.0), "cosine"), [1.0, C1, 0.5, C3, 0.0, 0.0]),
    # one cosine cycle of 4 steps, then the floor
    (CosineCycles(4), [1.0, C1, 0.5, C3, 0.0, 0.0]),
    # second cycle peaks at 0.5: 0.5 * 1/2 (1 + cos(pi t_c / 4)); floor 0 after two cycles
    (CosineCycles(4, cycle_decay=0.5, cycle_limit=2), {4: 0.5, 5: 0.5 * C1, 6: 0.25, 8: 0.0}),
    # cycles of 2 then 4 steps (cycle_mul 2): restart at t = 2
    (CosineCycles(2, cycle_mul=2.0, cycle_limit=2), [1.0, 0.5, 1.0, C1, 0.5, C3, 0.0]),
    # floor 0.2 and k-decay 2: 0.2 + 0.4 (1 + cos(pi t^2 / 16)) at t = 2: 0.2 + 0.4 (1 + cos(pi/4))
    (CosineCycles(4, floor=0.2, k_decay=2.0), {0: 1.0, 2: 0.2 + 0.4 * (1 + R2), 4: 0.2}),
    # the LR part of a schedule that also carries momentum
    (WithMomentum(Constant(0.5), Constant(0.9)), [0.5, 0.5]),
    # NeMo's warmup (t + 1) / (L + 1); p^2 and (1 - p)^2 polynomials
    (Ramp(4, "nemo"), [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]),
    # DeepSpeed's log warmup from 0.1 over 4 steps, as its engine steps WarmupLR (its own LRs)
    (Ramp(4, "log", start=0.1), [0.1, 0.1, 0.55, 0.8132331253245203, 1.0, 1.0]),
    (Ramp(4, "polynomial", power=2.0), [0.0, 0.0625, 0.25, 0.5625, 1.0, 1.0]),
    (Decay(4, "polynomial", power=2.0), [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]),
    # optax's exponent: the cosine factor squared
    (Decay(4, "cosine", power=2.0), [1.0, C1**2, 0.25, C3**2, 0.0, 0.0]),
    (CosineDecay(4, exponent=2.0), [1.0, C1**2, 0.25, C3**2, 0.0]),
    # k-decay 2: 1 - (t / 4)^2, then lr_end; NeMo's cycle: 1 - t / (4 ceil(t / 4))
    (PolynomialDecay(4, 1.0, 1.0, 0.0, k_decay=2.0), [1.0, 0.9375, 0.75, 0.4375, 0.0, 0.0]),
    (PolynomialDecay(4, 1.0, 1.0, 0.0, cycle=True), {0: 1.0, 3: 0.25, 4: 0.0, 5: 0.375, 8: 0.0, 9: 0.25}),
    # ((t + 4) / 4)^-1
    (InverseSqrt(4, decay_rate=1.0), {0: 1.0, 4: 0.5, 12: 0.25}),
    # optax's end_value: a floor when decaying, a ceiling when growing
    (ExponentialDecay(0.5, bound=0.2), [1.0, 0.5, 0.25, 0.2, 0.2]),
    (ExponentialDecay(2.0, bound=3.0), [1.0, 2.0, 3.0, 3.0]),
    # 1/2 (1 - tanh(-7 (1 - t/4) + 3 t/4)): tanh(-7) at t = 0, tanh(-2) at t = 2; floor after the cycle
    (TanhCycles(4), {0: 0.5 * (1 - math.tanh(-7.0)), 2: 0.5 * (1 - math.tanh(-2.0)), 4: 0.0}),
    # per-cycle warmup: up over 2 steps, then a cosine over the other 4
    (CosineCycles(6, warmup=2), {0: 0.0, 1: 0.5, 2: 1.0, 4: 0.5, 6: 0.0}),
    # torch's CyclicLR from 1 to 3, two steps up and two down; triangular2 halves cycle 2; exp_range
    # scales by 0.5^t; the momentum goes the other way
    (Cyclic(2, 2, 1.0, 3.0), [1.0, 2.0, 3.0, 2.0, 1.0, 2.0]),
    (Cyclic(2, 2, 1.0, 3.0, "triangular2"), {2: 3.0, 4: 1.0, 5: 1.5, 6: 2.0}),
    (Cyclic(2, 2, 1.0, 3.0, "exp_range", gamma=0.5), {0: 1.0, 1: 1.5, 2: 1.5, 3: 1.125}),
    (Cyclic(2, 2, 0.8, 0.9, inverted=True), {0: 0.9, 1: 0.85, 2: 0.8, 4: 0.9}),
    # SWALR from 1 to 0.2: cosine 1/2 (1 - cos(pi t / 4)) half way; linear; anneal 0 jumps at once
    (SwaAnneal(4, 0.2), [1.0, 0.2 * C3 + (1 - C3), 0.6, 0.2 * C1 + (1 - C1), 0.2, 0.2]),
    (SwaAnneal(4, 0.2, strategy="linear"), [1.0, 0.8, 0.6, 0.4, 0.2]),
    (SwaAnneal(0, 0.2, start=0.5), [0.2, 0.2]),
    # Noam, d = 4, W = 4: 1/2 min(s^-1/2, s / 8), s >= 1
    (Noam(4, 4), {0: 0.0625, 1: 0.0625, 4: 0.25, 16: 0.125}),
    (Noam(4, 0), {0: 0.5, 4: 0.25}),
    # T5: 2 / sqrt(max(s, 4))
    (RsqrtHold(4, 2.0), {0: 1.0, 4: 1.0, 16: 0.5}),
    # combinators
    (Shift(LinearToZero(4), 2), [0.5, 0.25, 0.0, 0.0]),
    (Clamp(LinearToZero(4), 0.3, start=1), [1.0, 0.75, 0.5, 0.3, 0.3]),
    (Product((Ramp(2), Constant(0.5))), [0.0, 0.25, 0.5, 0.5]),
    # timm's uniform noise of steps 1 and 2 (seeds 43, 44; torch.rand's draws), none outside
    (Noisy(Constant(1.0), 1, 3, "uniform", 0.5, 42), [1.0, 0.9539682865142822, 1.219590425491333, 1.0]),
    # the normal draws of seeds 7 and 8, redrawn until |n| < 0.3
    (Noisy(Constant(2.0), 0, None, "normal", 0.3, 7), [1.7064098119735718, 2.5425530076026917]),
]


def _points(expected):
    return expected.items() if isinstance(expected, dict) else enumerate(expected)


@pytest.mark.parametrize(("schedule", "expected"), GOLDEN, ids=lambda v: repr(v)[:60])
def test_golden_values(schedule, expected):
    steps, values = zip(*_points(expected), strict=True)
    got = schedule(np.array(steps))
    assert got.dtype == np.float64
    assert got.tolist() == pytest.approx(list(values), rel=1e-15, abs=1e-16)


def test_golden_values_cover_every_schedule():
    import confsched.schedules as module

    classes = {type(schedule) for schedule, _ in GOLDEN}
    exported = {getattr(module, name) for name in module.__all__}
    assert classes == {c for c in exported if isinstance(c, type) and hasattr(c, "__dataclass_fields__")}
    ramp_shapes = set(module.WarmupShape.__args__) | set(module.PhaseShape.__args__)
    assert {s.shape for s, _ in GOLDEN if isinstance(s, Ramp)} == ramp_shapes
    assert {s.shape for s, _ in GOLDEN if isinstance(s, Decay)} == set(module.DecayShape.__args__)


LONG = [
    CosineDecay(997),
    CosineDecay(1000, num_cycles=1.37, floor=0.1),
    CosineHardRestarts(333, num_cycles=3.3),
    Ramp(100, "cosine", start=0.1),
    Ramp(100, "1-sqrt"),
    Ramp(10, "exponential", start=0.01),
    Decay(500, "cosine", floor=0.1, num_cycles=0.7),
    Decay(500, "1-sqrt", floor=0.2),
    InverseSqrt(77),
    LinearToZero(123),
    *(PolynomialDecay(280, power, 1e-3, 1e-7) for power in (0.5, 1.0, 2.0, 3.0, 1.7)),
    CosineWarmupWithMinLR(50, 900, 0.5, 0.1),
    CosineWarmupWithMinLR(50, 900, 1.5, 0.0, warmup_start=0.05),
    Join((Ramp(30), Constant(1.0), Decay(200, "1-sqrt")), (30, 300)),
]
ALL = [schedule for schedule, _ in GOLDEN] + LONG


@pytest.mark.parametrize("schedule", LONG + [s for s, _ in GOLDEN], ids=lambda s: repr(s)[:60])
def test_vectorised_equals_elementwise(schedule):
    steps = np.arange(0, 1200)
    vector = schedule(steps)
    scalars = [float(schedule(int(k))) for k in steps]
    assert vector.tolist() == scalars  # bit for bit: the torch scheduler and lr_curve use blocks of steps
    shifted = np.concatenate([schedule(np.arange(k, k + 7))[:1] for k in range(0, 400)])
    assert shifted.tolist() == scalars[:400]  # a value does not depend on where a block starts


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: repr(s)[:60])
@pytest.mark.parametrize("step", [0, 3, np.int64(7), np.array(2)])
def test_zero_d_in_zero_d_out(schedule, step):
    out = schedule(step)
    assert isinstance(out, np.ndarray)
    assert (out.shape, out.dtype) == ((), np.float64)
    assert float(out) == schedule(np.array([int(step)]))[0]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: repr(s)[:60])
def test_shape_is_kept(schedule):
    steps = np.array([[0, 1, 2], [5, 8, 13]])
    out = schedule(steps)
    assert out.shape == (2, 3)
    assert out.ravel().tolist() == schedule(steps.ravel()).tolist()
    assert schedule(np.array([], dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: repr(s)[:60])
def test_pickles(schedule):
    clone = pickle.loads(pickle.dumps(schedule))
    assert clone == schedule
    steps = np.arange(300)
    assert clone(steps).tolist() == schedule(steps).tolist()


# ---- Join ----------------------------------------------------------------------------------------

A, B, C, D = Constant(0.1), Constant(0.2), Constant(0.3), Constant(0.4)


@pytest.mark.parametrize(
    ("join", "expected"),
    [
        (Join((A, B), (3,)), [0.1, 0.1, 0.1, 0.2, 0.2]),
        # a zero-length middle segment is skipped: boundary 2 belongs to the segment after it
        (Join((A, B, C, D), (2, 2, 5)), [0.1, 0.1, 0.3, 0.3, 0.3, 0.4, 0.4]),
        # a zero-length first segment
        (Join((A, B, C), (0, 3)), [0.2, 0.2, 0.2, 0.3, 0.3]),
        # two zero-length segments in a row
        (Join((A, B, C, D), (3, 3, 3)), [0.1, 0.1, 0.1, 0.4, 0.4]),
        # everything after the last boundary is the last segment
        (Join((A, B), (0,)), [0.2, 0.2, 0.2]),
    ],
)
def test_join_boundaries(join, expected):
    assert join(np.arange(len(expected))).tolist() == expected


def test_join_segments_run_on_local_time():
    join = Join((Constant(1.0), LinearToZero(4), Ramp(2)), (3, 5))
    # step 3 is local step 0 of LinearToZero, step 5 local step 0 of Ramp
    assert join(np.arange(8)).tolist() == [1.0, 1.0, 1.0, 1.0, 0.75, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("segments", "boundaries", "message"),
    [
        ((A,), (1,), "Join needs exactly one boundary between consecutive segments"),
        ((A, B), (), "Join needs exactly one boundary between consecutive segments"),
        ((A, B, C), (3, 1), r"Join boundaries must not decrease: \(3, 1\)"),
    ],
)
def test_join_rejects_bad_boundaries(segments, boundaries, message):
    with pytest.raises(ValueError, match=message):
        Join(segments, boundaries)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    probe=st.integers(0, 30),
)
def test_join_picks_the_segment_of_each_step(lengths, probe):
    """Segment i covers [b_{i-1}, b_i); each segment is a line ``start + t`` so the local time shows."""
    boundaries = tuple(np.cumsum(lengths).tolist())
    segments = tuple(_Offset(100.0 * i) for i in range(len(lengths) + 1))
    join = Join(segments, boundaries)
    starts = (0, *boundaries)
    index = max(
        i
        for i, start in enumerate(starts)
        if start <= probe and (i == len(starts) - 1 or probe < starts[i + 1])
    )
    assert float(join(probe)) == 100.0 * index + (probe - starts[index])


class _Offset:
    """A test segment: ``base + t``."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __call__(self, step):
        return self.base + np.asarray(step, dtype=np.float64)
