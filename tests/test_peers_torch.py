"""torch's own scheduler tests (``test/optim/test_lrscheduler.py``), ported onto confsched specs.

Each case reproduces a test's parameters: its optimizer's param groups (SGD at 0.05 and 0.5, as
the test's ``setUp``), its scheduler's arguments as confsched knobs, its number of epochs (a
confsched step each). The LRs of every group at every step must equal the installed torch
scheduler's (stepped on an optimizer with the same groups) within ``rtol`` (1e-12 unless the case
says why not), and the targets written in torch's test within its own tolerance (1e-5 absolute).
torch's ``last_epoch=`` construction and its order warnings are ported at the end.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

import confsched
from tests.conftest import layers
from tests.peers import assert_lrs, ours, reference_optimizer, spec_of, torch_trace, worst

LRS = (0.05, 0.5)
"""torch's ``setUp``: two param groups at 0.05 and 0.5 (the second's targets are 10x the first's)."""


@dataclass(frozen=True)
class Case:
    test: str
    """The torch test it ports."""
    scheduler: dict[str, Any]
    """The confsched scheduler section."""
    reference: Callable[[torch.optim.Optimizer], list[Any]]
    """torch's schedulers over an optimizer, stepped in this order."""
    steps: int
    lrs: tuple[float, ...] = LRS
    targets: list[list[float]] | None = None
    """The targets of torch's test, one list per group (row k: the LR of step k)."""
    metrics: list[float] | None = None
    rtol: float = 1e-12
    optimizer: dict[str, Any] = field(default_factory=dict)
    after_update: bool = False
    """torch's plateau tests check the LR after each update: target k is our row k + 1."""
    product: str = ""
    """Why torch's stepped LRs are not the reference: its chainable CosineAnnealingLR is no factor
    when another scheduler moves the LR too (it adds (base - eta_min)(1 - cos(pi/T))/2-sized terms
    to the scaled LR); torch's stepped LRs part from its own test's targets by up to 7.7e-6
    relative beside StepLR / MultiStepLR and 86% beside ExponentialLR(0.1) at LRs of 1e-12. The
    targets, the product, are the reference here, to 1e-12."""

    def spec(self) -> confsched.Spec:
        return spec_of(self.scheduler, total=self.steps, lrs=self.lrs, **self.optimizer)


def x10(single: list[float]) -> list[list[float]]:
    return [single, [x * 10 for x in single]]


def cos_anneal(epochs: int, eta_min: float = 1e-10, base: float = 0.05) -> list[float]:
    return [eta_min + (base - eta_min) * (1 + math.cos(math.pi * x / epochs)) / 2 for x in range(epochs)]


def linear(start: float, end: float, iters: int) -> list[float]:
    return [start + i * (end - start) / iters for i in range(iters)]


def constant_lr(factor: float, iters: int) -> dict[str, Any]:
    """torch's ConstantLR(factor, total_iters): ``factor`` for ``iters`` steps, then 1."""
    return {"name": "constant", "warmup": iters, "warmup_shape": "constant", "warmup_start": factor}


def linear_lr(start: float, iters: int, end: float = 1.0) -> dict[str, Any]:
    """torch's LinearLR(start_factor, end_factor, total_iters)."""
    if end == 1.0:
        return {"name": "constant", "warmup": iters, "warmup_start": start}
    return {"name": "phases", "phases": [{"duration": iters, "shape": "linear", "start": start, "end": end}]}


def poly_lr(power: float, iters: int) -> dict[str, Any]:
    """torch's PolynomialLR(total_iters, power): (1 - t / iters)^power, then 0."""
    return {
        "name": "phases",
        "phases": [{"duration": iters, "shape": "polynomial", "power": power, "end": 0.0}],
    }


def cosine_annealing(t_max: int, run: int, eta_min: float = 1e-10) -> dict[str, Any]:
    """torch's CosineAnnealingLR(T_max, eta_min) over a ``run``-step run: every group to eta_min."""
    return {
        "name": "cosine_with_min_lr",
        "min_lr": eta_min,
        "floor_groups": "same",
        "num_cycles": run / (2 * t_max),
    }


