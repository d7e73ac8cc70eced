"""Time as large-scale training counts it: units, budgets in tokens and samples, the batch ramp-up,
and schedules on the sample axis, against Megatron-LM and Composer.

Megatron-LM cannot be installed here: its numbers below were computed by running its own code
(``megatron/core/num_microbatches_calculator.py``: ``RampupBatchsizeNumMicroBatchesCalculator`` as of
commit 532ad926b4^, ``StepBatchsizeNumMicroBatchesCalculator`` at d98e8a64dd; and
``megatron/core/optimizer_param_scheduler.py``: ``OptimizerParamScheduler``) in Megatron's training
loop (``update_num_microbatches(consumed)``, train at the LR set so far, ``step(increment=batch)``),
and are written here literally. Where a formula of theirs is a line, it is ported (and cited) to
compare every step.
"""

from __future__ import annotations

import csv
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import confsched
from confsched.plot import read_csv
from confsched.spec.duration import parse_duration
from confsched.time import MAX_COUNT, BatchSchedule, parse_count, ramp_stages
from tests.conftest import merged
from tests.test_cli import CONFSCHED, confsched_cli, ok

needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")

GPT3 = {  # GPT-3 175B as Megatron's examples/gpt3/train_gpt3_175b_distributed.sh ran it
    "optimizer": {"name": "adamw", "lr": 6e-5},
    "scheduler": {
        "name": "phases",
        "warmup": "183105 sp",  # Megatron's --lr-warmup-samples (375M tokens, floored)
        # --lr-decay-samples 126953125 (260B tokens) counts from 0: the cosine takes what the warmup leaves
        "phases": [{"duration": "126770020 sp", "shape": "cosine", "end": 0.1}, {"duration": None}],
    },
    "data": {"dataset_size": 146484375, "batch_size": 1, "tokens_per_sample": 2048},
    "training": {
        "max_tokens": "300B",  # --train-samples 146484375
        "world_size": 16,
        "grad_accum_steps": 96,  # global batch 1536
        "batch_rampup": {
            "start": 16,
            "increment": 16,
            "length": "12B tok",
        },  # --rampup-batch-size 16 16 5859375
    },
}

# step: (samples consumed before it, its global batch, its LR), from Megatron's code (min_lr 6e-6)
MEGATRON_GPT3 = {
    0: (0, 16, 0.0),
    1: (16, 16, 5.24289342180716e-09),
    2: (32, 16, 1.048578684361432e-08),
    3855: (61680, 32, 2.02113541410666e-05),
    3856: (61712, 32, 2.0221839927910218e-05),
    10000: (432272, 128, 5.9999485269310364e-05),
    11443: (643408, 176, 5.9998243357856535e-05),
    11444: (643584, 176, 5.999824201428603e-05),
    19802: (5859424, 1536, 5.973330325360302e-05),
    50000: (52243552, 1536, 4.04782951019291e-05),
    80000: (98323552, 1536, 1.2515311027475145e-05),
    95000: (121363552, 1536, 6.258620604442556e-06),
    100000: (129043552, 1536, 6e-06),
    111354: (146483296, 1536, 6e-06),
}
RTOL = 1e-15  # Megatron computes min_lr + coeff * (max_lr - min_lr); confsched base * (coeff * (1 - r) + r)


def test_gpt3_ramp_and_lr_follow_megatron_step_by_step():
    spec = confsched.validate(GPT3)
    steps = np.array(list(MEGATRON_GPT3))
    expected = np.array(list(MEGATRON_GPT3.values()))
    assert spec.plan.consumed_samples(steps).tolist() == expected[:, 0].astype(int).tolist()
    assert spec.plan.global_batch(steps).tolist() == expected[:, 1].astype(int).tolist()
    lr = confsched.lr_curve(spec, steps)[:, 0]
    np.testing.assert_allclose(lr, expected[:, 2], rtol=RTOL, atol=0)
    assert spec.plan.micro_batches([0, 3855, 19802]).tolist() == [
        1,
        2,
        96,
    ]  # Megatron's get_num_microbatches()


