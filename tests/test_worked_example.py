"""The mission's worked example, end to end: 1950 steps, and transformers' cosine to the bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import confsched
from confsched.loading import shipped_config_dir

transformers = pytest.importorskip("transformers")


def test_worked_example_step_counts(worked_example):
    spec = confsched.validate(worked_example)
    assert (spec.steps_per_epoch, spec.total_steps, spec.warmup_steps) == (39, 1950, 100)


def test_default_config_is_the_worked_example(worked_example):
    spec = confsched.compose()
    assert spec.scheduler.name == "cosine"
    assert spec.optimizer.name == "adamw"
    assert spec.optimizer.lr == 1e-3
    assert (spec.total_steps, spec.warmup_steps) == (1950, 100)
    assert np.array_equal(confsched.lr_curve(spec), confsched.lr_curve(confsched.validate(worked_example)))
    assert shipped_config_dir().name == "conf"


def test_worked_example_matches_transformers_cosine(worked_example):
    spec = confsched.validate(worked_example)
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 2)
    optimizer, scheduler = confsched.build(spec, model)

    reference_model = torch.nn.Linear(10, 2)
    reference_optimizer = torch.optim.AdamW(reference_model.parameters(), lr=1e-3)
    reference = transformers.get_scheduler(
        "cosine", reference_optimizer, num_warmup_steps=100, num_training_steps=1950
    )
    curve = confsched.lr_curve(spec)
    ours, theirs = [], []
    for _ in range(1950):
        ours.append(scheduler.get_last_lr()[0])
        theirs.append(reference.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
        reference_optimizer.step()
        reference.step()
    assert ours == theirs  # bit for bit
    assert curve[:, 0].tolist() == theirs
    # literal values pinned from transformers 5.x
    assert theirs[0] == 0.0
    assert theirs[50] == pytest.approx(5e-4, rel=1e-15)
    assert theirs[100] == 1e-3
    assert theirs[1025] == pytest.approx(5e-4, rel=1e-12)
