"""The numeric contract (:mod:`confsched.spec.bounds`): a spec that validates gives finite LRs >= 0
at every step to the end of the run + 1000 and at 10 x the run; a knob past its bound is refused
with one line naming the path, the value and the allowed range. The refused cases are those of
issue 12 (each validated, then gave NaN / inf LRs or an OverflowError in ``lr_curve``)."""

from __future__ import annotations

import copy
import math
import typing
from typing import Any

import numpy as np
import pytest

import confsched
from confsched.spec import bounds
from tests.test_lr_scheduler import METRIC_SCHEDULERS, STEP_SCHEDULERS
from tests.test_properties import EXTREME_FLOATS, EXTREME_INTS, _bounds, _split

RUN: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine"},
    "data": {"dataset_size": 1000, "batch_size": 10},
    "training": {"max_steps": 1000},
}


def spec_with(**sections: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RUN)
    raw.update(sections)
    return raw


def head_group(**knobs: Any) -> list[dict[str, Any]]:
    return [{"name": "head", "params": ["1.*"], **knobs}]


REFUSED = [
    (
        spec_with(scheduler={"name": "cosine", "num_cycles": 1e308}),
        "scheduler.num_cycles: 1e+308 is outside the allowed range (up to 1.767e+282: the cosine's "
        "argument must stay finite)",
    ),
    (
        spec_with(scheduler={"name": "inverse_sqrt", "timescale": 2**63 - 1}),
        "scheduler.timescale: 9.22337e+18 is outside the allowed range (up to 9.007e+15: 2**53, so "
        "that step + timescale fits)",
    ),
    (
        spec_with(scheduler={"name": "cosine_cycles", "k_decay": 400}),
        "scheduler.k_decay: 400 is outside the allowed range (up to 17: step**k_decay must stay below 1e300)",
    ),
    (
        spec_with(scheduler={"name": "one_cycle", "max_lr": 1.7e308}),
        "scheduler.max_lr: 1.7e+308 is outside the allowed range (up to 1e+300: the largest LR)",
    ),
    (
        spec_with(optimizer={"name": "adamw", "lr": 1e300, "groups": head_group(lr_scale=10.0)}),
        "optimizer.groups[0].lr_scale: 10 x lr 1e+300 = 1e+301 is above the largest LR (1e+300)",
    ),
    (
        spec_with(
            optimizer={"name": "adamw", "lr": 1e300, "lr_scaling": {"rule": "linear", "reference_batch": 1}}
        ),
        "optimizer.lr_scaling: linear rule: global batch 10 x 1 x 1 = 10 (batch_size x grad_accum_steps x "
        "world_size); lr 1e+300 x 10 / 1 = 1e+301: outside the usable LRs (2.23e-308 .. 1e+300)",
    ),
    (
        spec_with(
            optimizer={"name": "adamw", "lr": 1e-3, "groups": head_group(lr=1e297)},
            scheduler={"name": "piecewise", "knots": [[0, 1.0], [100, 1e4]]},
        ),
        "scheduler.knots: piecewise can raise the LR to 1e+297 (the largest base LR) x 10000 (its peak "
        "multiplier) = 1e+301, above the largest LR 1e+300",
    ),
    (
        spec_with(training={"max_steps": 10**19}),
        "training.max_steps: 1e+19 makes a run of 10000000000000000000 optimizer steps; "
        "the longest run confsched schedules is 9,007,199,254,740,992 steps",
    ),
    (
        spec_with(training={"max_steps": 10**400}),
        "training.max_steps: 100000...(401 digits) makes a run of about 10^400 optimizer steps; the "
        "longest run confsched schedules is 9,007,199,254,740,992 steps",
    ),
    (
        spec_with(training={"epochs": 10**400}),
        "training.epochs: 100000...(401 digits) makes a run of about 10^402 optimizer steps; the "
        "longest run confsched schedules is 9,007,199,254,740,992 steps",
    ),
    (
        spec_with(
            optimizer={"name": "adamw", "lr": 1e-3, "lr_scaling": {"rule": "linear", "reference_batch": 1}},
            data={"dataset_size": 1, "batch_size": 10**400},
        ),
        "data.batch_size: 100000...(401 digits) is outside the allowed range (up to 9.007e+15: 2**53, a "
        "count float64 holds)",
    ),
    (
        spec_with(scheduler={"name": "piecewise", "knots": [[0, 1.0], [100, 1e308]]}),
        "scheduler.knots[1][1]: 1e+308 is outside the allowed range (up to 1e+300: a multiplier of the "
        "base LR)",
    ),
    (
        spec_with(
            scheduler={
                "name": "phases",
                "phases": [
                    {"duration": None, "shape": "cosine", "start": 1.0, "end": 0.0, "num_cycles": 1e308}
                ],
            }
        ),
        "scheduler.phases[0].num_cycles: 1e+308 is outside the allowed range (up to 1.767e+282: the "
        "cosine's argument must stay finite)",
    ),
    (
        spec_with(scheduler={"name": "exponential", "gamma": 1.5}, training={"max_steps": 100_000}),
        "scheduler.gamma: 1.5 applied 100000 times in the run multiplies the LR by 1.5^100000 > 1e300",
    ),
    (
        spec_with(scheduler={"name": "tanh", "lb": -1e308}),
        "scheduler.lb: -1e+308 is outside the allowed range (up to -1e+300: ub - lb must stay finite)",
    ),
]


@pytest.mark.parametrize(("raw", "message"), REFUSED, ids=[m.split(":")[0] for _, m in REFUSED])
def test_a_knob_past_its_bound_is_refused_with_one_line(raw, message):
    with pytest.raises(confsched.ConfschedError) as caught:
        confsched.validate(raw)
    assert str(caught.value) == message