def test_gpt3_totals_and_where_megatron_rounds_otherwise():
    spec = confsched.validate(GPT3)
    # The run ends at the first step that has consumed 300B tokens: 111355 steps, the last one
    # starting at 146483296 samples. Megatron's update_train_iters (ramp phase, then
    # (train_samples - consumed) // global_batch) drops that partial step: 111354.
    assert spec.total_steps == 111355
    assert spec.plan.total_samples == 146484375 == 300 * 10**9 // 2048
    starts = spec.plan.batches.stage_starts()
    assert len(starts) == 96
    assert starts[:4] == [(0, 0, 16), (3855, 61680, 32), (5783, 123376, 48), (7068, 185056, 64)]
    assert starts[-3:] == [(19721, 5736960, 1504), (19762, 5798624, 1520), (19802, 5859424, 1536)]
    constant = confsched.validate(merged(GPT3, training={**GPT3["training"], "batch_rampup": None}))
    assert constant.total_steps == 95368 == math.ceil(146484375 / 1536)  # Megatron: 146484375 // 1536 = 95367


@pytest.mark.parametrize(
    ("start", "increment", "samples", "final"),
    [
        (16, 16, 5859375, 1536),
        (16, 16, 96, 32),
        (3, 5, 777, 103),
        (7, 7, 99991, 791),
        (32, 96, 3000017, 4064),
    ],
)
def test_the_exact_ramp_agrees_with_megatrons_float_division_at_every_count(start, increment, samples, final):
    """Megatron: ``start + int(consumed / (ramp_samples / n)) * increment`` (and the final batch
    once ``consumed > ramp_samples``), ported from ``RampupBatchsizeNumMicroBatchesCalculator.update``."""
    n = (final - start) // increment
    consumed = np.arange(samples + 2, dtype=np.int64)
    megatron = np.where(
        consumed > samples, final, start + (consumed / (samples / n)).astype(np.int64) * increment
    )
    ours = BatchSchedule(ramp_stages(start, increment, final, samples), budget=1).batch_at(consumed)
    assert np.array_equal(ours, megatron)


def test_megatrons_ramp_up_test():
    """tests/unit_tests/test_num_microbatches_calculator.py::test_ramp_up (ramp [16, 16, 96], gbs 32)."""
    batches = BatchSchedule(ramp_stages(16, 16, 32, 96), budget=256)
    steps = np.arange(batches.total_steps + 1)
    assert batches.consumed(steps).tolist() == [0, 16, 32, 48, 64, 80, 96, 128, 160, 192, 224, 256]


def test_megatrons_step_batch_size_schedule():
    """StepBatchsizeNumMicroBatchesCalculator's test: ``"0:256 200000:512 600000:1024 1500000:2048
    3000000:4096 6000000:6144"``, the batch after 0, 200000, 1500000 and 6000000 samples."""
    stages = ((0, 256), (200000, 512), (600000, 1024), (1500000, 2048), (3000000, 4096), (6000000, 6144))
    batches = BatchSchedule(stages, budget=10**7)
    assert batches.batch_at([0, 199999, 200000, 1500000, 6000000]).tolist() == [256, 256, 512, 2048, 6144]


def test_token_thresholds_switch_when_the_tokens_are_consumed():
    """Megatron converts a token threshold with ``threshold // seq_length`` ("250B" at 2048: sample
    122070312, 1024 tokens early); confsched switches at the first sample that completes 250B tokens."""
    data = merged(
        GPT3,
        training={
            "max_tokens": "1T",
            "world_size": 16,
            "grad_accum_steps": 96,
            "batch_rampup": {"stages": [[0, 768], ["250B tok", 1536]]},
        },
    )
    spec = confsched.validate(data)
    assert spec.plan.batches.stages == ((0, 768), (122070313, 1536))
    assert 250 * 10**9 // 2048 == 122070312