STEP = {"name": "step", "step_size": 3, "gamma": 0.1}
MULTISTEP = {"name": "multistep", "milestones": [2, 5, 9], "gamma": 0.1}
EXP = {"name": "exponential", "gamma": 0.9}
STEP_TARGETS = [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005] * 3
MULTISTEP_TARGETS = [0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 3

CASES = [
    Case(
        "test_step_lr", STEP, lambda o: [L.StepLR(o, gamma=0.1, step_size=3)], 10, targets=x10(STEP_TARGETS)
    ),
    Case(
        "test_get_last_lr_step_lr",
        STEP,
        lambda o: [L.StepLR(o, 3, gamma=0.1)],
        10,
        lrs=(0.1,),
        targets=[[0.1] * 3 + [0.01] * 3 + [0.001] * 3 + [0.0001]],
    ),
    Case(
        "test_get_last_lr_multi_step_lr",
        MULTISTEP,
        lambda o: [L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])],
        10,
        targets=x10([0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 1),
    ),
    Case(
        "test_multi_step_lr",
        MULTISTEP,
        lambda o: [L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])],
        10,
        targets=x10(MULTISTEP_TARGETS),
    ),
    Case(
        "test_get_last_lr_constantlr",
        constant_lr(0.5, 5),
        lambda o: [L.ConstantLR(o, factor=0.5, total_iters=5)],
        10,
        targets=x10([0.025] * 5 + [0.05] * 5),
    ),
    Case(
        "test_constantlr",
        constant_lr(0.5, 5),
        lambda o: [L.ConstantLR(o, factor=0.5, total_iters=5)],
        10,
        targets=x10([0.025] * 5 + [0.05] * 5),
    ),
    Case(
        "test_get_last_lr_linearlr",
        linear_lr(0.25, 4, 0.6),
        lambda o: [L.LinearLR(o, start_factor=0.25, end_factor=0.6, total_iters=4)],
        10,
        targets=x10([x * 0.05 for x in linear(0.25, 0.6, 4)] + [0.05 * 0.6] * 6),
    ),
    Case(
        "test_linearlr",
        linear_lr(0.5, 4),
        lambda o: [L.LinearLR(o, start_factor=0.5, total_iters=4)],
        10,
        targets=x10([x * 0.05 for x in linear(0.5, 1.0, 4)] + [0.05] * 6),
    ),
    Case(
        "test_exp_lr",
        EXP,
        lambda o: [L.ExponentialLR(o, gamma=0.9)],
        10,
        targets=x10([0.05 * 0.9**x for x in range(10)]),
    ),
    Case(
        "test_poly_lr",
        poly_lr(0.9, 5),
        lambda o: [L.PolynomialLR(o, power=0.9, total_iters=5)],
        10,
        targets=x10([(1.0 - x / 5) ** 0.9 * 0.05 for x in range(5)] + [0.0] * 5),
    ),
    Case(
        "test_cos_anneal_lr",
        cosine_annealing(10, 10),
        lambda o: [L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10)],
        10,
        targets=[cos_anneal(10), cos_anneal(10, base=0.5)],
        rtol=1e-12,
    ),
    # the closed-form tests: the same schedulers over 20 epochs
    Case("test_closed_form_step_lr", STEP, lambda o: [L.StepLR(o, gamma=0.1, step_size=3)], 20),
    Case(
        "test_closed_form_linearlr",
        linear_lr(1 / 3, 4, 0.7),
        lambda o: [L.LinearLR(o, start_factor=1 / 3, end_factor=0.7, total_iters=4)],
        20,
    ),
    Case(
        "test_closed_form_constantlr",
        constant_lr(1 / 3, 4),
        lambda o: [L.ConstantLR(o, factor=1 / 3, total_iters=4)],
        20,
    ),
    Case(
        "test_closed_form_multi_step_lr",
        MULTISTEP,
        lambda o: [L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])],
        20,
    ),
    Case("test_closed_form_exp_lr", EXP, lambda o: [L.ExponentialLR(o, gamma=0.9)], 20),
    Case("test_closed_form_poly_lr", poly_lr(0.9, 5), lambda o: [L.PolynomialLR(o, power=0.9)], 20),
    Case(
        "test_closed_form_cos_anneal_lr",
        cosine_annealing(5, 20),
        lambda o: [L.CosineAnnealingLR(o, T_max=5, eta_min=1e-10)],
        20,
        rtol=1e-12,
    ),
    # ChainedScheduler: the product of the factors
    Case(
        "test_chained_lr1",
        STEP,
        lambda o: [L.ChainedScheduler([L.StepLR(o, gamma=0.1, step_size=3)])],
        10,
        targets=[STEP_TARGETS],
    ),
    Case(
        "test_chained_lr2",
        linear_lr(0.4, 3),
        lambda o: [L.ChainedScheduler([L.LinearLR(o, start_factor=0.4, total_iters=3)])],
        10,
        targets=[[0.02, 0.03, 0.04] + [0.05] * 9],
    ),
    Case(
        "test_chained_lr3",
        {
            "name": "chain",
            "schedulers": [linear_lr(0.4, 3), {"name": "multistep", "milestones": [4, 8, 10], "gamma": 0.1}],
        },
        lambda o: [
            L.ChainedScheduler(
                [
                    L.LinearLR(o, start_factor=0.4, total_iters=3),
                    L.MultiStepLR(o, milestones=[4, 8, 10], gamma=0.1),
                ]
            )
        ],
        10,
        targets=[[0.02, 0.03, 0.04, 0.05] + [0.005] * 4 + [0.0005] * 3 + [0.00005] * 3],
    ),
    Case(
        "test_chained_lr4",
        {"name": "chain", "schedulers": [EXP, constant_lr(0.2, 4), STEP]},
        lambda o: [
            L.ChainedScheduler(
                [
                    L.ExponentialLR(o, gamma=0.9),
                    L.ConstantLR(o, factor=0.2, total_iters=4),
                    L.StepLR(o, gamma=0.1, step_size=3),
                ]
            )
        ],
        9,
        targets=[
            [0.05 * 0.2 * 0.9**x for x in range(3)]
            + [0.05 * 0.2 * 0.9**3 * 0.1]
            + [0.05 * 0.9**x * 0.1 for x in range(4, 6)]
            + [0.05 * 0.9**x * 0.01 for x in range(6, 9)]
        ],
    ),
    Case(
        "test_chained_lr5",
        {"name": "chain", "schedulers": [poly_lr(0.9, 5), constant_lr(0.1, 5)]},
        lambda o: [
            L.ChainedScheduler([L.PolynomialLR(o, power=0.9, total_iters=5), L.ConstantLR(o, factor=0.1)])
        ],
        10,
        targets=[
            [x * 0.1 for x in [0.05 * (1.0 - x / 5) ** 0.9 for x in range(5)] + [0.0] * 5],
            [x * 0.1 for x in [0.5 * (1.0 - x / 5) ** 0.9 for x in range(5)] + [0.0] * 5],
        ],
    ),
    # two schedulers stepping one optimizer (torch's "compound" tests): the same product
    Case(
        "test_compound_step_and_multistep_lr",
        {"name": "chain", "schedulers": [STEP, MULTISTEP]},
        lambda o: [L.StepLR(o, gamma=0.1, step_size=3), L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])],
        10,
        targets=[[0.05] * 2 + [0.005] * 1 + [5e-4] * 2 + [5e-5] + [5e-6] * 3 + [5e-8]],
    ),
    Case(
        "test_compound_step_and_exp_lr",
        {"name": "chain", "schedulers": [STEP, EXP]},
        lambda o: [L.StepLR(o, gamma=0.1, step_size=3), L.ExponentialLR(o, gamma=0.9)],
        10,
        targets=x10([0.05 * 0.1 ** (x // 3) * 0.9**x for x in range(10)]),
    ),
    Case(
        "test_compound_exp_and_multistep_lr",
        {"name": "chain", "schedulers": [MULTISTEP, EXP]},
        lambda o: [L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]), L.ExponentialLR(o, gamma=0.9)],
        10,
        targets=x10(
            [0.05 * 0.9**x for x in range(2)]
            + [0.005 * 0.9**x for x in range(2, 5)]
            + [0.0005 * 0.9**x for x in range(5, 9)]
            + [0.00005 * 0.9**9]
        ),
    ),
    Case(
        "test_compound_exp_and_linearlr",
        {"name": "chain", "schedulers": [linear_lr(0.4, 4, 0.9), EXP]},
        lambda o: [
            L.LinearLR(o, start_factor=0.4, end_factor=0.9, total_iters=4),
            L.ExponentialLR(o, gamma=0.9),
        ],
        10,
        targets=x10([0.05 * 0.9**i * (0.4 + i / 4 * 0.5 if i < 4 else 0.9) for i in range(10)]),
    ),
    Case(
        "test_compound_step_and_constantlr",
        {"name": "chain", "schedulers": [STEP, constant_lr(0.4, 4)]},
        lambda o: [L.StepLR(o, gamma=0.1, step_size=3), L.ConstantLR(o, factor=0.4, total_iters=4)],
        10,
        targets=x10([0.05 * 0.4] * 3 + [0.005 * 0.4] + [0.005] * 2 + [0.0005] * 3 + [0.00005] * 3),
    ),
    Case(
        "test_compound_linearlr_and_multistep_lr",
        {"name": "chain", "schedulers": [MULTISTEP, linear_lr(0.4, 4)]},
        lambda o: [
            L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
            L.LinearLR(o, start_factor=0.4, total_iters=4),
        ],
        10,
        targets=x10([t * (0.4 + i / 4 * 0.6 if i < 4 else 1) for i, t in enumerate(MULTISTEP_TARGETS[:10])]),
    ),
    Case(
        "test_compound_cosanneal_and_step_lr",
        {"name": "chain", "schedulers": [cosine_annealing(10, 10), STEP]},
        lambda o: [L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), L.StepLR(o, gamma=0.1, step_size=3)],
        10,
        targets=[[x * 0.1 ** (i // 3) for i, x in enumerate(cos_anneal(10, base=b))] for b in LRS],
        product="chainable cosine",
    ),
    Case(
        "test_compound_cosanneal_and_multistep_lr",
        {"name": "chain", "schedulers": [cosine_annealing(10, 10), MULTISTEP]},
        lambda o: [
            L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10),
            L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
        ],
        10,
        targets=[
            [
                x * m
                for x, m in zip(
                    cos_anneal(10, base=b), [1] * 2 + [0.1] * 3 + [0.01] * 4 + [0.001], strict=True
                )
            ]
            for b in LRS
        ],
        product="chainable cosine",
    ),
    Case(
        "test_compound_cosanneal_and_linearlr",
        {"name": "chain", "schedulers": [linear_lr(0.4, 4), cosine_annealing(10, 10)]},
        lambda o: [
            L.LinearLR(o, start_factor=0.4, total_iters=4),
            L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10),
        ],
        10,
        targets=[
            [x * (0.4 + i / 4 * 0.6 if i < 4 else 1) for i, x in enumerate(cos_anneal(10, base=b))]
            for b in LRS
        ],
        product="chainable cosine",
    ),
    Case(
        "test_compound_cosanneal_and_exp_lr",
        {"name": "chain", "schedulers": [cosine_annealing(10, 10), {"name": "exponential", "gamma": 0.1}]},
        lambda o: [L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), L.ExponentialLR(o, gamma=0.1)],
        10,
        targets=[[x * 0.1**i for i, x in enumerate(cos_anneal(10, base=b))] for b in LRS],
        product="chainable cosine",
    ),
    # SequentialLR: each scheduler on its own clock from its milestone
    Case(
        "test_sequentiallr1",
        {
            "name": "sequential",
            "schedulers": [
                {"name": "exponential", "gamma": 0.8},
                {"name": "step", "step_size": 4, "gamma": 0.1},
            ],
            "milestones": [3],
        },
        lambda o: [
            L.SequentialLR(
                o, [L.ExponentialLR(o, gamma=0.8), L.StepLR(o, gamma=0.1, step_size=4)], milestones=[3]
            )
        ],
        19,
        targets=[[0.05, 0.04, 0.032] + [0.05] * 4 + [0.005] * 4 + [0.0005] * 4 + [0.00005] * 4],
    ),
    Case(
        "test_sequentiallr2",
        {"name": "sequential", "schedulers": [constant_lr(0.1, 3), EXP], "milestones": [3]},
        lambda o: [
            L.SequentialLR(
                o, [L.ConstantLR(o, factor=0.1, total_iters=3), L.ExponentialLR(o, gamma=0.9)], milestones=[3]
            )
        ],
        13,
        targets=[[0.005, 0.005, 0.005] + [0.05 * 0.9**x for x in range(10)]],
    ),
    Case(
        "test_sequentiallr3",
        {
            "name": "sequential",
            "schedulers": [
                constant_lr(0.1, 3),
                {"name": "exponential", "gamma": 0.8},
                {"name": "step", "step_size": 2, "gamma": 0.1},
            ],
            "milestones": [3, 6],
        },
        lambda o: [
            L.SequentialLR(
                o,
                [
                    L.ConstantLR(o, factor=0.1, total_iters=3),
                    L.ExponentialLR(o, gamma=0.8),
                    L.StepLR(o, gamma=0.1, step_size=2),
                ],
                milestones=[3, 6],
            )
        ],
        12,
        targets=x10([0.005, 0.005, 0.005, 0.05, 0.04, 0.032, 0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005]),
    ),
    Case(
        "test_sequentiallr5",  # a ChainedScheduler inside: its product written as a linear phase
        {
            "name": "phases",
            "phases": [
                {"duration": 5, "shape": "linear", "start": 0.01, "end": 0.1},
                {"duration": None, "shape": "constant", "start": 0.5},
            ],
        },
        lambda o: [
            L.SequentialLR(
                o,
                [
                    L.ChainedScheduler(
                        [
                            L.LinearLR(o, start_factor=0.1, total_iters=5),
                            L.ConstantLR(o, factor=0.1, total_iters=5),
                        ]
                    ),
                    L.ConstantLR(o, factor=0.5, total_iters=5),
                ],
                milestones=[5],
            )
        ],
        10,
        targets=[[0.0005, 0.0014, 0.0023, 0.0032, 0.0041] + [0.025] * 5],
    ),
    Case(
        "test_sequentiallr_does_not_alias_lr_and_initial_lr",
        {
            "name": "phases",
            "phases": [
                {"duration": 4, "shape": "linear", "start": 0.1, "end": 0.8},
                {"duration": 4, "shape": "linear", "end": 0.1},
            ],
        },
        lambda o: [
            L.SequentialLR(
                o,
                [L.LinearLR(o, 0.1, 0.8, total_iters=4), L.LinearLR(o, 0.8, 0.1, total_iters=4)],
                milestones=[4],
            )
        ],
        8,
        lrs=(2.0,),
        targets=[[0.2, 0.55, 0.9, 1.25, 1.6, 1.25, 0.9, 0.55]],
        optimizer={"lr_as_tensor": True},
    ),
    # ReduceLROnPlateau: every group at 0.5; torch checks the LR after each update
    Case(
        "test_reduce_lr_on_plateau1",
        {
            "name": "reduce_lr_on_plateau",
            "threshold_mode": "abs",
            "mode": "min",
            "threshold": 0.01,
            "patience": 5,
            "cooldown": 5,
        },
        lambda o: [
            L.ReduceLROnPlateau(o, threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5)
        ],
        11,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 10],
        metrics=[10 - i * 0.0167 for i in range(20)],
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau2",
        {
            "name": "reduce_lr_on_plateau",
            "patience": 5,
            "cooldown": 0,
            "threshold_mode": "abs",
            "mode": "min",
            "threshold": 0.1,
        },
        lambda o: [
            L.ReduceLROnPlateau(o, patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1)
        ],
        23,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 6 + [0.05] * 7 + [0.005] * 7 + [0.0005] * 2],
        metrics=[10 - i * 0.0165 for i in range(22)],
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau3",
        {
            "name": "reduce_lr_on_plateau",
            "mode": "max",
            "patience": 5,
            "cooldown": 5,
            "threshold_mode": "abs",
        },
        lambda o: [L.ReduceLROnPlateau(o, mode="max", patience=5, cooldown=5, threshold_mode="abs")],
        23,
        lrs=(0.5, 0.5),
        targets=[[0.5] * (2 + 6) + [0.05] * (5 + 6) + [0.005] * 4],
        metrics=[-0.8] * 2 + [-0.234] * 20,
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau4",
        {
            "name": "reduce_lr_on_plateau",
            "mode": "max",
            "patience": 3,
            "threshold_mode": "rel",
            "threshold": 0.1,
        },
        lambda o: [L.ReduceLROnPlateau(o, mode="max", patience=3, threshold_mode="rel", threshold=0.1)],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 20],
        metrics=[1.5 * (1.025**i) for i in range(20)],
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau5",
        {
            "name": "reduce_lr_on_plateau",
            "mode": "max",
            "threshold_mode": "rel",
            "threshold": 0.1,
            "patience": 5,
            "cooldown": 5,
        },
        lambda o: [
            L.ReduceLROnPlateau(o, mode="max", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5)
        ],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4],
        metrics=[1.5 * (1.005**i) for i in range(20)],
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau6",
        {"name": "reduce_lr_on_plateau", "mode": "min", "threshold_mode": "rel", "threshold": 0.1},
        lambda o: [L.ReduceLROnPlateau(o, mode="min", threshold_mode="rel", threshold=0.1)],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 20],
        metrics=[1.5 * (0.85**i) for i in range(20)],
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau7",
        {
            "name": "reduce_lr_on_plateau",
            "mode": "min",
            "threshold_mode": "rel",
            "threshold": 0.1,
            "patience": 5,
            "cooldown": 5,
        },
        lambda o: [
            L.ReduceLROnPlateau(o, mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5)
        ],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4],
        metrics=[1] * 7 + [0.6] + [0.5] * 12,
        after_update=True,
    ),
    Case(
        "test_reduce_lr_on_plateau8",
        {
            "name": "reduce_lr_on_plateau",
            "mode": "max",
            "threshold_mode": "rel",
            "min_lr": [0.4, 0.3],
            "threshold": 0.1,
            "patience": 5,
            "cooldown": 5,
        },
        lambda o: [
            L.ReduceLROnPlateau(
                o, mode="max", threshold_mode="rel", min_lr=[0.4, 0.3], threshold=0.1, patience=5, cooldown=5
            )
        ],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 6 + [0.4] * 14, [0.5] * 6 + [0.3] * 14],
        metrics=[1.5 * (1.005**i) for i in range(20)],
        after_update=True,
    ),
    Case(
        "test_add_param_group_does_not_break_reduce_lr_on_plateau[scalar]",  # without adding a group
        {
            "name": "reduce_lr_on_plateau",
            "mode": "min",
            "threshold_mode": "rel",
            "threshold": 0.1,
            "patience": 5,
            "cooldown": 5,
        },
        lambda o: [
            L.ReduceLROnPlateau(
                o, mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5, min_lr=0
            )
        ],
        21,
        lrs=(0.5, 0.5),
        targets=[[0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4],
        metrics=[1] * 7 + [0.6] + [0.5] * 12,
        after_update=True,
    ),
    # ReduceLROnPlateau stepping one optimizer with another scheduler (torch's compound plateau
    # tests): a chain. torch's own tests assert nothing here (they check ``targets[1:]`` of a
    # one-element list); the installed torch is the reference.
    Case(
        "test_compound_reduce_lr_on_plateau1",
        {
            "name": "chain",
            "schedulers": [
                {
                    "name": "reduce_lr_on_plateau",
                    "threshold_mode": "abs",
                    "mode": "min",
                    "threshold": 0.01,
                    "patience": 5,
                    "cooldown": 5,
                },
                STEP,
            ],
        },
        lambda o: [
            L.ReduceLROnPlateau(o, threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5),
            L.StepLR(o, gamma=0.1, step_size=3),
        ],
        11,
        lrs=(0.5, 0.5),
        metrics=[10 - i * 0.0167 for i in range(20)],
    ),
    Case(
        "test_compound_reduce_lr_on_plateau2",
        {
            "name": "chain",
            "schedulers": [
                {
                    "name": "reduce_lr_on_plateau",
                    "patience": 5,
                    "cooldown": 0,
                    "threshold_mode": "abs",
                    "mode": "min",
                    "threshold": 0.1,
                },
                {"name": "multistep", "milestones": [3, 8, 12], "gamma": 0.1},
            ],
        },
        lambda o: [
            L.ReduceLROnPlateau(o, patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1),
            L.MultiStepLR(o, gamma=0.1, milestones=[3, 8, 12]),
        ],
        23,
        lrs=(0.5, 0.5),
        metrics=[10 - i * 0.0165 for i in range(22)],
    ),
    Case(
        "test_compound_reduce_lr_on_plateau4",
        {
            "name": "chain",
            "schedulers": [
                {
                    "name": "reduce_lr_on_plateau",
                    "mode": "max",
                    "patience": 3,
                    "threshold_mode": "rel",
                    "threshold": 0.1,
                },
                cosine_annealing(10, 11),  # the spec's run is the 11 rows compared
            ],
        },
        lambda o: [
            L.ReduceLROnPlateau(o, mode="max", patience=3, threshold_mode="rel", threshold=0.1),
            L.CosineAnnealingLR(o, 10, 1e-10),
        ],
        11,
        lrs=(0.05, 0.05),
        metrics=[1.5 * (1.025**i) for i in range(20)],
        rtol=1e-12,
    ),
    Case(
        "test_compound_reduce_lr_on_plateau5",
        {
            "name": "chain",
            "schedulers": [
                {
                    "name": "reduce_lr_on_plateau",
                    "patience": 5,
                    "cooldown": 0,
                    "threshold_mode": "abs",
                    "mode": "min",
                    "threshold": 0.1,
                },
                linear_lr(0.4, 4),
            ],
        },
        lambda o: [
            L.ReduceLROnPlateau(o, patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1),
            L.LinearLR(o, start_factor=0.4, total_iters=4),
        ],
        23,
        lrs=(0.5, 0.5),
        metrics=[10 - i * 0.0165 for i in range(22)],
    ),
    # SWALR after another scheduler: a sequential, SWALR taking over from the LR at swa_start
    Case(
        "test_swalr_no_anneal",
        {
            "name": "sequential",
            "schedulers": [{"name": "constant"}, {"name": "swalr", "swa_lr": 0.01, "anneal": 1}],
            "milestones": [5],
        },
        lambda o: [
            L.SequentialLR(
                o, [L.ConstantLR(o, factor=1.0), SWALR(o, anneal_epochs=1, swa_lr=0.01)], milestones=[5]
            )
        ],
        10,
        targets=[[lr] * 6 + [0.01] * 4 for lr in LRS],
    ),
]

