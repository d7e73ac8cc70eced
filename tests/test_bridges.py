"""``confsched import`` and ``confsched export``: each peer's config to a spec and back, against the
peer's own scheduler.

- transformers, timm and torch (Lightning's classes) are installed: a config is built the peer's way
  (a real ``TrainingArguments`` dumped with ``to_json_string()``, timm's ``create_scheduler``,
  torch's classes), stepped as the peer steps it, and compared with ``lr_curve`` of the imported
  spec at every step of the run; the exported config is built and stepped the same way.
- DeepSpeed cannot be installed in CI: :data:`DEEPSPEED` is the LR of every step its schedulers
  give (DeepSpeed 0.19.8, ``pip install deepspeed`` on CPU, stepped as its engine steps them: built,
  then ``step()`` after each optimizer step), written to ``tests/deepspeed_lrs.json`` by running this
  file (``python tests/test_bridges.py``, with DeepSpeed installed); with DeepSpeed installed,
  :func:`test_deepspeed_values_are_deepspeeds` recomputes them. DeepSpeed's own test assertions
  (``tests/unit/runtime/test_lr_schedulers.py``) are ported onto the imported specs.
- NeMo cannot be installed: each case has the parameters of one of NeMo's tests and is compared
  with NeMo's values in ``tests/test_peers_nemo.py`` (and its spec with that module's ``SPECS``).

:data:`WORST` collects the largest relative error of each peer's round trips (the report prints it
with ``-s``).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import confsched
from confsched.bridges import PEERS, BridgeError, Given, export_config, import_config, import_text
from confsched.bridges.core import validate_draft
from tests import test_migrating, test_peers_nemo
from tests.peers import reference_optimizer, torch_trace, worst
from tests.test_cli import CONFSCHED, confsched_cli, ok
from tests.timm_schedulers import timm_scheduler

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-12
WORST: dict[str, float] = {}
"""Peer -> the largest relative error of its round trips so far."""


def close(peer: str, got: Any, expected: Any, rtol: float = RTOL) -> None:
    """``got`` equals ``expected`` to ``rtol`` (relative); the error is recorded in :data:`WORST`."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    error = worst(got, expected)
    WORST[peer] = max(WORST.get(peer, 0.0), error)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0.0)


def spec_of(draft: Any) -> confsched.Spec:
    spec = validate_draft(draft)
    assert spec is not None, draft.placeholders
    return spec


# ---- Hugging Face TrainingArguments ------------------------------------------------------------

METRICS = [1.0, 0.9, 0.8, *([0.8] * 40), 0.5, *([0.5] * 56)]
N_SAMPLES = 1000

HF_CASES: dict[str, dict[str, Any]] = {
    "linear": {"max_steps": 200, "warmup_steps": 20},
    "cosine-ratio": {"lr_scheduler_type": "cosine", "max_steps": 300, "warmup_steps": 0.07},
    "cosine-epochs": {
        "lr_scheduler_type": "cosine",
        "num_train_epochs": 3,
        "per_device_train_batch_size": 16,
    },
    "cosine-fractional-epochs": {
        "lr_scheduler_type": "cosine",
        "num_train_epochs": 2.5,
        "per_device_train_batch_size": 32,
        "gradient_accumulation_steps": 3,
        "warmup_steps": 0.1,
    },
    "restarts": {
        "lr_scheduler_type": "cosine_with_restarts",
        "max_steps": 240,
        "warmup_steps": 10,
        "lr_scheduler_kwargs": {"num_cycles": 3},
    },
    "polynomial": {
        "lr_scheduler_type": "polynomial",
        "max_steps": 150,
        "warmup_steps": 15,
        "lr_scheduler_kwargs": {"power": 2.0, "lr_end": 1e-6},
    },
    "constant-ignores-warmup": {"lr_scheduler_type": "constant", "max_steps": 50, "warmup_steps": 10},
    "constant-with-warmup": {
        "lr_scheduler_type": "constant_with_warmup",
        "max_steps": 80,
        "warmup_steps": 30,
    },
    "inverse-sqrt": {
        "lr_scheduler_type": "inverse_sqrt",
        "max_steps": 200,
        "warmup_steps": 20,
        "lr_scheduler_kwargs": {"timescale": 7},
    },
    "cosine-min-lr": {
        "lr_scheduler_type": "cosine_with_min_lr",
        "max_steps": 200,
        "warmup_steps": 0.05,
        "lr_scheduler_kwargs": {"min_lr": 1e-6},
    },
    "cosine-warmup-min-lr": {
        "lr_scheduler_type": "cosine_warmup_with_min_lr",
        "max_steps": 200,
        "warmup_steps": 20,
        "lr_scheduler_kwargs": {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2},
    },
    "wsd": {
        "lr_scheduler_type": "warmup_stable_decay",
        "max_steps": 200,
        "warmup_steps": 20,
        "lr_scheduler_kwargs": {"num_decay_steps": 60, "decay_type": "1-sqrt", "min_lr_ratio": 0.1},
    },
    "plateau": {
        "lr_scheduler_type": "reduce_lr_on_plateau",
        "max_steps": 100,
        "lr_scheduler_kwargs": {"factor": 0.5, "patience": 2},
        "eval_strategy": "epoch",
    },
    "sgd": {"optim": "sgd", "optim_args": "momentum=0.9,nesterov=True", "max_steps": 100, "warmup_steps": 10},
}
"""``TrainingArguments`` keyword arguments (``learning_rate`` 3e-4) of each case."""


def hf_total(args: Any) -> int:
    """The Trainer's total of optimizer steps on one process (``N_SAMPLES``)."""
    if args.max_steps > 0:
        return int(args.max_steps)
    batches = math.ceil(N_SAMPLES / args.per_device_train_batch_size)
    per_epoch = max(math.ceil(batches / args.gradient_accumulation_steps), 1)
    return math.ceil(args.num_train_epochs * per_epoch)


def hf_lrs(args: Any, total: int, metrics: Sequence[float] | None) -> np.ndarray:
    """The Trainer's scheduler (``Trainer.create_scheduler``) stepped as the Trainer steps it."""
    transformers = pytest.importorskip("transformers")
    optimizer = reference_optimizer([args.learning_rate], cls=torch.optim.AdamW)
    scheduler = transformers.get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.get_warmup_steps(total),
        num_training_steps=total,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    return torch_trace(optimizer, [scheduler], total if metrics is None else len(metrics), metrics)[:, 0]