WSD_BASE: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 3e-4},
    "scheduler": {"name": "warmup_stable_decay", "warmup": "24414 sp", "decay": "488281 sp"},
    "data": {"dataset_size": 2441406, "batch_size": 2, "tokens_per_sample": 4096},
    "training": {
        "max_samples": 2441406,
        "world_size": 128,
        "grad_accum_steps": 4,
        # --step-batch-size-schedule "0:256 2048M:512 4096M:1024" --seq-length 4096
        "batch_rampup": {"stages": [[0, 256], ["2048M tok", 512], ["4096M tok", 1024]]},
    },
}
# Megatron's WSD (lr_decay_style WSD, lr_wsd_decay_style) at these steps, from its code
MEGATRON_WSD = {
    "1-sqrt": {3939: 0.0001789371555596817, 4000: 0.00013822984614328163, 4239: 3.301808058405004e-05,
               4337: 3.73173087868317e-07, 4338: 5.8373709034265084e-08},  # "minus_sqrt"
    "linear": {3939: 0.000251145958986731, 4000: 0.00021276805773724557, 4239: 6.240218234991737e-05,
               4337: 7.458819818915717e-07, 4338: 1.167360597688627e-07},
    "cosine": {3939: 0.0002807944693783412, 4000: 0.0002416479067623877, 4239: 3.090352423554297e-05,
               4337: 4.575689262070747e-09, 4338: 1.1208009900176562e-10},
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(MEGATRON_WSD))
def test_wsd_on_samples_follows_megatron(shape):
    spec = confsched.validate(merged(WSD_BASE, scheduler={**WSD_BASE["scheduler"], "decay_type": shape}))
    assert spec.total_steps == 4339
    assert spec.plan.consumed_samples([1953, 1954, 2930, 3000]).tolist() == [499968, 500224, 999936, 1071104]
    lr = confsched.lr_curve(spec)[:, 0]
    assert (lr[1], lr[100], lr[2930]) == (3.1457360530842955e-06, 0.0003, 0.0003)
    expected = MEGATRON_WSD[shape]
    np.testing.assert_allclose(lr[list(expected)], list(expected.values()), rtol=1e-13, atol=0)


def megatron_lr(num: int, *, warmup: int, decay: int, wsd: int, style: str, max_lr: float) -> float:
    """``OptimizerParamScheduler.get_lr`` for ``lr_decay_style="WSD"``, ``init_lr = min_lr = 0``,
    ported line by line from megatron/core/optimizer_param_scheduler.py."""
    if warmup > 0 and num <= warmup:
        return 0.0 + (max_lr - 0.0) * float(num) / float(warmup)
    if num > decay:
        return 0.0
    anneal_start = decay - wsd
    if num <= anneal_start:
        coeff = 1.0
    else:
        ratio = float(num - anneal_start) / float(wsd)
        coeff = {"linear": 1.0 - ratio, "cosine": 0.5 * (math.cos(math.pi * ratio) + 1.0)}.get(
            style, 1.0 - math.sqrt(ratio)
        )
    return 0.0 + coeff * (max_lr - 0.0)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_every_step_of_the_ramped_wsd_run_matches_the_ported_formula(shape):
    spec = confsched.validate(merged(WSD_BASE, scheduler={**WSD_BASE["scheduler"], "decay_type": shape}))
    steps = np.arange(spec.total_steps)
    consumed = spec.plan.consumed_samples(steps).tolist()
    theirs = [
        megatron_lr(c, warmup=24414, decay=2441406, wsd=488281, style=shape, max_lr=3e-4) for c in consumed
    ]
    np.testing.assert_allclose(confsched.lr_curve(spec)[:, 0], theirs, rtol=1e-13, atol=1e-300)


# ---- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [  # Composer's tests/test_time.py::test_time_parse, in confsched's units
        ("2ba", 2, "steps"),
        ("1ep", 1, "epochs"),
        ("3e10sp", 3 * 10**10, "samples"),
        ("4tok", 4, "tokens"),
        ("4_000tok", 4000, "tokens"),
        ("0.5dur", Fraction(1, 2), "fraction"),
        # and the issue's
        ("2B tok", 2 * 10**9, "tokens"),
        ("300M tok", 300 * 10**6, "tokens"),
        ("1.5M sp", 1_500_000, "samples"),
        ("2T tokens", 2 * 10**12, "tokens"),
        ("1.5k samples", 1500, "samples"),
        ("100 steps", 100, "steps"),
        ("0.5 ep", Fraction(1, 2), "epochs"),
    ],
)
def test_durations_in_every_unit(text, amount, unit):
    duration = parse_duration(text)
    assert (duration.amount, duration.unit, duration.written) == (amount, unit, text)


