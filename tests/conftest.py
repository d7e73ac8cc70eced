"""Shared fixtures: the worked example as plain data, a spec factory, and the helpers the torch tests
share (a stack of layers to put in groups, the training loop that steps a scheduler, the comparison
of LR sequences)."""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import confsched

# Hypothesis profiles: "ci" by default; "long" on demand (--hypothesis-profile=long). Tests with
# their own @settings(max_examples=...) keep their count. The suite is deterministic: "ci" draws the
# same examples on every run (derandomize) and replays nothing from a local .hypothesis database, so
# a run cannot fail on an example the previous runs never drew; "long" explores with fresh seeds.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")

WORKED_EXAMPLE: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine", "warmup": 100},
    "data": {"dataset_size": 1235, "batch_size": 32},
    "training": {"epochs": 50},
}

RTOL = 1e-12
"""The acceptance bar of the parity tests: relative error per LR, exact where the reference is 0."""


def merged(base: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with each given section replaced (``scheduler={...}``)."""
    data = copy.deepcopy(base)
    for key, value in sections.items():
        data[key] = value
    return data


@pytest.fixture
def worked_example() -> dict[str, Any]:
    return copy.deepcopy(WORKED_EXAMPLE)


@pytest.fixture
def make_spec() -> Callable[..., confsched.Spec]:
    def make(**sections: dict[str, Any]) -> confsched.Spec:
        return confsched.validate(merged(WORKED_EXAMPLE, **sections))

    return make


def run_spec(
    scheduler: dict[str, Any],
    *,
    total: int,
    lrs: Sequence[float] = (1e-3,),
    optimizer: str = "adamw",
) -> dict[str, Any]:
    """A spec (plain data) of a ``total``-step run (one epoch of batch 1) whose groups have ``lrs``.

    Group 0 is ``default`` (``optimizer.lr``); group ``g<i>`` holds the parameters of layer ``i`` of
    :func:`layers` with the absolute LR ``lrs[i]``.
    """
    return {
        "optimizer": {
            "name": optimizer,
            "lr": lrs[0],
            "groups": [{"name": f"g{i}", "params": [f"{i}.*"], "lr": lr} for i, lr in enumerate(lrs[1:], 1)],
        },
        "scheduler": scheduler,
        "data": {"dataset_size": total, "batch_size": 1},
        "training": {"epochs": 1},
    }


def layers(n: int) -> Any:
    """``n`` small linear layers in a ``Sequential``: parameters ``0.weight``, ``0.bias``, ``1.weight``..."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(*(torch.nn.Linear(2, 2) for _ in range(n)))


def step_lrs(
    optimizer: Any,
    scheduler: Any,
    steps: int,
    metrics: Sequence[float] | None = None,
    loss: Callable[[], Any] | None = None,
) -> list[list[float]]:
    """The training loop: (``loss().backward()``, when given,) ``optimizer.step()``, then
    ``scheduler.step()`` (with the next metric, for a metric-driven scheduler); returns
    ``get_last_lr()`` before the first step and after each step."""
    rows = [[float(lr) for lr in scheduler.get_last_lr()]]
    for k in range(steps):
        if loss is not None:
            optimizer.zero_grad()
            loss().backward()
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[k])
        rows.append([float(lr) for lr in scheduler.get_last_lr()])
    return rows


def assert_lrs_match(ours: Any, theirs: Any, rtol: float = RTOL) -> float:
    """Every LR within ``rtol`` of the reference (exactly 0 where it is 0); returns the worst
    relative error."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(theirs, dtype=np.float64)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0.0)
    nonzero = b != 0
    return float(np.max(np.abs(a - b)[nonzero] / np.abs(b[nonzero]), initial=0.0))


def load_script(path: Path) -> Any:
    """Import a script that is not in a package (``docs/reference.py``, ``examples/train_digits.py``)."""
    name = f"_script_{path.parent.name}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def readme_sweep(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The documented sweep (docs/training.md) of ``examples/train_digits.py`` with 2 epochs, run
    once with Hydra's basic launcher (tests/test_examples.py reads its log, tests/test_sweeps.py
    compares the other launchers with it): the completed process, and the sweep dir as ``.sweep_dir``."""
    from tests.test_examples import SHORT, readme_commands, run_example

    _, sweep = readme_commands()
    cwd = tmp_path_factory.mktemp("readme_sweep")
    result = run_example(sweep, *SHORT, "hydra.sweep.dir=sweep", cwd=cwd)
    result.sweep_dir = cwd / "sweep"  # type: ignore[attr-defined]
    return result