SWA_CASES = [
    # (test, anneal, strategy, swa_lr per group): SWALR after MultiplicativeLR(0.9) for 5 epochs
    ("test_swalr_cosine_anneal_after_multiplicative", 5, "cos", (0.01, 0.01)),
    ("test_swalr_linear_anneal_after_multiplicative", 4, "linear", (0.01, 0.02)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.test)
def test_torch_case(case: Case) -> None:
    spec = case.spec()
    got = ours(spec, case.steps, case.metrics)
    optimizer = reference_optimizer(case.lrs)
    if case.optimizer.get("lr_as_tensor"):
        lr = torch.tensor(case.lrs[0], dtype=torch.float64)  # as confsched's tensor LRs
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR steps its members while it is built
        reference = case.reference(optimizer)
    metrics = None if case.metrics is None else [*case.metrics, case.metrics[-1]]
    theirs = torch_trace(optimizer, reference, case.steps, metrics)
    if case.after_update:  # torch reads after each update: target k is row k + 1
        theirs, got = theirs[1:], got[1:]
    if not case.product:
        assert_lrs(got, theirs, rtol=case.rtol)
    for column, target in enumerate(case.targets or []):
        n = min(len(target), len(got))
        assert_lrs(got[:n, column], target[:n], rtol=0, atol=1e-5)  # torch's own tolerance
        if case.product:
            assert_lrs(got[:n, column], target[:n], rtol=1e-12)


@pytest.mark.parametrize(("test", "anneal", "strategy", "swa_lrs"), SWA_CASES)
def test_swalr_after_multiplicative(
    test: str, anneal: int, strategy: str, swa_lrs: tuple[float, float]
) -> None:
    """torch's targets: 0.9^i for i <= 5, then swa_lr alpha + lr_5 (1 - alpha), per group (a
    group's own swa_lr: one single-group spec per group)."""
    epochs, swa_start = 15, 5
    for base, swa_lr in zip(LRS, swa_lrs, strict=True):
        spec = spec_of(
            {
                "name": "sequential",
                "schedulers": [
                    {"name": "exponential", "gamma": 0.9},
                    {"name": "swalr", "swa_lr": swa_lr, "anneal": anneal, "anneal_strategy": strategy},
                ],
                "milestones": [swa_start],
            },
            total=epochs,
            lrs=(base,),
        )
        got = ours(spec, epochs)[:, 0]

        def coef(t: int) -> float:
            if t + 1 >= anneal:
                return 0.0
            p = (t + 1) / anneal
            return (1 + math.cos(math.pi * p)) / 2 if strategy == "cos" else 1 - p

        before = [base * 0.9**i for i in range(swa_start + 1)]
        target = before + [
            before[-1] * coef(t) + swa_lr * (1 - coef(t)) for t in range(epochs - swa_start - 1)
        ]
        assert_lrs(got, target, rtol=0, atol=1e-5)
        optimizer = reference_optimizer((base,))
        mult = L.MultiplicativeLR(optimizer, lr_lambda=lambda _: 0.9)
        swa = SWALR(optimizer, anneal_epochs=anneal, anneal_strategy=strategy, swa_lr=swa_lr)
        theirs = []
        for epoch in range(epochs):
            theirs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            (swa if epoch >= swa_start else mult).step()
        assert_lrs(got, theirs, rtol=1e-12)


def test_compound_reduce_lr_on_plateau3() -> None:
    """ReduceLROnPlateau(mode=max, patience=5, cooldown=5, abs) with ExponentialLR(0.1): confsched's
    chain is torch's plateau LRs (alone) times 0.1^k. torch stepping both on one optimizer differs
    from step 9 on: its ``eps`` (1e-8) compares the combined LR, 5e-9 by then, so the cut is skipped
    (its test asserts nothing to notice: ``targets[1:]`` of a one-element list)."""
    metrics = [-0.8] * 2 + [-0.234] * 20
    spec = spec_of(
        {
            "name": "chain",
            "schedulers": [
                {
                    "name": "reduce_lr_on_plateau",
                    "mode": "max",
                    "patience": 5,
                    "cooldown": 5,
                    "threshold_mode": "abs",
                },
                {"name": "exponential", "gamma": 0.1},
            ],
        },
        total=23,
        lrs=(0.5, 0.5),
    )
    got = ours(spec, 23, metrics)
    optimizer = reference_optimizer((0.5, 0.5))
    plateau = L.ReduceLROnPlateau(optimizer, mode="max", patience=5, cooldown=5, threshold_mode="abs")
    alone = torch_trace(optimizer, [plateau], 23, [*metrics, metrics[-1]])
    assert_lrs(got, alone * (0.1 ** np.arange(23))[:, None], rtol=1e-12)
    both = reference_optimizer((0.5, 0.5))
    theirs = torch_trace(
        both,
        [
            L.ReduceLROnPlateau(both, mode="max", patience=5, cooldown=5, threshold_mode="abs"),
            L.ExponentialLR(both, 0.1),
        ],
        23,
        [*metrics, metrics[-1]],
    )
    assert_lrs(got[:9], theirs[:9], rtol=1e-12)
    assert (got[9:] < theirs[9:]).all()


# ---- CyclicLR ------------------------------------------------------------------------------------

TRIANGULAR2 = [1, 2, 3, 4, 5, 4, 3, 2, 1, 1.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1, 1.25, 1.50, 1.75, 2.00, 1.75]
TRIANGULAR2_M = [
    5.0,
    4.0,
    3.0,
    2.0,
    1.0,
    2.0,
    3.0,
    4.0,
    5.0,
    4.5,
    4.0,
    3.5,
    3.0,
    3.5,
    4.0,
    4.5,
    5.0,
    4.75,
    4.5,
    4.25,
    4.0,
    4.25,
]
XS = [0, 0.25, 0.5, 0.75, 1, 0.75, 0.50, 0.25, 0, 0.25, 0.5, 0.75, 1]
XS_UP_DOWN = [0.0, 0.5, 1.0, 5.0 / 6, 4.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6, 0.0, 0.5, 1.0, 5.0 / 6, 4.0 / 6]
T2_UP_DOWN = [
    1.0,
    3.0,
    5.0,
    13 / 3,
    11 / 3,
    9 / 3,
    7 / 3,
    5 / 3,
    1.0,
    2.0,
    3.0,
    8 / 3,
    7 / 3,
    6 / 3,
    5 / 3,
    4 / 3,
    1.0,
    3 / 2,
    2.0,
    11 / 6,
    10 / 6,
    9 / 6,
    8 / 6,
    7 / 6,
]
T2_UP_DOWN_M = [
    5.0,
    3.0,
    1.0,
    5 / 3,
    7 / 3,
    3.0,
    11 / 3,
    13 / 3,
    5.0,
    4.0,
    3.0,
    10 / 3,
    11 / 3,
    4.0,
    13 / 3,
    14 / 3,
    5.0,
    4.5,
    4.0,
    25 / 6,
    13 / 3,
    4.5,
    14 / 3,
    29 / 6,
]


def exp_range(
    base: float, top: float, xs: list[float], gamma: float = 0.9
) -> tuple[list[float], list[float]]:
    return [base + x * (top - base) * gamma**i for i, x in enumerate(xs)], [
        top - x * (top - base) * gamma**i for i, x in enumerate(xs)
    ]


CYCLIC = [
    # (test, group: (base_lr, max_lr), torch kwargs, lr targets, momentum targets): torch's lists of
    # base/max LRs per group are ported one group at a time (a spec's groups share max_lr / base_lr
    # as a multiple of their base LR)
    (
        "test_cycle_lr_triangular_mode_one_lr",
        (1, 5),
        {"step_size_up": 4},
        [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3],
        [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3],
    ),
    (
        "test_cycle_lr_triangular_mode_one_lr_no_momentum",
        (1, 5),
        {"step_size_up": 4, "cycle_momentum": False},
        [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3],
        None,
    ),
    (
        "test_cycle_lr_triangular2_mode_one_lr",
        (1, 5),
        {"step_size_up": 4, "mode": "triangular2"},
        TRIANGULAR2,
        TRIANGULAR2_M,
    ),
    (
        "test_cycle_lr_exp_range_mode_one_lr",
        (1, 5),
        {"step_size_up": 4, "mode": "exp_range", "gamma": 0.9},
        *exp_range(1, 5, XS),
    ),
    (
        "test_cycle_lr_triangular_mode[group 0]",
        (1, 5),
        {"step_size_up": 4},
        [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3],
        [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3],
    ),
    (
        "test_cycle_lr_triangular_mode[group 1]",
        (2, 6),
        {"step_size_up": 4},
        [2, 3, 4, 5, 6, 5, 4, 3, 2, 3, 4],
        [6, 5, 4, 3, 2, 3, 4, 5, 6, 5, 4],
    ),
    (
        "test_cycle_lr_triangular2_mode[group 0]",
        (1, 5),
        {"step_size_up": 4, "mode": "triangular2"},
        TRIANGULAR2,
        TRIANGULAR2_M,
    ),
    (
        "test_cycle_lr_triangular2_mode[group 1]",
        (3, 7),
        {"step_size_up": 4, "mode": "triangular2"},
        [x + 2 for x in TRIANGULAR2],
        [x + 2 for x in TRIANGULAR2_M],
    ),
    (
        "test_cycle_lr_exp_range_mode[group 0]",
        (1, 5),
        {"step_size_up": 4, "mode": "exp_range", "gamma": 0.9},
        *exp_range(1, 5, XS),
    ),
    (
        "test_cycle_lr_exp_range_mode[group 1]",
        (5, 12),
        {"step_size_up": 4, "mode": "exp_range", "gamma": 0.9},
        *exp_range(5, 12, XS),
    ),
    (
        "test_cycle_lr_triangular_mode_step_size_up_down",
        (1, 5),
        {"step_size_up": 4, "step_size_down": 6},
        [1.0, 2.0, 3.0, 4.0, 5.0, 13 / 3, 11 / 3, 9 / 3, 7 / 3, 5 / 3, 1.0],
        [5.0, 4.0, 3.0, 2.0, 1.0, 5 / 3, 7 / 3, 3.0, 11 / 3, 13 / 3, 5.0],
    ),
    (
        "test_cycle_lr_triangular2_mode_step_size_up_down[group 0]",
        (1, 5),
        {"step_size_up": 2, "step_size_down": 6, "mode": "triangular2"},
        T2_UP_DOWN,
        T2_UP_DOWN_M,
    ),
    (
        "test_cycle_lr_triangular2_mode_step_size_up_down[group 1]",
        (3, 7),
        {"step_size_up": 2, "step_size_down": 6, "mode": "triangular2"},
        [x + 2 for x in T2_UP_DOWN],
        [x + 2 for x in T2_UP_DOWN_M],
    ),
    (
        "test_cycle_lr_exp_range_mode_step_size_up_down",
        (1, 5),
        {"step_size_up": 2, "step_size_down": 6, "mode": "exp_range", "gamma": 0.9},
        *exp_range(1, 5, XS_UP_DOWN),
    ),
]


@pytest.mark.parametrize(
    ("test", "group", "knobs", "lr_target", "momentum_target"), CYCLIC, ids=[c[0] for c in CYCLIC]
)
def test_cyclic(
    test: str,
    group: tuple[float, float],
    knobs: dict[str, Any],
    lr_target: list[float],
    momentum_target: list[float] | None,
) -> None:
    """torch's momentum targets use base_momentum = base_lr and max_momentum = max_lr; confsched's
    momenta are below 1, so the momentum is checked against torch at the test's own scale in
    ``test_cyclic_momentum_matches_torch``, and here through the same affine map."""
    base, top = group
    steps = len(lr_target)
    cycle_momentum = knobs.get("cycle_momentum", True)
    scheduler = {
        "name": "cyclic",
        "max_lr": float(top),
        **{k: v for k, v in knobs.items() if k != "cycle_momentum"},
    }
    scheduler |= {"cycle_momentum": cycle_momentum, "base_momentum": 0.1, "max_momentum": 0.5}
    spec = spec_of(scheduler, total=steps, lrs=(float(base),), momentum=0.9)
    got = ours(spec, steps)[:, 0]
    assert_lrs(got, lr_target, rtol=0, atol=1e-5)
    optimizer = reference_optimizer((float(base),), momentum=0.9)
    torch_kwargs = {k: v for k, v in knobs.items()}
    reference = L.CyclicLR(
        optimizer, base_lr=base, max_lr=top, base_momentum=0.1, max_momentum=0.5, **torch_kwargs
    )
    both = torch_trace(optimizer, [reference], steps, read=lambda g: (float(g["lr"]), float(g["momentum"])))
    assert_lrs(got, both[:, 0, 0], rtol=1e-12)
    momentum = confsched.momentum_curve(spec, steps)
    if not cycle_momentum:
        assert momentum is None
        return
    assert momentum is not None
    assert_lrs(momentum[:, 0], both[:, 0, 1], rtol=1e-12)
    # the test's momentum targets run between base_lr and max_lr: map 0.1..0.5 onto them
    assert momentum_target is not None
    scaled = base + (momentum[:, 0] - 0.1) / 0.4 * (top - base)
    assert_lrs(scaled, momentum_target, rtol=0, atol=1e-5)


def test_cycle_lr_with_momentumless_optimizer() -> None:
    spec = spec_of(
        {"name": "cyclic", "max_lr": 5.0, "step_size_up": 4, "cycle_momentum": False},
        total=11,
        optimizer="adam",
    )
    assert_lrs(ours(spec, 11)[:, 0], [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3], rtol=1e-15)
    optimizer, _ = confsched.build(spec, layers(1))
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)  # left alone