UNITS = "%, dur, ep, epoch, epochs, ba, step, steps, sp, sample, samples, tok, token, tokens"
BAD_QUANTITIES = [
    ("1.5 sp", "'1.5 sp' is 1.5 samples; samples are counted in whole numbers"),
    ("2B ep", "'2B ep' scales 'ep' with a suffix or an exponent; only counts take them"),
    (
        "1e16 tok",
        "'1e16 tok' is more tokens than confsched counts exactly (at most 2**53 = 9007199254740992)",
    ),
    ("2 parsecs", f"'2 parsecs' has an unknown unit 'parsecs' (units: {UNITS})"),
    ("1" * 50 + " tok", "'" + "1" * 50 + " tok' is too long to be a quantity"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_QUANTITIES)
def test_bad_quantities_say_why(text, reason):
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the message is checked below
        parse_duration(text)
    assert str(info.value).startswith(reason)


@pytest.mark.parametrize(
    ("value", "count"), [("2T", 2 * 10**12), ("2T tok", 2 * 10**12), (2e12, 2 * 10**12), (12345, 12345)]
)
def test_counts(value, count):
    assert parse_count(value, "tokens") == count


def test_fractions_follow_composer_where_its_float_product_is_exact_and_round_up_where_not():
    """Composer's ``_convert_time``: ``int(time.value * max_duration.value)`` (truncates a float
    product: 0.29dur of 100ba is 28ba); confsched: the exact decimal, rounded up (29)."""
    assert int(0.29 * 100) == 28
    assert int(0.07 * 100) == 7
    spec = confsched.validate(merged(SMALL, training={"max_samples": 100}))
    assert spec.plan.timeline.steps(parse_duration("0.29dur")) == 29
    assert spec.plan.timeline.steps(parse_duration("0.07dur")) == 7


# ---- the arithmetic of runs counted in samples --------------------------------------------------

SMALL: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine", "warmup": "10%"},
    "data": {"dataset_size": 10000, "batch_size": 8, "tokens_per_sample": 512},
    "training": {"max_tokens": "5M", "world_size": 2, "grad_accum_steps": 2},
}


def test_a_token_budget_becomes_samples_then_steps():
    spec = confsched.validate(SMALL)
    # ceil(5e6 / 512) = 9766 samples; a global batch of 8 x 2 x 2 = 32; ceil(9766 / 32) = 306 steps
    assert (spec.plan.total_samples, spec.plan.global_batch_size, spec.total_steps) == (9766, 32, 306)
    assert spec.plan.explain() == (
        "samples = ceil(5000000 tokens / 512 per sample) = 9766; global batch = 8 x 2 x 2 = 32; "
        "total = ceil(9766 / 32) = 306 steps"
    )
    # 10% of 9766 samples = ceil(976.6) = 977 samples: the LR peaks at step ceil(977 / 32) = 31
    assert spec.warmup_steps == 31
    assert spec.plan.describe(spec.scheduler.warmup) == "10% = ceil(0.1 x 9766) = 977 samples (step 31)"


@pytest.mark.parametrize(
    ("warmup", "samples"),
    [(100, 3200), ("1000 sp", 1000), ("100K tok", 196), ("0.5ep", 5000), ("1%", 98)],
)
def test_durations_on_the_sample_axis(warmup, samples):
    """n steps are n global batches (Megatron's iterations -> samples), tokens are rounded up to
    whole samples, epochs are passes over dataset_size samples."""
    spec = confsched.validate(merged(SMALL, scheduler={"name": "cosine", "warmup": warmup}))
    assert spec.plan.timeline.steps(spec.scheduler.warmup) == samples


def test_durations_in_samples_on_a_run_counted_in_steps():
    data = merged(SMALL, training={"max_steps": 1000, "world_size": 2, "grad_accum_steps": 2})
    spec = confsched.validate(merged(data, scheduler={"name": "cosine", "warmup": "100K tok"}))
    assert not spec.plan.counts_samples
    assert spec.warmup_steps == 7  # ceil(ceil(100000 / 512) / 32) = ceil(196 / 32)
    assert spec.plan.describe(spec.scheduler.warmup) == (
        "100K tok = ceil(100000 / 512) = 196 samples = ceil(196 / 32) = 7 steps"
    )