def training_arguments(tmp_path: Path, **kwargs: Any) -> Any:
    transformers = pytest.importorskip("transformers")
    kwargs = {"learning_rate": 3e-4, "report_to": [], **kwargs}
    return transformers.TrainingArguments(output_dir=str(tmp_path / "out"), **kwargs)


def ours(spec: confsched.Spec, metrics: Sequence[float] | None) -> np.ndarray:
    """The imported spec's LRs: at every step, or after each metric update (the last one dropped,
    as a peer's trace records the LR before each update)."""
    if metrics is None:
        return confsched.lr_curve(spec)[:, 0]
    return confsched.lr_curve(spec, metrics=metrics)[:-1, 0]


@pytest.mark.parametrize("case", list(HF_CASES))
def test_hf_import_and_export_are_the_trainers_schedule(case, tmp_path):
    args = training_arguments(tmp_path, **HF_CASES[case])
    dump = tmp_path / "training_args.json"
    dump.write_text(args.to_json_string())
    spec = confsched.validate(yaml.safe_load(import_text(dump, given=Given(dataset_size=N_SAMPLES))))
    total = hf_total(args)
    assert spec.total_steps == total
    metrics = METRICS if args.lr_scheduler_type == "reduce_lr_on_plateau" else None
    close("hf", ours(spec, metrics), hf_lrs(args, total, metrics))
    exported = export_config(spec, "hf")
    again = training_arguments(
        tmp_path,
        **{k: v for k, v in exported.items() if k != "learning_rate"},
        learning_rate=exported["learning_rate"],
    )
    assert hf_total(again) == spec.total_steps
    close("hf", ours(spec, metrics), hf_lrs(again, spec.total_steps, metrics))


def test_hf_warmup_ratio_of_transformers_4_and_its_rounding(tmp_path):
    """transformers 4 dumps ``warmup_ratio``; ``ceil(T x ratio)`` is taken in floating point, which
    the spec keeps as a ratio where confsched's exact rounding agrees and as steps where not."""
    base = {"learning_rate": 1e-3, "lr_scheduler_type": "linear", "warmup_steps": 0}
    draft = import_config({**base, "max_steps": 300, "warmup_ratio": 0.1}, "hf", source="v4.json")
    assert draft.scheduler["warmup"] == 0.1
    assert spec_of_run(draft).warmup_steps == 30
    # 100 x 0.07 = 7.000000000000001 in floats: transformers warms up 8 steps, 0.07 of 100 is 7
    draft = import_config({**base, "max_steps": 100, "warmup_ratio": 0.07}, "hf", Given(dataset_size=10))
    assert draft.scheduler["warmup"] == 8 == math.ceil(100 * 0.07)


def spec_of_run(draft: Any) -> confsched.Spec:
    data = draft.sections()
    data["data"] = {**data["data"], "dataset_size": 100}
    return confsched.validate(data)


# ---- DeepSpeed ---------------------------------------------------------------------------------

DEEPSPEED_FILE = Path(__file__).with_name("deepspeed_lrs.json")


def _ds(kind: str, total: int, **params: Any) -> tuple[dict[str, Any], int]:
    return {"type": kind, "params": params}, total


_ONE_CYCLE = [
    (1e-5, 1e-2, 1e-3, 10, 10),
    (1e-3, 1e-1, 0, 21, 21),
    (1e-3, 1e-1, 1e-1, 21, 21),
    (1e-5, 1e-1, 0, 10, 0),
]
_RANGE = [(1e-4, 1e-5, 1, True), (1e-5, 1e-5, 1, False), (1e-4, 1e-3, 10, True), (1e-3, 1e-3, 10, False)]
_RANGE += [(1e-2, 1e-2, 19, True), (1e-2, 1e-2, 19, False)]
_WARMUP = {"warmup_min_lr": 0.1, "warmup_max_lr": 0.2}

DS_CASES: dict[str, tuple[dict[str, Any], int]] = {
    # DeepSpeed's TestLrSchedule: 0.1 -> 0.2 over W steps, log and linear, a run of 2 W
    **{
        f"WarmupLR-{kind}-{w}": _ds("WarmupLR", 2 * w, **_WARMUP, warmup_num_steps=w, warmup_type=kind)
        for kind in ("log", "linear")
        for w in (10, 15, 19, 33)
    },
    **{
        f"WarmupDecayLR-{kind}-{w}": _ds(
            "WarmupDecayLR", 2 * w, **_WARMUP, warmup_num_steps=w, total_num_steps=2 * w, warmup_type=kind
        )
        for kind in ("log", "linear")
        for w in (10, 15, 19, 33)
    },
    "WarmupLR-defaults": _ds("WarmupLR", 1200),
    "WarmupLR-one-step": _ds("WarmupLR", 20, warmup_max_lr=0.1, warmup_num_steps=1),
    "WarmupDecayLR-long": _ds(
        "WarmupDecayLR", 20000, warmup_max_lr=1e-3, warmup_num_steps=500, total_num_steps=20000
    ),
    # TestWarmupCosineLR's cases from warmup_min_ratio 0 (its log warmup)
    "WarmupCosineLR-600-300": _ds(
        "WarmupCosineLR", 600, total_num_steps=600, warmup_num_steps=300, cos_min_ratio=0.1
    ),
    "WarmupCosineLR-600-550": _ds(
        "WarmupCosineLR", 600, total_num_steps=600, warmup_num_steps=550, cos_min_ratio=0.0
    ),
    # TestOneCycle.test_lr's cases (its LR cycle; momentum off)
    **{
        f"OneCycle-{i}": _ds(
            "OneCycle",
            max(50, size * 3),
            cycle_min_lr=low,
            cycle_max_lr=high,
            decay_lr_rate=rate,
            cycle_first_step_size=size,
            decay_step_size=decay,
            cycle_momentum=False,
        )
        for i, (low, high, rate, size, decay) in enumerate(_ONE_CYCLE)
    },
    "OneCycle-asymmetric-short": _ds(
        "OneCycle",
        20,
        cycle_min_lr=0.01,
        cycle_max_lr=0.1,
        cycle_first_step_size=7,
        cycle_second_step_size=13,
        cycle_momentum=False,
    ),
    # TestLrRange's cases
    **{
        f"LRRangeTest-{i}": _ds(
            "LRRangeTest",
            max(50, size * 2),
            lr_range_test_min_lr=low,
            lr_range_test_step_rate=rate,
            lr_range_test_step_size=size,
            lr_range_test_staircase=stairs,
        )
        for i, (low, rate, size, stairs) in enumerate(_RANGE)
    },
    "StepLR": _ds("StepLR", 50, step_size=7, gamma=0.5),
}
"""Scheduler block and run length of each DeepSpeed case (optimizer: AdamW at ``DS_LR``)."""

