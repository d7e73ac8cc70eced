"""curve.py: ``lr_curve`` evaluates in blocks, and the blocks change no value."""

from __future__ import annotations

import numpy as np
import pytest

import confsched
from confsched.curve import _BLOCK
from tests.conftest import run_spec

LONG = 3 * _BLOCK + 17  # several blocks and a partial one


@pytest.mark.parametrize(
    "scheduler",
    [
        {"name": "cosine", "warmup": "2%"},
        {"name": "cosine_with_restarts", "warmup": 100, "num_cycles": 5},
        {"name": "warmup_stable_decay", "warmup": "5%", "decay": "20%"},
        {"name": "polynomial", "warmup": 10, "power": 2.0},
        {"name": "multistep", "milestones": ["30%", "60%"]},
    ],
)
def test_blocks_give_the_values_of_one_call_over_every_step(scheduler):
    spec = confsched.validate(run_spec(scheduler, total=LONG, lrs=(1e-3, 3e-4)))
    base = np.array([spec.group_base_lrs[name] for name in spec.group_names])
    whole = spec.schedule(np.arange(LONG))[:, None] * base[None, :]
    assert np.array_equal(confsched.lr_curve(spec), whole)  # bit for bit
    steps = np.random.default_rng(0).integers(0, 2 * LONG, size=LONG)  # unsorted, past the end too
    assert np.array_equal(confsched.lr_curve(spec, steps), spec.schedule(steps)[:, None] * base[None, :])


def test_a_count_of_steps_gives_that_many_rows(make_spec):
    spec = make_spec()
    assert confsched.lr_curve(spec, 0).shape == (0, 1)
    assert np.array_equal(confsched.lr_curve(spec, 7), confsched.lr_curve(spec)[:7])
