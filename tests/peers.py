"""What the ports of the peers' own test cases share (``tests/test_peers_*.py``).

A ported case builds a confsched spec whose LR groups are the peer test's param groups (group 0 the
default group at ``optimizer.lr``, group ``g<i>`` at its own LR; see ``tests.conftest.run_spec``),
takes its LRs from :func:`confsched.lr_curve` and from the stepped torch scheduler, and compares them
with the peer: the peer's scheduler itself where it is installed (torch, timm, transformers), stepped
on an optimizer with the same param groups, and always the values written in the peer's test.

Each module keeps its cases in tables and exposes ``PORTED``, the number of peer cases it ports;
``tests/test_migrating.py`` checks the totals stated in ``docs/migrating.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import confsched
from tests.conftest import layers, run_spec, step_lrs


def spec_of(
    scheduler: dict[str, Any],
    *,
    total: int,
    lrs: Sequence[float] = (1.0,),
    optimizer: str = "sgd",
    **optimizer_knobs: Any,
) -> confsched.Spec:
    """A ``total``-step spec with ``scheduler`` and one LR group per entry of ``lrs``."""
    data = run_spec(scheduler, total=total, lrs=lrs, optimizer=optimizer)
    data["optimizer"].update(optimizer_knobs)
    return confsched.validate(data)


def ours(spec: confsched.Spec, steps: int, metrics: Sequence[float] | None = None) -> np.ndarray:
    """Row k: every group's LR for step k, from ``lr_curve`` and (asserted equal) from the torch
    scheduler confsched builds; with ``metrics``, one ``step(metric)`` (and one ``step()``, for a
    family with a step-driven factor) per row after the first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", confsched.ScheduleOverrunWarning)
        if metrics is None:
            curve = confsched.lr_curve(spec, steps)
            optimizer, scheduler = confsched.build(spec, layers(len(spec.group_names)))
            stepped = step_lrs(optimizer, scheduler, steps - 1)
        else:
            curve = confsched.lr_curve(spec, metrics=metrics[: steps - 1])
            optimizer, scheduler = confsched.build(spec, layers(len(spec.group_names)))
            stepped = _metric_steps(optimizer, scheduler, metrics[: steps - 1])
    assert np.array_equal(np.array(stepped), curve), "the stepped scheduler parts from lr_curve"
    return curve


def _metric_steps(optimizer: Any, scheduler: Any, metrics: Sequence[float]) -> list[list[float]]:
    factor = any(f is not None for f in scheduler.factors)
    rows = [[float(lr) for lr in scheduler.get_last_lr()]]
    for metric in metrics:
        optimizer.step()
        scheduler.step(metric)
        if factor:
            scheduler.step()
        rows.append([float(lr) for lr in scheduler.get_last_lr()])
    return rows


def reference_optimizer(
    lrs: Sequence[float], cls: type[torch.optim.Optimizer] = torch.optim.SGD, **kwargs: Any
) -> torch.optim.Optimizer:
    """A torch optimizer with one param group per LR (the peer's param groups)."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return cls(groups, lr=lrs[0], **kwargs)


def torch_trace(
    optimizer: torch.optim.Optimizer,
    schedulers: Sequence[Any],
    steps: int,
    metrics: Sequence[float] | None = None,
    read: Callable[[dict[str, Any]], float] = lambda g: float(g["lr"]),
) -> np.ndarray:
    """Row k: every group's value for step k, the peer's schedulers stepped in the given order
    after each ``optimizer.step()`` (a ``ReduceLROnPlateau`` with the next metric)."""
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(steps):
            rows.append([read(group) for group in optimizer.param_groups])
            optimizer.step()
            for scheduler in schedulers:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    assert metrics is not None
                    scheduler.step(metrics[k])
                else:
                    scheduler.step()
    return np.array(rows)


def worst(a: np.ndarray, b: np.ndarray) -> float:
    """The largest relative difference of ``a`` from ``b`` (0 where both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    return float(rel.max(initial=0.0))


def assert_lrs(got: np.ndarray, expected: Any, *, rtol: float = 1e-12, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol
    )
