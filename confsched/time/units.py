"""The vocabulary of training time: units, SI-suffixed counts, and the bound on every count.

A run is counted in optimizer **steps**, **epochs** (passes over ``data.dataset_size`` samples),
**samples** (sequences, images: what one row of a batch holds) and **tokens**
(``data.tokens_per_sample`` per sample), or as a **fraction** of the whole run. A quantity is written
as a number, an optional SI suffix and a unit word::

    2000        "2000 steps"   "2000ba"          steps (Composer's "ba": batches = optimizer steps)
    "6%"        0.06           "0.06dur"         a fraction of the run (Composer's "dur")
    "2ep"       "0.5 ep"                         epochs
    "1.5M sp"   "300000 samples"                 samples
    "2B tok"    "300M tokens"  "3e10tok"         tokens

SI suffixes (Megatron's ``K``, ``M``, ``B``, ``T``; ``k`` too) scale a count of steps, samples or
tokens by :math:`10^3, 10^6, 10^9, 10^{12}`. Every amount is kept exact (a
:class:`fractions.Fraction` of the decimal written), and counts must come out whole: ``"1.5M sp"``
is 1,500,000 samples, ``"1.5 sp"`` is an error.

:data:`MAX_COUNT` bounds every sample and token count: :math:`2^{53}` is the largest integer up to
which float64 holds every integer, so a position on the sample axis, and the ratio of two of them,
is exact. It is 9.007e15 tokens, a thousand times the largest runs trained so far.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Literal

__all__ = [
    "COUNT_UNITS",
    "MAX_COUNT",
    "SI_PREFIXES",
    "UNIT_WORDS",
    "Quantity",
    "TimeUnit",
    "count_text",
    "parse_count",
    "parse_quantity",
]

TimeUnit = Literal["steps", "fraction", "epochs", "samples", "tokens"]

MAX_COUNT = 2**53
"""The largest sample or token count accepted: float64 represents every integer up to it."""

SI_PREFIXES: dict[str, int] = {"K": 10**3, "k": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
"""Megatron's suffixes (``--step-batch-size-schedule "0:768 250B:1536"``), and ``k``."""

UNIT_WORDS: dict[str, TimeUnit] = {
    "%": "fraction",
    "dur": "fraction",
    "ep": "epochs",
    "epoch": "epochs",
    "epochs": "epochs",
    "ba": "steps",
    "step": "steps",
    "steps": "steps",
    "sp": "samples",
    "sample": "samples",
    "samples": "samples",
    "tok": "tokens",
    "token": "tokens",
    "tokens": "tokens",
}
"""Unit word -> unit. ``ba``, ``sp``, ``tok``, ``ep`` and ``dur`` are Composer's."""

_WORD = {"samples": "sp", "tokens": "tok"}

COUNT_UNITS: frozenset[TimeUnit] = frozenset({"steps", "samples", "tokens"})
"""Units whose amounts are whole numbers and may carry an SI suffix."""

_MAX_TEXT = 40
"""Longest quantity text read (a longer one is refused before any arithmetic)."""

_QUANTITY = re.compile(
    r"^(?P<number>\d+(?:_\d+)*(?:\.\d+)?)(?:[eE](?P<exponent>\d{1,2}))?(?P<si>[KkMBT])?"
    r"(?P<space>\s?)(?P<unit>%|[a-z]+)?$"
)


class Quantity:
    """A parsed quantity: an exact ``amount`` in ``unit`` (``None`` when no unit word was written)."""

    __slots__ = ("amount", "unit")

    def __init__(self, amount: Fraction, unit: TimeUnit | None) -> None:
        self.amount = amount
        self.unit = unit

    def __repr__(self) -> str:
        return f"Quantity({self.amount}, {self.unit!r})"


def parse_quantity(text: str) -> Quantity:
    """Read ``"2B tok"``, ``"1.5M sp"``, ``"3e10tok"``, ``"6%"``, ``"2ep"``, ``"0.1dur"``, ``"2T"``.

    Raises ``ValueError`` with a short reason (the caller adds what is allowed). Checks here: the
    syntax, the unit word, that an SI suffix or an exponent only scales counts, that counts are
    whole, and :data:`MAX_COUNT` for samples and tokens. No float is ever formed.
    """
    if len(text) > _MAX_TEXT:
        raise ValueError("is too long to be a quantity")
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError("is not a number with an optional SI suffix and unit")
    word = match["unit"]
    unit = None if word is None else UNIT_WORDS.get(word)
    if word is not None and unit is None:
        raise ValueError(f"has an unknown unit {word!r} (units: {', '.join(UNIT_WORDS)})")
    if match["space"] and (word is None or word == "%"):
        raise ValueError("has a space where none belongs")
    amount = Fraction(match["number"].replace("_", ""))
    scaled = match["si"] is not None or match["exponent"] is not None
    if scaled and unit not in (None, *COUNT_UNITS):
        raise ValueError(f"scales {word!r} with a suffix or an exponent; only counts take them")
    if match["exponent"] is not None:
        amount *= 10 ** int(match["exponent"])
    if match["si"] is not None:
        amount *= SI_PREFIXES[match["si"]]
    if unit == "fraction" and word == "%":
        amount /= 100
    if unit in COUNT_UNITS and amount.denominator != 1:
        raise ValueError(f"is {_decimal(amount)} {unit}; {unit} are counted in whole numbers")
    if unit in ("samples", "tokens") and amount > MAX_COUNT:
        raise ValueError(f"is more {unit} than confsched counts exactly (at most 2**53 = {MAX_COUNT})")
    return Quantity(amount, unit)


def parse_count(value: object, unit: Literal["samples", "tokens"]) -> int:
    """A whole count of ``unit`` from an int, a whole float, or text (``"2T"``, ``"2T tok"``).

    Raises ``ValueError`` naming the problem; the count must be in ``1 .. MAX_COUNT``.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a count of {unit}")
    if isinstance(value, float):
        if not value.is_integer():  # NaN, infinities and 1.5 alike
            raise ValueError(f"{value!r} is not a whole number of {unit}")
        value = int(value)
    if isinstance(value, int):
        count = value
    elif isinstance(value, str):
        try:
            quantity = parse_quantity(value.strip())
        except ValueError as error:
            raise ValueError(f"{_short(value)} {error} (e.g. 2T or '1.5M {_WORD[unit]}')") from None
        if quantity.unit not in (None, unit):
            raise ValueError(f"{value!r} is in {quantity.unit}, not {unit}")
        if quantity.amount.denominator != 1:
            raise ValueError(f"{value!r} is not a whole number of {unit}")
        count = int(quantity.amount)
    else:
        raise ValueError(f"{_short(value)} ({type(value).__name__}) is not a count of {unit}")
    if count < 1:
        raise ValueError(f"{count} must be at least 1")
    if count > MAX_COUNT:
        raise ValueError(
            f"{count_text(count)} is more {unit} than confsched counts exactly (at most 2**53 = {MAX_COUNT})"
        )
    return count


def count_text(count: int) -> str:
    """An integer for a message, ``about 10**400`` when it has more than 30 digits."""
    if abs(count) < 10**30:
        return str(count)
    return f"about 10**{round(math.log10(abs(count)))}"


def _decimal(amount: Fraction) -> str:
    return f"{float(amount):g}" if abs(amount) < 10**30 else str(amount)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
