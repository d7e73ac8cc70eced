"""The error helpers: "did you mean" (the renderer is exercised by every error test)."""

from __future__ import annotations

import pytest

import confsched
from confsched.errors import did_you_mean

FAMILIES = list(confsched.FAMILIES)


@pytest.mark.parametrize(
    ("word", "choices", "suggestion"),
    [
        ("warmpu", ["name", "warmup", "warmup_shape", "warmup_start"], "warmup"),  # a close spelling
        ("AdamW", ["adamw", "adam", "sgd"], "adamw"),  # another case (not 'adam')
        ("expo", ["linear", "cosine", "1-sqrt", "exponential", "constant"], "exponential"),  # a prefix
        ("minimize", ["min", "max"], "min"),  # the choice the word begins with
        ("warmup_steps", ["name", "num_cycles", "warmup", "warmup_shape", "warmup_start"], "warmup"),
        ("num_warmup_steps", ["name", "warmup", "warmup_start"], "warmup"),  # transformers' names
        ("cosin", FAMILIES, "cosine"),  # a prefix of several: the closest spelling
        ("lr_sclae", ["lr", "lr_scale", "name", "params", "weight_decay"], "lr_scale"),
        ("plateau", FAMILIES, None),
        ("warmup_steps", ["name", "lr"], None),  # the alias only where its key is allowed
        ("xy", ["xyzzy", "other"], None),  # too short to be taken as a prefix
    ],
)
def test_did_you_mean(word, choices, suggestion):
    assert did_you_mean(word, choices) == (f"; did you mean '{suggestion}'?" if suggestion else "")