def test_steps_consume_samples_as_the_epoch_loop_does():
    """On the step axis each epoch's last step reads what is left (the loop of tests/test_steps.py)."""
    spec = confsched.validate(
        {
            "optimizer": {"name": "sgd", "lr": 0.1},
            "scheduler": {"name": "linear"},
            "data": {"dataset_size": 100, "batch_size": 8},
            "training": {"epochs": 2, "grad_accum_steps": 2},
        }
    )
    assert spec.steps_per_epoch == 7  # ceil(ceil(100 / 8) / 2)
    assert spec.plan.global_batch(range(8)).tolist() == [16, 16, 16, 16, 16, 16, 4, 16]
    assert spec.plan.consumed_samples([0, 6, 7, 14]).tolist() == [0, 96, 100, 200]


def test_lr_curve_and_the_torch_scheduler_agree_on_a_ramped_run():
    wsd = {**WSD_BASE["scheduler"], "decay": "20%"}
    spec = confsched.validate(
        merged(WSD_BASE, scheduler=wsd, training={**WSD_BASE["training"], "max_samples": 600000})
    )
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = confsched.build(spec, model)
    seen = []
    for _ in range(spec.total_steps):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == confsched.lr_curve(spec)[:, 0].tolist()


# ---- bounds and one-line errors -----------------------------------------------------------------


RAMP = "training.batch_rampup"
BAD_RUNS = [
    (
        {"max_tokens": 10**400},
        "training.max_tokens: about 10**400 is more tokens than confsched counts exactly (at most 2**53 = "
        "9007199254740992)",
    ),
    (
        {"max_tokens": "2T"},
        "training.max_tokens: 2000000000000 tokens, but data.tokens_per_sample is not set: say how many "
        "tokens a sample holds (the sequence length)",
    ),
    (
        {"max_tokens": "2T", "max_steps": 10},
        "training.max_tokens: max_steps and max_tokens are both set; give the run's length once (set "
        "max_steps=null to count the run in tokens)",
    ),
    (
        {"max_samples": "1M", "batch_rampup": {"start": 3, "increment": 3, "length": "1K sp"}},
        f"{RAMP}.increment: 3 does not divide 8 - 3 = 5: the ramp must reach the global batch 8 in whole "
        "increments (as Megatron asserts)",
    ),
    (
        {"max_samples": "1M", "batch_rampup": {"start": 2, "increment": 2, "length": 100}},
        f"{RAMP}.length: 100 is in steps; the batch changes by the samples consumed: write samples "
        "('6M sp'), tokens ('12B tok') or epochs ('0.5ep')",
    ),
    (
        {"max_steps": 100, "batch_rampup": {"start": 4, "increment": 4, "length": "1K sp"}},
        "training.max_steps: 100 with a batch_rampup: a ramped run is counted in samples; give its length as "
        "max_samples, max_tokens or epochs (Megatron's --train-iters would schedule the LR over max_steps x "
        "the final batch, which a ramped run never consumes)",
    ),
    (
        {"max_samples": "1M", "batch_rampup": {"stages": [[0, 4], ["1K sp", 16]]}},
        f"{RAMP}.stages[1][1]: 16: the last stage's batch is the run's global batch, data.batch_size x "
        "world_size x grad_accum_steps = 8",
    ),
    (
        {"max_samples": "1M", "batch_rampup": {"stages": [[0, 2], ["1K sp", 8]]}},
        f"{RAMP}.stages[0][1]: a global batch of 2 samples is not a whole number of micro-batches: "
        "data.batch_size x world_size = 4 must divide every batch of the ramp",
    ),
]


@pytest.mark.parametrize(("training", "message"), BAD_RUNS)
def test_bad_runs_in_samples_are_one_line(training, message):
    data = {
        "optimizer": {"name": "adamw", "lr": 1e-3},
        "scheduler": {"name": "cosine"},
        "data": {"dataset_size": 1000, "batch_size": 4},
        "training": {"grad_accum_steps": 2, **training},
    }
    with pytest.raises(confsched.SpecError) as info:
        confsched.validate(data)
    assert str(info.value) == message