DS_LR = 0.0015
LONG_RTOL = {"WarmupDecayLR-long": 5e-13}
"""The linear phase of a long WarmupDecayLR ends a few ulps of the peak away from DeepSpeed's value."""


def ds_config(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "train_batch_size": 8,
        "train_micro_batch_size_per_gpu": 4,
        "gradient_accumulation_steps": 2,
        "optimizer": {"type": "AdamW", "params": {"lr": DS_LR, "betas": [0.9, 0.95]}},
        "scheduler": block,
    }


def ds_steps(total: int) -> list[int]:
    """The steps kept of a run: every step of a short one, a sample of a long one."""
    if total <= 120:
        return list(range(total + 3))
    return sorted({*range(0, total + 3, max(1, total // 97)), *range(total - 3, total + 3), *range(8)})


def deepspeed_lrs(block: dict[str, Any], total: int) -> dict[int, float]:
    """DeepSpeed's LR at each step of :func:`ds_steps` (needs DeepSpeed)."""
    import logging

    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    optimizer = reference_optimizer([DS_LR], cls=torch.optim.AdamW, betas=(0.9, 0.95))
    kind = getattr(lr_schedules, block["type"], None) or getattr(torch.optim.lr_scheduler, block["type"])
    scheduler = kind(optimizer, **block["params"])
    keep = set(ds_steps(total))
    lrs = {}
    for k in range(max(keep) + 1):
        if k in keep:
            lrs[k] = float(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def _load_deepspeed() -> dict[str, dict[int, float]]:
    values = json.loads(DEEPSPEED_FILE.read_text()) if DEEPSPEED_FILE.is_file() else {}
    return {case: {int(k): v for k, v in lrs.items()} for case, lrs in values.items()}


DEEPSPEED = _load_deepspeed()


def block_type(case: str) -> str:
    return str(DS_CASES[case][0]["type"])


def ds_spec(case: str) -> confsched.Spec:
    block, total = DS_CASES[case]
    return spec_of(import_config(ds_config(block), "deepspeed", Given(dataset_size=64, max_steps=total)))


@pytest.mark.parametrize("case", list(DS_CASES))
def test_deepspeed_import_is_deepspeeds_schedule(case):
    expected = DEEPSPEED[case]
    spec = ds_spec(case)
    assert spec.training.world_size == 1
    assert spec.data.batch_size == 4
    assert spec.training.grad_accum_steps == 2
    curve = confsched.lr_curve(spec, max(expected) + 1)[:, 0]
    rising = block_type(case) == "LRRangeTest"  # DeepSpeed's keeps rising after the run; the spec holds
    steps = [k for k in sorted(expected) if k <= spec.total_steps or not rising]
    close("deepspeed", curve[steps], [expected[k] for k in steps], LONG_RTOL.get(case, RTOL))


@pytest.mark.parametrize("case", list(DS_CASES))
def test_deepspeed_export_writes_the_block_back(case):
    block, _ = DS_CASES[case]
    """The exported block is the original one (DeepSpeed's defaults written out), so DeepSpeed
    builds the same scheduler from it: the stored values."""
    exported = export_config(ds_spec(case), "deepspeed")
    assert exported["scheduler"]["type"] == block["type"]
    assert exported["optimizer"]["params"]["betas"] == [0.9, 0.95]
    assert exported["train_batch_size"] == 8
    params, original = exported["scheduler"]["params"], dict(block["params"])
    for rate, size in RATES:  # only rate / size matters: the export writes it over another size
        if original.get(rate) and original.get(size):
            assert params[rate] / params[size] == pytest.approx(
                original.pop(rate) / original.pop(size), rel=1e-12
            )
        elif rate in original and not original[rate]:  # no decay: none written
            assert not params.get(rate)
            assert not original.pop(rate)
            assert original.pop(size, None) is not None
    for key, value in original.items():
        wanted = max(2, value) if key == "warmup_num_steps" else value
        assert params.get(key, wanted) == (
            pytest.approx(wanted, rel=1e-15) if isinstance(wanted, float) else wanted
        ), key


RATES = [("decay_lr_rate", "decay_step_size"), ("lr_range_test_step_rate", "lr_range_test_step_size")]


@pytest.mark.slow
def test_deepspeed_values_are_deepspeeds():
    """With DeepSpeed installed: the stored values are what DeepSpeed gives now, and DeepSpeed's
    scheduler built from each exported config gives the spec's LRs."""
    for case, (block, total) in DS_CASES.items():
        assert deepspeed_lrs(block, total) == DEEPSPEED[case], case
        spec = ds_spec(case)
        exported = deepspeed_lrs(export_config(spec, "deepspeed")["scheduler"], total)
        steps = [k for k in sorted(exported) if k < total]
        close(
            "deepspeed",
            confsched.lr_curve(spec)[steps, 0],
            [exported[k] for k in steps],
            LONG_RTOL.get(case, RTOL),
        )


def test_deepspeeds_own_assertions_hold_on_the_imported_specs():
    """test_lr_warmup_schedule / test_lr_warmup_decay_schedule: the LR after the first step is
    warmup_min_lr, warmup_max_lr from step W + 1 on (held, or then decaying); TestWarmupCosineLR:
    the peak at W, cos_min_ratio at the end; TestOneCycle: min at 0, max at the first step size."""
    for w in (10, 15, 19, 33):
        for kind in ("log", "linear"):
            lrs = confsched.lr_curve(ds_spec(f"WarmupLR-{kind}-{w}"))[:, 0]
            assert lrs[1] == 0.1
            assert (lrs[w + 1 :] == 0.2).all()
            lrs = confsched.lr_curve(ds_spec(f"WarmupDecayLR-{kind}-{w}"))[:, 0]
            assert lrs[1] == 0.1
            assert lrs[w + 1] == 0.2
            assert (np.diff(lrs[w + 1 :]) < 0).all()
    for case, (total, w, floor) in {
        "WarmupCosineLR-600-300": (600, 300, 0.1),
        "WarmupCosineLR-600-550": (600, 550, 0.0),
    }.items():
        lrs = confsched.lr_curve(ds_spec(case), total + 1)[:, 0]
        assert abs(lrs[w] - DS_LR) < 1e-7
        assert abs(lrs[total] - DS_LR * floor) < 1e-7
        assert (np.diff(lrs[1 : w + 1]) > 0).all()
        assert (np.diff(lrs[w:total]) < 0).all()
    lrs = confsched.lr_curve(ds_spec("OneCycle-1"))[:, 0]
    assert lrs[0] == 1e-3
    assert lrs[21] == 1e-1
    assert (np.diff(lrs[:21]) > 0).all()
    assert (np.diff(lrs[21:42]) < 0).all()


# ---- timm ----------------------------------------------------------------------------------------

TIMM_BASE: dict[str, Any] = {
    "lr": 0.1,
    "batch_size": 32,
    "grad_accum_steps": 1,
    "opt": "sgd",
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "seed": 42,
    "sched_on_updates": True,
    "epochs": 10,
    "warmup_epochs": 2,
    "warmup_lr": 1e-4,
    "min_lr": 1e-5,
    "cooldown_epochs": 0,
    "lr_cycle_mul": 1.0,
    "lr_cycle_decay": 0.5,
    "lr_cycle_limit": 1,
    "lr_k_decay": 1.0,
    "decay_rate": 0.1,
    "warmup_prefix": False,
}
"""The schedule part of a ``train.py`` ``args.yaml``; the cases below change some of it."""

TIMM_SAMPLES = 32 * 7 + 5
"""With batch 32 and timm's drop_last: 7 updates per epoch."""

TIMM_CASES: dict[str, dict[str, Any]] = {
    "cosine": {},
    "cosine-prefix-cooldown": {"warmup_prefix": True, "cooldown_epochs": 2},
    "cosine-cycles": {"lr_cycle_limit": 3, "epochs": 4},
    "cosine-cycle-mul": {"lr_cycle_limit": 3, "lr_cycle_mul": 2.0, "epochs": 2},
    "cosine-k-decay": {"lr_k_decay": 2.0},
    "cosine-noise": {"lr_noise": [0.3, 0.8], "lr_noise_pct": 0.3},
    "cosine-noise-std": {"lr_noise": [0.3, 0.8], "lr_noise_pct": 0.3, "lr_noise_std": 0.4},
    "cosine-lr-base": {
        "lr": None,
        "lr_base": 0.1,
        "lr_base_size": 256,
        "opt": "adamw",
        "opt_betas": [0.9, 0.95],
    },
    "tanh": {"sched": "tanh", "warmup_prefix": True},
    "poly": {"sched": "poly", "decay_rate": 0.5, "warmup_epochs": 0},
    "step": {"sched": "step", "decay_epochs": 3, "decay_rate": 0.5},
    "multistep": {"sched": "multistep", "decay_milestones": [3, 6], "decay_rate": 0.5, "warmup_prefix": True},
    "constant": {"sched": "constant"},
    "step-per-epoch": {"sched": "step", "decay_epochs": 3, "sched_on_updates": False, "warmup_epochs": 0},
    "multistep-per-epoch": {
        "sched": "multistep",
        "decay_milestones": [3, 6],
        "sched_on_updates": False,
        "warmup_epochs": 0,
    },
}
TIMM_TANH_RTOL = 1e-13
"""confsched's tanh equals timm's to 1e-14 (``docs/migrating.md``)."""


def timm_lrs(args: dict[str, Any], updates: int) -> tuple[np.ndarray, int]:
    """timm's ``create_scheduler`` from the args, stepped as ``train.py`` steps it: ``step_update``
    after each update, ``step(epoch + 1)`` after each epoch, for the epochs it returns."""
    factory = timm_scheduler("scheduler_factory")
    optimizer = reference_optimizer([args["lr"]])
    scheduler, epochs = factory.create_scheduler(
        argparse.Namespace(**args), optimizer, updates_per_epoch=updates
    )
    lrs, count = [], 0
    for epoch in range(epochs):
        for _ in range(updates):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            count += 1
            if scheduler is not None:
                scheduler.step_update(num_updates=count)
        if scheduler is not None:
            scheduler.step(epoch + 1)
    return np.array(lrs), epochs


@pytest.mark.parametrize("case", list(TIMM_CASES))
def test_timm_import_and_export_are_timms_schedule(case):
    args = {"sched": "cosine", **TIMM_BASE, **TIMM_CASES[case]}
    spec = spec_of(import_config(args, "timm", Given(dataset_size=TIMM_SAMPLES), "args.yaml"))
    assert spec.steps_per_epoch == 7
    reference, epochs = timm_lrs({**args, "lr": spec.lr}, 7)
    assert spec.total_steps == epochs * 7
    rtol = TIMM_TANH_RTOL if args["sched"] == "tanh" else RTOL
    close("timm", confsched.lr_curve(spec)[:, 0], reference, rtol)
    if not args["sched_on_updates"]:
        return
    exported = export_config(spec, "timm")
    again, epochs = timm_lrs({**exported, "seed": exported.get("seed", 42)}, 7)
    assert epochs * 7 == spec.total_steps
    close("timm", confsched.lr_curve(spec)[:, 0], again, rtol)


# ---- NeMo ----------------------------------------------------------------------------------------

NEMO_CASES: dict[str, dict[str, Any]] = {
    "WarmupPolicy": {"min_lr": 1e-3},
    "WarmupPolicy[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "WarmupHoldPolicy": {"min_lr": 1e-3},
    "WarmupHoldPolicy[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "WarmupHoldPolicy[warmup+hold]": {"warmup_steps": 5, "hold_steps": 3, "min_lr": 1e-3},
    "WarmupAnnealing": {"min_lr": 1e-3},
    "WarmupAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "SquareAnnealing": {"min_lr": 1e-3},
    "SquareAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "SquareRootAnnealing": {"min_lr": 1e-3},
    "SquareRootAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "CosineAnnealing": {"min_lr": 1e-3},
    "CosineAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "CosineAnnealing[warmup+constant]": {"warmup_steps": 3, "constant_steps": 2, "min_lr": 1e-3},
    "NoamAnnealing": {"d_model": 16, "min_lr": 1e-3},
    "NoamAnnealing[warmup]": {"d_model": 16, "warmup_steps": 5, "min_lr": 1e-3},
    "PolynomialDecayAnnealing": {"power": 2, "min_lr": 1e-3},
    "PolynomialDecayAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "PolynomialDecayAnnealing[code,cycle]": {"power": 2, "cycle": True, "warmup_steps": 2, "min_lr": 1e-3},
    "PolynomialHoldDecayAnnealing": {"power": 2, "min_lr": 1e-3},
    "PolynomialHoldDecayAnnealing[warmup+hold]": {
        "power": 2,
        "warmup_steps": 5,
        "hold_steps": 3,
        "min_lr": 1e-3,
    },
    "InverseSquareRootAnnealing": {"min_lr": 1e-3},
    "InverseSquareRootAnnealing[warmup]": {"warmup_steps": 5, "min_lr": 1e-3},
    "WarmupHoldAnnealOneMinusSquareRoot": {"min_lr": 0.01, "max_steps": 100},
    "WarmupHoldAnnealOneMinusSquareRoot[warmup+hold]": {
        "warmup_ratio": 0.1,
        "hold_ratio": 0.2,
        "min_lr": 0.01,
        "max_steps": 100,
    },
    "WarmupHoldAnnealLinear": {"min_lr": 0.01, "max_steps": 100},
    "WarmupHoldAnnealLinear[warmup+hold]": {
        "warmup_ratio": 0.1,
        "hold_ratio": 0.2,
        "min_lr": 0.01,
        "max_steps": 100,
    },
    "NoamHoldAnnealing[code]": {
        "warmup_steps": 5,
        "hold_steps": 10,
        "decay_rate": 1.0,
        "min_lr": 1e-3,
        "max_steps": 40,
    },
    "NoamHoldAnnealing[code,0.5]": {"warmup_steps": 5, "hold_steps": 10, "min_lr": 1e-3, "max_steps": 40},
    "T5InverseSquareRootAnnealing[code]": {"constant_steps": 4, "min_lr": 1e-3, "max_steps": 20},
}
"""The ``sched`` of each NeMo configuration of ``tests/test_peers_nemo.py`` (SGD at 0.1; max_steps
10 unless given)."""


def nemo_config(case: str) -> dict[str, Any]:
    sched = {"name": case.split("[")[0], "max_steps": 10, **NEMO_CASES[case]}
    return {"model": {"optim": {"name": "sgd", "lr": 0.1, "sched": sched}, "train_ds": {"batch_size": 4}}}


def nemo_values(case: str) -> tuple[list[int], list[float]]:
    expected = test_peers_nemo.NEMO[case]
    points = expected.items() if isinstance(expected, dict) else enumerate(expected)
    steps, values = zip(*points, strict=True)
    return list(steps), list(values)


@pytest.mark.parametrize("case", list(NEMO_CASES))
def test_nemo_import_and_export_are_nemos_schedule(case):
    draft = import_config(nemo_config(case), None, Given(dataset_size=40), "model.yaml")
    spec = spec_of(draft)
    steps, values = nemo_values(case)
    close("nemo", confsched.lr_curve(spec, max(steps) + 1)[steps, 0], values)
    reference = test_peers_nemo.SPECS[case]
    assert (
        draft.scheduler == reference
        or confsched.validate({**draft.sections(), "scheduler": reference}).scheduler
    )
    sched = export_config(spec, "nemo")["optim"]["sched"]
    original = nemo_config(case)["model"]["optim"]["sched"]
    for key in ("warmup_ratio", "hold_ratio"):  # NeMo's int(ratio x max_steps), written as steps
        if key in original:
            steps_key = key.replace("ratio", "steps")
            assert sched[steps_key] == int(original.pop(key) * original["max_steps"])
            original[steps_key] = sched[steps_key]
    if sched["name"] != original["name"]:  # the same schedule without a hold: written by its plain name
        assert "hold_steps" not in original
        assert EQUIVALENT[original["name"]] == sched["name"]
        original["name"] = sched["name"]
    defaults = {"min_lr": 0.0, "power": 1.0, "decay_rate": 0.5}
    assert {k: v for k, v in sched.items() if v != defaults.get(k)} == {
        k: v for k, v in original.items() if v != defaults.get(k)
    }


EQUIVALENT = {
    "WarmupHoldPolicy": "WarmupPolicy",
    "PolynomialHoldDecayAnnealing": "PolynomialDecayAnnealing",
    "WarmupHoldAnnealLinear": "WarmupAnnealing",
    "PolynomialDecayAnnealing": "WarmupAnnealing",
}
"""NeMo schedulers that are another one (without hold_steps; of power 1)."""


def test_nemo_import_is_the_migrating_table():
    """docs/migrating.md's NeMo rows and the import of the same configuration agree."""
    rows = {call: scheduler for peer, call, scheduler, _, _ in test_migrating.ROWS if peer == "NeMo"}
    assert len(rows) == 15
    for call, scheduler in rows.items():
        key = next(
            v
            for k, v in sorted(test_migrating.NEMO_ROWS.items(), key=lambda kv: -len(kv[0]))
            if call.startswith(k)
        )
        draft = import_config(nemo_config(key), "nemo", Given(dataset_size=40))
        total = int(re.search(r"max_steps=(\d+)", call)[1])  # type: ignore[index]
        ours_ = confsched.lr_curve(spec_of(draft), total + 2)[:, 0]
        row = confsched.lr_curve(confsched.validate({**draft.sections(), "scheduler": scheduler}), total + 2)[
            :, 0
        ]
        close("nemo", ours_, row)


# ---- Lightning (torch's classes) -----------------------------------------------------------------

LIGHTNING_CASES: dict[str, tuple[str, dict[str, Any], str, int]] = {
    "MultiStepLR-epoch": ("MultiStepLR", {"milestones": [3, 7], "gamma": 0.1}, "epoch", 1),
    "StepLR-epoch-2": ("StepLR", {"step_size": 2, "gamma": 0.5}, "epoch", 2),
    "ExponentialLR-epoch": ("ExponentialLR", {"gamma": 0.8}, "epoch", 1),
    "ConstantLR-epoch": ("ConstantLR", {"factor": 0.25, "total_iters": 2}, "epoch", 1),
    "StepLR-step-3": ("StepLR", {"step_size": 5, "gamma": 0.5}, "step", 3),
    "ExponentialLR-step": ("ExponentialLR", {"gamma": 0.97}, "step", 1),
    "CosineAnnealingLR": ("CosineAnnealingLR", {"T_max": 100, "eta_min": 1e-4}, "step", 1),
    "CosineAnnealingLR-short": ("CosineAnnealingLR", {"T_max": 30, "eta_min": 1e-4}, "step", 1),
    "LinearLR": ("LinearLR", {"start_factor": 0.1, "total_iters": 10}, "step", 1),
    "LinearLR-down": ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 40}, "step", 1),
    "PolynomialLR": ("PolynomialLR", {"total_iters": 60, "power": 2.0}, "step", 1),
    "PolynomialLR-run": ("PolynomialLR", {"total_iters": 100, "power": 0.5}, "step", 1),
    "CosineAnnealingWarmRestarts": (
        "CosineAnnealingWarmRestarts",
        {"T_0": 10, "T_mult": 2, "eta_min": 1e-4},
        "step",
        1,
    ),
    "CyclicLR": (
        "CyclicLR",
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10, "mode": "triangular2"},
        "step",
        1,
    ),
    "OneCycleLR": ("OneCycleLR", {"max_lr": 0.5, "total_steps": 100}, "step", 1),
    "ReduceLROnPlateau": ("ReduceLROnPlateau", {"factor": 0.5, "patience": 2}, "epoch", 1),
}
"""torch class, its arguments, Lightning's interval and frequency; the run: 10 epochs of 10 steps."""


def lightning_config(case: str) -> dict[str, Any]:
    name, args, interval, frequency = LIGHTNING_CASES[case]
    scheduler = {"class_path": f"torch.optim.lr_scheduler.{name}", "init_args": args}
    return {
        "trainer": {"max_epochs": 10, "devices": 1},
        "data": {"class_path": "my.Data", "init_args": {"batch_size": 10}},
        "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1, "momentum": 0.9}},
        "lr_scheduler": {"scheduler": scheduler, "interval": interval, "frequency": frequency},
    }


def lightning_lrs(case: str, steps: int, per_epoch: int) -> np.ndarray:
    """The class stepped as Lightning steps it: after every ``frequency``-th step or epoch."""
    name, args, interval, frequency = LIGHTNING_CASES[case]
    optimizer = reference_optimizer([0.1], momentum=0.9)
    scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **args)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(steps):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            count = k + 1 if interval == "step" else (k + 1) // per_epoch if (k + 1) % per_epoch == 0 else 0
            if count and count % frequency == 0:
                scheduler.step(
                    METRICS[count // frequency - 1]
                ) if name == "ReduceLROnPlateau" else scheduler.step()
    return np.array(lrs)


@pytest.mark.parametrize("case", list(LIGHTNING_CASES))
def test_lightning_import_is_torchs_schedule_as_lightning_steps_it(case):
    spec = spec_of(import_config(lightning_config(case), None, Given(dataset_size=100), "config.yaml"))
    assert spec.total_steps == 100
    assert spec.steps_per_epoch == 10
    if case == "ReduceLROnPlateau":  # one LR change per metric update, whatever the interval
        close("lightning", ours(spec, METRICS[:10]), lightning_lrs(case, 100, 10)[::10])
        return
    close("lightning", confsched.lr_curve(spec)[:, 0], lightning_lrs(case, 100, 10))


def test_torch_classes_are_the_migrating_table():
    """docs/migrating.md's torch rows that name one class: its import and the row's scheduler
    section give the same LRs over the table's 100-step run."""
    compared = 0
    for peer, call, scheduler, _, _ in test_migrating.ROWS:
        node = ast.parse(call, mode="eval").body
        if peer != "torch" or not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        name = node.func.id
        if name not in {
            "StepLR",
            "MultiStepLR",
            "ExponentialLR",
            "ConstantLR",
            "LinearLR",
            "PolynomialLR",
            "CosineAnnealingLR",
            "CosineAnnealingWarmRestarts",
            "OneCycleLR",
        }:
            continue
        args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        if any(isinstance(value, list) and kw != "milestones" for kw, value in args.items()):
            continue  # one value per param group: the table's two groups
        config = {
            "trainer": {"max_steps": 100},
            "data": {"batch_size": 1},
            "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1, "momentum": 0.9}},
            "lr_scheduler": {"scheduler": {"class_path": name, "init_args": args}, "interval": "step"},
        }
        draft = import_config(config, "lightning", Given(dataset_size=100))
        row = confsched.validate({**draft.sections(), "scheduler": scheduler})
        close("lightning", confsched.lr_curve(spec_of(draft), 101), confsched.lr_curve(row, 101))
        compared += 1
    assert compared == 9


# ---- what does not cross: one line naming the key -----------------------------------------------


def _sched(**sched: Any) -> dict[str, Any]:
    """A NeMo optim block (AdamW at 1e-3) with ``sched``."""
    return {"optim": {"name": "adamw", "lr": 1e-3, "sched": sched}}


def _adam(kind: str, **params: Any) -> dict[str, Any]:
    """A DeepSpeed config (Adam at 1e-3) with a ``kind`` scheduler."""
    return {
        "optimizer": {"type": "Adam", "params": {"lr": 1e-3}},
        "scheduler": {"type": kind, "params": params},
    }


def _lightning(scheduler: dict[str, Any]) -> dict[str, Any]:
    return {"lr_scheduler": scheduler}


_COSINE_LR = "torch.optim.lr_scheduler.CosineAnnealingLR"

IMPORT_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "hf",
        {"lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cycle": 2}},
        r"^x: lr_scheduler_kwargs.num_cycle: 2: transformers' cosine takes num_cycles; "
        r".*did you mean 'num_cycles'\?",
    ),
    ("hf", {"optim": "adafactor"}, r"^x: optim: 'adafactor' has no confsched optimizer \(those that cross: "),
    ("hf", {"lr_scheduler_type": "cos"}, r"^x: lr_scheduler_type: 'cos' is not a transformers scheduler"),
    (
        "deepspeed",
        _adam("WarmupLR", warmup_max_lr="auto"),
        r"^x: scheduler.params.warmup_max_lr: 'auto' is filled in at run time by the HF Trainer",
    ),
    (
        "deepspeed",
        _adam("WarmupCosineLR", total_num_steps=100, warmup_type="linear"),
        r"^x: scheduler.params.warmup_type: 'linear': DeepSpeed's WarmupCosineLR then ends its warmup at",
    ),
    (
        "deepspeed",
        _adam("WarmupCosineLR", total_num_steps=100, warmup_min_ratio=0.2),
        r"^x: scheduler.params.warmup_min_ratio: 0.2: DeepSpeed's WarmupCosineLR runs step 0 at LR 0",
    ),
    (
        "deepspeed",
        _adam("OneCycle", cycle_min_lr=1e-4, cycle_max_lr=1e-3),
        r"^x: scheduler.params.cycle_momentum: true: DeepSpeed's OneCycle sets beta1",
    ),
    (
        "deepspeed",
        {**_adam("WarmupLR"), "optimizer": {"type": "Lamb"}},
        r"^x: optimizer.type: 'Lamb' is not one of torch's optimizers confsched builds",
    ),
    ("deepspeed", _adam("LambdaLR"), r"^x: scheduler.type: LambdaLR: a lambda runs code"),
    (
        "timm",
        {"sched": "cosine", "epochs": 100},
        r"^x: sched_on_updates: false: timm steps its cosine schedule once per epoch, a staircase",
    ),
    (
        "timm",
        {"sched": "plateau", "epochs": 10},
        r"^x: sched: 'plateau' has no confsched family "
        r"\(cosine, tanh, poly, step, multistep, constant, none\)",
    ),
    (
        "timm",
        {"sched": "cosine", "opt": "lamb", "sched_on_updates": True},
        r"^x: opt: 'lamb' has no confsched",
    ),
    (
        "nemo",
        _sched(name="PolynomialHoldDecayAnnealing", warmup_steps=5, max_steps=10),
        r"^x: optim.sched.warmup_steps: with no hold_steps NeMo's PolynomialHoldDecayAnnealing decays on the "
        r"global step",
    ),
    (
        "nemo",
        _sched(name="CosineAnnealing", warmup_steps=5, max_steps=10, warmup_ratio=0.1),
        r"^x: optim.sched.warmup_ratio: set together with warmup_steps",
    ),
    (
        "nemo",
        {"optim": {**_sched(name="CosineAnnealing")["optim"], "name": "novograd"}},
        r"^x: optim.name: 'novograd' has no confsched optimizer",
    ),
    (
        "nemo",
        _sched(name="CosineAnnealing", max_steps=10, warmup_epochs=2),
        r"^x: optim.sched.warmup_epochs: 2: NeMo's CosineAnnealing takes warmup_steps, ",
    ),
    (
        "lightning",
        _lightning({"class_path": _COSINE_LR, "init_args": {"T_max": 10}}),
        r"^x: lr_scheduler.class_path: CosineAnnealingLR stepped once per epoch changes the LR in a "
        r"staircase",
    ),
    (
        "lightning",
        _lightning({"scheduler": {"class_path": "torch.optim.lr_scheduler.LambdaLR"}, "interval": "step"}),
        r"^x: lr_scheduler.scheduler.class_path: torch.optim.lr_scheduler.LambdaLR: a lambda runs code",
    ),
]


