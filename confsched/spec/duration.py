"""Durations: how long a phase lasts, written the way people think about it.

A duration is one of

* an ``int`` >= 0: that many optimizer steps (``100``, also ``"100 steps"``, Composer's ``"100ba"``);
* a fraction of the whole run, as a float in ``[0, 1)`` (``0.06``), a percentage (``"6%"``) or
  Composer's ``"0.06dur"``;
* a number of epochs (``"2ep"``, ``"0.5 ep"``);
* a number of samples or tokens, with an optional SI suffix (``"1.5M sp"``, ``"2B tok"``,
  ``"300M tokens"``, ``"3e10tok"``): see :mod:`confsched.time.units` for the grammar.

The value is parsed here and kept exact (a :class:`fractions.Fraction` of the decimal you wrote, so
``"6%"`` of 1950 steps is exactly 117). It becomes integer steps (or samples, on a run counted in
samples) in one place only: :class:`confsched.steps.StepPlan`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from confsched.time.units import TimeUnit, parse_quantity

__all__ = ["Duration", "DurationUnit", "parse_duration"]

DurationUnit = TimeUnit

_TEXT_PATTERN = r"^\d[\d_.]*(?:[eE]\d{1,2})?[KkMBT]?\s?(?:%|[a-z]+)$"
_DIGITS = re.compile(r"^\d+$")
_ALLOWED = (
    "a duration is an int number of steps (100), a fraction of the run (0.06 or '6%'), "
    "epochs ('2ep'), samples ('1.5M sp') or tokens ('2B tok')"
)


@dataclass(frozen=True)
class Duration:
    """A parsed duration: ``amount`` in ``unit``; ``written`` is what the config said."""

    amount: Fraction
    unit: DurationUnit
    written: int | float | str

    def __str__(self) -> str:
        return str(self.written)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            parse_duration,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda d: d.written, when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [
                {"type": "integer", "minimum": 0, "description": "optimizer steps"},
                {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": 1,
                    "description": "fraction of the total steps",
                },
                {
                    "type": "string",
                    "pattern": _TEXT_PATTERN,
                    "description": "'6%' of the run, '2ep' epochs, '1.5M sp' samples or '2B tok' tokens",
                },
            ]
        }


def parse_duration(value: object) -> Duration:
    """Parse ``100``, ``0.06``, ``"6%"``, ``"2ep"``, ``"1.5M sp"`` or ``"2B tok"`` into a :class:`Duration`.

    Raises ``ValueError`` (reported by pydantic with the config path) for anything else: negative
    numbers, ``"10 %"``, ``"-2ep"``, ``1.5`` (neither whole steps nor a fraction below 1), NaN, a
    fraction of samples (``"1.5 sp"``), more than 2**53 samples or tokens.
    """
    if isinstance(value, Duration):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; {_ALLOWED}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative; {_ALLOWED}")
        return Duration(Fraction(value), "steps", value)
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration; {_ALLOWED}")
        if value >= 1:
            raise ValueError(
                f"{value!r} is ambiguous: a float must be a fraction of the run below 1; "
                f"write {math.floor(value)} for steps or '{value * 100:g}%'"
            )
        return Duration(Fraction(repr(value)), "fraction", value)
    if isinstance(value, str):
        if _DIGITS.match(value):
            return Duration(Fraction(int(value)), "steps", int(value))
        try:
            quantity = parse_quantity(value)
        except ValueError as error:
            reason = str(error)
            if reason.startswith("is not a number") or reason.startswith("has a space"):
                raise ValueError(f"{_short(value)} is not a duration; {_ALLOWED}") from None
            raise ValueError(f"{_short(value)} {reason}; {_ALLOWED}") from None
        if quantity.unit is None:
            raise ValueError(f"{_short(value)} is not a duration; {_ALLOWED}")
        if quantity.unit == "fraction" and quantity.amount > 1:
            raise ValueError(f"{value!r} is more than the whole run (100%)")
        return Duration(quantity.amount, quantity.unit, value)
    raise ValueError(f"{_short(value)} ({type(value).__name__}) is not a duration; {_ALLOWED}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class DurationDefaultsJsonSchema(GenerateJsonSchema):
    """The JSON Schema generator of ``confsched schema``: a :class:`Duration` default is shown as
    written. pydantic before 2.9 encodes a default without its field's serializer, so it warned and
    left every duration's default out (pydantic 2.7.1, the floor); later releases give the same."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, Duration):
            return dft.written
        return super().encode_default(dft)
