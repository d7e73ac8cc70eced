"""A 1,000,000-step LR curve: ``lr_curve`` vs stepping a LambdaLR and recording ``get_last_lr()``.

Goals: >= 200x faster; peak memory <= 100 MiB above the interpreter's baseline (measured in a fresh
subprocess: RSS after imports vs peak RSS after the curve).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import torch

import confsched
from benchmarks.common import Row, compare

STEPS = 1_000_000

SPEC = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine", "warmup": "2%"},
    "data": {"dataset_size": STEPS, "batch_size": 1},
    "training": {"epochs": 1},
}

# VmHWM, not ru_maxrss: ru_maxrss survives fork+exec and would report the parent's peak.
_MEMORY_PROBE = """
import json, sys
import numpy, confsched
def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
spec = confsched.validate(json.loads(sys.argv[1]))
before = status_mib("VmHWM")
curve = confsched.lr_curve(spec)
print(json.dumps({"baseline_mib": before, "peak_mib": status_mib("VmHWM"), "rows": len(curve)}))
"""


def memory_above_baseline() -> tuple[float, float]:
    """(baseline RSS after imports, peak RSS) in MiB of a fresh process computing the curve."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, json.dumps(SPEC)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["rows"] == STEPS
    return result["baseline_mib"], result["peak_mib"]


def run() -> list[Row]:
    from transformers import get_scheduler

    spec = confsched.validate(SPEC)

    def ours() -> None:
        confsched.lr_curve(spec)

    def theirs() -> None:
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        scheduler = get_scheduler(
            "cosine", optimizer, num_warmup_steps=spec.warmup_steps, num_training_steps=STEPS
        )
        lrs = []
        for _ in range(STEPS):
            lrs.append(scheduler.get_last_lr()[0])
            scheduler.step()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c, b, ratio = compare(ours, theirs, repeats=5)
    speedup = 1 / ratio
    base, peak = memory_above_baseline()
    return [
        Row(
            f"lr_curve {STEPS:,} steps",
            f"{c * 1e3:.1f} ms",
            f"{b:.2f} s (LambdaLR)",
            ratio,
            ">= 200x faster",
            speedup >= 200,
            f"{speedup:,.0f}x faster",
        ),
        Row(
            f"lr_curve {STEPS:,} steps, peak RSS",
            f"+{peak - base:.0f} MiB",
            f"{base:.0f} MiB after imports",
            (peak - base) / 100,
            "<= 100 MiB",
            peak - base <= 100,
        ),
    ]