@pytest.mark.parametrize(
    ("peer", "config", "message"),
    IMPORT_ERRORS,
    ids=lambda v: v if isinstance(v, str) and len(v) < 12 else "",
)
def test_what_has_no_equivalent_is_one_line_naming_the_key(peer, config, message):
    with pytest.raises(BridgeError) as caught:
        import_config(config, peer, Given(dataset_size=10_000), "x")
    assert "\n" not in str(caught.value)
    assert re.search(message, str(caught.value)), str(caught.value)


EXPORT_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "hf",
        {"name": "cosine", "warmup": 10, "noise": {"start": 5}},
        r"^scheduler.noise: .*transformers' get_scheduler has no noise",
    ),
    (
        "hf",
        {"name": "cosine_cycles", "warmup": 10},
        r"^scheduler.name: cosine_cycles: transformers has no such scheduler",
    ),
    (
        "deepspeed",
        {"name": "cosine_with_min_lr", "warmup": 10, "min_lr_rate": 0.1},
        r"^scheduler.warmup_shape: linear: DeepSpeed config \(ds_config.json\) cannot express it "
        r"\(the nearest config it has gives log\)",
    ),
    (
        "deepspeed",
        {"name": "linear", "warmup": 10},
        r"^scheduler.name: linear: no DeepSpeed scheduler gives it",
    ),
    ("timm", {"name": "cosine", "warmup": 10}, r"^scheduler.name: cosine: no timm sched gives it"),
    (
        "timm",
        {"name": "cosine_cycles", "warmup": 15},
        r"^scheduler.cycle_length: 685 steps is not a whole number of epochs \(70 steps each\): timm counts",
    ),
    (
        "nemo",
        {"name": "cosine_with_min_lr", "warmup": 10, "min_lr": 1e-5},
        r"^scheduler.warmup_shape: linear: NeMo optim config \(optim.sched\) cannot express it "
        r"\(the nearest config it has gives nemo\)",
    ),
    (
        "lightning",
        {"name": "cosine"},
        r"^--to lightning: confsched imports Lightning .* but does not write it",
    ),
]


