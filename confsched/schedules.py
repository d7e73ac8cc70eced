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

More families follow their peers the same way: :class:`TanhCycles` (timm's ``TanhLRScheduler``),
:class:`Cyclic` (torch's ``CyclicLR``), :class:`SwaAnneal` (torch's ``SWALR``), :class:`Noam` and
:class:`RsqrtHold` (NeMo's ``NoamAnnealing`` and ``T5InverseSquareRootAnnealing``). Combinators
change any schedule: :class:`Product` (torch's ``ChainedScheduler``), :class:`Shift` (a curve on the
global step, under an overlaid warmup), :class:`Clamp` (NeMo's ``max(lr, min_lr)``) and
:class:`Noisy` (timm's LR noise, drawn by :mod:`confsched.noise`).

Powers that must equal torch's to the bit (``gamma ** k`` of ``StepLR``, ``MultiStepLR``,
``ExponentialLR``) are taken with Python's float ``**`` (the C library's ``pow``), once per distinct
integer exponent: NumPy's own ``power`` differs from it in the last bit for some arguments, depending
on the NumPy release.

Symbols: :math:`t` local step, :math:`L` segment length in steps, :math:`c` ``num_cycles``,
:math:`r` floor ratio (``min_lr_rate``), :math:`\rho` start ratio of a warmup.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from confsched.noise import NoiseKind, noise

__all__ = [
    "Clamp",
    "Constant",
    "CosineCycles",
    "CosineDecay",
    "CosineHardRestarts",
    "CosineWarmupWithMinLR",
    "Cyclic",
    "CyclicMode",
    "Decay",
    "DecayShape",
    "ExponentialDecay",
    "Interpolation",
    "InverseSqrt",
    "Join",
    "LinearToZero",
    "MultiStep",
    "Noam",
    "Noisy",
    "PhaseShape",
    "Piecewise",
    "PolynomialDecay",
    "Product",
    "Ramp",
    "RampShape",
    "RsqrtHold",
    "Scaled",
    "Schedule",
    "Shift",
    "SwaAnneal",
    "TanhCycles",
    "WarmupShape",
    "WithMomentum",
    "as_steps",
    "momentum_schedule",
    "python_powers",
    "segment",
    "sequence",
    "with_lr",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RampShape = Literal["linear", "cosine", "1-sqrt", "exponential", "constant"]
WarmupShape = Literal["linear", "cosine", "1-sqrt", "exponential", "constant", "nemo", "log"]
PhaseShape = Literal["linear", "cosine", "1-sqrt", "exponential", "constant", "polynomial"]
DecayShape = Literal["linear", "cosine", "1-sqrt", "exponential", "polynomial"]
Interpolation = Literal["linear", "cosine"]
CyclicMode = Literal["triangular", "triangular2", "exp_range"]


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
            1 - \sqrt{1 - p} & \text{1-sqrt} \\
            p^{k} & \text{polynomial (power } k\text{)}
        \end{cases}

    and for ``exponential`` :math:`m(t) = \rho^{\,1 - p}` (geometric from :math:`\rho > 0` to 1),
    for ``constant`` :math:`m(t) = \rho`, for ``nemo`` :math:`m(t) = (t + 1) / (L + 1)` (NeMo's
    warmup; :math:`\rho` is not used), for ``log``
    :math:`m(t) = \rho + (1 - \rho) \ln \max(t, 1) / \ln L` (DeepSpeed's ``warmup_type: log`` as
    its engine steps it, :math:`L \ge 2`). With :math:`\rho = 0` and ``linear`` this is exactly
    transformers' warmup :math:`t / \max(1, L)`. The ramp never reaches 1 itself: the segment after
    it starts at :math:`t = L`.
    """

    length: int
    shape: WarmupShape | PhaseShape = "linear"
    start: float = 0.0
    power: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        if self.shape == "nemo":
            return np.asarray((np.minimum(t, self.length) + 1.0) / (self.length + 1.0), dtype=np.float64)
        if self.shape == "log":  # DeepSpeed: (1 / log(L)) * log(t), in its order of operations
            w = np.minimum((1.0 / math.log(self.length)) * np.log(np.maximum(t, 1)), 1.0)
            return _floor(w, self.start)
        p = np.minimum(_progress(t, self.length), 1.0)
        if self.shape == "exponential":
            return _python_pow(self.start, 1.0 - p)
        if self.shape == "constant":
            return np.full(p.shape, self.start, dtype=np.float64)
        if self.shape == "linear":
            w = p
        elif self.shape == "cosine":
            w = 0.5 * (1.0 - np.cos(math.pi * p))
        elif self.shape == "polynomial":
            w = np.power(p, self.power)
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

        m(t) = \max\Bigl(0,\; r + (1 - r)\, \bigl[\tfrac12 \bigl(1 + \cos(2 \pi c\, p)\bigr)\bigr]^{e}\Bigr),
        \qquad p = t / \max(1, L)

    The wave continues past :math:`t = L` (as in transformers): with :math:`c = 1/2` the
    multiplier rises again after the end of the run. :math:`e` is optax's ``exponent`` (1 by
    default, the operations of transformers' cosine).
    """

    length: int
    num_cycles: float = 0.5
    floor: float = 0.0
    exponent: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        x = _progress(as_steps(step), self.length)
        # 0.5 * (1 + cos(pi * c * 2 * p)), in place: same operations, no temporaries
        np.multiply(x, math.pi * float(self.num_cycles) * 2.0, out=x)
        np.cos(x, out=x)
        np.add(x, 1.0, out=x)
        np.multiply(x, 0.5, out=x)
        if self.exponent != 1.0:
            np.power(x, self.exponent, out=x)
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

        m(t) = \frac{(\eta_0 - \eta_e)\,(1 - t^{\kappa} / L^{\kappa})^{k} + \eta_e}{\eta_0}
        \text{ for } t \le L, \qquad m(t) = \eta_e / \eta_0 \text{ for } t > L

    with power :math:`k > 0`, k-decay :math:`\kappa` (timm's ``k_decay``; 1 by default) and
    :math:`L \ge 1`. Like transformers, :math:`\eta_0` is the optimizer's LR: every group is scaled
    by the same multiplier (a family made per group passes the group's own LR instead). With
    ``cycle`` (NeMo's) the decay starts over instead of holding :math:`\eta_e`: for :math:`t > 0`,
    :math:`L` becomes :math:`L \lceil t / L \rceil` (and :math:`\kappa = 1`).
    """

    length: int
    power: float
    lr_init: float
    lr_end: float
    k_decay: float = 1.0
    cycle: bool = False

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        if self.cycle:
            span = self.length * np.maximum(1, -(-t // self.length))
            return np.asarray(self._level(1 - t / span) / self.lr_init, dtype=np.float64)
        if self.k_decay != 1.0:  # (t / L)^k rather than timm's t^k / L^k, which overflows for large k
            remaining = 1 - np.power(np.minimum(t, self.length) / self.length, self.k_decay)
        else:
            remaining = 1 - np.minimum(t, self.length) / self.length
        return np.where(t > self.length, self.lr_end / self.lr_init, self._level(remaining) / self.lr_init)

    def _level(self, remaining: FloatArray) -> FloatArray:
        # x ** power element by element as Python computes it (transformers does): see _python_pow.
        powered = _python_pow(remaining, float(self.power))
        return np.asarray((self.lr_init - self.lr_end) * powered + self.lr_end, dtype=np.float64)


@dataclass(frozen=True)
class InverseSqrt:
    r"""Inverse power decay with timescale :math:`\tau`: :math:`m(t) = \bigl((t + \tau) / \tau\bigr)^{-a}`.

    :math:`a = 1/2` (the default) is transformers' inverse square root, computed as
    :math:`1 / \sqrt{\cdot}`; another :math:`a` is NeMo's ``NoamHoldAnnealing`` ``decay_rate``.
    """

    timescale: int
    decay_rate: float = 0.5

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        x = (t + self.timescale) / self.timescale
        if self.decay_rate == 0.5:
            return np.asarray(1.0 / np.sqrt(x), dtype=np.float64)
        return np.asarray(np.power(x, -self.decay_rate), dtype=np.float64)


@dataclass(frozen=True)
class Decay:
    r"""Decay from 1 to the floor :math:`r` over :math:`L` steps (the decay of warmup-stable-decay).

    .. math::

        m(t) = \max\bigl(0,\; r + (1 - r)\, d(p)\bigr), \qquad
        d(p) = \begin{cases}
            1 - p & \text{linear} \\
            \bigl[\tfrac12 (1 + \cos 2 \pi c p)\bigr]^{k} & \text{cosine} \\
            1 - \sqrt{p} & \text{1-sqrt} \\
            (1 - p)^{k} & \text{polynomial}
        \end{cases}, \qquad p = \min(t, L) / \max(1, L)

    and for ``exponential`` :math:`m(t) = r^{\,p}` (geometric from 1 to :math:`r > 0`). The power
    :math:`k` is 1 unless given (for a cosine it is optax's ``exponent``).
    """

    length: int
    shape: DecayShape = "cosine"
    floor: float = 0.0
    num_cycles: float = 0.5
    power: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        p = _progress(np.minimum(as_steps(step), self.length), self.length)
        if self.shape == "exponential":
            return _python_pow(self.floor, p)
        if self.shape == "linear":
            d = 1.0 - p
        elif self.shape == "cosine":
            d = 0.5 * (1.0 + np.cos(math.pi * float(self.num_cycles) * 2.0 * p))
            if self.power != 1.0:
                d = np.power(d, self.power)
        elif self.shape == "polynomial":
            d = np.power(1.0 - p, self.power)
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


def segment(
    length: int, shape: PhaseShape, start: float, end: float, num_cycles: float = 0.5, power: float = 1.0
) -> Schedule:
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
    shapes a falling cosine, ``power`` a polynomial (:math:`p^k` rising, :math:`(1 - p)^k` falling).
    """
    if shape == "constant" or end == start:
        return Constant(start)
    if end > start:
        return Scaled(Ramp(length, shape, start / end, power), end)
    return Scaled(Decay(length, shape, end / start, num_cycles, power), start)


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


@dataclass(frozen=True)
class ExponentialDecay:
    r"""Geometric decay by the rate :math:`\gamma` per ``period`` :math:`P` steps.

    .. math::

        m(t) = \gamma^{\,t / P}, \qquad \text{or with } \texttt{staircase}: \quad
        m(t) = \gamma^{\lfloor t / P \rfloor}

    :math:`P = 1` is torch's ``ExponentialLR`` (:math:`\gamma^t`); ``staircase`` is torch's
    ``StepLR`` (its closed form ``gamma ** (t // step_size)``); both with Python's ``**`` (see the
    module docstring). :math:`\gamma > 1` grows the LR; with ``until`` :math:`U` the multiplier holds
    :math:`m(U)` from :math:`t = U` on (so growth stops at the end of the run instead of overflowing
    after it). With ``bound`` :math:`b` the multiplier stops at :math:`b`: :math:`\max(m, b)` for
    :math:`\gamma < 1`, :math:`\min(m, b)` for :math:`\gamma > 1` (optax's ``end_value``).
    """

    rate: float
    period: int = 1
    staircase: bool = False
    until: int | None = None
    bound: float | None = None

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        if self.until is not None:
            t = np.minimum(t, self.until)
        if self.staircase or self.period == 1:
            m = python_powers(self.rate, t // self.period)
        else:
            m = np.asarray(np.power(self.rate, t / self.period), dtype=np.float64)
        if self.bound is None:
            return m
        bounded = np.maximum(m, self.bound) if self.rate < 1 else np.minimum(m, self.bound)
        return np.asarray(bounded, dtype=np.float64)


def python_powers(base: float, exponents: npt.ArrayLike) -> FloatArray:
    """``base ** k`` for every integer ``k`` of ``exponents``, with Python's float ``**`` (the C
    library's ``pow``, as torch's closed forms compute it), once per distinct ``k``."""
    k = np.asarray(exponents, dtype=np.int64)
    if k.size == 0:
        return np.empty(k.shape, dtype=np.float64)
    low, high = int(k.min()), int(k.max())
    if high - low < 4 * k.size + 64:
        table = np.array([_pow(base, e) for e in range(low, high + 1)], dtype=np.float64)
        return np.asarray(table[k - low], dtype=np.float64)
    distinct, where = np.unique(k, return_inverse=True)
    table = np.array([_pow(base, e) for e in distinct.tolist()], dtype=np.float64)
    return np.asarray(table[where].reshape(k.shape), dtype=np.float64)


def _pow(base: float, exponent: int) -> float:
    try:
        return base ** float(exponent)
    except OverflowError:  # Python raises where C's pow gives inf
        return math.inf


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
        return python_powers(self.rate, passed)


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


def _cycle_position(
    t: IntArray, length: int, mul: float
) -> tuple[FloatArray, FloatArray | float, FloatArray]:
    r"""Cycle index :math:`i`, its length :math:`L_i` and the steps into it :math:`t_c` (timm's
    operations, see :class:`CosineCycles`)."""
    if mul == 1.0:
        i: FloatArray = (t // length).astype(np.float64)
        return i, float(length), np.asarray(t - length * i, dtype=np.float64)
    i = np.floor(np.log(1 - t / length * (1 - mul)) / math.log(mul) + _SNAP)
    t_c = np.maximum(0.0, t - (1 - np.power(mul, i)) / (1 - mul) * length)
    return i, np.power(mul, i) * length, t_c


@dataclass(frozen=True)
class _Cycles:
    """Cycles with warm restarts: what :class:`CosineCycles` and :class:`TanhCycles` share."""

    length: int
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    floor: float = 0.0
    warmup: int = 0

    def _wave(self, t_c: FloatArray, cycle: FloatArray | float, peak: FloatArray) -> FloatArray:
        raise NotImplementedError

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        i, cycle, t_c = _cycle_position(as_steps(step), self.length, self.cycle_mul)
        peak = np.power(self.cycle_decay, np.minimum(i, self.cycle_limit))  # past the limit: the floor
        if self.warmup:
            w = float(self.warmup)
            ramp = self.floor + (peak - self.floor) * (t_c / w)
            wave = np.where(t_c < w, ramp, self._wave(np.maximum(t_c - w, 0.0), cycle - w, peak))
        else:
            wave = self._wave(t_c, cycle, peak)
        return np.asarray(np.where(i < self.cycle_limit, wave, self.floor), dtype=np.float64)


@dataclass(frozen=True)
class CosineCycles(_Cycles):
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

    With a per-cycle ``warmup`` :math:`W` (optax's ``sgdr`` cycles), each cycle first rises
    linearly from :math:`r` to its peak, :math:`r + (\delta^i - r)\, t_c / W` for :math:`t_c < W`,
    and the cosine then runs over the remaining :math:`L_i - W` steps (:math:`t_c - W` into them).
    """

    k_decay: float = 1.0

    def _wave(self, t_c: FloatArray, cycle: FloatArray | float, peak: FloatArray) -> FloatArray:
        k = self.k_decay
        return self.floor + 0.5 * (peak - self.floor) * (1 + np.cos(math.pi * t_c**k / cycle**k))


@dataclass(frozen=True)
class TanhCycles(_Cycles):
    r"""timm's ``TanhLRScheduler``: hyperbolic-tangent decay with the cycles of :class:`CosineCycles`.

    .. math::

        m(t) = r + \tfrac12 (\delta^i - r) \bigl(1 - \tanh(\ell (1 - \tau) + u \tau)\bigr), \qquad
        \tau = t_c / L_i

    for :math:`i < n`, then :math:`r`; :math:`\ell < u` are timm's ``lb`` and ``ub`` (-7 and 3: the
    curve starts just below the peak, :math:`(1 - \tanh(-7))/2 = 1 - 8.3 \cdot 10^{-7}`, and ends a
    little above the floor, :math:`(1 - \tanh 3)/2 = 0.0025`, before the restart).
    """

    lb: float = -7.0
    ub: float = 3.0

    def _wave(self, t_c: FloatArray, cycle: FloatArray | float, peak: FloatArray) -> FloatArray:
        tr = t_c / cycle
        return self.floor + 0.5 * (peak - self.floor) * (1 - np.tanh(self.lb * (1.0 - tr) + self.ub * tr))


@dataclass(frozen=True)
class Cyclic:
    r"""torch's ``CyclicLR``: triangular cycles of :math:`U` steps up and :math:`D` steps down.

    With :math:`T = U + D`, :math:`c = \lfloor 1 + t / T \rfloor` (the cycle, from 1),
    :math:`x = 1 + t / T - c` and :math:`\rho = U / T`:

    .. math::

        f = \begin{cases} x / \rho & x \le \rho \\ (x - 1) / (\rho - 1) & x > \rho \end{cases},
        \qquad
        m(t) = a + (b - a)\, f\, s, \qquad
        s = \begin{cases}
            1 & \text{triangular} \\
            2^{-(c - 1)} & \text{triangular2} \\
            \gamma^{t} & \text{exp\_range}
        \end{cases}

    from ``low`` :math:`a` up to ``high`` :math:`b` (the LR: :math:`a = 1`, :math:`b` = ``max_lr``
    over the base LR), or with ``inverted`` :math:`m(t) = b - (b - a) f s` (the momentum, which falls
    as the LR rises). The operations are torch's; :math:`\gamma^t` is Python's ``**``.
    """

    up: int
    down: int
    low: float
    high: float
    mode: CyclicMode = "triangular"
    gamma: float = 1.0
    inverted: bool = False

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        total = float(self.up + self.down)
        ratio = self.up / total
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        factor = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if self.mode == "triangular":
            scale: FloatArray | float = 1.0
        elif self.mode == "triangular2":
            scale = 1 / np.power(2.0, cycle - 1)
        else:
            scale = python_powers(self.gamma, t)
        height = (self.high - self.low) * factor
        value = self.high - height * scale if self.inverted else self.low + height * scale
        return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True)
class SwaAnneal:
    r"""torch's ``SWALR``: from the level :math:`a` (``start``) to the SWA level :math:`b` over
    :math:`A` steps, then :math:`b`.

    .. math::

        m(t) = b\, \alpha(p) + a\, \bigl(1 - \alpha(p)\bigr), \qquad
        p = \min\bigl(1, t / \max(1, A)\bigr), \qquad
        \alpha(p) = \begin{cases} \tfrac12 (1 - \cos \pi p) & \text{cos} \\ p & \text{linear} \end{cases}

    and :math:`p = 1` throughout for :math:`A = 0` (SWALR's ``anneal_epochs=0`` jumps at once).
    This is SWALR's recursion in closed form: :math:`a` is the LR when it took over.
    """

    length: int
    target: float
    start: float = 1.0
    strategy: Literal["cos", "linear"] = "cos"

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        if self.length == 0:
            p: FloatArray = np.ones(t.shape, dtype=np.float64)
        else:
            p = np.minimum(t / float(self.length), 1.0)
        alpha = (1 - np.cos(math.pi * p)) / 2 if self.strategy != "linear" else p
        return np.asarray(self.target * alpha + self.start * (1 - alpha), dtype=np.float64)


@dataclass(frozen=True)
class Noam:
    r"""NeMo's ``NoamAnnealing`` (the schedule of "Attention is all you need"), with
    :math:`\hat s = \max(1, s)`, model width :math:`d` and warmup :math:`W`:

    .. math::

        m(s) = d^{-1/2} \min\bigl(\hat s^{-1/2},\; \hat s\, W^{-3/2}\bigr)
        \quad (W > 0), \qquad m(s) = d^{-1/2}\, \hat s^{-1/2} \quad (W = 0)

    It peaks at :math:`(d W)^{-1/2}` at :math:`s = W`: the base LR is a scale, not the peak.
    """

    d_model: int
    warmup: int

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        s = np.maximum(as_steps(step), 1).astype(np.float64)
        decay = np.power(s, -0.5)
        if self.warmup > 0:
            decay = np.minimum(decay, s * float(self.warmup) ** (-1.5))
        return np.asarray(float(self.d_model) ** (-0.5) * decay, dtype=np.float64)


@dataclass(frozen=True)
class RsqrtHold:
    r""":math:`m(s) = a / \sqrt{\max(s, C)}`: NeMo's ``T5InverseSquareRootAnnealing`` (the LR is
    :math:`1/\sqrt{C}` for the first :math:`C` steps, then :math:`1 / \sqrt{s}`, whatever the
    optimizer's LR: :math:`a` is one over the group's base LR)."""

    hold: int
    scale: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        s = np.maximum(as_steps(step), self.hold).astype(np.float64)
        return np.asarray(1.0 / np.sqrt(s) * self.scale, dtype=np.float64)


@dataclass(frozen=True)
class Shift:
    r""":math:`m(t) = f(t + d)`: ``schedule`` seen ``by`` steps later. Behind a warmup of :math:`d`
    steps it keeps running on the global step (timm's ``warmup_prefix=False``: the warmup is laid
    over the curve instead of delaying it)."""

    schedule: Schedule
    by: int

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        return np.asarray(self.schedule(as_steps(step) + self.by), dtype=np.float64)


@dataclass(frozen=True)
class Clamp:
    r"""A floor that clamps: :math:`m(t) = \max(f(t), r)` from step :math:`s` on, :math:`f(t)` before
    (NeMo's ``max(lr, min_lr)`` after the warmup)."""

    schedule: Schedule
    floor: float
    start: int = 0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        m = np.asarray(self.schedule(t), dtype=np.float64)
        return np.asarray(np.where(t >= self.start, np.maximum(m, self.floor), m), dtype=np.float64)


@dataclass(frozen=True)
class Product:
    r""":math:`m(t) = \prod_i f_i(t)`: torch's ``ChainedScheduler`` (each scheduler multiplies the LR
    by its own factor), in closed form."""

    schedules: tuple[Schedule, ...]

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        out = np.asarray(self.schedules[0](t), dtype=np.float64)
        for schedule in self.schedules[1:]:
            out = out * schedule(t)
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Noisy:
    r"""timm's LR noise: :math:`m(t) = f(t) + f(t)\, n_t` for :math:`a \le t < b` (or :math:`t \ge a`
    without an end), :math:`f(t)` elsewhere; :math:`n_t` is :func:`confsched.noise.noise` of step
    :math:`t` (a function of ``seed + t`` alone, so resuming anywhere draws the same noise)."""

    schedule: Schedule
    start: int
    end: int | None
    kind: NoiseKind = "normal"
    pct: float = 0.67
    seed: int = 42
    std: float = 1.0

    def __call__(self, step: npt.ArrayLike) -> FloatArray:
        t = as_steps(step)
        m = np.array(self.schedule(t), dtype=np.float64)
        inside = t >= self.start if self.end is None else (t >= self.start) & (t < self.end)
        if inside.any():
            n = noise(t[inside], kind=self.kind, pct=self.pct, seed=self.seed, std=self.std)
            m[inside] = m[inside] + m[inside] * n
        return m


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


def with_lr(schedule: Schedule, change: Callable[[Schedule], Schedule]) -> Schedule:
    """``change`` applied to the LR part of ``schedule`` (a :class:`WithMomentum` keeps its momentum)."""
    if isinstance(schedule, WithMomentum):
        return WithMomentum(change(schedule.lr), schedule.momentum)
    return change(schedule)