def test_cycle_lr_cycle_momentum_fail_with_momentumless_optimizer() -> None:
    with pytest.raises(
        confsched.SpecError, match=r"^scheduler\.cycle_momentum: true, but the optimizer has neither"
    ):
        spec_of({"name": "cyclic", "max_lr": 5.0, "step_size_up": 4}, total=11, optimizer="adagrad")


def test_cycle_lr_cycle_momentum_with_beta1_optimizer() -> None:
    spec = spec_of({"name": "cyclic", "max_lr": 5.0, "step_size_up": 4}, total=11, optimizer="adam")
    optimizer, scheduler = confsched.build(spec, layers(1))
    assert optimizer.param_groups[0]["betas"][0] == 0.9  # max_momentum at the bottom of the LR
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["betas"][0] == pytest.approx(0.875, rel=1e-15)


def test_cycle_lr_invalid_mode() -> None:
    with pytest.raises(confsched.SpecError, match=r"^scheduler\.mode: 'CATS' is not allowed"):
        spec_of({"name": "cyclic", "max_lr": 5.0, "mode": "CATS"}, total=10)


def test_cosine_then_cyclic() -> None:
    """pytorch#21965: CosineAnnealingLR, then CyclicLR between 0.1 and 0.3 (over SGD at 0.5): the
    LR stays below max_lr."""
    spec = spec_of(
        {
            "name": "sequential",
            "schedulers": [
                {"name": "cosine_with_min_lr", "min_lr": 0.1, "floor_groups": "same", "num_cycles": 21 / 40},
                {
                    "name": "cyclic",
                    "base_lr": 0.1,
                    "max_lr": 0.3,
                    "step_size_up": 1,
                    "step_size_down": 3,
                    "cycle_momentum": False,
                },
            ],
            "milestones": [21],
        },
        total=41,
        lrs=(0.5,),
    )
    assert ours(spec, 41)[-1, 0] <= 0.3


