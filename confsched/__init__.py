"""confsched: a declarative, version-controlled LR schedule config -> a torch optimizer + scheduler.

>>> import confsched
>>> spec = confsched.load("conf/examples/worked_example.yaml")   # doctest: +SKIP
>>> spec.total_steps                                               # doctest: +SKIP
1950

Importing ``confsched`` does not import torch: ``build``, ``build_optimizer``, ``build_scheduler``
and the scheduler classes are loaded on first use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confsched.compose.hydra_app import from_hydra
from confsched.curve import lr_curve, momentum_curve, weight_decay_curve
from confsched.errors import (
    ConfigError,
    ConfschedError,
    GroupError,
    ResumeError,
    SpecError,
    render,
)
from confsched.families import FAMILIES, Family
from confsched.loading import compose, load
from confsched.spec.optimizer import OPTIMIZERS, register_optimizer
from confsched.spec.root import Spec, validate
from confsched.steps import StepPlan, plan_steps

if TYPE_CHECKING:
    from confsched.builder import build, build_optimizer, build_scheduler
    from confsched.lr_scheduler import (
        MetricDrivenLR,
        ScheduledLR,
        ScheduleOverrunWarning,
        SpecChangedWarning,
    )

__version__ = "0.1.0"

# In a wheel the config tree is the subpackage confsched/conf. In a checkout (an editable install)
# it is the top-level conf/ next to this package: make it importable as confsched.conf there too,
# so that Hydra's `pkg://confsched.conf` search path works in both.
_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).resolve().parent / "conf").is_dir() and (_checkout / "conf" / "__init__.py").is_file():
    __path__.append(str(_checkout))

__all__ = [
    "FAMILIES",
    "OPTIMIZERS",
    "ConfigError",
    "ConfschedError",
    "Family",
    "GroupError",
    "MetricDrivenLR",
    "ResumeError",
    "ScheduleOverrunWarning",
    "ScheduledLR",
    "Spec",
    "SpecChangedWarning",
    "SpecError",
    "StepPlan",
    "__version__",
    "build",
    "build_optimizer",
    "build_scheduler",
    "compose",
    "from_hydra",
    "load",
    "lr_curve",
    "momentum_curve",
    "plan_steps",
    "register_optimizer",
    "render",
    "validate",
    "weight_decay_curve",
]

_TORCH_NAMES = {
    "build": "confsched.builder",
    "build_optimizer": "confsched.builder",
    "build_scheduler": "confsched.builder",
    "MetricDrivenLR": "confsched.lr_scheduler",
    "ScheduledLR": "confsched.lr_scheduler",
    "ScheduleOverrunWarning": "confsched.lr_scheduler",
    "SpecChangedWarning": "confsched.lr_scheduler",
}


def __getattr__(name: str) -> Any:
    module = _TORCH_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'confsched' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
