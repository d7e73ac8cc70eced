"""Step counts: the spec's figures against a real DataLoader loop, and durations in steps.

The loop is the one the issue describes: a ``DataLoader`` over a ``TensorDataset`` (with a
``DistributedSampler`` per rank when ``world_size > 1``), an optimizer step every
``grad_accum_steps`` batches and once more at the end of an epoch for a partial accumulation.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import confsched
from confsched.spec.duration import parse_duration
from confsched.steps import plan_steps
from tests.conftest import WORKED_EXAMPLE, merged


def count_optimizer_steps(loader: DataLoader, epochs: int, grad_accum_steps: int) -> int:
    """Run the training loop over ``loader`` and count the ``optimizer.step()`` calls."""
    steps = 0
    for _ in range(epochs):
        pending = 0
        for _batch in loader:
            pending += 1  # forward + backward of one batch
            if pending == grad_accum_steps:
                steps += 1
                pending = 0
        if pending:  # the last, partial accumulation of the epoch still steps
            steps += 1
    return steps


def loaders(dataset_size: int, batch_size: int, drop_last: bool, world_size: int) -> list[DataLoader]:
    """One DataLoader per rank, as each process of a data-parallel run builds it."""
    dataset = TensorDataset(torch.arange(dataset_size))
    if world_size == 1:
        return [DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)]
    return [
        DataLoader(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            sampler=DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=False),
        )
        for rank in range(world_size)
    ]


def spec_data(dataset_size: int, batch_size: int, drop_last: bool, world_size: int, accum: int, epochs: int):
    return merged(
        WORKED_EXAMPLE,
        scheduler={"name": "linear"},
        data={"dataset_size": dataset_size, "batch_size": batch_size, "drop_last": drop_last},
        training={"epochs": epochs, "grad_accum_steps": accum, "world_size": world_size},
    )


EPOCHS = 2
GRID = list(
    itertools.product(
        [1, 5, 31, 32, 33, 70],  # dataset sizes: smaller than a batch, remainders, exact multiples
        [1, 3, 8, 32],  # batch sizes
        [False, True],  # drop_last
        [1, 2, 3, 4],  # world sizes
    )
)


@pytest.mark.parametrize(("dataset_size", "batch_size", "drop_last", "world_size"), GRID)
def test_steps_match_a_real_dataloader_loop(dataset_size, batch_size, drop_last, world_size):
    per_rank = loaders(dataset_size, batch_size, drop_last, world_size)
    for accum in (1, 2, 3, 4):
        counts = {count_optimizer_steps(loader, EPOCHS, accum) for loader in per_rank}
        assert len(counts) == 1, f"ranks disagree: {counts}"  # every rank steps equally often
        (loop_total,) = counts
        data = spec_data(dataset_size, batch_size, drop_last, world_size, accum, EPOCHS)
        if loop_total == 0:
            with pytest.raises(confsched.SpecError) as info:
                confsched.validate(data)
            assert info.value.path == "data.batch_size"
            continue
        spec = confsched.validate(data)
        assert spec.total_steps == loop_total
        assert spec.steps_per_epoch * EPOCHS == loop_total
        assert spec.plan.batches_per_epoch == len(per_rank[0])


def test_grid_covers_the_interesting_cases():
    """The grid reaches zero-step data, remainders, padding by the sampler and partial accumulations."""
    plans = [
        plan_steps(
            dataset_size=n,
            batch_size=b,
            drop_last=d,
            world_size=w,
            grad_accum_steps=a,
            epochs=1,
            max_steps=None,
        )
        for n, b, d, w in GRID
        for a in (1, 2, 3, 4)
        if not (d and -(-n // w) < b)
    ]
    assert any(p.samples_per_rank * p.world_size > p.dataset_size for p in plans)  # padded shards
    assert any(p.batches_per_epoch % p.grad_accum_steps for p in plans)  # partial accumulations
    assert any(p.samples_per_rank % p.batch_size for p in plans)  # last batch partial
    assert any(d and -(-n // w) < b for n, b, d, w in GRID)  # zero steps


def test_worked_example_figures():
    spec = confsched.validate(WORKED_EXAMPLE)
    assert (spec.plan.batches_per_epoch, spec.steps_per_epoch, spec.total_steps) == (39, 39, 1950)
    assert spec.plan.explain() == (
        "batches per epoch = ceil(1235 / 32) = 39; steps per epoch = ceil(39 / 1) = 39; "
        "total = 50 epochs x 39 = 1950"
    )


def test_explain_shows_every_factor():
    spec = confsched.validate(spec_data(1235, 32, True, 3, 2, 50))
    # ceil(1235 / 3) = 412 per rank, floor(412 / 32) = 12 batches, ceil(12 / 2) = 6 steps, x 50
    assert spec.total_steps == 300
    assert spec.plan.explain() == (
        "samples per rank = ceil(1235 / 3) = 412; batches per epoch = floor(412 / 32) = 12; "
        "steps per epoch = ceil(12 / 2) = 6; total = 50 epochs x 6 = 300"
    )


def test_max_steps_is_the_total():
    data = merged(WORKED_EXAMPLE, training={"epochs": 50, "max_steps": 500})
    spec = confsched.validate(data)
    assert (spec.total_steps, spec.steps_per_epoch) == (500, 39)
    assert spec.plan.explain().endswith("total = max_steps = 500")
    without_epochs = confsched.validate(merged(WORKED_EXAMPLE, training={"max_steps": 500}))
    assert without_epochs.total_steps == 500
    assert without_epochs.plan.epochs is None


@pytest.mark.parametrize(
    ("warmup", "steps"),
    [
        (0, 0),
        (100, 100),
        ("6%", 117),  # 6/100 * 1950 = 117 exactly
        (0.06, 117),
        (0.1, 195),
        ("10%", 195),
        ("0%", 0),
        ("100%", 1950),
        (0.999, 1949),  # ceil(1948.05)
        ("0.1%", 2),  # ceil(1.95)
        ("2ep", 78),
        ("0.5ep", 20),  # 19.5 rounds up
        ("1.25ep", 49),  # 48.75 rounds up
        ("50ep", 1950),
        ("0ep", 0),
    ],
)
def test_warmup_durations_in_steps(warmup, steps):
    spec = confsched.validate(merged(WORKED_EXAMPLE, scheduler={"name": "cosine", "warmup": warmup}))
    assert spec.warmup_steps == steps
    assert spec.to_config()["scheduler"]["warmup"] == warmup  # kept as written


@pytest.mark.parametrize("warmup", [0.07, "7%", 0.14, "14%", 0.55])
def test_fractions_are_exact_where_float_ceil_is_not(warmup):
    """The README's example: ceil(100 * 0.07) in floats is 8 (100 * 0.07 = 7.000000000000001)."""
    fraction = float(warmup.rstrip("%")) / 100 if isinstance(warmup, str) else warmup
    exact = round(fraction * 100)
    assert math.ceil(100 * fraction) == exact + 1  # what float arithmetic would give
    data = merged(WORKED_EXAMPLE, scheduler={"name": "cosine", "warmup": warmup}, training={"max_steps": 100})
    assert confsched.validate(data).warmup_steps == exact


