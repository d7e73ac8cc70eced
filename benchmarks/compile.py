"""torch.compile: a compiled ``optimizer.step()`` with confsched's scheduler for 200 steps.

With ``lr_as_tensor: true`` the LR lives in a 0-d tensor that the scheduler fills in place, so the
compiled step is traced once and never recompiles. With float LRs every new LR value fails a guard
and dynamo recompiles (until its cache limit, after which it falls back to eager).
"""

from __future__ import annotations

import time
import warnings

import confsched
from benchmarks.common import Row

STEPS = 200


def _compiled_run(lr_as_tensor: bool) -> tuple[int, float, float]:
    """(graphs compiled, seconds for the first step, seconds for the other steps)."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    spec = confsched.validate(
        {
            "optimizer": {"name": "adamw", "lr": 1e-3, "lr_as_tensor": lr_as_tensor},
            "scheduler": {"name": "cosine", "warmup": 20},
            "data": {"dataset_size": STEPS, "batch_size": 1},
            "training": {"epochs": 1},
        }
    )
    torch.manual_seed(0)
    model = torch.nn.Linear(32, 8)
    optimizer, scheduler = confsched.build(spec, model)

    @torch.compile
    def optimizer_step() -> None:
        optimizer.step()

    x = torch.randn(16, 32)
    first = rest = 0.0
    for i in range(STEPS):
        model(x).square().mean().backward()
        start = time.perf_counter()
        optimizer_step()
        elapsed = time.perf_counter() - start
        if i == 0:
            first = elapsed
        else:
            rest += elapsed
        scheduler.step()
        optimizer.zero_grad()
    return int(counters["stats"]["unique_graphs"]), first, rest


def run() -> list[Row]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensor_graphs, tensor_first, tensor_rest = _compiled_run(lr_as_tensor=True)
        float_graphs, float_first, float_rest = _compiled_run(lr_as_tensor=False)
    return [
        Row(
            f"torch.compile {STEPS} steps: graphs compiled",
            f"{tensor_graphs} (lr_as_tensor)",
            f"{float_graphs} (float LR)",
            tensor_graphs / max(1, float_graphs),
            "1 graph, no recompiles",
            tensor_graphs == 1,
            f"steps 2..{STEPS}: {tensor_rest:.2f} s vs {float_rest:.2f} s; "
            f"first step {tensor_first:.1f} s vs {float_first:.1f} s",
        )
    ]
