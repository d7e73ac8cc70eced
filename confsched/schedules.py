r"""Learning-rate schedules as pure math: ``multiplier = schedule(step)``.

A schedule maps an optimizer step :math:`s` (0 = the first ``optimizer.step()``) to a multiplier
:math:`m(s)`; group :math:`g` trains at :math:`\eta_g \, m(s)` where :math:`\eta_g` is its base LR.
Every schedule here is a small frozen (hence picklable) dataclass whose ``__call__`` takes one step
or a NumPy array of steps and returns ``float64`` multipliers of the same shape, with no Python
branch on the step (``np.where``/``np.maximum`` and masks). The torch scheduler and
:func:`confsched.lr_curve` call these same objects, so a stepped run and a previewed curve agree
bit for bit.

Segments are functions of *local* time :math:`t` (steps since the segment began); :class:`Join`
sequences them at step boundaries (``optax.join_schedules``). Each formula reproduces the floating
point operations of ``transformers.optimization`` in the same order, so the families built from
them match ``transformers.get_scheduler`` to the last bit wherever NumPy's ``cos``/``sqrt`` do.

Families from elsewhere follow their reference the same way: :class:`CosineCycles` is timm's
``CosineLRScheduler``, :class:`ExponentialDecay` and :class:`MultiStep` are torch's ``StepLR`` /
``ExponentialLR`` / ``MultiStepLR`` in closed form, and :class:`Piecewise` interpolates with the
operations of torch's ``OneCycleLR``. :func:`segment` and :func:`sequence` build phased schedules
(warmup-stable-decay and the ``phases`` family) out of :class:`Ramp`, :class:`Decay` and
:class:`Constant`. :class:`WithMomentum` pairs an LR schedule with an absolute momentum schedule.

Symbols: :math:`t` local step, :math:`L` segment length in steps, :math:`c` ``num_cycles``,
:math:`r` floor ratio (``min_lr_rate``), :math:`\rho` start ratio of a warmup.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "Constant",
    "CosineCycles",
    "CosineDecay",
    "CosineHardRestarts",
    "CosineWarmupWithMinLR",
    "Decay",
    "DecayShape",
    "ExponentialDecay",
    "Interpolation",
    "InverseSqrt",
    "Join",
    "LinearToZero",
    "MultiStep",
    "Piecewise",
    "PolynomialDecay",
    "Ramp",
    "RampShape",
    "Scaled",
    "Schedule",
    "WithMomentum",
    "as_steps",
    "momentum_schedule",
    "segment",
    "sequence",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RampShape = Literal["linear", "cosine", "1-sqrt", "exponential", "constant"]
DecayShape = Literal["linear", "cosine", "1-sqrt", "exponential"]
Interpolation = Literal["linear", "cosine"]


class Schedule(Protocol):
    """Anything that maps steps (an int or an int array) to float64 multipliers."""

    def __call__(self, step: npt.ArrayLike) -> FloatArray: ...


def as_steps(step: npt.ArrayLike) -> IntArray:
    """``step`` as an ``int64`` array (0-d for a scalar)."""
    return np.asarray(step, dtype=np.int64)


def _progress(t: IntArray, length: int) -> FloatArray:
    """:math:`t / \\max(1, L)` as a new float64 array (0-d for a scalar), as transformers computes it."""
    out = np.empty(t.shape, dtype=np.float64)
    return np.divide(t, float(max(1, length)), out=out)


def _floor(factor: FloatArray, floor: float) -> FloatArray:
    r""":math:`\max(0, f (1 - r) + r)`: rescale a 1-to-0 factor to end at ``floor``, in place.

    For :math:`r = 0` the rescaling is the identity and is skipped.
    """
    factor = np.asarray(factor, dtype=np.float64)  # a 0-d array for a scalar: writable in place
    if floor != 0.0:
        np.multiply(factor, 1.0 - floor, out=factor)
        np.add(factor, floor, out=factor)
    return np.maximum(0.0, factor, out=factor)


@dataclass(frozen=True)
class Constant:
    r""":math:`m(t) = v`."""

    value: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        return np.full(np.shape(step), self.value, dtype=np.float64)


@dataclass(frozen=True)
class Ramp:
    r"""Warmup from :math:`\rho` to 1 over :math:`L` steps, with :math:`p = t / \max(1, L)`.

    .. math::

        m(t) = \max\bigl(0,\; \rho + (1 - \rho)\, w(p)\bigr), \qquad
        w(p) = \begin{cases}
            p & \text{linear} \\
            \tfrac12 (1 - \cos \pi p) & \text{cosine} \\
            1 - \sqrt{1 - p} & \text{1-sqrt}
        \end{cases}

    and for ``exponential`` :math:`m(t) = \rho^{\,1 - p}` (geometric from :math:`\rho > 0` to 1),
    for ``constant`` :math:`m(t) = \rho`. With :math:`\rho = 0` and ``linear`` this is exactly
    transformers' warmup :math:`t / \max(1, L)`. The ramp never reaches 1 itself: the segment after
    it starts at :math:`t = L`.
    """

    length: int
    shape: RampShape = "linear"
    start: float = 0.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        p = np.minimum(_progress(as_steps(step), self.length), 1.0)
        if self.shape == "exponential":
            return _python_pow(self.start, 1.0 - p)
        if self.shape == "constant":
            return np.full(p.shape, self.start, dtype=np.float64)
        if self.shape == "linear":
            w = p
        elif self.shape == "cosine":
            w = 0.5 * (1.0 - np.cos(math.pi * p))
        else:
            w = 1.0 - np.sqrt(1.0 - p)
        return _floor(w, self.start)


@dataclass(frozen=True)
class LinearToZero:
    r"""transformers' ``linear`` decay: :math:`m(t) = \max\bigl(0, (L - t) / \max(1, L)\bigr)`."""

    length: int

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        return np.asarray(np.maximum(0.0, (self.length - t) / float(max(1, self.length))), dtype=np.float64)