def test_epoch_durations_with_max_steps_use_the_epoch_length():
    data = merged(
        WORKED_EXAMPLE,
        scheduler={"name": "cosine", "warmup": "2ep"},
        training={"epochs": 50, "max_steps": 1000},
    )
    assert confsched.validate(data).warmup_steps == 78
    data["scheduler"]["warmup"] = "6%"
    assert confsched.validate(data).warmup_steps == 60  # a fraction of max_steps


@pytest.mark.parametrize(
    ("value", "amount", "unit", "written"),
    [
        (0, Fraction(0), "steps", 0),
        (7, Fraction(7), "steps", 7),
        ("7", Fraction(7), "steps", 7),  # digits in a string (a YAML quote) are steps
        ("6%", Fraction(3, 50), "fraction", "6%"),
        ("12.5%", Fraction(1, 8), "fraction", "12.5%"),
        (0.06, Fraction(3, 50), "fraction", 0.06),  # the decimal as written, not the binary float
        ("2ep", Fraction(2), "epochs", "2ep"),
        ("0.25ep", Fraction(1, 4), "epochs", "0.25ep"),
    ],
)
def test_parse_duration(value, amount, unit, written):
    duration = parse_duration(value)
    assert (duration.amount, duration.unit, duration.written) == (amount, unit, written)
    assert parse_duration(duration) is duration


@pytest.mark.parametrize(
    ("dataset_size", "batch_size", "world_size", "per_rank"),
    [(10, 32, 1, 10), (70, 32, 3, 24), (1, 2, 4, 1)],
)
def test_zero_steps_is_an_error_naming_the_batch_size(dataset_size, batch_size, world_size, per_rank):
    data = spec_data(dataset_size, batch_size, True, world_size, 1, 5)
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(data)
    assert info.value.path == "data.batch_size"
    assert str(info.value) == (
        f"data.batch_size: {batch_size} is larger than the {per_rank} samples each rank sees and "
        "drop_last drops that partial batch: 0 optimizer steps per epoch "
        "(lower batch_size or set drop_last: false)"
    )
