"""The base of every spec model: strict, frozen, documented by attribute docstrings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "FiniteFloat",
    "NonNegativeFloat",
    "NonNegativeInt",
    "NotBool",
    "PositiveFloat",
    "PositiveInt",
    "Ratio",
    "StrictModel",
]


class StrictModel(BaseModel):
    """Unknown keys are errors, values are immutable, docstrings become the JSON Schema."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
        validate_default=True,
    )


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not a boolean (got {value})")
    return value


NotBool = BeforeValidator(_not_bool)
"""Refuse ``true``/``false`` where a number belongs (pydantic's lax mode would read them as 1 and 0)."""

FiniteFloat = Annotated[float, NotBool]
PositiveFloat = Annotated[float, Field(gt=0), NotBool]
NonNegativeFloat = Annotated[float, Field(ge=0), NotBool]
Ratio = Annotated[float, Field(ge=0, le=1), NotBool]
PositiveInt = Annotated[int, Field(gt=0), NotBool]
NonNegativeInt = Annotated[int, Field(ge=0), NotBool]