def contract_steps(spec: confsched.Spec) -> np.ndarray:
    total = spec.total_steps
    return np.unique(np.r_[np.arange(total + 1001), 10 * total - 1, 10 * total, 10 * total + 1])


AT_THE_BOUND = [
    spec_with(scheduler={"name": "cosine", "num_cycles": bounds.MAX_CYCLES}),
    spec_with(scheduler={"name": "inverse_sqrt", "timescale": bounds.MAX_TIMESCALE}),
    spec_with(scheduler={"name": "cosine_cycles", "k_decay": bounds.MAX_K_DECAY, "cycle_length": 7}),
    spec_with(scheduler={"name": "one_cycle", "max_lr": 1e300}),
    spec_with(optimizer={"name": "adamw", "lr": 1e299, "groups": head_group(lr_scale=10.0)}),
    spec_with(
        scheduler={"name": "piecewise", "knots": [[0, 1.0], [100, 1e300]]},
        optimizer={"name": "sgd", "lr": 1e-300},
    ),
    spec_with(training={"max_steps": bounds.MAX_RUN_STEPS}),
    spec_with(scheduler={"name": "exponential", "gamma": 1.5}),
    spec_with(scheduler={"name": "tanh", "lb": -1e300, "ub": 1e300}),
    spec_with(
        scheduler={
            "name": "phases",
            "phases": [
                {
                    "duration": None,
                    "shape": "cosine",
                    "start": 1e300,
                    "end": 0.0,
                    "num_cycles": bounds.MAX_CYCLES,
                }
            ],
        },
        optimizer={"name": "adamw", "lr": 1e-300},
    ),
]


@pytest.mark.parametrize("raw", AT_THE_BOUND, ids=lambda raw: raw["scheduler"]["name"])
def test_a_spec_at_the_bounds_gives_finite_lrs_to_10x_the_run(raw):
    spec = confsched.validate(raw)
    total = spec.total_steps
    steps = contract_steps(spec) if total < 10**6 else np.array([0, total - 1, total + 1000, 10 * total])
    lrs = confsched.lr_curve(spec, steps)
    assert np.isfinite(lrs).all()
    assert (lrs >= 0).all()
    assert lrs.max() <= bounds.LIMIT


def test_the_bounds_are_derived_from_the_largest_tick():
    assert bounds.MAX_TICK == 10 * 2**53 + 1000
    assert bounds.MAX_CYCLES * 2 * math.pi * bounds.MAX_TICK == pytest.approx(1e300)
    assert bounds.MAX_TICK**bounds.MAX_K_DECAY <= 1e300 < bounds.MAX_TICK ** (bounds.MAX_K_DECAY + 1)
    assert bounds.MAX_TIMESCALE + bounds.MAX_TICK < 2**63


def extreme_cases() -> list[tuple[str, str, Any]]:
    """Every top-level numeric knob of every family at every extreme magnitude its declared type
    admits (ints: 2**31 .. 10**400; floats: 5e-324 .. 1.7e308 and their negatives)."""
    cases = []
    for name, family in sorted(confsched.FAMILIES.items()):
        for knob, field in family.model.model_fields.items():
            annotation, metadata = _split(field.annotation)
            metadata = [*metadata, *field.metadata]
            members = [annotation, *typing.get_args(annotation)]
            lo, hi, lo_open, hi_open = _bounds(metadata)
            values: list[Any] = []
            if int in members:
                values += list(EXTREME_INTS)
            if float in members:
                values += [*EXTREME_FLOATS, *(-v for v in EXTREME_FLOATS)]
            for value in values:
                if lo is not None and (value <= lo if lo_open else value < lo):
                    continue
                if hi is not None and (value >= hi if hi_open else value > hi):
                    continue
                cases.append((name, knob, value))
    return cases


@pytest.mark.parametrize(("name", "knob", "value"), extreme_cases())
def test_every_knob_at_an_extreme_magnitude_is_refused_or_gives_finite_lrs(name, knob, value):
    knobs = {**STEP_SCHEDULERS.get(name, {}), **METRIC_SCHEDULERS.get(name, {}), knob: value}
    raw = spec_with(scheduler={"name": name, **knobs}, training={"max_steps": 200})
    try:
        spec = confsched.validate(raw)
    except confsched.ConfschedError as error:
        message = str(error)
        assert message.startswith("scheduler"), message
        assert "\n" not in message
        assert len(message) < 400
        return
    if spec.family.driven_by == "metric":
        lrs = confsched.lr_curve(spec, metrics=[1.0, 0.5, 0.5, 0.5, 2.0, 0.1] * 4)
    else:
        lrs = confsched.lr_curve(spec, contract_steps(spec))
    assert np.isfinite(lrs).all()
    assert (lrs >= 0).all()
    assert lrs.max() <= bounds.LIMIT * 2  # the noise may add up to pct < 1


@pytest.mark.parametrize(
    ("section", "knob", "sign", "power"),
    [
        ("training", "max_steps", 1, 5000),
        ("training", "epochs", -1, 5000),
        ("scheduler", "timescale", 1, 6000),
    ],
)
def test_an_int_too_long_to_print_is_one_line_naming_its_path(section, knob, sign, power):
    """``str()`` refuses ints of 4,300+ digits: the knobs' own messages (and pydantic's) would fail
    printing them, so they are refused first, by their size."""
    raw = spec_with()
    raw[section] = {**raw[section], knob: sign * 10**power}
    if section == "scheduler":
        raw["scheduler"]["name"] = "inverse_sqrt"
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(raw)
    assert str(info.value) == (
        f"{section}.{knob}: about 10**{power} is out of range (integers lie between -2**63 and 2**63)"
    )