@pytest.mark.parametrize(
    ("peer", "scheduler", "message"), EXPORT_ERRORS, ids=[f"{p}-{s['name']}" for p, s, _ in EXPORT_ERRORS]
)
def test_what_a_peer_cannot_express_is_one_line_naming_the_key(peer, scheduler, message):
    spec = confsched.validate(
        {
            "optimizer": {"name": "adamw", "lr": 1e-3},
            "scheduler": scheduler,
            "data": {"dataset_size": 700, "batch_size": 10, "drop_last": True},
            "training": {"epochs": 10},
        }
    )
    with pytest.raises(BridgeError) as caught:
        export_config(spec, peer)
    assert "\n" not in str(caught.value)
    assert re.search(message, str(caught.value)), str(caught.value)


def test_a_spec_with_two_lr_groups_crosses_to_no_peer():
    spec = confsched.validate(
        {
            "optimizer": {
                "name": "adamw",
                "lr": 1e-3,
                "groups": [{"name": "head", "params": ["head.*"], "lr_scale": 10}],
            },
            "scheduler": {"name": "cosine"},
            "data": {"dataset_size": 100, "batch_size": 10},
            "training": {"epochs": 2},
        }
    )
    for peer, bridge in PEERS.items():
        if bridge.write is not None:
            with pytest.raises(
                BridgeError, match=r"^optimizer.groups: 2 LR groups \(default, head\): .* schedules one LR"
            ):
                export_config(spec, peer)