@dataclass(frozen=True)
class CosineDecay:
    r"""Cosine from 1 to the floor :math:`r`, :math:`c` waves over :math:`L` steps.

    .. math::

        m(t) = \max\Bigl(0,\; r + (1 - r)\, \tfrac12 \bigl(1 + \cos(2 \pi c\, t / \max(1, L))\bigr)\Bigr)

    The wave continues past :math:`t = L` (as in transformers): with :math:`c = 1/2` the
    multiplier rises again after the end of the run.
    """

    length: int
    num_cycles: float = 0.5
    floor: float = 0.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        x = _progress(as_steps(step), self.length)
        # 0.5 * (1 + cos(pi * c * 2 * p)), in place: same operations, no temporaries
        np.multiply(x, math.pi * float(self.num_cycles) * 2.0, out=x)
        np.cos(x, out=x)
        np.add(x, 1.0, out=x)
        np.multiply(x, 0.5, out=x)
        return _floor(x, self.floor)


@dataclass(frozen=True)
class CosineHardRestarts:
    r"""Cosine from 1 to 0 restarted :math:`c` times over :math:`L` steps, then 0.

    .. math::

        m(t) = \begin{cases}
            \max\bigl(0, \tfrac12 (1 + \cos(\pi \,((c\, p) \bmod 1)))\bigr) & p < 1 \\
            0 & p \ge 1
        \end{cases}, \qquad p = t / \max(1, L)
    """

    length: int
    num_cycles: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        x = _progress(as_steps(step), self.length)
        finished = x >= 1.0
        # 0.5 * (1 + cos(pi * ((c * p) mod 1))), in place. x - floor(x) is Python's x % 1.0 to the
        # bit (fmod is exact, and both round the same exact value once) and 10x faster than np.mod.
        np.multiply(x, float(self.num_cycles), out=x)
        np.subtract(x, np.floor(x), out=x)
        np.multiply(x, math.pi, out=x)
        np.cos(x, out=x)
        np.add(x, 1.0, out=x)
        np.multiply(x, 0.5, out=x)
        np.maximum(0.0, x, out=x)
        x[finished] = 0.0
        return x