# ---- OneCycleLR (one_cycle); MultiplicativeLR / LambdaLR with constant factors (exponential) ------

ONE_CYCLE = [
    (
        "test_onecycle_lr_linear_annealing",
        {"anneal_strategy": "linear", "final_div_factor": 2},
        [1, 13, 25, 21.5, 18, 14.5, 11, 7.5, 4, 0.5],
        [22, 11.5, 1, 4, 7, 10, 13, 16, 19, 22],
    ),
    (
        "test_onecycle_lr_linear_annealing_three_phases",
        {
            "anneal_strategy": "linear",
            "div_factor": 25,
            "pct_start": 0.4,
            "final_div_factor": 4,
            "three_phase": True,
        },
        [1, 9, 17, 25, 17, 9, 1, 0.75, 0.5, 0.25],
        [22, 15, 8, 1, 8, 15, 22, 22, 22, 22],
    ),
    (
        "test_onecycle_lr_cosine_annealing",
        {"final_div_factor": 2},
        [1, 13, 25]
        + [0.5 + (25 - 0.5) / 2.0 * (math.cos(math.pi * k / 7.0) + 1) for k in range(1, 7)]
        + [0.5],
        [22, 11.5, 1] + [22 + (1 - 22) / 2.0 * (math.cos(math.pi * k / 7.0) + 1) for k in range(1, 7)] + [22],
    ),
]


