"""The numeric contract: how large (or small) each knob may be, derived from float64 and the run.

Every spec that validates gives finite LRs >= 0 at every step of the run, past its end (checked
to ``total + 1000``) and at 10 x the run. A schedule computes with float64 and int64 numbers; each
bound below is the largest value for which the family's formula stays finite at every step the
contract covers. They are derived from three figures:

- :data:`LIMIT` = 1e300, the largest LR or multiplier a spec may produce. float64 ends at
  1.8e308; the 10^8 of headroom covers what a formula does to a bounded value (the difference of
  two levels, a factor 2, timm's noise 1 + pct < 2, the product of a chain's members is checked
  as a whole).
- :data:`MAX_RUN_STEPS` = 2^53 optimizer steps (as a run counted in samples has at most 2^53
  samples): float64 counts every step of the run exactly.
- :data:`MAX_TICK` = 10 x 2^53 + 1000: the largest tick (step, or sample on a run counted in
  samples) the contract evaluates: 10 x the run, or its end + 1000; it fits int64 (< 2^63).

Each knob's bound, with the formula it comes from, is a row of :data:`BOUNDS` (rendered in
``docs/spec-reference.md``, "Numeric bounds"); the pydantic types below apply them.

Small values need no bound: a product that underflows is 0, an LR >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from confsched.spec.base import NotBool
from confsched.time.units import MAX_COUNT

__all__ = [
    "BOUNDS",
    "LIMIT",
    "MAX_CYCLES",
    "MAX_CYCLE_MUL",
    "MAX_INT",
    "MAX_K_DECAY",
    "MAX_RUN_STEPS",
    "MAX_TICK",
    "MAX_TIMESCALE",
    "Count",
    "CycleMul",
    "Cycles",
    "KDecay",
    "Level",
    "LevelOrZero",
    "TanhBound",
    "Timescale",
    "at_most",
    "shown",
]

LIMIT = 1e300
"""The largest LR, and the largest multiplier, a spec may produce."""
MAX_RUN_STEPS = MAX_COUNT
"""The longest run, in optimizer steps: 2^53, every step an exact float64."""
MAX_TICK = 10 * MAX_COUNT + 1000
"""The largest tick (step, or sample on a run counted in samples) the contract evaluates."""
MAX_CYCLES = LIMIT / (2 * math.pi * MAX_TICK)
"""The most cosine waves: :math:`2 \\pi c\\, t / L \\le` :data:`LIMIT` for every tick :math:`t`."""
MAX_TIMESCALE = MAX_COUNT
"""The longest ``inverse_sqrt`` timescale: :math:`t + \\tau` stays an int64 (below :math:`2^{63}`)."""
MAX_K_DECAY = math.floor(math.log(LIMIT) / math.log(MAX_TICK))
"""The largest k-decay exponent: :math:`t^k \\le` :data:`LIMIT` for every tick :math:`t`."""
MAX_CYCLE_MUL = LIMIT / MAX_TICK
"""The largest growth of a cycle (``cycle_mul``): :math:`t (\\mu - 1) / L \\le` :data:`LIMIT`."""
MAX_INT = MAX_COUNT
"""The largest count a knob may hold (``cycle_limit``, ``d_model``): float64 holds every integer
up to :math:`2^{53}` exactly, and int64 arithmetic on it and a tick cannot overflow."""


def at_most(limit: float, why: str) -> Callable[[float], float]:
    """A validator refusing a value above ``limit`` (or below ``-limit`` for signed knobs) with one
    line saying the bound and ``why``."""

    def check(value: float) -> float:
        if not abs(value) <= limit:
            sign = "" if value >= 0 else "-"
            raise ValueError(f"{shown(value)} is outside the allowed range (up to {sign}{limit:.4g}: {why})")
        return value

    return check


def shown(value: float) -> str:
    """``value`` for a message: ``%g``, or the first digits and the count of a huge int."""
    if isinstance(value, int) and abs(value) > 10**24:
        sign = "-" if value < 0 else ""
        if abs(value).bit_length() > 14_000:  # str() refuses an int of 4,300+ digits
            return f"{sign}about 10**{int(abs(value).bit_length() * math.log10(2))}"
        digits = str(abs(value))
        return f"{sign}{digits[:6]}...({len(digits)} digits)"
    return f"{value:g}"


Cycles = Annotated[
    float, Field(gt=0), NotBool, AfterValidator(at_most(MAX_CYCLES, "the cosine's argument must stay finite"))
]
Timescale = Annotated[
    int, Field(gt=0), NotBool, AfterValidator(at_most(MAX_TIMESCALE, "2**53, so that step + timescale fits"))
]
KDecay = Annotated[
    float, Field(gt=0), NotBool, AfterValidator(at_most(MAX_K_DECAY, "step**k_decay must stay below 1e300"))
]
CycleMul = Annotated[
    float, Field(ge=1), NotBool, AfterValidator(at_most(MAX_CYCLE_MUL, "step x cycle_mul must stay finite"))
]
Count = Annotated[int, Field(gt=0), NotBool, AfterValidator(at_most(MAX_INT, "2**53, a count float64 holds"))]
Level = Annotated[float, Field(gt=0), NotBool, AfterValidator(at_most(LIMIT, "a multiplier of the base LR"))]
LevelOrZero = Annotated[
    float, Field(ge=0), NotBool, AfterValidator(at_most(LIMIT, "a multiplier of the base LR"))
]
TanhBound = Annotated[float, NotBool, AfterValidator(at_most(LIMIT, "ub - lb must stay finite"))]
LR = Annotated[float, Field(gt=0), NotBool, AfterValidator(at_most(LIMIT, "the largest LR"))]
LROrZero = Annotated[float, Field(ge=0), NotBool, AfterValidator(at_most(LIMIT, "the largest LR"))]

BOUNDS: dict[str, tuple[float, str]] = {
    "the run: `training.max_steps`, or epochs / max_samples / max_tokens in optimizer steps": (
        MAX_RUN_STEPS,
        "2**53: float64 counts every step exactly (a run counted in samples: 2**53 samples)",
    ),
    "every base LR: `optimizer.lr`, a group's `lr`, `lr` x `lr_scale`, `lr` x `lr_scaling`": (
        LIMIT,
        "float64 ends at 1.8e308; 1e8 of headroom for the operations a schedule applies to a level",
    ),
    "absolute LRs: `max_lr`, `base_lr`, `min_lr`, `lr_end`, `swa_lr`, `floor_lr`, `after_run_lr`": (
        LIMIT,
        "as a base LR",
    ),
    "a group's peak LR: its base LR x the family's peak multiplier (x 1 + noise.pct)": (
        LIMIT,
        "as a base LR; the peak multiplier of each family is `confsched.spec.quantities.multiplier_peak`",
    ),
    "levels: `knots` ratios, `phases` start / end, `sgdr` start / peak / end, `final_lr_ratio`, "
    "`end_lr_ratio`": (LIMIT, "a multiplier: the difference of two levels stays finite"),
    "`num_cycles` (every family, and a phase's)": (
        MAX_CYCLES,
        "1e300 / (2 pi x MAX_TICK): the cosine's argument 2 pi c t / L, L >= 1",
    ),
    "`inverse_sqrt.timescale`": (MAX_TIMESCALE, "2**53: t + timescale < 2**63 (int64) for t <= MAX_TICK"),
    "`k_decay`": (MAX_K_DECAY, "floor(log 1e300 / log MAX_TICK): t**k <= 1e300 for t <= MAX_TICK"),
    "`cycle_mul`": (MAX_CYCLE_MUL, "1e300 / MAX_TICK: t (mul - 1) / L stays finite"),
    "`cycle_limit`, `noam.d_model`, `data.dataset_size`, `data.batch_size`, "
    "`training.grad_accum_steps`, `training.world_size`": (MAX_INT, "2**53: float64 holds the count exactly"),
    "`tanh.lb`, `tanh.ub` (absolute value)": (LIMIT, "ub - lb stays finite"),
}
"""Knob -> (the largest value allowed, where it comes from). MAX_TICK = 10 x 2**53 + 1000, the
largest tick (step, or sample of a run counted in samples) the contract evaluates."""