@dataclass(frozen=True)
class PolynomialDecay:
    r"""Polynomial decay of the LR from :math:`\eta_0` (``lr_init``) to :math:`\eta_e` (``lr_end``).

    .. math::

        m(t) = \frac{(\eta_0 - \eta_e)\,(1 - t / L)^{k} + \eta_e}{\eta_0} \text{ for } t \le L,
        \qquad m(t) = \eta_e / \eta_0 \text{ for } t > L

    with power :math:`k > 0` and :math:`L \ge 1`. Like transformers, :math:`\eta_0` is the
    optimizer's LR: every group is scaled by the same multiplier.
    """

    length: int
    power: float
    lr_init: float
    lr_end: float

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        remaining = 1 - np.minimum(t, self.length) / self.length
        # x ** power element by element as Python computes it (transformers does): see _python_pow.
        powered = _python_pow(remaining, float(self.power))
        decay = (self.lr_init - self.lr_end) * powered + self.lr_end
        return np.where(t > self.length, self.lr_end / self.lr_init, decay / self.lr_init)


@dataclass(frozen=True)
class InverseSqrt:
    r"""Inverse square root decay with timescale :math:`\tau`: :math:`m(t) = 1 / \sqrt{(t + \tau) / \tau}`."""

    timescale: int

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        return np.asarray(1.0 / np.sqrt((t + self.timescale) / self.timescale), dtype=np.float64)


@dataclass(frozen=True)
class Decay:
    r"""Decay from 1 to the floor :math:`r` over :math:`L` steps (the decay of warmup-stable-decay).

    .. math::

        m(t) = \max\bigl(0,\; r + (1 - r)\, d(p)\bigr), \qquad
        d(p) = \begin{cases}
            1 - p & \text{linear} \\
            \tfrac12 (1 + \cos 2 \pi c p) & \text{cosine} \\
            1 - \sqrt{p} & \text{1-sqrt}
        \end{cases}, \qquad p = \min(t, L) / \max(1, L)

    and for ``exponential`` :math:`m(t) = r^{\,p}` (geometric from 1 to :math:`r > 0`).
    """

    length: int
    shape: DecayShape = "cosine"
    floor: float = 0.0
    num_cycles: float = 0.5

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        p = _progress(np.minimum(as_steps(step), self.length), self.length)
        if self.shape == "exponential":
            return _python_pow(self.floor, p)
        if self.shape == "linear":
            d = 1.0 - p
        elif self.shape == "cosine":
            d = 0.5 * (1.0 + np.cos(math.pi * float(self.num_cycles) * 2.0 * p))
        else:
            d = 1.0 - np.sqrt(p)
        return _floor(d, self.floor)


@dataclass(frozen=True)
class CosineWarmupWithMinLR:
    r"""transformers' ``cosine_warmup_with_min_lr``: cosine to the floor, evaluated one step ahead.

    With warmup :math:`W`, total :math:`T` and an optional warmup start :math:`\rho`:

    .. math::

        m(s) = \begin{cases}
            (s + 1) / \max(1, W) & s < W,\ \rho \text{ unset} \\
            \rho + (1 - \rho)\, s / \max(1, W - 1) & s < W,\ \rho \text{ set} \\
            \max\bigl(0, r + (1 - r)\tfrac12 (1 + \cos(2\pi c\, (s - W + 1) / \max(1, T - W)))\bigr)
              & s \ge W
        \end{cases}

    The ``+ 1`` makes the first step train at :math:`1/W` instead of 0 and the last planned step
    reach the floor exactly. This is a function of the global step :math:`s`, not of local time.
    """

    warmup_steps: int
    total_steps: int
    num_cycles: float
    floor: float
    warmup_start: float | None = None

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        s = as_steps(step).astype(np.float64)
        w = float(self.warmup_steps)
        if self.warmup_start is None:
            ramp = (s + 1.0) / max(1.0, w)
        else:
            rho = float(self.warmup_start)
            ramp = rho + (1.0 - rho) * s / max(1, self.warmup_steps - 1)
        progress = (s - w + 1.0) / max(1.0, float(self.total_steps) - w)
        factor = 0.5 * (1.0 + np.cos(math.pi * self.num_cycles * 2.0 * progress))
        return np.where(s < w, ramp, _floor(factor, self.floor))


