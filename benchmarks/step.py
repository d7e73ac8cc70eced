"""``scheduler.step()`` overhead with 3 param groups vs transformers' LambdaLR (goal <= 0.5x)."""

from __future__ import annotations

import warnings

import torch

import confsched
from benchmarks.common import Row, compare

STEPS = 100_000
FAMILIES = {
    "linear": ({}, {}),
    "cosine": ({}, {}),
    "polynomial": ({}, {}),
    "warmup_stable_decay": ({"decay": "10%"}, {"num_decay_steps": STEPS // 10}),
}


def _spec(name: str, knobs: dict[str, object]) -> confsched.Spec:
    return confsched.validate(
        {
            "optimizer": {
                "name": "adamw",
                "lr": 1e-3,
                "groups": [
                    {"name": "body", "params": ["1.*"], "lr_scale": 0.5},
                    {"name": "head", "params": ["2.*"], "lr": 1e-4},
                ],
            },
            "scheduler": {"name": name, "warmup": 100, **knobs},
            "data": {"dataset_size": STEPS, "batch_size": 1},
            "training": {"epochs": 1},
        }
    )


def run() -> list[Row]:
    from transformers import get_scheduler

    rows = []
    model = torch.nn.Sequential(*(torch.nn.Linear(2, 2) for _ in range(3)))
    for name, (knobs, hf_kwargs) in FAMILIES.items():
        spec = _spec(name, knobs)

        def ours(spec: confsched.Spec = spec) -> None:
            optimizer, scheduler = confsched.build(spec, model)
            optimizer._opt_called = True  # type: ignore[attr-defined]  # as if optimizer.step() ran
            for _ in range(STEPS):
                scheduler.step()

        def theirs(spec: confsched.Spec = spec, name: str = name, kw: dict = hf_kwargs) -> None:
            groups = [
                {"params": list(layer.parameters()), "lr": lr}
                for layer, lr in zip(model, (1e-3, 5e-4, 1e-4), strict=True)
            ]
            optimizer = torch.optim.AdamW(groups, lr=1e-3)
            scheduler = get_scheduler(
                name,
                optimizer,
                num_warmup_steps=100,
                num_training_steps=spec.total_steps,
                scheduler_specific_kwargs=kw,
            )
            optimizer._opt_called = True  # type: ignore[attr-defined]
            for _ in range(STEPS):
                scheduler.step()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c, b, ratio = compare(ours, theirs, repeats=5)
        rows.append(
            Row(
                f"step() x{STEPS:,} {name}",
                f"{c / STEPS * 1e6:.2f} us/step",
                f"{b / STEPS * 1e6:.2f} us/step",
                ratio,
                "<= 0.5x",
                ratio <= 0.5,
            )
        )
    return rows