def test_counts_are_bounded_so_int64_and_float64_stay_exact():
    near = merged(SMALL, training={"max_samples": MAX_COUNT, "world_size": 2, "grad_accum_steps": 2})
    spec = confsched.validate(near)
    last = spec.plan.consumed_samples([spec.total_steps - 1, spec.total_steps, 10**15])
    assert last.tolist()[:2] == [MAX_COUNT - 32 + (MAX_COUNT % 32 or 32) - (MAX_COUNT % 32 or 32), MAX_COUNT]
    assert np.isfinite(confsched.lr_curve(spec, [0, spec.total_steps - 1, spec.total_steps + 1000])).all()


# ---- the command line: a user's file, the shipped preset, overrides and a sweep ----------------

TOKENS_FILE = """\
optimizer: {name: adamw, lr: 3.0e-4}
scheduler: {name: warmup_stable_decay, warmup: 2M tok, decay: "20%", decay_type: 1-sqrt}
data: {dataset_size: 100000, batch_size: 4, tokens_per_sample: 1024}
training:
  max_tokens: 50M
  world_size: 2
  grad_accum_steps: 4
  batch_rampup: {start: 8, increment: 8, length: 10M tok}
"""


@needs_cli
def test_plot_against_tokens_writes_the_batch_and_the_consumed_counts(tmp_path):
    (tmp_path / "run.yaml").write_text(TOKENS_FILE)
    out = ok(confsched_cli("plot", "run.yaml", "--x-axis", "tokens", "hydra.run.dir=out", cwd=tmp_path))
    # ceil(50e6 / 1024) = 48829 samples; the batch 8 -> 16 -> 24 -> 32 at 3256, 6511, 9766 samples
    # (ceil(j x 9766 / 3)), reached at steps 407, 611, 747; 747 + ceil((48829 - 9784) / 32) = 1968
    assert "warmup_stable_decay · adamw · 1968 steps (50M tokens, batch ramp) · warmup 245 steps" in out
    with (tmp_path / "out" / "lr_schedule.csv").open() as file:
        header, *rows = list(csv.reader(file))
    assert header == ["step", "samples", "tokens", "batch_size", "default"]
    spec = confsched.load(tmp_path / "run.yaml")
    table = np.array(rows, dtype=np.float64)
    assert table[:, 1].tolist() == spec.plan.consumed_samples(np.arange(1968)).tolist()
    assert table[:, 2].tolist() == (table[:, 1] * 1024).tolist()
    assert table[[0, 406, 407, 610, 611, 746, 747], 3].tolist() == [8, 8, 16, 16, 24, 24, 32]
    assert table[[407, 611, 747], 1].tolist() == [3256, 6520, 9784]
    assert table[:, 4].tolist() == confsched.lr_curve(spec)[:, 0].tolist()
    assert read_csv(tmp_path / "out" / "lr_schedule.csv")[0] == ["default"]
    bad = confsched_cli("plot", "run.yaml", "--x-axis", "tokens", "data.tokens_per_sample=null", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == (
        "error: run.yaml: training.max_tokens: 50000000 tokens, but data.tokens_per_sample is not set: "
        "say how many tokens a sample holds (the sequence length)\n"
    )


@needs_cli
def test_the_preset_from_the_command_line_with_overrides_and_a_sweep(tmp_path):
    out = ok(confsched_cli("show", "+experiment=llm_tokens", "training.max_tokens=2T", cwd=tmp_path))
    assert "max_tokens: 2000000000000\n" in out
    assert "\nscheduler.decay: 20% = ceil(0.2 x 488281250) = 97656250 samples\n" in out
    assert (
        "total steps: 483726  (samples = ceil(2000000000000 tokens / 4096 per sample) = 488281250; "
        "global batch = 4 x 64 x 4 = 1024, ramped from 256 in 3 increases until 4882813 samples (the last "
        "at step 11657, 4883456 samples consumed); total = 11657 + ceil((488281250 - 4883456) / 1024) = "
        "483726 steps)"
    ) in out
    sweep = ["-m", "+experiment=llm_tokens", "training.max_tokens=20B,40B", "hydra.sweep.dir=sweep"]
    # 20B tokens end with the ramp (at step 11657); 40B add ceil((9765625 - 4883456) / 1024) = 4768
    out = ok(confsched_cli("plot", *sweep, "--x-axis", "tokens", cwd=tmp_path))
    assert "sweep of 2 jobs in sweep:" in out
    with (tmp_path / "sweep" / "sweep_report.csv").open() as file:
        summary = list(csv.DictReader(file))
    assert [row["total_steps"] for row in summary] == ["11657", "16425"]
    bad = confsched_cli("show", "+experiment=llm_tokens", "training.max_tokens=2X", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == (
        "error: training.max_tokens: '2X' is not a number with an optional SI suffix and unit (e.g. 2T or "
        "'1.5M tok')\n"
    )


# ---- fuzzed ramps --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    micro=st.integers(1, 4),
    world=st.integers(1, 4),
    increments=st.integers(1, 6),
    start_units=st.integers(1, 5),
    ramp=st.integers(0, 5000),
    budget=st.integers(1, 20000),
    family=st.sampled_from(["cosine", "linear", "warmup_stable_decay", "inverse_sqrt", "one_cycle"]),
)
def test_fuzzed_ramps_consume_the_budget_and_agree_with_torch(
    micro, world, increments, start_units, ramp, budget, family
):
    per_step = micro * world
    start = start_units * per_step
    final = start + increments * per_step
    scheduler = {"name": family} if family == "one_cycle" else {"name": family, "warmup": "5%"}
    data = {
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        "scheduler": scheduler,
        "data": {"dataset_size": 1000, "batch_size": micro},
        "training": {
            "max_samples": budget,
            "world_size": world,
            "grad_accum_steps": final // per_step,
            "batch_rampup": {"start": start, "increment": per_step, "length": f"{ramp} sp"} if ramp else None,
        },
    }
    try:
        spec = confsched.validate(data)
    except confsched.SpecError as error:  # a one_cycle too short to rise, say: one line, a path
        refused: confsched.SpecError | None = error
    else:
        refused = None
    if refused is not None:
        assert "\n" not in str(refused)
        assert refused.path
        return
    steps = np.arange(spec.total_steps + 50)
    consumed = spec.plan.consumed_samples(steps)
    batch = spec.plan.global_batch(steps)
    assert (np.diff(consumed) == batch[:-1]).all()
    assert consumed[spec.total_steps - 1] < budget <= consumed[spec.total_steps]
    assert set(batch.tolist()) <= set(range(start, final + 1, per_step)) | {final}
    assert (np.diff(batch) >= 0).all()
    lr = confsched.lr_curve(spec, steps)
    assert np.isfinite(lr).all()
    assert (lr >= 0).all()
    optimizer, torch_scheduler = confsched.build(spec, torch.nn.Linear(1, 1))
    seen = []
    for _ in range(min(spec.total_steps, 300)):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        torch_scheduler.step()
    assert seen == lr[: len(seen), 0].tolist()


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(0, 10**6),
    decimals=st.integers(0, 999),
    suffix=st.sampled_from(["", "K", "M", "B", "T"]),
    unit=st.sampled_from(["sp", " samples", "tok", " tokens", " steps", "ba"]),
)
def test_quantities_are_read_exactly(whole, decimals, suffix, unit):
    text = f"{whole}.{decimals:03d}{suffix}{unit}"
    amount = (Fraction(whole) + Fraction(decimals, 1000)) * {
        "": 1,
        "K": 10**3,
        "M": 10**6,
        "B": 10**9,
        "T": 10**12,
    }[suffix]
    counted = unit.strip() in ("sp", "samples", "tok", "tokens")  # samples and tokens stop at 2**53
    if amount.denominator != 1 or (counted and amount > MAX_COUNT):  # a fraction of a count, or too many
        with pytest.raises(ValueError, match=r"whole numbers|counts exactly"):
            parse_duration(text)
        return
    assert parse_duration(text).amount == amount
