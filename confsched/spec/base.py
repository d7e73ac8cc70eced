"""The base of every spec model: strict, frozen, documented by attribute docstrings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FiniteFloat", "NonNegativeFloat", "PositiveFloat", "Ratio", "StrictModel"]


class StrictModel(BaseModel):
    """Unknown keys are errors, values are immutable, docstrings become the JSON Schema."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
        validate_default=True,
    )


FiniteFloat = float
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0, le=1)]
