"""The ``data`` and ``training`` sections: what the total step count is computed from."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from confsched.errors import SpecError
from confsched.spec.base import NotBool, PositiveInt, StrictModel

__all__ = ["DataSpec", "TrainingSpec"]


class DataSpec(StrictModel):
    """The training data as the DataLoader sees it."""

    dataset_size: PositiveInt
    """Number of training samples in one epoch."""
    batch_size: PositiveInt
    """Samples per batch on each device."""
    drop_last: bool = False
    """Drop the last incomplete batch of each epoch (DataLoader's drop_last)."""


class TrainingSpec(StrictModel):
    """How long the run is and how batches become optimizer steps."""

    epochs: PositiveInt | None = None
    """Passes over the data. With max_steps set, it only defines epochs for '2ep' durations."""
    max_steps: PositiveInt | None = None
    """Total optimizer steps; overrides epochs x steps per epoch when set."""
    grad_accum_steps: PositiveInt = 1
    """Batches accumulated per optimizer step (a partial accumulation at epoch end still steps)."""
    world_size: PositiveInt = 1
    """Data-parallel processes; each gets a DistributedSampler shard."""
    limit_train_batches: PositiveInt | Annotated[float, Field(gt=0, le=1), NotBool] | None = None
    """Lightning's limit_train_batches: run at most this many batches per epoch (an int) or this
    fraction of them (a float in (0, 1]); null: all."""

    @model_validator(mode="after")
    def _length(self) -> TrainingSpec:
        if self.epochs is None and self.max_steps is None:
            raise SpecError("epochs", "set epochs or max_steps to say how long the run is")
        return self