@dataclass(frozen=True)
class Join:
    r"""Segments in sequence: segment :math:`i` runs from ``boundaries[i-1]`` to ``boundaries[i]``.

    .. math::

        m(s) = m_i(s - b_{i-1}) \quad \text{for } b_{i-1} \le s < b_i,
        \qquad b_{-1} = 0,\; b_n = \infty

    Each segment sees its own local time starting at 0 and is evaluated only on its own steps.
    Zero-length segments are skipped; ``boundaries`` must be non-decreasing and have one entry
    fewer than ``segments``.
    """

    segments: tuple[Schedule, ...]
    boundaries: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.boundaries) != len(self.segments) - 1:
            raise ValueError("Join needs exactly one boundary between consecutive segments")
        if any(b < a for a, b in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError(f"Join boundaries must not decrease: {self.boundaries}")

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        s = as_steps(step)
        starts = (0, *self.boundaries)
        out = np.empty(s.shape, dtype=np.float64)
        if s.ndim == 1 and (s.size < 2 or bool((s[1:] >= s[:-1]).all())):
            # sorted steps (the usual np.arange): each segment is one contiguous slice
            edges = np.searchsorted(s, self.boundaries, side="left").tolist()
            for segment, start, lo, hi in zip(
                self.segments, starts, [0, *edges], [*edges, s.size], strict=True
            ):
                if hi > lo:
                    out[lo:hi] = segment(s[lo:hi] - start)
            return out
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.int64), s, side="right")
        for i, segment in enumerate(self.segments):
            mask = index == i
            if mask.any():
                out[mask] = segment(s[mask] - starts[i])
        return out


@dataclass(frozen=True)
class Scaled:
    r""":math:`m(t) = a\, f(t)`: the schedule :math:`f` at level :math:`a` (exact for :math:`a = 1`)."""

    schedule: Schedule
    factor: float

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        return np.asarray(self.factor * self.schedule(step), dtype=np.float64)


def segment(length: int, shape: RampShape, start: float, end: float, num_cycles: float = 0.5) -> Schedule:
    r"""A phase of :math:`L` = ``length`` steps from multiplier :math:`a` = ``start`` to :math:`b` = ``end``.

    .. math::

        m(t) = \begin{cases}
            b \cdot \mathrm{Ramp}(t;\ L, \text{shape}, \rho = a / b) & b > a \\
            a \cdot \mathrm{Decay}(t;\ L, \text{shape}, r = b / a, c) & b < a \\
            a & b = a \text{ or shape} = \text{constant}
        \end{cases}

    A phase rising to 1 or falling from 1 is therefore exactly a :class:`Ramp` or a :class:`Decay`
    (the level is 1.0 and :math:`a / 1 = a`), which is how warmup-stable-decay stays bit-exact when
    written as phases. ``exponential`` needs :math:`a, b > 0`; :math:`c` (``num_cycles``) only
    shapes a falling cosine.
    """
    if shape == "constant" or end == start:
        return Constant(start)
    if end > start:
        return Scaled(Ramp(length, shape, start / end), end)
    return Scaled(Decay(length, shape, end / start, num_cycles), start)


def sequence(phases: Sequence[tuple[int, Schedule]], then: Schedule) -> Join:
    """Phases of the given lengths back to back, each on its own local time, then ``then`` forever.

    ``sequence([(L0, f0), (L1, f1)], g)`` is ``Join((f0, f1, g), (L0, L0 + L1))``.
    """
    boundaries = tuple(itertools.accumulate(length for length, _ in phases))
    return Join((*(schedule for _, schedule in phases), then), boundaries)


def _python_pow(base: npt.ArrayLike, exponent: npt.ArrayLike) -> FloatArray:
    """``base ** exponent`` element by element as Python computes it (C's ``pow``).

    NumPy's ``power`` is not C's ``pow``: depending on the release and the CPU it uses its own SIMD
    code (SVML on AVX-512) for arrays but C's ``pow`` for a single value, or replaces ``x ** 2.0`` by
    ``x * x``, and then differs in the last bit for some values. One Python operation per element
    keeps a value the same in a block and alone, and equal to a reference that uses Python floats,
    whatever the NumPy release. (Bases here are >= 0.)
    """
    b, e = np.broadcast_arrays(np.asarray(base, dtype=np.float64), np.asarray(exponent, dtype=np.float64))
    powered = [x**y for x, y in zip(b.ravel().tolist(), e.ravel().tolist(), strict=True)]
    return np.asarray(np.array(powered, dtype=np.float64).reshape(b.shape), dtype=np.float64)


