"""Every row of ``docs/migrating.md`` is a test: the peer's call and the confsched scheduler section
give the same LRs at every step of the run.

torch, timm and transformers rows are run as written (``opt`` bound to an optimizer with the
table's param groups) and compared with ``lr_curve`` to 1e-12 relative. NeMo and optax rows are
not runnable here: :data:`NEMO_ROWS` names the NeMo configuration of ``tests/test_peers_nemo.py``
each row reproduces, :data:`OPTAX_ROWS` holds the values optax's tests write for each row's
parameters. The counts of ported peer cases stated in the doc are checked against the port modules.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch.optim import lr_scheduler
from torch.optim.swa_utils import SWALR

import confsched
from tests import (
    test_peers_nemo,
    test_peers_optax,
    test_peers_timm,
    test_peers_torch,
    test_peers_transformers,
)
from tests.peers import assert_lrs, ours, reference_optimizer, spec_of, torch_trace
from tests.timm_schedulers import timm_scheduler

DOC = Path(__file__).resolve().parents[1] / "docs" / "migrating.md"
_ROW = re.compile(r"^\| `(?P<call>[^`]+)` \| `(?P<yaml>[^`]+)`(?: \((?P<lr>[\d.]+), (?P<total>\d+)\))? \|$")


def rows() -> list[tuple[str, str, dict[str, Any], float | None, int | None]]:
    """``(peer, call, scheduler, lr, total)`` for each table row, the peer from its ``##`` heading."""
    found, peer = [], ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            peer = line[3:].strip()
            continue
        match = _ROW.match(line)
        if match and peer:
            scheduler = yaml.safe_load(match["yaml"])
            lr = float(match["lr"]) if match["lr"] else None
            total = int(match["total"]) if match["total"] else None
            found.append((peer, match["call"], scheduler, lr, total))
    return found


ROWS = rows()
TOTAL = 100
GROUPS = (0.1, 0.01)
METRICS = [1.0, 0.9, 0.8] + [0.8] * 97  # improves, then flat: the plateau cuts every few updates


def _ids(peer: str) -> list[Any]:
    return [pytest.param(call, scheduler, id=call[:60]) for p, call, scheduler, _, _ in ROWS if p == peer]


def test_every_peer_has_a_table() -> None:
    peers = {peer for peer, *_ in ROWS}
    assert peers == {"torch", "timm", "NeMo", "optax", "transformers"}
    assert len(ROWS) >= 50


