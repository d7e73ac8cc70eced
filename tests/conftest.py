"""Shared fixtures: the worked example as plain data, and a spec factory."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import confsched

WORKED_EXAMPLE: dict[str, Any] = {
    "optimizer": {"name": "adamw", "lr": 1e-3},
    "scheduler": {"name": "cosine", "warmup": 100},
    "data": {"dataset_size": 1235, "batch_size": 32},
    "training": {"epochs": 50},
}


def merged(base: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with each given section replaced (``scheduler={...}``)."""
    data = copy.deepcopy(base)
    for key, value in sections.items():
        data[key] = value
    return data


@pytest.fixture
def worked_example() -> dict[str, Any]:
    return copy.deepcopy(WORKED_EXAMPLE)


@pytest.fixture
def make_spec() -> Callable[..., confsched.Spec]:
    def make(**sections: dict[str, Any]) -> confsched.Spec:
        return confsched.validate(merged(WORKED_EXAMPLE, **sections))

    return make