def _integer_powers(base: float, exponents: npt.ArrayLike) -> FloatArray:
    """``base ** k`` for integer ``k >= 0``, each computed by Python as torch's closed forms do.

    One Python ``**`` per distinct ``k`` (a table from the smallest to the largest, or of the distinct
    ones when they are spread out), then NumPy indexing: exact and still vectorised over the steps.
    """
    k = np.asarray(exponents, dtype=np.int64)
    if k.size == 0:
        return np.zeros(k.shape, dtype=np.float64)
    low, high = int(k.min()), int(k.max())
    if high - low < 2 * k.size:
        table = np.array([_pow_or_inf(base, n) for n in range(low, high + 1)], dtype=np.float64)
        return np.asarray(table[k - low], dtype=np.float64)
    distinct, where = np.unique(k, return_inverse=True)
    table = np.array([_pow_or_inf(base, n) for n in distinct.tolist()], dtype=np.float64)
    return table[where].reshape(k.shape)


def _pow_or_inf(base: float, n: int) -> float:
    try:
        return float(base) ** n
    except OverflowError:  # Python raises where NumPy gives inf
        return math.inf


@dataclass(frozen=True)
class ExponentialDecay:
    r"""Geometric decay by the rate :math:`\gamma` per ``period`` :math:`P` steps.

    .. math::

        m(t) = \gamma^{\,t / P}, \qquad \text{or with } \texttt{staircase}: \quad
        m(t) = \gamma^{\lfloor t / P \rfloor}

    :math:`P = 1` is torch's ``ExponentialLR`` (:math:`\gamma^t`); ``staircase`` is torch's
    ``StepLR`` (its closed form ``gamma ** (t // step_size)``). :math:`\gamma > 1` grows the LR;
    with ``until`` :math:`U` the multiplier holds :math:`m(U)` from :math:`t = U` on (so growth stops
    at the end of the run instead of overflowing after it).
    """

    rate: float
    period: int = 1
    staircase: bool = False
    until: int | None = None

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        if self.until is not None:
            t = np.minimum(t, self.until)
        if self.staircase:  # torch's StepLR closed form: gamma ** (t // step_size) in Python floats
            return _integer_powers(self.rate, t // self.period)
        return np.asarray(np.power(self.rate, t / self.period), dtype=np.float64)


@dataclass(frozen=True)
class MultiStep:
    r"""torch's ``MultiStepLR``: :math:`m(t) = \gamma^{\,n(t)}`, :math:`n(t) = \#\{j : t_j \le t\}`.

    ``milestones`` :math:`t_j` are sorted steps; a repeated milestone counts twice (as in torch).
    """

    milestones: tuple[int, ...]
    rate: float

    def __post_init__(self) -> None:
        if list(self.milestones) != sorted(self.milestones):
            raise ValueError(f"MultiStep milestones must be sorted: {self.milestones}")

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        passed = np.searchsorted(np.asarray(self.milestones, dtype=np.int64), as_steps(step), side="right")
        return _integer_powers(self.rate, passed)  # torch's closed form: gamma ** bisect_right(...)


@dataclass(frozen=True)
class Piecewise:
    r"""Interpolation between knots :math:`(x_j, y_j)`, holding :math:`y_0` before the first knot
    and :math:`y_n` from the last one on.

    For :math:`x_j \le t < x_{j+1}`, with :math:`p = (t - x_j) / (x_{j+1} - x_j)`:

    .. math::

        m(t) = \begin{cases}
            (y_{j+1} - y_j)\, p + y_j & \text{linear} \\
            y_{j+1} + \tfrac12 (y_j - y_{j+1}) (\cos \pi p + 1) & \text{cosine}
        \end{cases}

    (the operations of torch's ``OneCycleLR`` anneal functions). Positions may be fractional and
    may repeat: a repeated position is a jump, the later knot's value applying from that step on.
    """

    positions: tuple[float, ...]
    values: tuple[float, ...]
    interpolation: Interpolation = "linear"

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.values) or len(self.positions) < 2:
            raise ValueError("Piecewise needs at least two knots, one value per position")
        if any(b < a for a, b in zip(self.positions, self.positions[1:], strict=False)):
            raise ValueError(f"Piecewise positions must not decrease: {self.positions}")

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step).astype(np.float64)
        x = np.asarray(self.positions, dtype=np.float64)
        y = np.asarray(self.values, dtype=np.float64)
        j = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
        x0, x1, y0, y1 = x[j], x[j + 1], y[j], y[j + 1]
        span = x1 - x0
        p = np.clip((t - x0) / np.where(span > 0, span, 1.0), 0.0, 1.0)
        if self.interpolation == "linear":
            inner = (y1 - y0) * p + y0
        else:
            inner = y1 + (y0 - y1) / 2.0 * (np.cos(math.pi * p) + 1.0)
        return np.where(t < x[0], y[0], np.where(t >= x[-1], y[-1], inner))