@pytest.mark.parametrize(
    ("test", "knobs", "lr_target", "momentum_target"), ONE_CYCLE, ids=[c[0] for c in ONE_CYCLE]
)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_cycle(
    test: str, knobs: dict[str, Any], lr_target: list[float], momentum_target: list[float], optimizer: str
) -> None:
    """max_lr 25 over 10 steps; momenta 1..22 as in torch's test, mapped to 0.01..0.22 (a momentum
    must be below 1); ``adam`` is ``test_cycle_lr_with_adam`` (beta1)."""
    spec = spec_of(
        {"name": "one_cycle", "max_lr": 25.0, "base_momentum": 0.01, "max_momentum": 0.22, **knobs},
        total=10,
        lrs=(0.05, 0.05),
        optimizer=optimizer,
        **({"momentum": 0.9} if optimizer == "sgd" else {}),
    )
    got = ours(spec, 10)
    for column in range(2):
        assert_lrs(got[:, column], lr_target, rtol=0, atol=1e-5)
    momentum = confsched.momentum_curve(spec, 10)
    assert momentum is not None
    assert_lrs(momentum[:, 0] * 100, momentum_target, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("test", "factors"), [("test_lambda_lr", (0.9, 0.8)), ("test_multiplicative_lr", (0.9, 0.8))]
)
def test_constant_factor_per_group(test: str, factors: tuple[float, float]) -> None:
    """LambdaLR(0.9**x, 0.8**x) / MultiplicativeLR(0.9, 0.8): a group's own gamma, one spec each."""
    for base, gamma in zip((0.05, 0.4), factors, strict=True):
        spec = spec_of({"name": "exponential", "gamma": gamma}, total=10, lrs=(base,))
        assert_lrs(ours(spec, 10)[:, 0], [base * gamma**x for x in range(10)], rtol=0, atol=1e-5)
        optimizer = reference_optimizer((base,))
        theirs = torch_trace(optimizer, [L.MultiplicativeLR(optimizer, lr_lambda=lambda _, g=gamma: g)], 10)
        assert_lrs(ours(spec, 10), theirs, rtol=1e-12)


