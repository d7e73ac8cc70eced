"""The ``data`` and ``training`` sections: what the total step count is computed from."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from confsched.errors import SpecError
from confsched.spec.base import NotBool, PositiveInt, StrictModel
from confsched.spec.bounds import Count
from confsched.spec.duration import Duration
from confsched.time.units import MAX_COUNT, parse_count

__all__ = ["BatchRampSpec", "DataSpec", "SampleCount", "TokenCount", "TrainingSpec"]


def _count_schema(example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
                {"type": "string", "pattern": r"^\d[\d_.]*(?:[eE]\d{1,2})?[KkMBT]?(?:\s?[a-z]+)?$"},
            ],
            "examples": [example],
        }
    )


SampleCount = Annotated[
    int, BeforeValidator(lambda value: parse_count(value, "samples")), _count_schema("150M")
]
"""A whole number of samples: ``1500000``, ``"1.5M"``, ``"1.5M sp"`` (at most 2**53)."""
TokenCount = Annotated[int, BeforeValidator(lambda value: parse_count(value, "tokens")), _count_schema("2T")]
"""A whole number of tokens: ``2000000000000``, ``"2T"``, ``"2T tok"`` (at most 2**53)."""
Batch = Annotated[PositiveInt, Field(le=MAX_COUNT)]


class DataSpec(StrictModel):
    """The training data as the DataLoader sees it."""

    dataset_size: Count
    """Number of training samples in one epoch."""
    batch_size: Count
    """Samples per batch on each device."""
    drop_last: bool = False
    """Drop the last incomplete batch of each epoch (DataLoader's drop_last)."""
    tokens_per_sample: Annotated[PositiveInt, Field(le=MAX_COUNT)] | None = None
    """Tokens in one sample (the sequence length of a packed LM corpus): what durations and
    budgets in tokens ('2B tok', training.max_tokens) are counted with."""


class BatchRampSpec(StrictModel):
    """The global batch grows while training, by the samples consumed (Megatron's ramp-up).

    Either Megatron's ``--rampup-batch-size``: ``start``, ``increment`` and ``length`` (the global
    batch starts at ``start`` and grows by ``increment`` in equal steps of consumed samples until,
    ``length`` samples in, it is ``data.batch_size x world_size x grad_accum_steps``); or explicit
    ``stages``: ``[[0, 256], ["250B tok", 512], ...]`` (from each position on, that global batch).
    Positions are samples, tokens or epochs. A run with a ramp is counted in samples (its schedule
    follows the samples consumed), so its length is epochs, max_samples or max_tokens.
    """

    start: Batch | None = None
    """Global batch (samples) of the first step."""
    increment: Batch | None = None
    """How much the global batch grows at each stage of the ramp."""
    length: Duration | None = None
    """Samples (or tokens, epochs) over which the batch grows from start to the global batch."""
    stages: Annotated[list[tuple[Duration, Batch]], Field(min_length=1, max_length=10_000)] | None = None
    """[[position, global batch], ...]: the first at 0; positions in samples, tokens or epochs."""

    @model_validator(mode="after")
    def _one_form(self) -> BatchRampSpec:
        megatron = {"start": self.start, "increment": self.increment, "length": self.length}
        if self.stages is not None:
            given = [key for key, value in megatron.items() if value is not None]
            if given:
                raise SpecError(given[0], "give either stages or start/increment/length, not both")
            for i, (position, _) in enumerate(self.stages):
                _by_samples(f"stages[{i}][0]", position, zero_ok=i == 0)
            if self.stages[0][0].amount != 0:
                raise SpecError("stages[0][0]", f"{self.stages[0][0]}: the first stage must begin at 0")
            return self
        missing = [key for key, value in megatron.items() if value is None]
        if missing:
            raise SpecError(
                missing[0],
                "a ramp needs start, increment and length (Megatron's --rampup-batch-size), or stages",
            )
        assert self.length is not None
        _by_samples("length", self.length, zero_ok=False)
        return self


def _by_samples(path: str, position: Duration, *, zero_ok: bool) -> None:
    """Batch changes are placed by the samples consumed: samples, tokens or epochs (or a bare 0)."""
    if position.unit in ("samples", "tokens", "epochs") or (zero_ok and position.amount == 0):
        return
    raise SpecError(
        path,
        f"{position} is in {position.unit}; the batch changes by the samples consumed: write samples "
        "('6M sp'), tokens ('12B tok') or epochs ('0.5ep')",
    )


class TrainingSpec(StrictModel):
    """How long the run is and how batches become optimizer steps."""

    epochs: PositiveInt | None = None
    """Passes over the data. With max_steps, max_samples or max_tokens set, it only defines epochs
    for '2ep' durations."""
    max_steps: PositiveInt | None = None
    """Total optimizer steps; overrides epochs x steps per epoch when set."""
    max_samples: SampleCount | None = None
    """The run's budget in samples ('150M'): it trains until that many samples are consumed."""
    max_tokens: TokenCount | None = None
    """The run's budget in tokens ('2T'; needs data.tokens_per_sample)."""
    grad_accum_steps: Count = 1
    """Batches accumulated per optimizer step (a partial accumulation at epoch end still steps)."""
    world_size: Count = 1
    """Data-parallel processes; each gets a DistributedSampler shard."""
    batch_rampup: BatchRampSpec | None = None
    """Grow the global batch during training (null: the same global batch every step)."""
    limit_train_batches: PositiveInt | Annotated[float, Field(gt=0, le=1), NotBool] | None = None
    """Lightning's limit_train_batches: run at most this many batches per epoch (an int) or this
    fraction of them (a float in (0, 1]); null: all."""

    @model_validator(mode="after")
    def _length(self) -> TrainingSpec:
        budgets = [k for k in ("max_steps", "max_samples", "max_tokens") if getattr(self, k) is not None]
        if self.epochs is None and not budgets:
            raise SpecError(
                "epochs", "set epochs, max_steps, max_samples or max_tokens to say how long the run is"
            )
        if len(budgets) > 1:
            raise SpecError(
                budgets[1],
                f"{budgets[0]} and {budgets[1]} are both set; give the run's length once "
                f"(set {budgets[0]}=null to count the run in {budgets[1].removeprefix('max_')})",
            )
        if self.batch_rampup is not None and self.max_steps is not None:
            raise SpecError(
                "max_steps",
                f"{self.max_steps} with a batch_rampup: a ramped run is counted in samples; give its "
                "length as max_samples, max_tokens or epochs (Megatron's --train-iters would schedule "
                "the LR over max_steps x the final batch, which a ramped run never consumes)",
            )
        return self