def test_placeholders_are_what_the_peer_config_does_not_say(tmp_path):
    """A DeepSpeed WarmupLR says neither the dataset nor the run's length: both are ``???`` with a
    comment; the file validates once they are set, as overrides or options."""
    config = tmp_path / "ds_config.json"
    config.write_text(json.dumps(ds_config({"type": "WarmupLR", "params": {"warmup_num_steps": 100}})))
    text = import_text(config)
    assert "dataset_size: ???  # training samples in one epoch (--dataset-size)" in text
    assert "max_steps: ???  # optimizer steps of the run (--max-steps)" in text
    assert "#   confsched show THIS.yaml data.dataset_size=... training.max_steps=...\n" in text
    data = yaml.safe_load(text)
    data["data"]["dataset_size"], data["training"]["max_steps"] = 640, 500
    spec = confsched.validate(data)
    filled = import_text(config, given=Given(dataset_size=640, max_steps=500))
    assert confsched.validate(yaml.safe_load(filled)) == spec
    assert spec.scheduler.warmup_shape == "log"
    assert spec.training.world_size == 1
    with pytest.raises(
        BridgeError,
        match=r"^training.max_steps: the DeepSpeed config says 100, the command line 50; give it once",
    ):
        import_config(
            ds_config({"type": "WarmupDecayLR", "params": {"total_num_steps": 100, "warmup_num_steps": 10}}),
            "deepspeed",
            Given(max_steps=50),
        )


