"""transformers' own scheduler test (``tests/optimization/test_optimization.py``,
``ScheduleInitTest.test_schedulers``), ported: AdamW at lr 10, ``num_warmup_steps`` 2 of 10 (or
its own), the LR of each of 10 steps within the test's 1e-2, against the installed transformers
to 1e-12 (``tests/test_parity.py`` runs the full matrix), and the same LRs after a save and a
reload at step 5 (``unwrap_and_save_reload_schedule``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import confsched
from tests.conftest import layers
from tests.peers import assert_lrs, ours, reference_optimizer, spec_of, torch_trace

transformers = pytest.importorskip("transformers")

COMMON = {"warmup": 2}
CASES = [
    # (transformers function, its kwargs besides num_training_steps=10, confsched scheduler, expected)
    ("get_constant_schedule", {}, {"name": "constant"}, [10.0] * 10),
    (
        "get_constant_schedule_with_warmup",
        {"num_warmup_steps": 4},
        {"name": "constant_with_warmup", "warmup": 4},
        [0.0, 2.5, 5.0, 7.5, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
    ),
    (
        "get_linear_schedule_with_warmup",
        {"num_warmup_steps": 2},
        {"name": "linear", **COMMON},
        [0.0, 5.0, 10.0, 8.75, 7.5, 6.25, 5.0, 3.75, 2.5, 1.25],
    ),
    (
        "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 2},
        {"name": "cosine", **COMMON},
        [0.0, 5.0, 10.0, 9.61, 8.53, 6.91, 5.0, 3.08, 1.46, 0.38],
    ),
    (
        "get_cosine_with_hard_restarts_schedule_with_warmup",
        {"num_warmup_steps": 2, "num_cycles": 2},
        {"name": "cosine_with_restarts", **COMMON, "num_cycles": 2},
        [0.0, 5.0, 10.0, 8.53, 5.0, 1.46, 10.0, 8.53, 5.0, 1.46],
    ),
    (
        "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 2, "power": 2.0, "lr_end": 1e-7},
        {"name": "polynomial", **COMMON, "power": 2.0, "lr_end": 1e-7},
        [0.0, 5.0, 10.0, 7.656, 5.625, 3.906, 2.5, 1.406, 0.625, 0.156],
    ),
    (
        "get_inverse_sqrt_schedule",
        {"num_warmup_steps": 2},
        {"name": "inverse_sqrt", **COMMON},
        [0.0, 5.0, 10.0, 8.165, 7.071, 6.325, 5.774, 5.345, 5.0, 4.714],
    ),
]


@pytest.mark.parametrize(("function", "kwargs", "scheduler", "expected"), CASES, ids=[c[0] for c in CASES])
def test_schedulers(
    function: str, kwargs: dict[str, Any], scheduler: dict[str, Any], expected: list[float]
) -> None:
    spec = spec_of(scheduler, total=10, lrs=(10.0,), optimizer="adamw")
    got = ours(spec, 10)
    assert_lrs(got[:, 0], expected, rtol=0, atol=1e-2)
    optimizer = reference_optimizer((10.0,), cls=__import__("torch").optim.AdamW)
    make = getattr(transformers, function)
    reference = (
        make(optimizer, **kwargs)
        if function.startswith(("get_constant", "get_inverse"))
        else make(optimizer, num_training_steps=10, **kwargs)
    )
    assert_lrs(got, torch_trace(optimizer, [reference], 10), rtol=1e-12)


@pytest.mark.parametrize(("function", "kwargs", "scheduler", "expected"), CASES, ids=[c[0] for c in CASES])
def test_schedulers_save_and_reload(
    function: str, kwargs: dict[str, Any], scheduler: dict[str, Any], expected: list[float]
) -> None:
    """unwrap_and_save_reload_schedule: the state saved after step 5 and loaded back."""
    spec = spec_of(scheduler, total=10, lrs=(10.0,), optimizer="adamw")
    optimizer, scheduler_ = confsched.build(spec, layers(1))
    lrs = []
    for step in range(10):
        lrs.append(scheduler_.get_last_lr()[0])
        optimizer.step()
        scheduler_.step()
        if step == 5:
            scheduler_.load_state_dict(scheduler_.state_dict())
    assert np.array_equal(lrs, ours(spec, 10)[:, 0])


PORTED = len(CASES) * 2
"""transformers test cases ported: the seven schedules of test_schedulers, each also saved and
reloaded."""