@pytest.mark.parametrize(("call", "scheduler"), _ids("torch"))
def test_torch_row(call: str, scheduler: dict[str, Any]) -> None:
    spec = spec_of(scheduler, total=TOTAL, lrs=GROUPS, momentum=0.9)
    plateau = scheduler["name"] == "reduce_lr_on_plateau"
    metrics = METRICS if plateau else None
    got = ours(spec, TOTAL, metrics)
    optimizer = reference_optimizer(GROUPS, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = eval(call, {**vars(lr_scheduler), "SWALR": SWALR, "opt": optimizer})
    schedulers = made if isinstance(made, list) else [made]
    theirs = torch_trace(optimizer, schedulers, TOTAL, metrics)
    assert_lrs(got, theirs, rtol=1e-12)


@pytest.mark.parametrize(("call", "scheduler"), _ids("timm"))
def test_timm_row(call: str, scheduler: dict[str, Any]) -> None:
    spec = spec_of(scheduler, total=TOTAL, lrs=GROUPS)
    got = ours(spec, TOTAL)
    optimizer = reference_optimizer(GROUPS)
    names = {n: getattr(timm_scheduler(m), n) for m, n in _TIMM}
    made = eval(call, {**names, "opt": optimizer})
    rows_ = []
    for k in range(TOTAL):
        made.step_update(k)
        rows_.append([float(g["lr"]) for g in optimizer.param_groups])
    assert_lrs(got, rows_, rtol=1e-12)


_TIMM = [
    ("cosine_lr", "CosineLRScheduler"),
    ("tanh_lr", "TanhLRScheduler"),
    ("poly_lr", "PolyLRScheduler"),
    ("step_lr", "StepLRScheduler"),
    ("multistep_lr", "MultiStepLRScheduler"),
]


@pytest.mark.parametrize(("call", "scheduler"), _ids("transformers"))
def test_transformers_row(call: str, scheduler: dict[str, Any]) -> None:
    transformers = pytest.importorskip("transformers")
    spec = spec_of(scheduler, total=TOTAL, lrs=GROUPS, optimizer="adamw")
    got = ours(spec, TOTAL)
    optimizer = reference_optimizer(GROUPS, cls=torch.optim.AdamW)
    made = eval(call, {"get_scheduler": transformers.get_scheduler, "opt": optimizer})
    assert_lrs(got, torch_trace(optimizer, [made], TOTAL), rtol=1e-12)


NEMO_ROWS = {
    "WarmupPolicy": "WarmupPolicy[warmup]",
    "WarmupHoldPolicy": "WarmupHoldPolicy[warmup+hold]",
    "WarmupAnnealing": "WarmupAnnealing[warmup]",
    "SquareAnnealing": "SquareAnnealing[warmup]",
    "SquareRootAnnealing": "SquareRootAnnealing[warmup]",
    "CosineAnnealing(opt, warmup_steps=5,": "CosineAnnealing[warmup]",
    "CosineAnnealing(opt, warmup_steps=3, constant_steps=2,": "CosineAnnealing[warmup+constant]",
    "NoamAnnealing": "NoamAnnealing[warmup]",
    "NoamHoldAnnealing": "NoamHoldAnnealing[code]",
    "InverseSquareRootAnnealing": "InverseSquareRootAnnealing[warmup]",
    "T5InverseSquareRootAnnealing": "T5InverseSquareRootAnnealing[code]",
    "PolynomialDecayAnnealing": "PolynomialDecayAnnealing[code,cycle]",
    "PolynomialHoldDecayAnnealing": "PolynomialHoldDecayAnnealing[warmup+hold]",
    "WarmupHoldAnnealOneMinusSquareRoot": "WarmupHoldAnnealOneMinusSquareRoot[warmup+hold]",
    "WarmupHoldAnnealLinear": "WarmupHoldAnnealLinear[warmup+hold]",
}
"""The configuration of ``tests/test_peers_nemo.py`` (NeMo's own values) each row reproduces."""


@pytest.mark.parametrize(("call", "scheduler"), _ids("NeMo"))
def test_nemo_row(call: str, scheduler: dict[str, Any]) -> None:
    key = next(v for k, v in sorted(NEMO_ROWS.items(), key=lambda kv: -len(kv[0])) if call.startswith(k))
    total = int(re.search(r"max_steps=(\d+)", call)[1])  # type: ignore[index]
    assert scheduler == test_peers_nemo.SPECS[key] or _same_spec(scheduler, test_peers_nemo.SPECS[key], total)
    expected = test_peers_nemo.NEMO[key]
    points = expected.items() if isinstance(expected, dict) else enumerate(expected)
    steps, values = zip(*points, strict=True)
    got = ours(spec_of(scheduler, total=total, lrs=(0.1,)), max(steps) + 1)[:, 0]
    assert_lrs(got[list(steps)], values, rtol=1e-12)


def _same_spec(a: dict[str, Any], b: dict[str, Any], total: int) -> bool:
    return spec_of(a, total=total, lrs=(0.1,)).scheduler == spec_of(b, total=total, lrs=(0.1,)).scheduler


def _cosine_steps(exponent: float) -> list[float]:
    return [0.1 * (0.5 * (1 + math.cos(math.pi * t / 100))) ** exponent for t in (0, 10, 50, 75, 100)]


OPTAX_ROWS: dict[str, tuple[list[int], list[float], float]] = {
    # call prefix: (steps, the values optax's test writes, its atol)
    "polynomial_schedule": (
        list(range(20)),
        [30.0] * 4 + [10.0 + 20.0 * (1.0 - n / 10) ** 2 for n in range(10)] + [10] * 6,
        1e-3,
    ),
    "exponential_decay(init_value=1.0, transition_steps=2, decay_rate=2.0": (
        list(range(20)),
        [1.0] * 5 + [2.0 ** math.floor(c / 2) for c in range(15)],
        1e-3,
    ),
    "exponential_decay(init_value=1.0, transition_steps=2, decay_rate=0.2": (
        list(range(14)),
        [1.0] * 3 + [max(0.2 ** (c / 2), 0.1) for c in range(11)],
        1e-3,
    ),
    "cosine_decay_schedule(init_value=0.1, decay_steps=100": (
        [0, 10, 50, 75, 100],
        [0.1, 0.09516553580760956, 0.025, 0.0021446612663567066, 0.0],
        1e-8,
    ),
    "cosine_decay_schedule(init_value=0.1, decay_steps=5": (
        list(range(12)),
        [0.1 * (0.9 * (0.5 + 0.5 * math.cos(math.pi * min(t, 5) / 5)) + 0.1) for t in range(12)],
        1e-3,
    ),
    "warmup_cosine_decay_schedule": ([0, 5, 25], [0.0, 1.0, 0.1], 1e-6),
    "sgdr_schedule": ([500, 2500, 5500], [1.6, 0.8, 0.4], 1e-7),
    'piecewise_interpolate_schedule("linear"': (
        list(range(13)),
        [200.0, 220.0, 240.0, 260.0, 280.0, 300.0, 255.0, 210.0, 165.0, 120.0, 75.0, 75.0, 75.0],
        1e-3,
    ),
    'piecewise_interpolate_schedule("cosine"': (
        list(range(9)),
        [400.0, 360.0, 280.0, 240.0, 264.0, 288.0, 288.0, 288.0, 288.0],
        1e-3,
    ),
    "piecewise_constant_schedule": (
        list(range(10)),
        [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1],
        1e-3,
    ),
    "join_schedules": (list(range(7)), [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0], 0.0),
    "linear_onecycle_schedule": (
        list(range(12)),
        [100.0, 400.0, 700.0, 1000.0, 775.0, 550.0, 325.0, 100.0, 67.0, 34.0, 1.0, 1.0],
        1e-3,
    ),
}


@pytest.mark.parametrize(("call", "scheduler"), _ids("optax"))
def test_optax_row(call: str, scheduler: dict[str, Any]) -> None:
    _, _, _, lr, total = next(row for row in ROWS if row[1] == call)
    assert lr is not None
    assert total is not None
    steps, values, atol = next(v for k, v in OPTAX_ROWS.items() if call.startswith(k))
    got = confsched.lr_curve(spec_of(scheduler, total=total, lrs=(lr,)), steps)[:, 0]
    np.testing.assert_allclose(got, values, atol=atol, rtol=1e-7 if atol < 1e-6 else 0)


def test_the_ported_counts_are_the_docs() -> None:
    counts = {
        "torch": test_peers_torch.PORTED,
        "timm": test_peers_timm.PORTED,
        "NeMo": test_peers_nemo.PORTED,
        "optax": test_peers_optax.PORTED,
        "transformers": test_peers_transformers.PORTED,
    }
    text = " ".join(DOC.read_text().split())
    stated = f"{sum(counts.values())} cases (" + ", ".join(f"{peer} {n}" for peer, n in counts.items()) + ")"
    assert stated in text
    readme = " ".join((DOC.parent / "families.md").read_text().split())
    assert f"`tests/test_peers_*.py`, {sum(counts.values())} cases, all passing" in readme