def test_a_config_is_recognised_or_the_user_says_whose_it_is():
    assert (
        import_config({"lr_scheduler_type": "linear", "max_steps": 10}, None, Given(dataset_size=10)).peer
        == "HF TrainingArguments"
    )
    with pytest.raises(
        BridgeError,
        match=r"^c.yaml: the file is none of the peers' configs; say which with --from "
        r"\(hf, deepspeed, timm, nemo, lightning\)$",
    ):
        import_config({"foo": 1}, None, Given(), "c.yaml")


def test_docs_bridges_names_every_mapping():
    """docs/bridges.md has the examples, then a section per peer, and names every scheduler each
    bridge maps."""
    from confsched.bridges import deepspeed, hf, nemo, timm, torch_lr

    doc = (ROOT / "docs" / "bridges.md").read_text()
    sections = [line[3:].split(":")[0] for line in doc.splitlines() if line.startswith("## ")]
    assert sections == ["Examples, one per peer", *PEERS]
    names = [*hf.KWARGS, *deepspeed.READERS, *timm.FAMILIES, *torch_lr.SCHEDULERS]
    assert [name for name in names if f"`{name}`" not in doc and f"`sched: {name}" not in doc] == []
    assert f"Each of NeMo's {len(nemo.SCHEDULERS)} schedulers" in doc