@pytest.mark.parametrize("t_mult", [1, 2, 4])
def test_cosine_annealing_warm_restarts_lr1(t_mult: int) -> None:
    """CosineAnnealingWarmRestarts(T_0=10, T_mult, eta_min=1e-10) over 100 steps: cosine_cycles."""
    spec = spec_of(
        {
            "name": "cosine_cycles",
            "cycle_length": 10,
            "cycle_mul": float(t_mult),
            "cycle_limit": 100,
            "min_lr": 1e-10,
            "floor_groups": "same",
        },
        total=100,
        lrs=LRS,
    )
    got = ours(spec, 100)
    targets: list[list[float]] = [[0.05], [0.5]]
    t_i, t_cur = 10, 0
    for _ in range(1, 100):
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_mult * t_i
        for column, base in enumerate(LRS):
            targets[column].append(1e-10 + (base - 1e-10) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
    assert_lrs(got.T, targets, rtol=0, atol=1e-5)
    optimizer = reference_optimizer(LRS)
    theirs = torch_trace(
        optimizer, [L.CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=t_mult, eta_min=1e-10)], 100
    )
    assert worst(got, theirs) < 1e-12


# ---- last_epoch= and the order warnings ---------------------------------------------------------

CHECKPOINT = [
    # torch's test_lr_scheduler_checkpoint: one step, then a new scheduler with last_epoch=0 holds
    # the LR of that step (AdamW at 1e-3, as the test)
    ("ExponentialLR(gamma=0.999)", {"name": "exponential", "gamma": 0.999}),
    ("StepLR(step_size=30)", {"name": "step", "step_size": 30, "gamma": 0.1}),
    ("MultiStepLR(milestones=[30, 80])", {"name": "multistep", "milestones": [30, 80], "gamma": 0.1}),
    ("ConstantLR", constant_lr(1 / 3, 5)),
    ("LinearLR", linear_lr(1 / 3, 5)),
    ("PolynomialLR", poly_lr(1.0, 5)),
    ("CosineAnnealingLR(T_max=10)", cosine_annealing(10, 100, 0.0)),
    ("CosineAnnealingWarmRestarts(T_0=20)", {"name": "cosine_cycles", "cycle_length": 20, "cycle_limit": 10}),
    (
        "CyclicLR(base_lr=0.01, max_lr=0.1)",
        {"name": "cyclic", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 50},
    ),
    ("OneCycleLR(max_lr=0.01, total_steps=10)", {"name": "one_cycle", "max_lr": 0.01}),
    ("SWALR(swa_lr=0.01)", {"name": "swalr", "swa_lr": 0.01}),
]