_SNAP = 1e-9
"""Cycles by which :class:`CosineCycles` lets a step that starts a cycle snap to it."""


@dataclass(frozen=True)
class CosineCycles:
    r"""timm's ``CosineLRScheduler``: cosine cycles with warm restarts, growing and decaying.

    Cycle :math:`i = 0, 1, \dots` lasts :math:`L_i = L \mu^i` steps and starts at
    :math:`S_i = L (1 - \mu^i) / (1 - \mu)` (:math:`S_i = i L` for :math:`\mu = 1`). With
    :math:`t_c = t - S_i` the steps into the cycle:

    .. math::

        m(t) = \begin{cases}
            r + \tfrac12 (\delta^i - r) \bigl(1 + \cos(\pi\, t_c^{\,k} / L_i^{\,k})\bigr) & i < n \\
            r & i \ge n
        \end{cases}, \qquad
        i = \begin{cases}
            \lfloor t / L \rfloor & \mu = 1 \\
            \lfloor \log_\mu \bigl(1 - t (1 - \mu) / L\bigr) \rfloor & \mu > 1
        \end{cases}

    :math:`L` cycle length, :math:`\mu \ge 1` ``cycle_mul``, :math:`\delta` ``cycle_decay`` (cycle
    :math:`i` peaks at :math:`\delta^i`), :math:`n` ``cycle_limit``, :math:`k` ``k_decay``,
    :math:`r` floor. The operations are timm's, with one fix: where timm's floating-point
    :math:`\log_\mu` lands a hair below the integer at the first step of a cycle (e.g. :math:`L = 7`,
    :math:`\mu = 3`, :math:`t = 847 = S_5`), timm treats that step as the end of the previous cycle
    (the floor) and restarts one step late; here the index snaps to the cycle that starts there
    (within :math:`10^{-9}` cycles) and :math:`t_c` is clipped at 0.
    """

    length: int
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    floor: float = 0.0
    k_decay: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        length, mul = self.length, self.cycle_mul
        if mul == 1.0:
            i: FloatArray = (t // length).astype(np.float64)
            cycle: FloatArray | float = float(length)
            t_c = t - length * i
        else:
            i = np.floor(np.log(1 - t / length * (1 - mul)) / math.log(mul) + _SNAP)
            cycle = np.power(mul, i) * length
            t_c = np.maximum(0.0, t - (1 - np.power(mul, i)) / (1 - mul) * length)
        k = self.k_decay
        peak = np.power(self.cycle_decay, np.minimum(i, self.cycle_limit))  # past the limit: the floor
        wave = self.floor + 0.5 * (peak - self.floor) * (1 + np.cos(math.pi * t_c**k / cycle**k))
        return np.asarray(np.where(i < self.cycle_limit, wave, self.floor), dtype=np.float64)


@dataclass(frozen=True)
class WithMomentum:
    """An LR multiplier schedule that also sets the momentum (SGD, RMSprop) or beta1 (Adam family).

    Calling it gives the LR multiplier; ``momentum`` maps steps to absolute momentum values, the
    same for every parameter group (torch's ``OneCycleLR`` with scalar momenta).
    """

    lr: Schedule
    momentum: Schedule

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        return self.lr(step)


def momentum_schedule(schedule: object) -> Schedule | None:
    """The momentum schedule paired with ``schedule`` (:class:`WithMomentum`), else ``None``."""
    return schedule.momentum if isinstance(schedule, WithMomentum) else None