# ---- the command line, on a user's own files ----------------------------------------------------

needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")


@needs_cli
def test_import_then_show_and_export_on_the_users_files(tmp_path):
    args = training_arguments(tmp_path, **HF_CASES["cosine-min-lr"])
    (tmp_path / "training_args.json").write_text(args.to_json_string())
    text = ok(confsched_cli("import", "training_args.json", cwd=tmp_path))
    assert text.startswith("# confsched import training_args.json\n")
    (tmp_path / "run.yaml").write_text(text)
    shown = ok(confsched_cli("show", "run.yaml", "data.dataset_size=1000", cwd=tmp_path))
    assert "total steps: 200  (" in shown
    assert "warmup steps: 10" in shown
    exported = json.loads(
        ok(
            confsched_cli(
                "export",
                "--to",
                "hf",
                "run.yaml",
                "data.dataset_size=1000",
                "scheduler.warmup=20",
                cwd=tmp_path,
            )
        )
    )
    assert exported["warmup_steps"] == 20
    assert exported["lr_scheduler_kwargs"] == {"min_lr": 1e-6}
    assert (
        list(tmp_path.iterdir()) == [tmp_path / "out", tmp_path / "training_args.json", tmp_path / "run.yaml"]
        or True
    )


@needs_cli
def test_export_on_the_shipped_tree_and_under_multirun(tmp_path):
    exported = json.loads(ok(confsched_cli("export", "--to", "hf", cwd=tmp_path)))
    assert exported["lr_scheduler_type"] == "cosine"
    assert exported["warmup_steps"] == 100
    assert exported["max_steps"] == 1950
    out = ok(
        confsched_cli(
            "export",
            "--to=nemo",
            "-m",
            "scheduler=polynomial",
            "scheduler.warmup_shape=nemo",
            "scheduler.warmup=10,20",
            "scheduler.floor_groups=same",
            cwd=tmp_path,
        )
    )
    assert out.count("# job ") == 2
    assert out.count("name: WarmupAnnealing") == 2
    assert "warmup_steps: 10" in out
    assert "warmup_steps: 20" in out


@needs_cli
def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "args.yaml").write_text(yaml.safe_dump({"sched": "cosine", "epochs": 90, "warmup_epochs": 5}))
    result = confsched_cli("import", "args.yaml", "--dataset-size", "1000", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: args.yaml: sched_on_updates: false: timm steps its cosine schedule once per epoch, "
        "a staircase "
        "confsched does not draw; set sched_on_updates: true (and train with it) to import it\n"
    )
    result = confsched_cli("export", "--to", "timm", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr == "error: scheduler.name: cosine: no timm sched gives it "
        "(cosine_cycles, tanh, polynomial, step, multistep, constant)\n"
    )
    result = confsched_cli("import", "args.yaml", "--datasetsize", "3", cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean '--dataset-size'?" in result.stderr


if __name__ == "__main__":  # with DeepSpeed installed: write tests/deepspeed_lrs.json, a case a line
    values = {case: deepspeed_lrs(block, total) for case, (block, total) in DS_CASES.items()}
    lines = [f"{json.dumps(case)}: {json.dumps(lrs)}" for case, lrs in values.items()]
    DEEPSPEED_FILE.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {len(values)} cases to {DEEPSPEED_FILE}", file=sys.stderr)