@pytest.mark.parametrize(("torch_call", "scheduler"), CHECKPOINT, ids=[c[0] for c in CHECKPOINT])
def test_lr_scheduler_checkpoint(torch_call: str, scheduler: dict[str, Any]) -> None:
    total = 10 if scheduler["name"] == "one_cycle" else 100
    spec = spec_of(scheduler, total=total, lrs=(1e-3,), optimizer="adamw")
    optimizer, first = confsched.build(spec, layers(1))
    optimizer.step()
    first.step()
    second_optimizer, _ = confsched.build(spec, layers(1))
    second_optimizer.load_state_dict(optimizer.state_dict())
    second = confsched.build_scheduler(spec, second_optimizer, last_epoch=0)
    assert second.get_last_lr()[0] == optimizer.param_groups[0]["lr"]
    assert second.last_epoch == first.last_epoch == 1


def test_cos_anneal_lr_continue() -> None:
    spec = spec_of(cosine_annealing(5, 5, 0.1), total=5, lrs=LRS)
    optimizer, scheduler = confsched.build(spec, layers(2))
    optimizer.step()
    scheduler.step()
    resumed = confsched.build_scheduler(spec, optimizer, last_epoch=0)
    assert resumed.get_last_lr() == scheduler.get_last_lr()


def test_raise_error_when_last_epoch_is_greater_than_0_and_initial_lr_is_not_specified() -> None:
    spec = spec_of(STEP, total=10, lrs=(0.1,))
    optimizer = torch.optim.SGD(layers(1).parameters(), lr=0.1)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        confsched.ScheduledLR(optimizer, spec.schedule, total_steps=10, last_epoch=1)  # type: ignore[arg-type]


def _old_pattern(optimizer: Any, scheduler: Any) -> None:
    for _ in range(35):
        scheduler.step()
        optimizer.step()


def _new_pattern(optimizer: Any, scheduler: Any) -> None:
    for _ in range(35):
        optimizer.step()
        scheduler.step()


def _override(optimizer: Any) -> None:
    old_step = optimizer.step

    def new_step(o: Any, *args: Any, **kwargs: Any) -> Any:
        return old_step(*args, **kwargs)

    optimizer.step = types.MethodType(new_step, optimizer)


WARNINGS = [
    # (torch test, last_epoch, override optimizer.step, loop, warning regex or None)
    ("test_old_pattern_warning", -1, False, _old_pattern, r"how-to-adjust-learning-rate"),
    ("test_old_pattern_warning_with_arg", -1, False, _old_pattern, r"how-to-adjust-learning-rate"),
    ("test_old_pattern_warning_resuming", 10, False, _old_pattern, r"how-to-adjust-learning-rate"),
    ("test_old_pattern_warning_resuming_with_arg", 10, False, _old_pattern, r"how-to-adjust-learning-rate"),
    (
        "test_old_pattern_warning_with_overridden_optim_step",
        10,
        True,
        _old_pattern,
        r"how-to-adjust-learning-rate",
    ),
    ("test_new_pattern_no_warning", -1, False, _new_pattern, None),
    ("test_new_pattern_no_warning_with_arg", -1, False, _new_pattern, None),
    (
        "test_new_pattern_no_warning_with_overridden_optim_step",
        -1,
        True,
        _new_pattern,
        r"`optimizer.step\(\)` has been overridden",
    ),
]


@pytest.mark.parametrize(
    ("test", "last_epoch", "override", "loop", "expected"), WARNINGS, ids=[w[0] for w in WARNINGS]
)
def test_order_warnings(
    test: str, last_epoch: int, override: bool, loop: Callable[[Any, Any], None], expected: str | None
) -> None:
    spec = spec_of(STEP, total=60, lrs=LRS)
    optimizer, _ = confsched.build(spec, layers(2))
    with warnings.catch_warnings(record=True) as built:
        warnings.simplefilter("always")
        scheduler = confsched.build_scheduler(spec, optimizer, last_epoch=last_epoch)
    assert not built  # building never warns
    if override:
        _override(optimizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop(optimizer, scheduler)
    messages = [
        str(w.message) for w in caught if not issubclass(w.category, confsched.ScheduleOverrunWarning)
    ]
    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert __import__("re").search(expected, messages[0])


def test_reduce_lr_on_plateau_get_last_lr_before_step() -> None:
    spec = spec_of({"name": "reduce_lr_on_plateau"}, total=10, lrs=(0.5, 0.5))
    _, scheduler = confsched.build(spec, layers(2))
    assert scheduler.get_last_lr() == [0.5, 0.5]


def test_chained_lr2_get_last_lr_before_step() -> None:
    spec = spec_of(
        {"name": "chain", "schedulers": [linear_lr(0.4, 3), {"name": "multistep", "milestones": [4, 8, 10]}]},
        total=10,
        lrs=LRS,
    )
    _, scheduler = confsched.build(spec, layers(2))
    assert scheduler.get_last_lr() == [0.05 * 0.4, 0.5 * 0.4]


PORTED = (
    len(CASES)
    + 1
    + len(SWA_CASES)
    + len(CYCLIC)
    + 5
    + len(ONE_CYCLE)
    + 1
    + 2
    + 3
    + len(CHECKPOINT)
    + 2
    + len(WARNINGS)
    + 2
)
"""torch test cases ported here (each parametrisation of a torch test counts once)."""
