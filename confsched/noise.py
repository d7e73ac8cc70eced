r"""LR noise seeded per step, as timm draws it, vectorised over steps (pure NumPy, no torch).

timm's schedulers perturb the LR of step :math:`t` inside a noise range by a factor
:math:`1 + n_t`, drawing :math:`n_t` from a generator seeded with :math:`\sigma + t`
(``noise_seed + t``), so the noise of a step depends on nothing but the step: deterministic and
resumable. With ``pct`` :math:`q`:

- ``normal``: draw normals :math:`z = s\,\zeta` (:math:`\zeta` standard, :math:`s` ``std``, timm's
  ``noise_std``) until one has :math:`|z| < q` (rejection), :math:`n_t = z`;
- ``uniform``: draw :math:`u \in [0, 1)`, :math:`n_t = 2 (u - \tfrac12)\, q`.

timm draws with ``torch.randn(1, generator=g)`` / ``torch.rand(1, generator=g)``: torch's CPU
generator is the Mersenne Twister MT19937 seeded with ``init_genrand(seed mod 2^32)``; a float32
uniform is the low 24 bits of one 32-bit output times :math:`2^{-24}`; a normal is Box-Muller in
double precision on two 53-bit uniforms (each from two outputs, high word first),
:math:`r = \sqrt{-2 \ln(1 - u_2)}`, :math:`\theta = 2 \pi u_1`, giving :math:`r \cos\theta` and, on
the next draw, the cached :math:`r \sin\theta`, each rounded to float32. This module reproduces
that stream for a whole array of seeds at once (one generator state per step, advanced in
lockstep), so the noise equals timm's float32 draws; the double-precision Box-Muller may differ
from the C library's by an ulp before the rounding to float32 (about 3% of draws), which then
changes the float32 value with a probability of about :math:`2^{-29}` per draw.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["NoiseKind", "noise"]

NoiseKind = Literal["normal", "uniform"]

_N = 624
_M = 397
_CHUNK = 4096
"""Steps drawn at a time: the generator states take 624 x 4 bytes per step (10 MB a chunk)."""


class _Twisters:
    """``n`` MT19937 generators (one per seed) advanced in lockstep; state laid out (624, n)."""

    def __init__(self, seeds: npt.NDArray[np.uint64]) -> None:
        x = seeds & np.uint64(0xFFFFFFFF)
        state = np.empty((_N, x.size), dtype=np.uint32)
        state[0] = x
        for i in range(1, _N):  # init_genrand
            x = (np.uint64(1812433253) * (x ^ (x >> np.uint64(30))) + np.uint64(i)) & np.uint64(0xFFFFFFFF)
            state[i] = x
        self.state = state
        self.index = _N

    def next(self) -> npt.NDArray[np.uint32]:
        """The next 32-bit output of every generator (the state is twisted word by word, in the
        order of the reference's whole-array twist, so the outputs are the same)."""
        if self.index == _N:
            self.index = 0
        j, s = self.index, self.state
        y = (s[j] & np.uint32(0x80000000)) | (s[(j + 1) % _N] & np.uint32(0x7FFFFFFF))
        word = s[(j + _M) % _N] ^ (y >> np.uint32(1))
        word ^= np.where(y & np.uint32(1), np.uint32(0x9908B0DF), np.uint32(0))
        s[j] = word
        self.index += 1
        y = word ^ (word >> np.uint32(11))
        y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
        y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
        return y ^ (y >> np.uint32(18))

    def uniform53(self) -> npt.NDArray[np.float64]:
        """torch's double uniform: a 64-bit draw (two outputs, high word first), low 53 bits."""
        high = self.next().astype(np.uint64)
        low = self.next().astype(np.uint64)
        bits = ((high << np.uint64(32)) | low) & np.uint64((1 << 53) - 1)
        return bits.astype(np.float64) * 2.0**-53


def _normal(twisters: _Twisters, pct: float, std: float, count: int) -> npt.NDArray[np.float64]:
    out = np.zeros(count, dtype=np.float64)
    pending = np.ones(count, dtype=bool)
    while pending.any():
        u1 = twisters.uniform53()
        u2 = twisters.uniform53()
        radius = np.sqrt(-2.0 * np.log1p(-u2))
        theta = 2.0 * math.pi * u1
        for z in (radius * np.cos(theta), radius * np.sin(theta)):  # the draw, then the cached one
            z32 = z.astype(np.float32).astype(np.float64) * std  # timm: randn(...).item() * noise_std
            take = pending & (np.abs(z32) < pct)
            out[take] = z32[take]
            pending &= ~take
    return out


def noise(
    steps: npt.ArrayLike, *, kind: NoiseKind, pct: float, seed: int, std: float = 1.0
) -> npt.NDArray[np.float64]:
    r""":math:`n_t` of each step :math:`t` (see the module docstring): in :math:`(-q, q)` for
    ``normal`` and :math:`[-q, q)` for ``uniform``, a function of ``seed + t`` alone."""
    t = np.atleast_1d(np.asarray(steps, dtype=np.int64))
    out = np.empty(t.shape, dtype=np.float64)
    seeds = (t.astype(np.uint64) + np.uint64(seed)) & np.uint64(0xFFFFFFFF)
    for lo in range(0, t.size, _CHUNK):
        twisters = _Twisters(seeds[lo : lo + _CHUNK])
        if kind == "uniform":
            u = (twisters.next() & np.uint32(0xFFFFFF)).astype(np.float64) * 2.0**-24
            out[lo : lo + _CHUNK] = 2.0 * (u - 0.5) * pct
        else:
            out[lo : lo + _CHUNK] = _normal(twisters, pct, std, min(_CHUNK, t.size - lo))
    return out.reshape(np.shape(steps))
